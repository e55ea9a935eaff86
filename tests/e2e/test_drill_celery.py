"""Drills on the CeleryExecutor: two workers share the DAGs' tasks, and one dies mid-task.

One stack (PostgreSQL metadata and results, a throwaway Redis broker, scheduler, two
``airflow celery worker`` processes with their own names) serves the three drills, started once:

(b) two workers: unpausing the DAGs polls the fixture site (one unit per publisher host)
    and the raw-archive event starts processing; every article must be indexed exactly
    once, no host of the site may see two requests closer than the polite delay, tasks
    must have run on both workers, and story ids must equal those of a sequential replay
    of the same archive through the same flow functions.
(c) a backfill beside new items: the processing runs ``newsflow backfill`` triggers for the
    first poll's window run while new items are pinged, polled and processed on the same two
    workers; every article is there once, politeness holds, and story ids equal a
    sequential replay's.
(d) losing a worker: new items are published and pinged; as soon as a ``process`` task
    runs on a worker, that worker and every process under it get SIGKILL. The scheduler
    fails the try when its heartbeat stops, and the retry on the other worker must yield
    the same documents: every article once, nothing lost. A processing run can end before
    the drill sees one of its tasks running (they take seconds, and a loaded machine answers
    the drill late); then the drill publishes new items and tries again, up to four times.
"""

from __future__ import annotations

import contextlib
import itertools
import logging
import random
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from bench.fixture_feeds import FixtureFeed, add_item, generate_site, registry_yaml, write_article
from newsflow.scheduler_api import FINISHED, POLL_DAG, PROCESS_DAG
from tests.conftest import service_missing
from tests.e2e.stack import (
    FEED_PING,
    Stack,
    airflow_stack,
    clear_of_poll_tick,
    delete_indices,
    fixture_sites,
    patched_env,
    patient,
)

if TYPE_CHECKING:
    from elasticsearch import Elasticsearch

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(900)]

WAIT_S = 240
FEEDS, ARTICLES = 4, 10
POLITE_DELAY_S = 1.0  # between requests to one host, whichever worker or run sends them
SLACK_S = 0.25  # the site logs at arrival; on a loaded machine a request can be read that much late
HEARTBEAT_TIMEOUT_S = 30  # a dead worker's task is failed (and retried) this long after its last beat


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


def _workers_of(stack: Stack, dag_id: str, run_id: str) -> Counter[str]:
    return Counter(
        str(ti.get("hostname") or "?") for ti in stack.api.scheduler.task_instances(dag_id, run_id)
    )


def _wait_success(stack: Stack, dag_id: str, run_id: str) -> None:
    state = stack.api.wait_for(dag_id, run_id, WAIT_S)
    assert state == "success", f"{dag_id} run {run_id} ended {state}; logs in {stack.options.home}"


@pytest.fixture(scope="module")
def drill(tmp_path_factory: pytest.TempPathFactory, es_client: Elasticsearch) -> Iterator[Drill]:
    from newsflow.errors import ServiceError

    work = tmp_path_factory.mktemp("celery-drill")
    prefix = f"celery-{uuid.uuid4().hex[:8]}"
    site = work / "site"
    feeds = generate_site(site, feeds=FEEDS, articles_per_feed=ARTICLES, hosts=FEEDS, seed=17)
    access = AccessLog()
    site_log = logging.getLogger("newsflow.devstack.demo_site")
    level = site_log.level
    site_log.setLevel(logging.DEBUG)
    site_log.addHandler(access)
    with contextlib.ExitStack() as exit_stack:
        exit_stack.callback(site_log.setLevel, level)
        exit_stack.callback(site_log.removeHandler, access)
        port, _ = exit_stack.enter_context(fixture_sites(site, hosts=FEEDS))
        registry = work / "feeds.yaml"
        registry.write_text(registry_yaml(feeds, port, poll_interval="1h"))
        exit_stack.callback(delete_indices, es_client, prefix)
        try:
            stack = exit_stack.enter_context(
                airflow_stack(
                    work / "run",
                    registry,
                    prefix,
                    es_client,
                    allow_hosts=f"127.0.0.0/8:{port}",
                    polite_delay_s=POLITE_DELAY_S,
                    celery_workers=2,
                    heartbeat_timeout_s=HEARTBEAT_TIMEOUT_S,
                    start_timeout_s=420,
                )
            )
        except ServiceError as exc:
            service_missing(
                f"the Celery stack (PostgreSQL, Redis, scheduler, workers) could not start: {exc}"
            )
        yield Drill(stack, feeds, site, port, access)


def _replay_stories(drill: Drill, es_client: Elasticsearch) -> dict[str, str]:
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


def test_two_workers_index_every_article_once_with_stable_stories(
    drill: Drill, es_client: Elasticsearch
) -> None:
    started = time.monotonic()
    stack, api = drill.stack, drill.stack.api
    stack.unpause_all()
    polled = api.wait_new_run(POLL_DAG, set(), WAIT_S, run_type="scheduled")
    _wait_success(stack, POLL_DAG, polled["dag_run_id"])
    processed = api.wait_new_run(PROCESS_DAG, set(), WAIT_S, run_type="asset_triggered")
    _wait_success(stack, PROCESS_DAG, processed["dag_run_id"])
    by_url = drill.check_exactly_once("two workers")
    workers = _workers_of(stack, POLL_DAG, polled["dag_run_id"]) + _workers_of(
        stack, PROCESS_DAG, processed["dag_run_id"]
    )
    replayed = _replay_stories(drill, es_client)
    differ = sorted(u for u, d in by_url.items() if replayed.get(u) != d["story_id"])
    print(
        f"task instances per worker: {dict(sorted(workers.items()))}; stories "
        f"{len({d['story_id'] for d in by_url.values()})} (replay {len(set(replayed.values()))}), "
        f"story ids differing from the sequential replay: {len(differ)}; "
        f"drill took {time.monotonic() - started:.0f}s"
    )
    assert set(workers) == {"newsflow-w1", "newsflow-w2"}, f"tasks ran on {dict(workers)}"
    assert not differ, f"story ids differ from a sequential replay for {differ[:5]}"


def _backfill(stack: Stack, start: datetime, end: datetime) -> list[str]:
    """Trigger the processing runs ``newsflow backfill`` would for [start, end): same plan, ids and conf."""
    from newsflow.backfill import plan_backfill, trigger_runs

    now = datetime.now(UTC)
    runs = trigger_runs(stack.api.scheduler, plan_backfill(start, end, now=now), now=now, on_trigger=print)
    return [run.run_id for run in runs]


def _span(stack: Stack, dag_id: str, run_id: str) -> tuple[datetime, datetime]:
    from newsflow.timestamps import parse_utc_or_none

    run = stack.api.scheduler.dag_run(dag_id, run_id)
    start, end = parse_utc_or_none(run.get("start_date")), parse_utc_or_none(run.get("end_date"))
    assert start is not None and end is not None, run
    return start, end


def test_backfill_of_an_earlier_window_beside_new_items(drill: Drill, es_client: Elasticsearch) -> None:
    """A backfill of the first poll's window runs while the two workers poll and process new items.

    The backfill re-reads the earlier batches and upserts them; the new items are polled and
    processed at the same time, and some of them join or merge earlier stories. Afterwards
    every article is there once, no host was hit faster than its polite delay, and every
    story id equals a sequential replay's (first poll, then the new items): the backfill
    keeps the stories of the articles it brings back unchanged, and never writes back story
    fields it read before the new items moved them.
    """
    clear_of_poll_tick(drill.stack.api, 150)
    started = time.monotonic()
    stack, api = drill.stack, drill.stack.api
    before = drill.check_exactly_once("before the backfill")
    # Every batch so far: a batch is named by its poll run's logical time, which can be minutes
    # before the run started.
    window_end = datetime.now(UTC)
    window_start = window_end - timedelta(hours=1)
    # The new items' batches must be stamped after the backfill's window, which plan_backfill
    # rounds up to the minute: publish them in the next minute.
    time.sleep(61 - window_end.second)
    pinged = drill.publish(drill.feeds[2:], 6, seed=29)
    known_process = {r["dag_run_id"] for r in api.runs(PROCESS_DAG)}
    known_poll = {r["dag_run_id"] for r in api.runs(POLL_DAG)}
    backfill_runs = _backfill(stack, window_start, window_end)
    api.push_event(FEED_PING, {"feeds": pinged})
    poll_run = api.wait_new_run(POLL_DAG, known_poll, WAIT_S, run_type="asset_triggered")
    _wait_success(stack, POLL_DAG, poll_run["dag_run_id"])
    for run_id in backfill_runs:
        _wait_success(stack, PROCESS_DAG, run_id)
    deadline = time.monotonic() + patient(WAIT_S)
    while stack.count() < len(drill.expected) and time.monotonic() < deadline:
        time.sleep(1)
    new_process = [r["dag_run_id"] for r in api.runs(PROCESS_DAG) if r["dag_run_id"] not in known_process]
    for run_id in new_process:
        _wait_success(stack, PROCESS_DAG, run_id)

    by_url = drill.check_exactly_once("backfill beside new items")
    moved = sorted(u for u, d in before.items() if by_url[u]["story_id"] != d["story_id"])
    backfill_spans = [_span(stack, PROCESS_DAG, r) for r in backfill_runs]
    others = [_span(stack, POLL_DAG, poll_run["dag_run_id"])]
    others += [_span(stack, PROCESS_DAG, r) for r in new_process if r not in backfill_runs]
    overlap = max((min(b[1], o[1]) - max(b[0], o[0])).total_seconds() for b in backfill_spans for o in others)
    workers: Counter[str] = Counter()
    backfilled: Counter[str] = Counter()
    for run_id in backfill_runs:
        workers += _workers_of(stack, PROCESS_DAG, run_id)
        backfilled.update((api.xcom(PROCESS_DAG, run_id, "record_metrics") or {}).get("counts", {}))
    replayed = _replay_stories(drill, es_client)
    differ = sorted(u for u, d in by_url.items() if replayed.get(u) != d["story_id"])
    print(
        f"backfill runs {len(backfill_runs)} over {window_start:%H:%M}-{window_end:%H:%M} UTC, "
        f"beside the new items' runs for {overlap:.1f}s; backfill task instances per worker "
        f"{dict(sorted(workers.items()))}; earlier articles whose story id changed: {len(moved)} "
        f"(new items join and merge earlier stories); "
        f"backfill pages read {backfilled['pages_read']}, "
        f"stories kept {backfilled['stories:kept_unchanged']}; "
        f"story ids differing from the sequential replay: {len(differ)}; "
        f"drill took {time.monotonic() - started:.0f}s"
    )
    assert overlap > 0, "the backfill did not run while the new items were polled and processed"
    assert backfilled["pages_read"] >= len(before), (
        f"the backfill did not re-read the first poll: {backfilled}"
    )
    assert not differ, f"story ids differ from a sequential replay for {differ[:5]}"


def _catch_a_running_process_task(drill: Drill, seed: int) -> tuple[str, str, dict[str, Any] | None]:
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
    known_process = {r["dag_run_id"] for r in api.runs(PROCESS_DAG)}
    known_poll = {r["dag_run_id"] for r in api.runs(POLL_DAG)}
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
        known_process.add(run["dag_run_id"])
        assert time.monotonic() < deadline, "no processing run was started by the drill's poll"
    run_id = run["dag_run_id"]
    deadline = time.monotonic() + patient(WAIT_S)
    while time.monotonic() < deadline:
        for ti in api.scheduler.task_instances(PROCESS_DAG, run_id):
            if ti["task_id"] == "process" and ti["state"] == "running" and ti.get("hostname"):
                return poll_run["dag_run_id"], run_id, ti
        if api.scheduler.dag_run(PROCESS_DAG, run_id)["state"] in FINISHED:
            break
        time.sleep(0.3)
    _wait_success(drill.stack, POLL_DAG, poll_run["dag_run_id"])
    _wait_success(drill.stack, PROCESS_DAG, run_id)
    return poll_run["dag_run_id"], run_id, None


ATTEMPTS = 4  # a try publishes new items; each is expected, caught or not


@pytest.mark.timeout(1800)  # up to four tries, each maybe waiting past a poll tick
def test_losing_a_worker_mid_task_retries_on_the_other(drill: Drill) -> None:
    from newsflow.devstack import local_celery

    started = time.monotonic()
    stack, api = drill.stack, drill.stack.api
    victim: dict[str, Any] | None = None
    for attempt in range(ATTEMPTS):
        poll_id, run_id, victim = _catch_a_running_process_task(drill, seed=23 + attempt)
        if victim is not None:
            break
        print(f"\ntry {attempt + 1}: processing run {run_id} ended before a task could be hit")
    assert victim is not None, f"no process task was seen running in {ATTEMPTS} tries"
    name = str(victim["hostname"])
    killed = local_celery.kill_worker(stack.options, int(name.removeprefix("newsflow-w")))
    killed_at = time.monotonic()
    _wait_success(stack, PROCESS_DAG, run_id)
    _wait_success(stack, POLL_DAG, poll_id)  # its last task may have been on the killed worker too
    after = [
        ti
        for ti in api.scheduler.task_instances(PROCESS_DAG, run_id)
        if ti["task_id"] == "process" and ti.get("map_index") == victim.get("map_index")
    ]
    assert len(after) == 1
    retried = after[0]
    print(
        f"\nkilled {name} ({len(killed)} processes) while it ran process[{victim.get('map_index')}] "
        f"try {victim.get('try_number')}; it ended {retried['state']} on {retried.get('hostname')} "
        f"at try {retried.get('try_number')}, {time.monotonic() - killed_at:.0f}s after the kill"
    )
    drill.check_exactly_once("losing a worker")
    print(f"drill took {time.monotonic() - started:.0f}s")
    assert retried["state"] == "success"
    assert int(retried["try_number"]) > int(victim["try_number"]), "the task was not retried"
    assert retried.get("hostname") != name, "the retry ran on the killed worker"
