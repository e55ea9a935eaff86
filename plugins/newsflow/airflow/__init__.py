"""The one place that imports Airflow: connections, assets and task bodies.

DAG files call these task bodies, which read the task context and call the plain flow
functions in ``newsflow.flows``; nothing else in the package knows Airflow exists (a test
enforces it).
"""

import logging

# httpx logs every request's URL at INFO, into the task logs the Airflow UI shows; an alert's
# webhook URL carries its token in the path, where no pattern can tell it from a page's. Our own
# log lines name the webhook's site only.
logging.getLogger("httpx").setLevel(logging.WARNING)
