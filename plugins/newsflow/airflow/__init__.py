"""The one place that imports Airflow: connections, assets and task helpers.

DAG files call these helpers, which read the task context and call the plain
pipeline functions in ``newsflow.pipeline``; nothing else in the package knows
Airflow exists (a test enforces it).
"""
