"""End-to-end throughput through the real scheduler: new articles polled, extracted, clustered, indexed.

A synthetic fixture site (default 50 feeds x 40 articles = 2,000 new articles, feeds
spread over several loopback addresses so per-host politeness behaves like many
publishers) is registered, one polling run is triggered, and the clock stops when
every article is searchable and every processing run it caused has finished.

Reported: articles/s end to end (target >= 15 on 2 cores) and the share of wall
time that is Airflow overhead (target <= 20 %), measured two ways from the REST API:
- idle share: wall time during which no task of these runs was executing
  (scheduling, queueing, asset-event hand-off);
- task overhead: task-instance durations minus the time the pipeline itself
  reported inside the processing tasks (task start-up: fork, imports, DAG parse).

Usage: ``.venv/bin/python bench/bench_throughput.py [--feeds 50 --articles 40 --hosts 10]``.
Needs Elasticsearch (``newsflow es up``); starts its own PostgreSQL and Airflow.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.fixture_feeds import generate_site, registry_yaml

from newsflow.timestamps import parse_utc_or_none
from tests.e2e.stack import (
    POLL_DAG,
    PROCESS_DAG,
    Api,
    Stack,
    airflow_stack,
    clear_of_poll_tick,
    delete_indices,
    fixture_sites,
)


def _when(value: str | None) -> datetime | None:
    return parse_utc_or_none(value)


def _busy_seconds(intervals: list[tuple[datetime, datetime]]) -> float:
    """Length of the union of [start, end) intervals."""
    total = 0.0
    current: tuple[datetime, datetime] | None = None
    for start, end in sorted(intervals):
        if current is None or start > current[1]:
            if current is not None:
                total += (current[1] - current[0]).total_seconds()
            current = (start, end)
        else:
            current = (current[0], max(current[1], end))
    if current is not None:
        total += (current[1] - current[0]).total_seconds()
    return total


def _task_rows(api: Api, dag_id: str, run_ids: list[str]) -> list[dict[str, Any]]:
    return [ti for run_id in run_ids for ti in api.task_instances(dag_id, run_id)]


@dataclass(frozen=True, slots=True)
class Timing:
    wall_start: datetime
    t0: float  # monotonic: poll triggered
    polled: float  # poll run finished
    indexed: float  # every article searchable
    done: float  # every processing run finished

    @property
    def wall(self) -> float:
        return self.done - self.t0


def _report(
    api: Api,
    timing: Timing,
    *,
    poll_run: str,
    process_ids: list[str],
    indexed: int,
    total: int,
    polite_delay: float,
) -> None:
    poll_tis = _task_rows(api, POLL_DAG, [poll_run])
    process_tis = _task_rows(api, PROCESS_DAG, process_ids)
    intervals = []
    for ti in poll_tis + process_tis:
        start, end = _when(ti.get("start_date")), _when(ti.get("end_date"))
        if start and end:
            intervals.append((max(start, timing.wall_start), end))
    wall = timing.wall
    busy = _busy_seconds(intervals)

    def seconds(tis: list[dict[str, Any]], task_id: str | None = None) -> float:
        return sum(float(ti.get("duration") or 0) for ti in tis if task_id in (None, ti["task_id"]))

    in_pipeline = 0.0
    process_tasks = [ti for ti in process_tis if ti["task_id"] == "process"]
    for ti in process_tasks:
        value = api.xcom(PROCESS_DAG, ti["dag_run_id"], "process", int(ti.get("map_index", -1))) or {}
        in_pipeline += float(value.get("counts", {}).get("seconds", 0.0))
    process_s = seconds(process_tis, "process")
    idle = max(0.0, wall - busy)
    rate = indexed / wall
    polls = sum(1 for ti in poll_tis if ti["task_id"] == "poll")
    print()
    print(f"articles indexed:        {indexed} / {total}")
    print(
        f"wall time:               {wall:.1f}s (poll run done at {timing.polled - timing.t0:.1f}s, "
        f"all searchable at {timing.indexed - timing.t0:.1f}s)"
    )
    print(f"throughput:              {rate:.2f} articles/s (target >= 15; ratio {rate / 15:.2f})")
    print(
        f"runs/tasks:              {len(process_ids)} processing runs, {len(process_tasks)} process tasks, "
        f"{polls} poll tasks"
    )
    print(
        f"poll task time (sum):    {seconds(poll_tis, 'poll'):.1f}s (polite delay {polite_delay}s per host)"
    )
    print(f"process task time (sum): {process_s:.1f}s, of which the pipeline reported {in_pipeline:.1f}s")
    print(f"all task time (sum):     {seconds(poll_tis + process_tis):.1f}s")
    print(f"idle share (no task running): {idle:.1f}s = {100 * idle / wall:.1f}% of wall (target <= 20%)")
    startup = 100 * (process_s - in_pipeline) / max(process_s, 1e-9)
    print(f"task start-up overhead in processing: {startup:.1f}% of process task time")


def _args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="articles/s through the real scheduler")
    parser.add_argument("--feeds", type=int, default=50)
    parser.add_argument("--articles", type=int, default=40, help="new articles per feed")
    parser.add_argument("--hosts", type=int, default=10, help="loopback addresses the feeds are spread over")
    parser.add_argument(
        "--polite-delay", type=float, default=0.2, help="seconds between requests to one host"
    )
    parser.add_argument("--parallelism", type=int, default=4, help="LocalExecutor workers")
    parser.add_argument(
        "--pages-per-batch",
        type=int,
        default=None,
        help="page budget of one poll task (default: the whole backlog, so one poll run fetches it all)",
    )
    parser.add_argument("--timeout", type=float, default=900, help="give up after this many seconds")
    return parser.parse_args()


def _warm_up(stack: Stack) -> int:
    api = stack.api
    # Warm-up: the scheduled run on unpause polls the one warm-up feed end to end.
    first = api.wait_new_run(POLL_DAG, set(), 120, run_type="scheduled")
    api.wait_for(POLL_DAG, first["dag_run_id"], 300)
    warm_process = api.wait_new_run(PROCESS_DAG, set(), 300, run_type="asset_triggered")
    api.wait_for(PROCESS_DAG, warm_process["dag_run_id"], 300)
    stack.client.indices.refresh(index=stack.names.articles)
    return stack.count()


def main() -> int:
    args = _args()

    from newsflow.devstack import local_es
    from newsflow.es_client import make_client, wait_until_healthy

    local_es.up()
    client = make_client()
    wait_until_healthy(client, timeout_s=60)
    prefix = f"bench-tput-{uuid.uuid4().hex[:8]}"
    work = Path(tempfile.mkdtemp(prefix="newsflow-bench-tput-"))
    site_root = work / "site"
    warm = generate_site(site_root, feeds=1, articles_per_feed=1, prefix="warm", seed=1)
    feeds = generate_site(
        site_root, feeds=args.feeds, articles_per_feed=args.articles, hosts=args.hosts, prefix="feed"
    )
    total = sum(len(f.articles) for f in feeds)
    print(f"fixture site: {len(feeds)} feeds x {args.articles} articles = {total} on {args.hosts} hosts")
    # The bench times one poll run's backlog end to end; under the default page budget the
    # rest would wait for the next scheduled poll, which the bench never starts. The
    # Airflow services inherit this process's environment.
    budget = args.pages_per_batch or total
    os.environ["NEWSFLOW_PAGES_PER_BATCH"] = str(budget)
    print(f"page budget per poll task: {budget}")
    try:
        with fixture_sites(site_root, hosts=args.hosts) as (port, _):
            registry = work / "feeds.yaml"
            registry.write_text(registry_yaml(warm, port, poll_interval="1h"))
            with airflow_stack(
                work / "run",
                registry,
                prefix,
                client,
                parallelism=args.parallelism,
                polite_delay_s=args.polite_delay,
            ) as stack:
                api = stack.api
                stack.unpause_all()
                baseline = _warm_up(stack)
                print(f"warm-up done: {baseline} document(s) indexed")

                clear_of_poll_tick(30, after_s=15)
                registry.write_text(registry_yaml([*warm, *feeds], port, poll_interval="1h"))
                known_process = {r["dag_run_id"] for r in api.all_runs(PROCESS_DAG)}
                wall_start = datetime.now(UTC)
                t0 = time.monotonic()
                poll_run = api.trigger(POLL_DAG)
                state = api.wait_for(POLL_DAG, poll_run, args.timeout)
                t_polled = time.monotonic()
                print(f"poll run {state} after {t_polled - t0:.1f}s")
                expected = baseline + total
                deadline = t0 + args.timeout
                while stack.count() < expected and time.monotonic() < deadline:
                    time.sleep(1)
                t_indexed = time.monotonic()
                process_ids = [
                    r["dag_run_id"] for r in api.all_runs(PROCESS_DAG) if r["dag_run_id"] not in known_process
                ]
                for run_id in process_ids:
                    api.wait_for(PROCESS_DAG, run_id, max(10.0, deadline - time.monotonic()))
                t1 = time.monotonic()
                indexed = stack.count() - baseline
                _report(
                    api,
                    Timing(wall_start, t0, t_polled, t_indexed, t1),
                    poll_run=poll_run,
                    process_ids=process_ids,
                    indexed=indexed,
                    total=total,
                    polite_delay=args.polite_delay,
                )
    finally:
        delete_indices(client, prefix)
        client.close()
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
