"""The Celery drill's moves and checks (``test_drill_celery.py``), apart from its stack fixture.

The fixture site's access log (each host's shortest gap between two requests), the articles a
drill expects and publishes, the exactly-once and politeness check, a sequential replay of the
drill's archive through the same flow functions (the story ids the drill's runs must equal),
the processing runs ``newsflow backfill`` would trigger, and catching a ``process`` task while it
runs on a worker.
"""

from __future__ import annotations

import itertools
import logging
import random
import time
import uuid
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bench.fixture_feeds import FixtureFeed, add_item, write_article
from newsflow.scheduler_api import FINISHED, POLL_DAG, PROCESS_DAG
from tests.e2e.stack import (
    FEED_PING,
    Stack,
    clear_of_poll_tick,
    delete_indices,
    patched_env,
    patient,
    run_id_of,
)

if TYPE_CHECKING:
    from elasticsearch import Elasticsearch

    from newsflow.jsontypes import JsonObject

WAIT_S = 240
ARTICLES = 10  # per feed of the fixture site
POLITE_DELAY_S = 1.0  # between requests to one host, whichever worker or run sends them
SLACK_S = 0.25  # the site logs at arrival; on a loaded machine a request can be read that much late


class AccessLog(logging.Handler):
    """The fixture sites' requests, (arrival time, serving address, path), from their debug log."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.hits: list[tuple[float, str, str]] = []

    def emit(self, record: logging.LogRecord) -> None:
        if record.msg == "demo site %s: GET %s":
            host, path = record.args  # type: ignore[misc]  # the two arguments of that message
            self.hits.append((record.created, str(host), str(path)))

    def fastest_gaps(self) -> dict[str, float]:
        """Each host's shortest interval between two requests."""
        by_host: dict[str, list[float]] = {}
        for when, host, _ in sorted(self.hits):
            by_host.setdefault(host, []).append(when)
        return {
            h: min((b - a for a, b in itertools.pairwise(t)), default=float("inf"))
            for h, t in by_host.items()
        }


class Drill:
    def __init__(self, stack: Stack, feeds: list[FixtureFeed], site: Path, port: int, log: AccessLog) -> None:
        self.stack, self.feeds, self.site, self.port, self.log = stack, feeds, site, port, log
        self.expected: set[str] = set()
        self.next_item = dict.fromkeys((feed.name for feed in feeds), ARTICLES)
        for feed in feeds:
            for article in feed.articles:
                self.expect(feed, article.path)

    def expect(self, feed: FixtureFeed, path: str) -> None:
        from newsflow.urls import canonicalize_url

        self.expected.add(canonicalize_url(f"http://{feed.host}:{self.port}/{path}"))

    def publish(self, feeds: list[FixtureFeed], count: int, *, seed: int) -> list[str]:
        """``count`` new items at the top of each feed (numbered after its earlier ones), expected."""
        rng = random.Random(seed)
        for feed in feeds:
            first = self.next_item[feed.name]
            self.next_item[feed.name] = first + count
            for n in range(first, first + count):
                article = write_article(
                    self.site, feed.name, n, outlet=feed.outlet, rng=rng, published=datetime.now(UTC)
                )
                add_item(self.site / feed.name / "feed.xml", article)
                self.expect(feed, article.path)
        return [feed.name for feed in feeds]

    def check_exactly_once(self, what: str) -> dict[str, dict[str, Any]]:
        docs = self.stack.docs()
        found = Counter(d["canonical_url"] for d in docs)
        duplicated = sorted(u for u, n in found.items() if n > 1)
        missing = sorted(self.expected - set(found))
        gaps = self.log.fastest_gaps()
        print(
            f"\n{what}: documents expected {len(self.expected)}, found {len(docs)} "
            f"({len(found)} distinct, {len(duplicated)} duplicated, {len(missing)} missing); "
            f"site requests {len(self.log.hits)}, shortest gap per host "
            f"{min(gaps.values(), default=float('inf')):.2f}s (polite delay {POLITE_DELAY_S}s)"
        )
        too_fast = {h: round(g, 3) for h, g in gaps.items() if g < POLITE_DELAY_S - SLACK_S}
        assert not too_fast, f"hosts hit faster than their polite delay: {too_fast}"
        assert not duplicated, f"duplicated: {duplicated[:5]}"
        assert not missing, f"missing: {missing[:5]}"
        assert set(found) == self.expected
        return {d["canonical_url"]: d for d in docs}


def workers_of(stack: Stack, dag_id: str, run_id: str) -> Counter[str]:
    return Counter(
        str(ti.get("hostname") or "?") for ti in stack.api.scheduler.task_instances(dag_id, run_id)
    )


def replay_stories(drill: Drill, es_client: Elasticsearch) -> dict[str, str]:
    """Story id by canonical URL from a sequential replay of the drill's archive (no Airflow),
    one batch at a time in the order they were written."""
    from newsflow.fetch_policy import allow_list_from_env
    from newsflow.flows import process
    from newsflow.flows.options import FlowOptions
    from newsflow.flows.runs import RunInfo, RunKind
    from newsflow.index import IndexNames, setup_indices

    prefix = f"replay-{uuid.uuid4().hex[:8]}"
    names = IndexNames.with_prefix(prefix)
    try:
        with patched_env(names.as_env()):
            setup_indices(es_client, names)
            flow = FlowOptions(
                registry=str(drill.stack.registry),
                archive_root=str(drill.stack.archive),
                allow_private_hosts=allow_list_from_env("127.0.0.0/8"),
            )
            today = datetime.now(UTC)
            window = (today - timedelta(days=2), today + timedelta(days=1))  # every batch of the drill
            run = RunInfo(f"replay/{prefix}", "replay", RunKind.MANUAL, datetime.now(UTC), reprocess=True)
            # Batch by batch in the order they were written, as the pipeline met them.
            for unit in process.plan_process(flow, window=window).units:
                for ref in unit:
                    process.process_batch(flow, [ref], run=run, client=es_client)
            es_client.indices.refresh(index=names.articles)
            hits = es_client.search(
                index=names.articles, size=10000, source_includes=["canonical_url", "story_id"]
            )
            return {h["_source"]["canonical_url"]: h["_source"]["story_id"] for h in hits["hits"]["hits"]}
    finally:
        delete_indices(es_client, prefix)


def trigger_backfill(stack: Stack, start: datetime, end: datetime) -> list[str]:
    """Trigger the processing runs ``newsflow backfill`` would for [start, end): same plan, ids and conf."""
    from newsflow.backfill import plan_backfill, trigger_runs

    now = datetime.now(UTC)
    runs = trigger_runs(stack.api.scheduler, plan_backfill(start, end, now=now), now=now, on_trigger=print)
    return [run.run_id for run in runs]


def run_span(stack: Stack, dag_id: str, run_id: str) -> tuple[datetime, datetime]:
    from newsflow.timestamps import parse_utc_or_none

    run = stack.api.scheduler.dag_run(dag_id, run_id)
    start, end = parse_utc_or_none(run.get("start_date")), parse_utc_or_none(run.get("end_date"))
    assert start is not None and end is not None, run
    return start, end


def catch_a_running_process_task(drill: Drill, seed: int) -> tuple[str, str, JsonObject | None]:
    """Publish and ping new items; return the poll run and the processing run they start, and one of
    its ``process`` task instances seen running (None when the run ended first: its tasks can take
    only a few seconds).

    The processing run is looked for as soon as the poll run is there, not after it ends: on a
    loaded machine the processing run can start and end while a test waits for the poll run.
    """
    from newsflow.timestamps import parse_utc_or_none

    # The scheduled */5 poll must neither poll these new items first nor start the processing
    # run the drill takes for its own: start well clear of the next tick.
    api = drill.stack.api
    clear_of_poll_tick(api, 150)
    pinged = drill.publish(drill.feeds[:2], 8, seed=seed)
    known_process = api.run_ids(PROCESS_DAG)
    known_poll = api.run_ids(POLL_DAG)
    api.push_event(FEED_PING, {"feeds": pinged})
    poll_run = api.wait_new_run(POLL_DAG, known_poll, WAIT_S, run_type="asset_triggered")
    # The run our poll's event started was queued after our poll run was; one a scheduled poll
    # started before it is not ours.
    ours_after = parse_utc_or_none(poll_run.get("queued_at"))
    deadline = time.monotonic() + patient(WAIT_S)
    while True:
        run = api.wait_new_run(PROCESS_DAG, known_process, WAIT_S, run_type="asset_triggered")
        queued = parse_utc_or_none(run.get("queued_at"))
        if ours_after is None or queued is None or queued >= ours_after:
            break
        known_process.add(run_id_of(run))
        assert time.monotonic() < deadline, "no processing run was started by the drill's poll"
    run_id = run_id_of(run)
    deadline = time.monotonic() + patient(WAIT_S)
    while time.monotonic() < deadline:
        for ti in api.scheduler.task_instances(PROCESS_DAG, run_id):
            if ti["task_id"] == "process" and ti["state"] == "running" and ti.get("hostname"):
                return run_id_of(poll_run), run_id, ti
        if api.scheduler.dag_run(PROCESS_DAG, run_id)["state"] in FINISHED:
            break
        time.sleep(0.3)
    drill.stack.wait_success(POLL_DAG, run_id_of(poll_run), WAIT_S)
    drill.stack.wait_success(PROCESS_DAG, run_id, WAIT_S)
    return run_id_of(poll_run), run_id, None
