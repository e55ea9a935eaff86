"""``newsflow es up|down|status``: the project's local Elasticsearch node."""

from __future__ import annotations

import argparse
import json
from typing import Any

from rich.console import Console


def register(subparsers: Any) -> None:
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "es", help="start, stop or inspect the local Elasticsearch node (or report NEWSFLOW_ES_URL)"
    )
    parser.add_argument("action", choices=["up", "down", "status"])
    parser.add_argument("--json", action="store_true", help="machine-readable status")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from dataclasses import asdict

    from newsflow.devstack import local_es

    console = Console(stderr=True)
    if args.action == "up":
        with console.status("starting Elasticsearch (first start fetches and unpacks it)..."):
            state = local_es.up()
    elif args.action == "down":
        stopped = local_es.down()
        console.print("Elasticsearch stopped" if stopped else "no local Elasticsearch was running")
        return 0
    else:
        state = local_es.status()
    if args.json:
        print(json.dumps(asdict(state)))
    else:
        word = "[green]running[/]" if state.running else "[red]not running[/]"
        console.print(f"Elasticsearch {word} at {state.url} health={state.health} version={state.version}")
        if state.log_file:
            console.print(f"  log: {state.log_file}")
    return 0 if state.running or args.action == "status" else 1
