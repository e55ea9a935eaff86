"""The one place that imports Airflow: connections, assets and task bodies.

DAG files call these task bodies, which read the task context and call the plain flow
functions in ``newsflow.flows``; nothing else in the package knows Airflow exists (a test
enforces it).
"""
