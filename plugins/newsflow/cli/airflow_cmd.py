"""``newsflow airflow up|down|status``: the local Airflow services as one process group."""

from __future__ import annotations

import argparse
import json
from typing import Any

from rich.console import Console

from newsflow.cli.untrusted import escape_untrusted


def register(subparsers: Any) -> None:
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "airflow", help="start, stop or inspect the local Airflow services (one process group)"
    )
    parser.add_argument("action", choices=["up", "down", "status"])
    parser.add_argument("--json", action="store_true", help="machine-readable status")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from dataclasses import asdict

    from newsflow.devstack import local_airflow

    console = Console(stderr=True)
    if args.action == "down":
        stopped = local_airflow.down()
        console.print("Airflow stopped" if stopped else "no local Airflow was running")
        return 0
    if args.action == "up":
        with console.status("starting Airflow (scheduler, dag-processor, triggerer, api-server)..."):
            state = local_airflow.up()
    else:
        state = local_airflow.status()
    if args.json:
        print(json.dumps(asdict(state)))
        return 0
    word = "[green]running[/]" if state.running else "[red]not running[/]"
    components = escape_untrusted(state.components or "-")
    console.print(f"Airflow {word} at {escape_untrusted(state.url)}  components: {components}")
    console.print(f"  AIRFLOW_HOME={escape_untrusted(state.home)}  logs: {escape_untrusted(state.log_dir)}")
    return 0 if state.running or args.action == "status" else 1
