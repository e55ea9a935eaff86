"""Index setup against the real Elasticsearch node: templates and aliases set up idempotently
and strictly, the CLI's setup and status, run metrics overwritten on a rerun."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

pytestmark = pytest.mark.integration


@pytest.fixture
def names(es_client: Any, es_prefix: str) -> Iterator[Any]:
    """Index names under the test prefix; also drops the component templates conftest does not know."""
    from newsflow.index import IndexNames

    yield IndexNames.with_prefix(es_prefix)
    es_client.options(ignore_status=404).indices.delete_index_template(name=f"{es_prefix}*")
    es_client.options(ignore_status=404).cluster.delete_component_template(name=f"{es_prefix}*")


def test_setup_is_idempotent_and_strict(es_client: Any, names: Any) -> None:
    from newsflow.index import setup_indices

    first = setup_indices(es_client, names)
    again = setup_indices(es_client, names)
    assert first.articles_index == f"{names.articles}-000001"
    assert set(first.created_indices) == {f"{alias}-000001" for alias in names.all()}
    assert again.created_indices == ()
    mapping = es_client.indices.get_mapping(index=names.articles)[first.articles_index]["mappings"]
    assert mapping["dynamic"] == "strict"
    assert mapping["properties"]["score"]["type"] == "float"
    assert mapping["properties"]["dedup_signals"]["enabled"] is False
    assert mapping["properties"]["title"]["analyzer"] == first.text_analyzer
    settings = es_client.indices.get_settings(index=first.articles_index)[first.articles_index]["settings"]
    nodes = es_client.cluster.health()["number_of_data_nodes"]
    assert int(settings["index"]["number_of_replicas"]) == (0 if nodes == 1 else 1)


def test_cli_index_setup_and_status(es_client: Any, names: Any, capsys: Any, monkeypatch: Any) -> None:
    from newsflow.cli import main

    monkeypatch.setenv("NEWSFLOW_ALERTS_ALIAS", names.alerts)
    monkeypatch.setenv("NEWSFLOW_ALERT_RULES_ALIAS", names.alert_rules)
    monkeypatch.setenv("NEWSFLOW_FEED_HEALTH_ALIAS", names.feed_health)
    monkeypatch.setenv("NEWSFLOW_CORRECTIONS_ALIAS", names.corrections)
    argv = ["--index", names.articles, "--runs-index", names.runs, "--merges-index", names.merges, "--json"]
    assert main(["index", "setup", *argv]) == 0
    setup = json.loads(capsys.readouterr().out)
    assert setup["articles_index"] == f"{names.articles}-000001"
    assert set(setup["indices"]) == set(names.all())
    health = es_client.indices.get_mapping(index=names.feed_health)
    assert next(iter(health.values()))["mappings"]["properties"]["error_streak"]["type"] == "integer"
    assert es_client.indices.exists_index_template(name=names.articles)
    assert main(["index", "status", *argv]) == 0
    status = json.loads(capsys.readouterr().out)
    assert status[names.articles] == {"indices": {f"{names.articles}-000001": True}, "documents": 0}
    assert status[names.merges] == {"indices": {f"{names.merges}-000001": True}, "documents": 0}
    assert status[names.alerts] == {"indices": {f"{names.alerts}-000001": True}, "documents": 0}


def test_run_metrics_overwrite_on_rerun(es_client: Any, names: Any) -> None:
    from newsflow.index import record_run_metrics, setup_indices

    setup_indices(es_client, names)
    args = ("scheduled__2024-01-01", "extract")
    first = record_run_metrics(
        es_client,
        *args,
        {"extracted": 5, "rejected": {"paywall": 1, "empty": 2}},
        "2024-01-01T00:00:00Z",
        "2024-01-01T00:00:30Z",
        names=names,
        refresh=True,
    )
    second = record_run_metrics(
        es_client,
        *args,
        {"extracted": 6, "rejected": {"paywall": 1}},
        "2024-01-01T00:00:00Z",
        "2024-01-01T00:00:40Z",
        names=names,
        refresh=True,
    )
    assert first == second
    hits = es_client.search(index=names.runs)["hits"]["hits"]
    assert len(hits) == 1
    source = hits[0]["_source"]
    assert source["counts"] == {"extracted": 6, "rejected": 1}
    assert source["breakdown"] == {"rejected": {"paywall": 1}}
    assert source["duration_s"] == 40.0
