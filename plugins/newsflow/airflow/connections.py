"""Elasticsearch through an Airflow Connection, read inside tasks only.

The connection (default id ``newsflow_es``; ``AIRFLOW_CONN_NEWSFLOW_ES`` in the
environment works) holds the URL in ``host`` and credentials in ``login``/
``password`` or ``extra.api_key``. Without it we fall back to the
``NEWSFLOW_ES_*`` environment, so a local run needs no setup.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from newsflow import settings
from newsflow.es_client import make_client

if TYPE_CHECKING:
    from elasticsearch import Elasticsearch

log = logging.getLogger(__name__)

DEFAULT_CONN_ID = "newsflow_es"


def es_connection(conn_id: str = DEFAULT_CONN_ID) -> settings.EsConnection:
    from airflow.sdk import Connection
    from airflow.sdk.exceptions import AirflowNotFoundException, AirflowRuntimeError

    try:
        conn = Connection.get(conn_id)
    except (AirflowNotFoundException, AirflowRuntimeError):
        log.info("no Airflow connection %r; using NEWSFLOW_ES_* environment", conn_id)
        return settings.es_connection()
    host = conn.host or ""
    if "://" not in host:
        scheme = conn.schema or "http"
        host = f"{scheme}://{host}:{conn.port or 9200}"
    extra = conn.extra_dejson
    return settings.EsConnection(
        url=host.rstrip("/"),
        external=True,
        api_key=extra.get("api_key"),
        username=conn.login or None,
        password=conn.password or None,
        ca_certs=extra.get("ca_certs"),
        verify_certs=bool(extra.get("verify_certs", True)),
    )


def es_client(conn_id: str = DEFAULT_CONN_ID) -> Elasticsearch:
    return make_client(es_connection(conn_id))
