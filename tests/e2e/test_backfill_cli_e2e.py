"""``newsflow backfill --last 1h`` through the real scheduler reprocesses data polled minutes ago.

Airflow's own backfill refuses the current, still-open hour, so right after a poll nothing
it offers reaches the fresh data (issue 16). Here the seed site is polled by a scheduled
run and processed by the asset-triggered run it starts; then the CLI, run as an operator
runs it (a subprocess that finds the local Airflow's port and generated password), backfills
the last hour: each window is a manual run with an explicit data interval and a run id of
its own. The test checks that the runs re-read exactly the pages archived in their windows,
re-index them without duplicating or changing anything, leave a record each, and leave the
first processing run's record alone; then ``newsflow status`` sees Airflow and those runs.
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

from tests.conftest import service_missing
from tests.e2e.stack import POLL_DAG, PROCESS_DAG, Stack, airflow_stack, fixture_sites, patient

if TYPE_CHECKING:
    from elasticsearch import Elasticsearch

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(900)]

WAIT_S = 180
FEEDS = (("e2e-northern-herald", "Northern Herald"), ("e2e-southern-courier", "Southern Courier"))
SEED_PAGES = 5


def _registry(port: int) -> str:
    lines = ["feeds:"]
    for name, outlet in FEEDS:
        path = name.removeprefix("e2e-")
        lines += [
            f"  - name: {name}",
            f"    outlet: {outlet}",
            f"    url: http://127.0.0.1:{port}/{path}/feed.xml",
            "    language: en",
            "    poll_interval: 1h",  # */5 ticks during the test find nothing due
            "    tags: [e2e]",
        ]
    return "\n".join(lines) + "\n"


def _wait_success(stack: Stack, dag_id: str, run_id: str) -> None:
    state = stack.api.wait_for(dag_id, run_id, WAIT_S)
    assert state == "success", f"{dag_id} run {run_id} ended {state}; logs in {stack.options.home}"


def _documents(stack: Stack) -> dict[str, dict[str, Any]]:
    stack.client.indices.refresh(index=stack.names.articles)
    result = stack.client.search(
        index=stack.names.articles, size=1000, source_includes=["canonical_url", "version", "indexed_at"]
    )
    return {hit["_id"]: hit["_source"] for hit in result["hits"]["hits"]}


def _records(stack: Stack) -> dict[str, dict[str, Any]]:
    stack.client.indices.refresh(index=stack.names.runs)
    result = stack.client.search(index=stack.names.runs, size=1000, query={"term": {"stage": "process"}})
    return {hit["_source"]["run_id"]: hit["_source"] for hit in result["hits"]["hits"]}


def _cli(stack: Stack, *argv: str, timeout_s: float) -> subprocess.CompletedProcess[str]:
    """The CLI as an operator runs it against the local Airflow: port and state dir, no password given."""
    env = dict(os.environ)
    for variable in ("NEWSFLOW_AIRFLOW_URL", "NEWSFLOW_AIRFLOW_PASSWORD", "NEWSFLOW_AIRFLOW_USERNAME"):
        env.pop(variable, None)
    env.update(
        {
            "NEWSFLOW_AIRFLOW_PORT": str(stack.options.port),
            "NEWSFLOW_STATE_DIR": str(stack.options.state_dir),
            "NEWSFLOW_ALERTS_ALIAS": stack.names.alerts,
            "NEWSFLOW_ALERT_RULES_ALIAS": stack.names.alert_rules,
            "NEWSFLOW_FEED_HEALTH_ALIAS": stack.names.feed_health,
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
    tmp_path: Path, site_copy: Path, es_client: Elasticsearch, es_prefix: str
) -> None:
    from newsflow.errors import ServiceError
    from newsflow.timestamps import parse_utc

    with contextlib.ExitStack() as exit_stack:
        port, _ = exit_stack.enter_context(fixture_sites(site_copy))
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

        # Fresh data: the schedule polls the seed site, its asset event starts processing.
        stack.unpause_all()
        polled = api.wait_new_run(POLL_DAG, set(), WAIT_S, run_type="scheduled")
        _wait_success(stack, POLL_DAG, polled["dag_run_id"])
        first = api.wait_new_run(PROCESS_DAG, set(), WAIT_S, run_type="asset_triggered")
        _wait_success(stack, PROCESS_DAG, first["dag_run_id"])
        before = _documents(stack)
        assert len(before) == SEED_PAGES
        first_record = _records(stack)[f"{PROCESS_DAG}/{first['dag_run_id']}"]
        assert first_record["counts"]["index_created"] == SEED_PAGES

        # The operator's backfill of the last hour, through the REST API.
        done = _cli(stack, "backfill", "--last", "1h", "--json", "--timeout", "600", timeout_s=patient(700))
        assert done.returncode == 0, f"backfill failed:\n{done.stdout}\n{done.stderr[-3000:]}"
        summary = json.loads(done.stdout)
        runs = summary["runs"]
        assert 1 <= len(runs) <= 2, runs  # the hour before now, cut at the hour boundary
        windows = [(parse_utc(r["window"][0]), parse_utc(r["window"][1])) for r in runs]
        assert all(a[1] == b[0] for a, b in itertools.pairwise(windows)), windows
        assert windows[0][0] <= parse_utc(polled["logical_date"]) < windows[-1][1]
        for run in runs:
            assert run["run_id"].startswith("manual__backfill_") and run["state"] == "success", run
            airflow_run = api.run(PROCESS_DAG, run["run_id"])
            assert airflow_run["run_type"] == "manual"
            assert airflow_run["conf"] == {"reprocess": True, "backfill": True}
            assert parse_utc(airflow_run["data_interval_start"]) == parse_utc(run["window"][0])
            assert parse_utc(airflow_run["data_interval_end"]) == parse_utc(run["window"][1])

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

        # The status screen sees the real Airflow and the runs.
        status = _cli(stack, "status", "--json", timeout_s=patient(120))
        assert status.returncode == 0, f"status:\n{status.stdout}\n{status.stderr[-2000:]}"
        report = json.loads(status.stdout)
        assert [s["up"] for s in report["services"]] == [True, True], report["services"]
        assert report["dags"][PROCESS_DAG]["paused"] is False
        shown = {r["run_id"] for r in report["runs"][PROCESS_DAG]}
        assert {f"{PROCESS_DAG}/{r['run_id']}" for r in runs} <= shown
        assert report["indices"][stack.names.articles] == SEED_PAGES
