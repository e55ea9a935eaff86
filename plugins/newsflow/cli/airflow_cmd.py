"""``newsflow airflow up|down|status``: the local Airflow services as one process group.

``--executor celery`` adds a Redis broker and N Celery workers (PostgreSQL holds the
metadata and the results); LocalExecutor on SQLite stays the default, as ``make demo`` uses.
"""

from __future__ import annotations

import argparse
from typing import Any

from rich.console import Console

from newsflow.cli.untrusted import escape_untrusted, print_json


def register(subparsers: Any) -> None:
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "airflow", help="start, stop or inspect the local Airflow services (one process group)"
    )
    parser.add_argument("action", choices=["up", "down", "status"])
    parser.add_argument("--json", action="store_true", help="machine-readable status")
    parser.add_argument(
        "--executor",
        choices=["local", "celery"],
        default="local",
        help="local: LocalExecutor on SQLite (default); celery: Redis broker, PostgreSQL, Celery workers",
    )
    parser.add_argument("--workers", type=int, default=2, help="Celery workers (default 2)")
    parser.add_argument("--concurrency", type=int, default=2, help="task slots per Celery worker (default 2)")
    parser.add_argument(
        "--timeout", type=float, default=None, help="seconds to wait for healthy services (120; celery 300)"
    )
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from dataclasses import asdict

    from newsflow.devstack import local_airflow, local_celery

    console = Console(stderr=True)
    options = local_airflow.LocalAirflowOptions(
        executor=local_celery.EXECUTORS[args.executor],
        celery_workers=args.workers,
        worker_concurrency=args.concurrency,
        start_timeout_s=args.timeout or (300.0 if args.executor == "celery" else 120.0),
    )
    if args.action == "down":
        stopped = local_airflow.down(options)
        console.print("Airflow stopped" if stopped else "no local Airflow was running")
        return 0
    if args.action == "up":
        extra = f" and {args.workers} Celery workers, Redis, PostgreSQL" if args.executor == "celery" else ""
        with console.status(f"starting Airflow (scheduler, dag-processor, triggerer, api-server{extra})..."):
            state = local_airflow.up(options)
    else:
        state = local_airflow.status(options)
    if args.json:
        print_json(asdict(state))
        return 0
    word = "[green]running[/]" if state.running else "[red]not running[/]"
    components = escape_untrusted(state.components or "-")
    console.print(f"Airflow {word} at {escape_untrusted(state.url)}  components: {components}")
    console.print(f"  AIRFLOW_HOME={escape_untrusted(state.home)}  logs: {escape_untrusted(state.log_dir)}")
    if state.workers:
        console.print(f"  Celery workers: {escape_untrusted(', '.join(sorted(state.workers)))}")
    return 0 if state.running or args.action == "status" else 1
