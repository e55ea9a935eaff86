"""``newsflow es up|down|status``: the project's local Elasticsearch node."""

from __future__ import annotations

import argparse
import json
from typing import Any

from rich.console import Console

from newsflow.cli.untrusted import escape_untrusted


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
        print(json.dumps(asdict(state)))  # the URL in ``state`` is already redacted
    else:
        if state.running:
            word = "[green]running[/]"
        else:
            word = "[red]unreachable[/]" if state.problem else "[red]not running[/]"
        console.print(
            f"Elasticsearch {word} at {escape_untrusted(state.url)} health={state.health} "
            f"version={escape_untrusted(state.version)}",
            highlight=False,
        )
        if state.problem:
            console.print(f"  {escape_untrusted(state.problem)}", highlight=False)
        if state.log_file:
            console.print(f"  log: {escape_untrusted(state.log_file)}", highlight=False)
    # `es status` answers "can I use it?": non-zero when the cluster is down or unreachable.
    return 0 if state.running else 1
