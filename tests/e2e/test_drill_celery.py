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

The three drills stay in this one module: they run in order on the one stack (the second
and third build on what the first indexed), and a module of their own each would start it
again. Their moves and checks are in ``celery_drill.py``.
"""

from __future__ import annotations

import contextlib
import logging
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

import pytest

from bench.fixture_feeds import generate_site, registry_yaml
from newsflow.jsontypes import JsonObject, integer
from newsflow.scheduler_api import POLL_DAG, PROCESS_DAG
from newsflow.stored_fields import whole
from tests.conftest import service_missing
from tests.e2e.celery_drill import (
    ARTICLES,
    POLITE_DELAY_S,
    WAIT_S,
    AccessLog,
    Drill,
    catch_a_running_process_task,
    replay_stories,
    run_span,
    trigger_backfill,
    workers_of,
)
from tests.e2e.stack import (
    FEED_PING,
    airflow_stack,
    clear_of_poll_tick,
    delete_indices,
    fixture_sites,
    patient,
    run_id_of,
)

if TYPE_CHECKING:
    from elasticsearch import Elasticsearch

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(900)]

FEEDS = 4
HEARTBEAT_TIMEOUT_S = 30  # a dead worker's task is failed (and retried) this long after its last beat


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


def test_two_workers_index_every_article_once_with_stable_stories(
    drill: Drill, es_client: Elasticsearch
) -> None:
    started = time.monotonic()
    stack, api = drill.stack, drill.stack.api
    stack.unpause_all()
    polled = api.wait_new_run(POLL_DAG, set(), WAIT_S, run_type="scheduled")
    stack.wait_success(POLL_DAG, run_id_of(polled), WAIT_S)
    processed = api.wait_new_run(PROCESS_DAG, set(), WAIT_S, run_type="asset_triggered")
    stack.wait_success(PROCESS_DAG, run_id_of(processed), WAIT_S)
    by_url = drill.check_exactly_once("two workers")
    workers = workers_of(stack, POLL_DAG, run_id_of(polled)) + workers_of(
        stack, PROCESS_DAG, run_id_of(processed)
    )
    replayed = replay_stories(drill, es_client)
    differ = sorted(u for u, d in by_url.items() if replayed.get(u) != d["story_id"])
    print(
        f"task instances per worker: {dict(sorted(workers.items()))}; stories "
        f"{len({d['story_id'] for d in by_url.values()})} (replay {len(set(replayed.values()))}), "
        f"story ids differing from the sequential replay: {len(differ)}; "
        f"drill took {time.monotonic() - started:.0f}s"
    )
    assert set(workers) == {"newsflow-w1", "newsflow-w2"}, f"tasks ran on {dict(workers)}"
    assert not differ, f"story ids differ from a sequential replay for {differ[:5]}"


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
    known_process = api.run_ids(PROCESS_DAG)
    known_poll = api.run_ids(POLL_DAG)
    backfill_runs = trigger_backfill(stack, window_start, window_end)
    api.push_event(FEED_PING, {"feeds": pinged})
    poll_run = api.wait_new_run(POLL_DAG, known_poll, WAIT_S, run_type="asset_triggered")
    stack.wait_success(POLL_DAG, run_id_of(poll_run), WAIT_S)
    for run_id in backfill_runs:
        stack.wait_success(PROCESS_DAG, run_id, WAIT_S)
    deadline = time.monotonic() + patient(WAIT_S)
    while stack.count() < len(drill.expected) and time.monotonic() < deadline:
        time.sleep(1)
    new_process = [run_id_of(r) for r in api.runs(PROCESS_DAG) if run_id_of(r) not in known_process]
    for run_id in new_process:
        stack.wait_success(PROCESS_DAG, run_id, WAIT_S)

    by_url = drill.check_exactly_once("backfill beside new items")
    moved = sorted(u for u, d in before.items() if by_url[u]["story_id"] != d["story_id"])
    backfill_spans = [run_span(stack, PROCESS_DAG, r) for r in backfill_runs]
    others = [run_span(stack, POLL_DAG, run_id_of(poll_run))]
    others += [run_span(stack, PROCESS_DAG, r) for r in new_process if r not in backfill_runs]
    overlap = max((min(b[1], o[1]) - max(b[0], o[0])).total_seconds() for b in backfill_spans for o in others)
    workers: Counter[str] = Counter()
    backfilled: Counter[str] = Counter()
    for run_id in backfill_runs:
        workers += workers_of(stack, PROCESS_DAG, run_id)
        counts = api.xcom_counts(PROCESS_DAG, run_id, "record_metrics")
        backfilled.update({key: n for key, value in counts.items() if (n := whole(value)) is not None})
    replayed = replay_stories(drill, es_client)
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


ATTEMPTS = 4  # a try publishes new items; each is expected, caught or not


@pytest.mark.timeout(1800)  # up to four tries, each maybe waiting past a poll tick
def test_losing_a_worker_mid_task_retries_on_the_other(drill: Drill) -> None:
    from newsflow.devstack import local_celery

    started = time.monotonic()
    stack, api = drill.stack, drill.stack.api
    victim: JsonObject | None = None
    for attempt in range(ATTEMPTS):
        poll_id, run_id, victim = catch_a_running_process_task(drill, seed=23 + attempt)
        if victim is not None:
            break
        print(f"\ntry {attempt + 1}: processing run {run_id} ended before a task could be hit")
    assert victim is not None, f"no process task was seen running in {ATTEMPTS} tries"
    name = str(victim["hostname"])
    killed = local_celery.kill_worker(stack.options, int(name.removeprefix("newsflow-w")))
    killed_at = time.monotonic()
    stack.wait_success(PROCESS_DAG, run_id, WAIT_S)
    stack.wait_success(POLL_DAG, poll_id, WAIT_S)  # its last task may have been on the killed worker too
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
    tries = integer(retried.get("try_number"), "try_number"), integer(victim.get("try_number"), "try_number")
    assert tries[0] > tries[1], "the task was not retried"
    assert retried.get("hostname") != name, "the retry ran on the killed worker"
