"""The project-managed Elasticsearch node is real, 9.x, and reusable."""

from __future__ import annotations

import pytest
from elasticsearch import Elasticsearch

pytestmark = pytest.mark.integration


def test_node_is_real_9x_and_healthy(es_client: Elasticsearch) -> None:
    from newsflow.devstack import local_es

    health = es_client.cluster.health()
    assert health["status"] in {"yellow", "green"}
    state = local_es.status()
    assert state.running
    if state.version is not None:  # None only for an external NEWSFLOW_ES_URL cluster
        assert state.version.startswith("9.")


def test_up_reuses_a_running_node(es_client: Elasticsearch) -> None:
    from newsflow.devstack import local_es

    before = local_es.status()
    again = local_es.up()
    assert again.running
    assert again.pid == before.pid  # reused, not restarted


def test_bulk_upsert_by_deterministic_id_does_not_duplicate(es_client: Elasticsearch, es_prefix: str) -> None:
    from elasticsearch.helpers import bulk

    index = f"{es_prefix}-docs"
    es_client.indices.create(index=index, settings={"number_of_replicas": 0})
    actions = [{"_op_type": "index", "_index": index, "_id": f"id-{i}", "n": i} for i in range(20)]
    bulk(es_client, actions, refresh=True)
    bulk(es_client, actions, refresh=True)
    assert es_client.count(index=index)["count"] == 20
