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
Needs Elasticsearch (``newsflow es up``); starts its own PostgreSQL and Airflow. The numbers
and the table are worked out in ``throughput_report.py``.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from elasticsearch import Elasticsearch
from rich.console import Console

from bench import aeb_pages
from bench.aeb_pages import SavedPage
from bench.fixture_feeds import FixtureFeed, generate_site, registry_yaml, saved_pages_site
from bench.throughput_report import RunResult, Timing, results_table, run_result
from newsflow.scheduler_api import FINISHED, POLL_DAG, PROCESS_DAG
from tests.e2e.stack import (
    Stack,
    airflow_stack,
    clear_of_poll_tick,
    delete_indices,
    fixture_sites,
    run_id_of,
)


def _args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="articles/s through the real scheduler")
    parser.add_argument("--feeds", type=int, default=50)
    parser.add_argument("--articles", type=int, default=40, help="new articles per feed (synthetic pages)")
    parser.add_argument(
        "--pages",
        choices=("synthetic", "aeb"),
        default="synthetic",
        help="aeb: serve the 181 real AEB pages from ../shared/eval (bench only) instead of made-up ones",
    )
    parser.add_argument(
        "--copies", type=int, default=1, help="with --pages aeb: serve each page this many times at new URLs"
    )
    parser.add_argument("--hosts", type=int, default=10, help="loopback addresses the feeds are spread over")
    parser.add_argument(
        "--polite-delay", type=float, default=0.2, help="seconds between requests to one host"
    )
    parser.add_argument(
        "--executor",
        choices=("local", "celery"),
        default="local",
        help="celery: also run on CeleryExecutor, beside a LocalExecutor run of the same site",
    )
    parser.add_argument("--workers", type=int, default=2, help="Celery workers (2 task slots each)")
    parser.add_argument("--parallelism", type=int, default=4, help="LocalExecutor task slots")
    parser.add_argument(
        "--pages-per-batch",
        type=int,
        default=None,
        help="page budget of one poll task (default: the whole backlog, so one poll run fetches it all)",
    )
    parser.add_argument(
        "--feeds-per-batch", type=int, default=None, help="feeds per poll task (default: the deployment's)"
    )
    parser.add_argument(
        "--batches-per-task",
        type=int,
        default=None,
        help="archive batches a process task reads at most (default: the deployment's)",
    )
    parser.add_argument(
        "--pages-per-task",
        type=int,
        default=None,
        help="pages a process task is filled to (default: the deployment's)",
    )
    parser.add_argument("--timeout", type=float, default=900, help="give up after this many seconds")
    return parser.parse_args()


def _warm_up(stack: Stack) -> int:
    api = stack.api
    # Warm-up: the scheduled run on unpause polls the one warm-up feed end to end.
    first = api.wait_new_run(POLL_DAG, set(), 120, run_type="scheduled")
    api.wait_for(POLL_DAG, run_id_of(first), 300)
    warm_process = api.wait_new_run(PROCESS_DAG, set(), 300, run_type="asset_triggered")
    api.wait_for(PROCESS_DAG, run_id_of(warm_process), 300)
    stack.client.indices.refresh(index=stack.names.articles)
    return stack.count()


@dataclass(frozen=True, slots=True)
class Site:
    root: Path
    port: int
    warm: list[FixtureFeed]
    feeds: list[FixtureFeed]

    @property
    def total(self) -> int:
        return sum(len(f.articles) for f in self.feeds)


def _measure(
    site: Site, client: Elasticsearch, work: Path, args: argparse.Namespace, executor: str
) -> RunResult:
    """Warm up, then time one poll run's backlog until every article is searchable."""
    prefix = f"bench-tput-{executor}-{uuid.uuid4().hex[:8]}"
    work.mkdir(parents=True, exist_ok=True)
    registry = work / "feeds.yaml"
    registry.write_text(registry_yaml(site.warm, site.port, poll_interval="1h"))
    celery = args.workers if executor == "celery" else 0
    try:
        with airflow_stack(
            work / "run",
            registry,
            prefix,
            client,
            parallelism=args.parallelism,
            polite_delay_s=args.polite_delay,
            celery_workers=celery,
        ) as stack:
            api = stack.api
            stack.unpause_all()
            baseline = _warm_up(stack)
            print(f"[{executor}] warm-up done: {baseline} document(s) indexed")

            clear_of_poll_tick(api, 30)
            registry.write_text(registry_yaml([*site.warm, *site.feeds], site.port, poll_interval="1h"))
            known_process = api.run_ids(PROCESS_DAG)
            wall_start = datetime.now(UTC)
            t0 = time.monotonic()
            poll_run = api.trigger(POLL_DAG)
            state = api.wait_for(POLL_DAG, poll_run, args.timeout)
            t_polled = time.monotonic()
            print(f"[{executor}] poll run {state} after {t_polled - t0:.1f}s")
            expected = baseline + site.total
            deadline = t0 + args.timeout
            # Done when every article is searchable, or when the processing runs the poll caused
            # have all finished (a page that is rejected or folded never becomes a document).
            while time.monotonic() < deadline:
                runs = [r for r in api.runs(PROCESS_DAG) if run_id_of(r) not in known_process]
                if stack.count() >= expected or (runs and all(r["state"] in FINISHED for r in runs)):
                    break
                time.sleep(1)
            t_indexed = time.monotonic()
            process_ids = [run_id_of(r) for r in api.runs(PROCESS_DAG) if run_id_of(r) not in known_process]
            for run_id in process_ids:
                api.wait_for(PROCESS_DAG, run_id, max(10.0, deadline - time.monotonic()))
            t1 = time.monotonic()
            return run_result(
                api,
                executor,
                Timing(wall_start, t0, t_polled, t_indexed, t1),
                poll_run=poll_run,
                process_ids=process_ids,
                indexed=stack.count() - baseline,
                total=site.total,
            )
    finally:
        delete_indices(client, prefix)


def _site(
    root: Path, args: argparse.Namespace
) -> tuple[list[FixtureFeed], list[FixtureFeed], list[SavedPage]]:
    warm = generate_site(root, feeds=1, articles_per_feed=1, prefix="warm", seed=1)
    if args.pages == "synthetic":
        feeds = generate_site(
            root, feeds=args.feeds, articles_per_feed=args.articles, hosts=args.hosts, prefix="feed"
        )
        return warm, feeds, []
    if not aeb_pages.available():
        raise SystemExit(f"--pages aeb needs the AEB pages at {aeb_pages.AEB.resolve()} (../shared/eval)")
    pages = aeb_pages.load()
    feeds = saved_pages_site(
        root, [(p.id, p.html) for p in pages], feeds=args.feeds, hosts=args.hosts, copies=args.copies
    )
    return warm, feeds, pages


def main() -> int:
    args = _args()
    # A kill must still stop the Airflow services and PostgreSQL the stack started.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))

    from newsflow.devstack import local_es
    from newsflow.es_client import make_client, wait_until_healthy

    local_es.up()
    client = make_client()
    wait_until_healthy(client, timeout_s=60)
    work = Path(tempfile.mkdtemp(prefix="newsflow-bench-tput-"))
    site_root = work / "site"
    warm, feeds, pages = _site(site_root, args)
    total = sum(len(f.articles) for f in feeds)
    kind = (
        f"{len(pages)} AEB pages x {args.copies}" if pages else f"{args.articles} synthetic articles per feed"
    )
    print(f"fixture site: {len(feeds)} feeds, {total} articles ({kind}) on {args.hosts} hosts")
    # The bench times one poll run's backlog end to end; under the default page budget the
    # rest would wait for the next scheduled poll, which the bench never starts. The
    # Airflow services inherit this process's environment.
    for variable, value in (
        ("NEWSFLOW_PAGES_PER_BATCH", args.pages_per_batch or total),
        ("NEWSFLOW_FEEDS_PER_BATCH", args.feeds_per_batch),
        ("NEWSFLOW_BATCHES_PER_TASK", args.batches_per_task),
        ("NEWSFLOW_PAGES_PER_TASK", args.pages_per_task),
    ):
        if value is not None:
            os.environ[variable] = str(value)
            print(f"{variable}={value}")
    ceiling = None
    if pages:
        # Measured before the stacks start, on an otherwise quiet machine: the best case.
        ceiling = aeb_pages.batch_rate(pages, workers=2)
        print(f"extraction-only ceiling, 2 workers: {ceiling:.1f} pages/s")
    executors = ["local", "celery"] if args.executor == "celery" else ["local"]
    results: list[RunResult] = []
    try:
        with fixture_sites(site_root, hosts=args.hosts) as (port, _):
            site = Site(site_root, port, warm, feeds)
            for executor in executors:
                results.append(_measure(site, client, work / executor, args, executor))
    finally:
        client.close()
        shutil.rmtree(work, ignore_errors=True)
    Console().print(results_table(results, args.polite_delay, ceiling))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
