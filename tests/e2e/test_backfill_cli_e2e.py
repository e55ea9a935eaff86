"""``newsflow backfill --last 1h`` through the real scheduler reprocesses data polled minutes ago.

Airflow's own backfill refuses the current, still-open hour, so right after a poll nothing
it offers reaches the fresh data (issue 16). Here the seed site is polled by a scheduled
run and processed by the asset-triggered run it starts; then the CLI, run as an operator
runs it (a subprocess that finds the local Airflow's port and generated password), backfills
the last hour: each window is a manual run with an explicit data interval and a run id of
its own. The test checks that the runs re-read exactly the pages archived in their windows,
re-index them without duplicating or changing anything, leave a record each, and leave the
first processing run's record alone; then ``newsflow status`` sees Airflow and those runs.

Issue 16's other two end-to-end checks ride on the same scheduled runs (a stack start costs
minutes): the registry also holds a feed the fixture site answers 404, with the failing limit
at one poll, so the scheduled poll's record counts it by reason, names it in error and says
``partial``, and ``newsflow feeds status`` lists it with its error; and an alert rule for
"Kherson" with a webhook on a real receiver on 127.0.0.1, added through the CLI before the
first processing run, raises exactly one alert (one POST) for the Kherson story although its
three reports match, and none more when the backfill re-processes those reports.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import os
import subprocess
import sys
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from newsflow.scheduler_api import POLL_DAG, PROCESS_DAG
from tests.conftest import service_missing
from tests.e2e.stack import Stack, airflow_stack, fixture_sites, patient, run_id_of
from tests.receiver import receiver

if TYPE_CHECKING:
    from elasticsearch import Elasticsearch

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(900)]

WAIT_S = 180
FEEDS = (("e2e-northern-herald", "Northern Herald"), ("e2e-southern-courier", "Southern Courier"))
SEED_PAGES = 5
KHERSON_REPORTS = 3  # the two seed reports and a syndicated copy: one story
BROKEN = ("e2e-broken-wire", "Broken Wire")  # the fixture site answers 404 for its feed


def _registry(port: int) -> str:
    lines = ["feeds:"]
    for name, outlet in (*FEEDS, BROKEN):
        path = "no-such-feed" if (name, outlet) == BROKEN else name.removeprefix("e2e-")
        lines += [
            f"  - name: {name}",
            f"    outlet: {outlet}",
            f"    url: http://127.0.0.1:{port}/{path}/feed.xml",
            "    language: en",
            "    poll_interval: 1h",  # */5 ticks during the test find nothing due
            "    tags: [e2e]",
        ]
    return "\n".join(lines) + "\n"


def _documents(stack: Stack) -> dict[str, dict[str, Any]]:
    stack.client.indices.refresh(index=stack.names.articles)
    result = stack.client.search(
        index=stack.names.articles, size=1000, source_includes=["canonical_url", "version", "indexed_at"]
    )
    return {hit["_id"]: hit["_source"] for hit in result["hits"]["hits"]}


def _records(stack: Stack, stage: str = "process") -> dict[str, dict[str, Any]]:
    stack.client.indices.refresh(index=stack.names.runs)
    result = stack.client.search(index=stack.names.runs, size=1000, query={"term": {"stage": stage}})
    return {hit["_source"]["run_id"]: hit["_source"] for hit in result["hits"]["hits"]}


def _alerts(stack: Stack) -> list[dict[str, Any]]:
    stack.client.indices.refresh(index=stack.names.alerts)
    result = stack.client.search(index=stack.names.alerts, size=100)
    return [dict(hit["_source"], _id=hit["_id"]) for hit in result["hits"]["hits"]]


def _stories(stack: Stack, article_ids: list[str]) -> set[str]:
    result = stack.client.search(
        index=stack.names.articles,
        size=100,
        query={"ids": {"values": article_ids}},
        source_includes=["story_id"],
    )
    assert len(result["hits"]["hits"]) == len(article_ids), "an alert names an article that is not indexed"
    return {hit["_source"]["story_id"] for hit in result["hits"]["hits"]}


def _check_broken_feed(stack: Stack, poll_run_id: str) -> None:
    """The scheduled poll's record counts the 404 by reason and names the feed in error (the
    limit is one poll here), and ``newsflow feeds status`` lists it with its error."""
    record = _records(stack, "poll")[f"{POLL_DAG}/{poll_run_id}"]
    assert record["counts"]["feeds_polled"] == len(FEEDS) + 1, record["counts"]
    assert record["counts"]["feeds_failed"] == 1 and record["breakdown"]["feeds_failed"] == {"http_4xx": 1}, (
        record["breakdown"]
    )
    assert record["status"] == "partial" and record["extra"]["feeds_in_error"] == [BROKEN[0]], record
    assert any("polls in a row" in reason for reason in record["status_reasons"]), record["status_reasons"]

    listed = _cli(stack, "feeds", "status", "--json", timeout_s=patient(120))
    assert listed.returncode == 0, f"feeds status:\n{listed.stdout}\n{listed.stderr[-2000:]}"
    rows = {row["feed"]: row for row in json.loads(listed.stdout)}
    assert set(rows) == {name for name, _ in (*FEEDS, BROKEN)}, sorted(rows)
    broken = rows[BROKEN[0]]
    assert broken["in_error"] and broken["status"] == "failed" and broken["error_streak"] == 1, broken
    assert broken["last_error"] == "http_4xx" and "404" in (broken["last_error_message"] or ""), broken
    for name, _ in FEEDS:
        assert rows[name]["status"] == "success" and not rows[name]["failing"], rows[name]
    table = _cli(stack, "feeds", "status", "--errors", timeout_s=patient(120))
    assert table.returncode == 0, f"feeds status --errors:\n{table.stdout}\n{table.stderr[-2000:]}"
    assert BROKEN[0] in table.stdout and "http_4xx" in table.stdout, table.stdout
    assert "in error: 1" in table.stdout, table.stdout
    assert not any(name in table.stdout for name, _ in FEEDS), table.stdout


def _cli(stack: Stack, *argv: str, timeout_s: float) -> subprocess.CompletedProcess[str]:
    """The CLI as an operator runs it against the local Airflow: port and state dir, no password given."""
    env = dict(os.environ)
    for variable in ("NEWSFLOW_AIRFLOW_URL", "NEWSFLOW_AIRFLOW_PASSWORD", "NEWSFLOW_AIRFLOW_USERNAME"):
        env.pop(variable, None)
    env.update(
        {
            "NEWSFLOW_AIRFLOW_PORT": str(stack.options.port),
            "NEWSFLOW_STATE_DIR": str(stack.options.state_dir),
            **stack.names.as_env(),
            "COLUMNS": "200",
        }
    )
    return subprocess.run(
        [sys.executable, "-m", "newsflow.cli", *argv],
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout_s,
        check=False,
    )


def _pages_in(stack: Stack, windows: list[tuple[datetime, datetime]]) -> int:
    from newsflow.archive import batches_in_window

    return sum(
        len(batch.read().pages)
        for start, end in windows
        for batch in batches_in_window(str(stack.archive), start, end)
    )


def test_backfill_last_hour_reprocesses_fresh_data(
    tmp_path: Path,
    site_copy: Path,
    es_client: Elasticsearch,
    es_prefix: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from newsflow.errors import ServiceError
    from newsflow.timestamps import parse_utc

    # One failed poll puts a feed in error, so the single scheduled poll shows the whole signal;
    # set before the stack starts, whose services (and so the tasks) take the environment then.
    monkeypatch.setenv("NEWSFLOW_FEED_FAILING_AFTER", "1")
    with contextlib.ExitStack() as exit_stack:
        port, _ = exit_stack.enter_context(fixture_sites(site_copy))
        hook = exit_stack.enter_context(receiver(lifetime_s=patient(1200)))
        registry = tmp_path / "feeds.yaml"
        registry.write_text(_registry(port))
        try:
            stack = exit_stack.enter_context(
                airflow_stack(
                    tmp_path / "run", registry, es_prefix, es_client, allow_hosts=f"127.0.0.0/8:{port}"
                )
            )
        except ServiceError as exc:
            service_missing(f"the Airflow stack (PostgreSQL + scheduler) could not start: {exc}")
        api = stack.api
        # The analyst's alert rule, stored before anything is processed.
        added = _cli(
            stack, "alerts", "add", "kherson", "Kherson", "--webhook", hook.url, timeout_s=patient(120)
        )
        assert added.returncode == 0, f"alerts add:\n{added.stdout}\n{added.stderr[-2000:]}"

        # Fresh data: the schedule polls the seed site, its asset event starts processing.
        stack.unpause_all()
        polled = api.wait_new_run(POLL_DAG, set(), WAIT_S, run_type="scheduled")
        stack.wait_success(POLL_DAG, run_id_of(polled), WAIT_S)  # a broken feed never fails the poll
        _check_broken_feed(stack, run_id_of(polled))
        first = api.wait_new_run(PROCESS_DAG, set(), WAIT_S, run_type="asset_triggered")
        stack.wait_success(PROCESS_DAG, run_id_of(first), WAIT_S)
        before = _documents(stack)
        assert len(before) == SEED_PAGES
        first_record = _records(stack)[f"{PROCESS_DAG}/{first['dag_run_id']}"]
        assert first_record["counts"]["index_created"] == SEED_PAGES

        # Three Kherson reports matched, one story, one alert, POSTed once.
        assert first_record["counts"]["alerts_matched_articles"] == KHERSON_REPORTS, first_record["counts"]
        assert first_record["counts"]["alerts_new_stories"] == 1, first_record["counts"]
        (alert,) = _alerts(stack)
        assert (alert["rule"], alert["kind"], alert["delivery"]) == ("kherson", "new_story", "delivered"), (
            alert
        )
        assert len(alert["article_ids"]) == KHERSON_REPORTS
        assert _stories(stack, alert["article_ids"]) == {alert["story_id"]}, (
            "the alert's reports are one story"
        )
        (posted,) = hook.wait_for(1, timeout_s=patient(30))
        assert (posted["rule"], posted["story_id"]) == ("kherson", alert["story_id"]), posted

        # The operator's backfill of the last hour, through the REST API.
        done = _cli(stack, "backfill", "--last", "1h", "--json", "--timeout", "600", timeout_s=patient(700))
        assert done.returncode == 0, f"backfill failed:\n{done.stdout}\n{done.stderr[-3000:]}"
        summary = json.loads(done.stdout)
        runs = summary["runs"]
        assert 1 <= len(runs) <= 2, runs  # the hour before now, cut at the hour boundary
        windows = [(parse_utc(r["window"][0]), parse_utc(r["window"][1])) for r in runs]
        assert all(a[1] == b[0] for a, b in itertools.pairwise(windows)), windows
        assert windows[0][0] <= parse_utc(str(polled["logical_date"])) < windows[-1][1]
        for run in runs:
            assert run["run_id"].startswith("manual__backfill_") and run["state"] == "success", run
            airflow_run = api.scheduler.dag_run(PROCESS_DAG, run["run_id"])
            assert airflow_run["run_type"] == "manual"
            assert airflow_run["conf"] == {"reprocess": True, "backfill": True}
            assert parse_utc(str(airflow_run["data_interval_start"])) == parse_utc(run["window"][0])
            assert parse_utc(str(airflow_run["data_interval_end"])) == parse_utc(run["window"][1])

        # It re-read exactly what the archive holds for its windows and changed nothing.
        totals = summary["totals"]
        pages = _pages_in(stack, windows)
        assert pages >= SEED_PAGES
        assert totals["pages_read"] == pages, f"read {totals['pages_read']}, the windows hold {pages}"
        assert totals["index_created"] == 0 and totals["index_failed"] == 0
        assert totals["index_unchanged"] + totals["index_updated"] == SEED_PAGES
        assert totals["without_record"] == 0 and totals["failed"] == 0
        after = _documents(stack)
        assert after.keys() == before.keys(), "no document added or lost"
        assert {i: d["version"] for i, d in after.items()} == {i: d["version"] for i, d in before.items()}

        # Every backfill run left its own record; the first run's record is untouched.
        records = _records(stack)
        for run in runs:
            assert f"{PROCESS_DAG}/{run['run_id']}" in records
        assert records[f"{PROCESS_DAG}/{first['dag_run_id']}"] == first_record

        # The backfill matched the Kherson reports again and raised nothing: still one alert, one POST.
        again = [records[f"{PROCESS_DAG}/{run['run_id']}"]["counts"] for run in runs]
        assert sum(c.get("alerts_matched_articles", 0) for c in again) == KHERSON_REPORTS, again
        assert not any(c.get("alerts_new_stories") or c.get("alerts_updates") for c in again), again
        assert [a["_id"] for a in _alerts(stack)] == [alert["_id"]], (
            "the backfill raised the Kherson alert again"
        )
        assert len(hook.posts) == 1, hook.posts

        # The status screen sees the real Airflow and the runs.
        status = _cli(stack, "status", "--json", timeout_s=patient(120))
        assert status.returncode == 0, f"status:\n{status.stdout}\n{status.stderr[-2000:]}"
        report = json.loads(status.stdout)
        assert [s["up"] for s in report["services"]] == [True, True], report["services"]
        assert report["dags"][PROCESS_DAG]["paused"] is False
        shown = {r["run_id"] for r in report["runs"][PROCESS_DAG]}
        assert {f"{PROCESS_DAG}/{r['run_id']}" for r in runs} <= shown
        assert report["indices"][stack.names.articles] == SEED_PAGES
        assert report["feeds_in_error"]["count"] == 1, report["feeds_in_error"]
        assert [r["feed"] for r in report["feeds_in_error"]["worst"]] == [BROKEN[0]]
