"""The Airflow the CLI talks to: ``NEWSFLOW_AIRFLOW_URL``, or the local one ``newsflow airflow up`` runs.

For the local Airflow the URL (``NEWSFLOW_AIRFLOW_PORT``) and the password Airflow generated
for ``admin`` come from ``devstack.local_airflow``, which only the CLI may import.
"""

from __future__ import annotations

from newsflow.scheduler_api import SchedulerApi, SchedulerConnection, connection_from_env


def scheduler_connection() -> SchedulerConnection:
    from newsflow.devstack import airflow_api, local_airflow

    options = local_airflow.LocalAirflowOptions()

    def local_password() -> str:
        from newsflow.errors import ConfigError, ServiceError

        try:
            return airflow_api.local_password(options, conn.username)
        except ServiceError as exc:
            raise ConfigError(str(exc)) from None

    conn = connection_from_env(local_url=options.url, local_password=local_password)
    return conn


def scheduler_api(*, patience_s: float = 60.0) -> SchedulerApi:
    return SchedulerApi(scheduler_connection(), patience_s=patience_s)
