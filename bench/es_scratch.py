"""A node and a fresh set of indices for one benchmark run: the local node is started unless
``NEWSFLOW_ES_URL`` names one, and every index lives under a prefix of its own, so a run never
touches another's data and can delete all of it at the end (``{prefix}*``)."""

from __future__ import annotations

import os
import uuid
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from elasticsearch import Elasticsearch

    from newsflow.index import IndexNames


def fresh_indices(stem: str) -> tuple[Elasticsearch, IndexNames, str]:
    """(client, index names, their prefix) for new indices named ``{stem}-<random>...``."""
    from newsflow.devstack import local_es
    from newsflow.es_client import make_client, wait_until_healthy
    from newsflow.index import IndexNames, setup_indices

    if not os.environ.get("NEWSFLOW_ES_URL"):
        local_es.up()
    client = make_client(max_retries=3)
    wait_until_healthy(client, timeout_s=120)
    prefix = f"{stem}-{uuid.uuid4().hex[:8]}"
    names = IndexNames.with_prefix(prefix)
    setup_indices(client, names)
    return client, names, prefix
