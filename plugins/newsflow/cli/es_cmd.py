"""``newsflow es up|down|status``: the project's local Elasticsearch node, or a local cluster
(``--nodes 3``: three nodes from the same zip, HTTP ports NEWSFLOW_ES_PORT, +1, +2)."""

from __future__ import annotations

import argparse
from typing import Any

from rich.console import Console

from newsflow.cli.untrusted import escape_untrusted, print_json


def register(subparsers: Any) -> None:
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "es", help="start, stop or inspect the local Elasticsearch node (or report NEWSFLOW_ES_URL)"
    )
    parser.add_argument("action", choices=["up", "down", "status"])
    parser.add_argument("--json", action="store_true", help="machine-readable status")
    parser.add_argument(
        "--nodes",
        type=int,
        default=None,
        help="nodes in the local cluster (default NEWSFLOW_ES_NODES or 1); clients of the newsflow "
        "commands need NEWSFLOW_ES_NODES set to the same number to fail over between them",
    )
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from dataclasses import asdict

    from newsflow.devstack import local_es

    console = Console(stderr=True)
    options = local_es.LocalEsOptions() if args.nodes is None else local_es.LocalEsOptions(nodes=args.nodes)
    if args.action == "up":
        what = "Elasticsearch" if options.nodes == 1 else f"{options.nodes} Elasticsearch nodes"
        with console.status(f"starting {what} (first start fetches and unpacks it)..."):
            state = local_es.up(options)
    elif args.action == "down":
        stopped = local_es.down(options)
        console.print("Elasticsearch stopped" if stopped else "no local Elasticsearch was running")
        return 0
    else:
        state = local_es.status(options)
    if args.json:
        print_json(asdict(state))  # the URL in ``state`` is already redacted
    else:
        if state.running:
            word = "[green]running[/]"
        else:
            word = "[red]unreachable[/]" if state.problem else "[red]not running[/]"
        console.print(
            f"Elasticsearch {word} at {escape_untrusted(state.url)} health={state.health} "
            f"version={escape_untrusted(state.version)} nodes={state.nodes}",
            highlight=False,
        )
        if state.problem:
            console.print(f"  {escape_untrusted(state.problem)}", highlight=False)
        if state.log_file:
            console.print(f"  log: {escape_untrusted(state.log_file)}", highlight=False)
    # `es status` answers "can I use it?": non-zero when the cluster is down or unreachable.
    return 0 if state.running else 1
