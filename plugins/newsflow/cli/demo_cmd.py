"""``newsflow demo`` (the main job on local defaults) and ``newsflow down``."""

from __future__ import annotations

import argparse
from typing import Any

DEMO_QUERY = "Kherson counter-offensive"


def register(subparsers: Any) -> None:
    demo: argparse.ArgumentParser = subparsers.add_parser(
        "demo", help="run the pipeline through local Airflow over the fixture site and search it"
    )
    demo.add_argument(
        "--query", default=DEMO_QUERY, help=f"what to search at the end (default {DEMO_QUERY!r})"
    )
    demo.set_defaults(handler=run_demo)
    down: argparse.ArgumentParser = subparsers.add_parser(
        "down", help="stop the local Airflow, demo site and Elasticsearch"
    )
    down.set_defaults(handler=run_down)


def run_demo(args: argparse.Namespace) -> int:
    from rich.console import Console
    from rich.panel import Panel

    from newsflow.cli import main
    from newsflow.cli.untrusted import escape_untrusted
    from newsflow.devstack import demo

    console = Console(stderr=True)
    with console.status("running the demo...") as status:
        report = demo.run_demo(progress=status.update)
    console.print(
        f"[green]poll run[/] {report.poll_run}: {report.poll_state}   "
        f"[green]process run[/] {report.process_run}: {report.process_state}   "
        f"documents in the index: {report.documents}"
    )
    console.print(
        f"\n[bold]newsflow search {escape_untrusted(repr(args.query))}[/] "
        "(one hit per story, other reports nested):"
    )
    code = main(["search", args.query])
    console.print(
        Panel.fit(
            f"Airflow UI     {escape_untrusted(report.airflow_url)}  "
            f"(user admin, password {escape_untrusted(report.airflow_password)})\n"
            f"Elasticsearch  {escape_untrusted(report.es_url)}\n"
            f"Fixture site   {escape_untrusted(report.site_url)}/\n"
            f"Try            .venv/bin/newsflow search 'Bakhmut' --all-reports\n"
            f"               .venv/bin/newsflow stories --since 2022-08-01\n"
            f"Stop           make down",
            title="services left running",
        )
    )
    return code


def run_down(args: argparse.Namespace) -> int:
    from rich.console import Console

    from newsflow.devstack import demo

    stopped = demo.stop_all()
    Console(stderr=True).print("stopped: " + (", ".join(stopped) if stopped else "nothing was running"))
    return 0
