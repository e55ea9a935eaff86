"""The DAGs through the real scheduler on LocalExecutor + PostgreSQL, end to end.

(a) unpausing the polling DAG starts a *scheduled* run at once (its cron
timetable without catchup runs the latest past tick), which polls the fixture
site; (b) the processing DAG follows from the raw-archive asset event;
(c) a REST-pushed feed-ping event polls exactly that feed and gets a new item
indexed; (d) a backfill over two hourly intervals re-processes the files a
past-dated run archived. Finally the index holds each served article once.

Seed feeds poll hourly in this registry, so the */5 scheduled runs that may
tick during the test find nothing due and cannot race the steps; that also
checks that a ping polls its feed inside the feed's interval (a publisher's
"new item now" must not wait an hour), and that a backfill run re-processes
files the asset-triggered runs already processed.
"""

from __future__ import annotations

import contextlib
import random
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from bench.fixture_feeds import add_item, generate_site, write_article
from newsflow.jsontypes import integer
from newsflow.scheduler_api import POLL_DAG, PROCESS_DAG
from tests.conftest import service_missing
from tests.e2e.stack import (
    FEED_PING,
    Stack,
    airflow_stack,
    clear_of_poll_tick,
    fixture_sites,
    patient,
    run_id_of,
)

if TYPE_CHECKING:
    from elasticsearch import Elasticsearch

# The whole test's bound, stretched by the load when it starts like each wait inside it: every
# DAG run has a recording task (and processing a dead-letter replay), each a task process.
pytestmark = [pytest.mark.e2e, pytest.mark.timeout(patient(720))]

WAIT_S = 180  # per run: generous on 2 busy cores, bounded so a hang fails rather than stalls
NORTH, SOUTH, EAST = "e2e-northern-herald", "e2e-southern-courier", "e2e-eastern-gazette"
INTERVAL = "1h"  # so */5 ticks find nothing due; a ping must poll its feed anyway
SEED_PAGES = {
    "northern-herald/2022/08/30/ukraine-run-home-or-die.html",
    "northern-herald/2022/08/31/bakhmut-assault-repelled.html",
    "southern-courier/2022/08/30/kherson-breakthrough-claimed.html",
    "southern-courier/2022/08/30/wire-ukraine-run-home-or-die.html",
    "southern-courier/2022/08/30/city-approves-cycle-lanes.html",
}


def _registry(port: int, *, with_east: bool) -> str:
    feeds = [(NORTH, "Northern Herald", "northern-herald"), (SOUTH, "Southern Courier", "southern-courier")]
    if with_east:
        feeds.append((EAST, "Eastern Gazette", "eastern-000"))
    lines = ["feeds:"]
    for name, outlet, path in feeds:
        lines += [
            f"  - name: {name}",
            f"    outlet: {outlet}",
            f"    url: http://127.0.0.1:{port}/{path}/feed.xml",
            "    language: en",
            f"    poll_interval: {INTERVAL}",
            "    tags: [e2e]",
        ]
    return "\n".join(lines) + "\n"


def _url(port: int, path: str) -> str:
    return f"http://127.0.0.1:{port}/{path}"


def _wait_searchable(stack: Stack, canonical_url: str, timeout_s: float = WAIT_S) -> None:
    bound = patient(timeout_s)
    deadline = time.monotonic() + bound
    while time.monotonic() < deadline:
        if stack.searchable(canonical_url):
            return
        time.sleep(1)
    pytest.fail(f"{canonical_url} was not searchable within {bound:.0f}s")


def _pages_in_window(stack: Stack, start: datetime, end: datetime) -> int:
    """Archived page responses a run over [start, end) must read, counted from the archive itself."""
    from newsflow.archive import batches_in_window

    return sum(len(batch.read().pages) for batch in batches_in_window(str(stack.archive), start, end))


def _wait_backfill(stack: Stack, backfill_id: int) -> None:
    bound = patient(2 * WAIT_S)
    deadline = time.monotonic() + bound
    while time.monotonic() < deadline:
        if stack.api.scheduler.request("GET", f"/api/v2/backfills/{backfill_id}").get("completed_at"):
            return
        time.sleep(2)
    pytest.fail(f"backfill {backfill_id} did not complete within {bound:.0f}s")


def _check_run_records(stack: Stack) -> None:
    """Each successful Airflow run of both DAGs left a finished ``success`` record (its newest
    attempt), and the backfill's records say so: issue 16's truthful run records."""
    from newsflow.index.run_metrics import read_runs

    stack.client.indices.refresh(index=stack.names.runs)
    for dag_id in (POLL_DAG, PROCESS_DAG):
        for run in stack.api.runs(dag_id):
            if run.get("state") != "success":
                continue
            # At the top of an hour the poll and the process DAG both have a "scheduled__<hour>" run.
            records = [
                r
                for r in read_runs(stack.client, names=stack.names, airflow_run_id=run_id_of(run))
                if r.get("dag_id") == dag_id
            ]
            assert records, f"{dag_id} run {run['dag_run_id']} left no run record"
            newest = max(records, key=lambda r: int(r.get("try_number") or 1))
            assert newest["dag_id"] == dag_id and newest["finished"], newest
            assert newest["status"] == "success", (run_id_of(run), newest["status_reasons"])
            if run.get("run_type") == "backfill":
                assert newest["run_kind"] == "backfill", newest


def test_scheduler_polls_processes_pushes_and_backfills(
    tmp_path: Path, site_copy: Path, es_client: Elasticsearch, es_prefix: str
) -> None:
    from newsflow.errors import ServiceError
    from newsflow.urls import canonicalize_url

    with contextlib.ExitStack() as exit_stack:
        port, _ = exit_stack.enter_context(fixture_sites(site_copy))
        registry = tmp_path / "feeds.yaml"
        registry.write_text(_registry(port, with_east=False))
        try:
            # The fixture sites' port only: feeds must not reach the stack's Postgres, Airflow or ES.
            stack = exit_stack.enter_context(
                airflow_stack(
                    tmp_path / "run", registry, es_prefix, es_client, allow_hosts=f"127.0.0.0/8:{port}"
                )
            )
        except ServiceError as exc:
            service_missing(f"the Airflow stack (PostgreSQL + scheduler) could not start: {exc}")
        api = stack.api
        expected = {canonicalize_url(_url(port, page)) for page in SEED_PAGES}

        # (a) the schedule: unpausing runs the latest */5 tick as a scheduled run.
        stack.unpause_all()
        scheduled = api.wait_new_run(POLL_DAG, set(), WAIT_S, run_type="scheduled")
        stack.wait_success(POLL_DAG, run_id_of(scheduled), WAIT_S)
        assert api.xcom(POLL_DAG, run_id_of(scheduled), "plan_poll") == [[NORTH, SOUTH]]

        # (b) its raw-archive event starts the processing DAG.
        first = api.wait_new_run(PROCESS_DAG, set(), WAIT_S, run_type="asset_triggered")
        stack.wait_success(PROCESS_DAG, run_id_of(first), WAIT_S)
        docs = stack.docs()
        assert sorted(d["canonical_url"] for d in docs) == sorted(expected)
        by_url = {d["canonical_url"]: d for d in docs}
        herald = by_url[
            canonicalize_url(_url(port, "northern-herald/2022/08/30/ukraine-run-home-or-die.html"))
        ]
        courier = by_url[
            canonicalize_url(_url(port, "southern-courier/2022/08/30/kherson-breakthrough-claimed.html"))
        ]
        lanes = by_url[
            canonicalize_url(_url(port, "southern-courier/2022/08/30/city-approves-cycle-lanes.html"))
        ]
        assert herald["story_id"] == courier["story_id"], "the two Kherson seed reports must share a story"
        assert lanes["story_id"] != herald["story_id"]

        # (c) a publisher pings one feed through the REST API after adding an item to it.
        rng = random.Random(7)
        item = write_article(
            site_copy, "northern-herald", 1, outlet="Northern Herald", rng=rng, published=datetime.now(UTC)
        )
        add_item(site_copy / "northern-herald" / "feed.xml", item)
        known_poll = api.run_ids(POLL_DAG)
        known_process = api.run_ids(PROCESS_DAG)
        api.push_event(FEED_PING, {"feeds": [NORTH]})
        pushed = api.wait_new_run(POLL_DAG, known_poll, WAIT_S, run_type="asset_triggered")
        stack.wait_success(POLL_DAG, run_id_of(pushed), WAIT_S)
        assert api.xcom(POLL_DAG, run_id_of(pushed), "plan_poll") == [[NORTH]]
        followed = api.wait_new_run(PROCESS_DAG, known_process, WAIT_S, run_type="asset_triggered")
        stack.wait_success(PROCESS_DAG, run_id_of(followed), WAIT_S)
        new_url = canonicalize_url(item.url(f"http://127.0.0.1:{port}"))
        _wait_searchable(stack, new_url)
        expected.add(new_url)

        # (d) a run dated in the last complete hour archives a new feed; a backfill over
        # that hour and the one before re-processes exactly what the archive holds for them.
        # The past-dated run must plan the new feed before a scheduled tick sees it: on a loaded
        # machine that takes a minute or more, so start at least two clear of the tick.
        clear_of_poll_tick(api, 120)
        hour = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
        east = generate_site(site_copy, feeds=1, articles_per_feed=2, prefix="eastern", seed=11)[0]
        registry.write_text(_registry(port, with_east=True))
        known_process = api.run_ids(PROCESS_DAG)
        past = api.trigger(POLL_DAG, logical_date=hour - timedelta(minutes=30))
        stack.wait_success(POLL_DAG, past, WAIT_S)
        assert api.xcom(POLL_DAG, past, "plan_poll") == [[EAST]]
        archived = api.wait_new_run(PROCESS_DAG, known_process, WAIT_S, run_type="asset_triggered")
        stack.wait_success(PROCESS_DAG, run_id_of(archived), WAIT_S)
        for article in east.articles:
            expected.add(canonicalize_url(article.url(f"http://127.0.0.1:{port}")))

        start, end = hour - timedelta(hours=2), hour - timedelta(hours=1)
        pages = _pages_in_window(stack, start, hour)
        assert pages >= len(east.articles)
        backfill = api.backfill(PROCESS_DAG, start, end)
        _wait_backfill(stack, integer(backfill.get("id"), "backfill id"))
        runs = [r for r in api.runs(PROCESS_DAG) if r.get("run_type") == "backfill"]
        assert sorted(str(r["logical_date"])[:16] for r in runs) == [
            f"{start:%Y-%m-%dT%H:%M}",
            f"{end:%Y-%m-%dT%H:%M}",
        ]
        assert {r["state"] for r in runs} == {"success"}
        read = sum(
            integer(
                api.xcom_counts(PROCESS_DAG, run_id_of(r), "record_metrics").get("pages_read", 0),
                "pages_read",
            )
            for r in runs
        )
        assert read == pages, f"the backfill read {read} archived pages, the window holds {pages}"

        # Every served article once: no duplicates across schedule, push, past run and backfill.
        docs = stack.docs()
        urls = [d["canonical_url"] for d in docs]
        assert len(urls) == len(set(urls)), f"duplicate documents: {sorted(urls)}"
        assert set(urls) == expected
        assert stack.count() == len(expected)
        _check_run_records(stack)
