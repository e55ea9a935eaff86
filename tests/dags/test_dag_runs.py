"""``dag.test()`` of both DAGs against the fixture site and the real local Elasticsearch."""

from __future__ import annotations

import importlib.util
import os
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from tests.dags.conftest import REPO_ROOT

pytestmark = pytest.mark.integration


def _load_dag(name: str) -> Any:
    spec = importlib.util.spec_from_file_location(f"dag_{name}", REPO_ROOT / "dags" / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    from airflow.sdk import DAG

    (dag,) = [value for value in vars(module).values() if isinstance(value, DAG)]
    for task in dag.tasks:  # a failure here should fail the test at once, not after backoff retries
        task.retries = 0
    return dag


def _alias_env(prefix: str) -> dict[str, str]:
    """Every alias the tasks write, under the test's prefix (alerts and feed health too)."""
    from newsflow.index import IndexNames

    return IndexNames.with_prefix(prefix).as_env()


@pytest.fixture
def pipeline_env(tmp_path: Path, es_client: Any, es_prefix: str) -> Iterator[dict[str, str]]:
    from newsflow import settings
    from newsflow.devstack import demo_site
    from newsflow.devstack.local_airflow import es_connection_uri
    from newsflow.index import IndexNames, setup_indices

    site = demo_site.start()
    registry = tmp_path / "feeds.yaml"
    text = (REPO_ROOT / "seeds" / "feeds-demo.yaml").read_text()
    registry.write_text(text.replace("http://127.0.0.1:8765", site.base_url))
    env = {
        "NEWSFLOW_FEEDS": str(registry),
        "NEWSFLOW_ARCHIVE": str(tmp_path / "archive"),
        "NEWSFLOW_ALLOW_PRIVATE_HOSTS": f"127.0.0.1:{site.server.server_address[1]}",
        "NEWSFLOW_POLITE_DELAY_S": "0",
        **_alias_env(es_prefix),
        # Tasks reach Elasticsearch through the Airflow connection, as in production.
        "AIRFLOW_CONN_NEWSFLOW_ES": es_connection_uri(settings.es_connection()),
    }
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    setup_indices(es_client, IndexNames.from_env())
    try:
        yield env
    finally:
        site.stop()
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def _states(run: Any) -> dict[str, str]:
    return {f"{ti.task_id}[{ti.map_index}]": str(ti.state) for ti in run.get_task_instances()}


def test_poll_then_process_indexes_stories_and_a_rerun_adds_nothing(
    airflow_db: Path, pipeline_env: dict[str, str], es_client: Any
) -> None:
    poll = _load_dag("newsflow_poll")
    process = _load_dag("newsflow_process")
    alias = pipeline_env["NEWSFLOW_INDEX_ALIAS"]

    first = datetime(2026, 3, 2, 18, 0, tzinfo=UTC)
    run = poll.test(logical_date=first)
    assert str(run.state) == "success", _states(run)
    # A scheduled/backfill run of the processing DAG covers the hour that holds the poll.
    run = process.test(logical_date=datetime(2026, 3, 2, 19, 0, tzinfo=UTC))
    assert str(run.state) == "success", _states(run)
    es_client.indices.refresh(index=alias)
    hits = es_client.search(index=alias, size=50, source_includes=["title", "story_id", "relation", "source"])
    docs = [h["_source"] for h in hits["hits"]["hits"]]
    assert len(docs) == 5  # five distinct articles on the fixture site
    kherson = [d for d in docs if "Kherson" in d["title"]]
    assert len(kherson) == 3 and len({d["story_id"] for d in kherson}) == 1
    others = [d for d in docs if "Kherson" not in d["title"]]
    assert len({d["story_id"] for d in others}) == 2
    assert kherson[0]["story_id"] not in {d["story_id"] for d in others}

    # A second cycle: feeds answer 304, nothing new is fetched, nothing is announced (publish
    # is skipped: no asset event, no processing run), nothing is re-indexed.
    second = datetime(2026, 3, 2, 19, 5, tzinfo=UTC)
    run = poll.test(logical_date=second)
    assert str(run.state) == "success", _states(run)
    assert _states(run)["publish[-1]"] == "skipped" and _states(run)["record[-1]"] == "success"
    run = process.test(logical_date=datetime(2026, 3, 2, 20, 0, tzinfo=UTC))
    assert str(run.state) == "success", _states(run)
    es_client.indices.refresh(index=alias)
    assert es_client.count(index=alias)["count"] == 5
    versions = es_client.search(index=alias, size=50, source_includes=["version"])["hits"]["hits"]
    assert {h["_source"]["version"] for h in versions} == {1}
    runs_alias = pipeline_env["NEWSFLOW_RUNS_ALIAS"]
    es_client.indices.refresh(index=runs_alias)
    records = [h["_source"] for h in es_client.search(index=runs_alias, size=50)["hits"]["hits"]]
    by_stage = {stage: [r for r in records if r["stage"] == stage] for stage in ("poll", "process")}
    assert len(by_stage["poll"]) == 2 and len(by_stage["process"]) == 2, records
    assert {r["status"] for r in records} == {"success"}, [
        (r["run_id"], r["status_reasons"]) for r in records
    ]
    assert sorted(r["counts"].get("feeds_polled", 0) for r in by_stage["poll"]) == [2, 2]
    assert max(r["counts"].get("index_created", 0) for r in by_stage["process"]) == 5
    health = es_client.search(index=pipeline_env["NEWSFLOW_FEED_HEALTH_ALIAS"], size=10)["hits"]["hits"]
    assert sorted(
        (h["_source"]["feed"], h["_source"]["polls"], h["_source"]["not_modified"]) for h in health
    ) == [
        ("demo-northern-herald", 2, 1),
        ("demo-southern-courier", 2, 1),
    ]


def test_a_processing_run_without_events_or_interval_fails_and_says_what_to_pass(
    airflow_db: Path, pipeline_env: dict[str, str], es_client: Any
) -> None:
    process = _load_dag("newsflow_process")
    run = process.test(logical_date=None, run_conf={"reprocess": True})
    states = _states(run)
    assert str(run.state) == "failed" and states["plan_process[-1]"] == "failed", states
    runs_alias = pipeline_env["NEWSFLOW_RUNS_ALIAS"]
    es_client.indices.refresh(index=runs_alias)
    (record,) = [h["_source"] for h in es_client.search(index=runs_alias)["hits"]["hits"]]
    assert record["status"] == "failed" and record["finished"] is not None
    assert "data_interval_start" in record["status_reasons"][0], record


def _process_record(es_client: Any, runs_alias: str, logical: datetime) -> dict[str, Any]:
    """The processing record of the run at ``logical`` (dag.test runs are manual runs)."""
    es_client.indices.refresh(index=runs_alias)
    hits = es_client.search(
        index=runs_alias,
        size=10,
        query={
            "bool": {
                "filter": [{"term": {"stage": "process"}}, {"term": {"logical_date": logical.isoformat()}}]
            }
        },
    )["hits"]["hits"]
    (record,) = [h["_source"] for h in hits]
    return dict(record)


def test_the_kherson_alert_is_raised_once_through_the_dag_and_not_again_on_a_rerun(
    airflow_db: Path, pipeline_env: dict[str, str], es_client: Any
) -> None:
    """Issue 16: three reports match, one story, one alert; reprocessing the same hour
    (a second run over the same data interval) re-indexes and re-matches but raises nothing."""
    from newsflow.alerts import AlertRule, add_rule
    from newsflow.index import IndexNames

    names = IndexNames.from_env()
    add_rule(es_client, AlertRule("kherson", "Kherson"), names)
    poll = _load_dag("newsflow_poll")
    process = _load_dag("newsflow_process")
    run = poll.test(logical_date=datetime(2026, 3, 2, 18, 0, tzinfo=UTC))
    assert str(run.state) == "success", _states(run)

    first_at = datetime(2026, 3, 2, 19, 0, tzinfo=UTC)
    run = process.test(logical_date=first_at)
    assert str(run.state) == "success", _states(run)
    es_client.indices.refresh(index=names.alerts)
    alerts = [h["_source"] for h in es_client.search(index=names.alerts, size=20)["hits"]["hits"]]
    assert [(a["rule"], a["kind"]) for a in alerts] == [("kherson", "new_story")], alerts
    assert len(alerts[0]["article_ids"]) == 3, "the three Kherson reports raise one alert together"
    first = _process_record(es_client, names.runs, first_at)
    assert first["status"] == "success", first["status_reasons"]
    assert first["counts"]["alerts_new_stories"] == 1 and first["counts"]["alerts_matched_articles"] == 3

    # The same hour again (a run at 19:30 covers 18:00-19:00 too), re-extracting everything.
    rerun_at = datetime(2026, 3, 2, 19, 30, tzinfo=UTC)
    run = process.test(logical_date=rerun_at, run_conf={"reprocess": True})
    assert str(run.state) == "success", _states(run)
    rerun = _process_record(es_client, names.runs, rerun_at)
    assert rerun["counts"].get("pages_read") == first["counts"]["pages_read"], "the rerun read the same hour"
    assert rerun["counts"].get("alerts_matched_articles") == 3
    assert not rerun["counts"].get("alerts_new_stories") and not rerun["counts"].get("alerts_updates")
    es_client.indices.refresh(index=names.alerts)
    assert es_client.count(index=names.alerts)["count"] == 1, "a rerun raised the Kherson alert again"
    assert _process_record(es_client, names.runs, first_at)["counts"]["alerts_new_stories"] == 1, (
        "the rerun erased the first run's record"
    )


def test_a_broken_feed_shows_in_the_poll_records_and_feed_health_and_makes_the_run_partial(
    airflow_db: Path, pipeline_env: dict[str, str], es_client: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue 16: a feed answering 404 leaves the task green but is counted by reason in the poll
    run's record; after ``failing_after`` polls in a row the run is ``partial`` and names it, and
    its feed-health document says ``in_error`` with the reason."""
    from newsflow.index import IndexNames

    registry = Path(pipeline_env["NEWSFLOW_FEEDS"])
    healthy = registry.read_text()
    base = healthy.split("url: ", 1)[1].split("/northern-herald", 1)[0]
    registry.write_text(
        healthy
        + f"  - name: demo-broken\n    outlet: Broken Wire\n    url: {base}/no-such-feed/feed.xml\n"
        + "    language: en\n    poll_interval: 5m\n    tags: [demo]\n"
    )
    monkeypatch.setenv("NEWSFLOW_FEED_FAILING_AFTER", "2")
    names = IndexNames.from_env()
    poll = _load_dag("newsflow_poll")
    records = []
    for minute in (0, 10):
        logical = datetime(2026, 3, 2, 18, minute, tzinfo=UTC)
        run = poll.test(logical_date=logical)
        assert str(run.state) == "success", _states(run)  # a broken feed never fails the poll task
        es_client.indices.refresh(index=names.runs)
        query = {
            "bool": {"filter": [{"term": {"stage": "poll"}}, {"term": {"logical_date": logical.isoformat()}}]}
        }
        (hit,) = es_client.search(index=names.runs, query=query)["hits"]["hits"]
        records.append(hit["_source"])
    first, second = records
    for record in records:
        assert record["counts"]["feeds_polled"] == 3 and record["counts"]["feeds_failed"] == 1, record
        (reason,) = record["breakdown"]["feeds_failed"]  # the fetcher's class of the answer (http_4xx)
        assert reason.startswith("http_4"), record["breakdown"]
    assert first["status"] == "success", first["status_reasons"]
    assert second["status"] == "partial" and "2 or more polls" in second["status_reasons"][0], second
    assert second["extra"]["feeds_in_error"] == ["demo-broken"]
    es_client.indices.refresh(index=names.feed_health)
    health = {
        h["_source"]["feed"]: h["_source"] for h in es_client.search(index=names.feed_health)["hits"]["hits"]
    }
    broken = health["demo-broken"]
    assert broken["in_error"] and broken["error_streak"] == 2 and broken["last_error"].startswith("http_4"), (
        broken
    )
    assert not health["demo-northern-herald"]["in_error"] and health["demo-northern-herald"]["polls"] == 2
