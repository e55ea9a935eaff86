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
    with DemoProgress(console) as progress:
        report = demo.run_demo(progress=progress.step)
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
            f"Airflow UI     {escape_untrusted(report.airflow_url)}  (user admin; password: below)\n"
            f"Elasticsearch  {escape_untrusted(report.es_url)}\n"
            f"Fixture site   {escape_untrusted(report.site_url)}/\n"
            f"Try            .venv/bin/newsflow status\n"
            f"               .venv/bin/newsflow search 'Bakhmut' --all-reports\n"
            f"               .venv/bin/newsflow stories --since 2022-08-01\n"
            f"Stop           make down",
            title="services left running",
        )
    )
    # Where the password is, not the password (credentials are never printed), on a line of its
    # own and never wrapped into a box: the path is copied with the mouse.
    console.print("Airflow password for admin: read it from")
    console.print(escape_untrusted(report.airflow_password_at), soft_wrap=True, highlight=False)
    return code


class DemoProgress:
    """Progress while the demo starts services: a line per step with the time taken so far, a
    spinner on a terminal, and a "still ..." line every ``HEARTBEAT_S`` of a long step, so a
    first start (fetching and unpacking Elasticsearch, migrating Airflow) is never silent,
    in a terminal or in a log."""

    HEARTBEAT_S = 30.0

    def __init__(self, console: Any) -> None:
        import threading
        import time

        self.console = console
        self._clock = time.monotonic
        self._started = self._clock()
        self._step = "starting"
        self._step_at = self._started
        self._lock = threading.Lock()
        self._done = threading.Event()
        self._status = console.status("starting the demo...") if console.is_terminal else None
        self._beat = threading.Thread(target=self._heartbeat, name="demo-progress", daemon=True)

    def __enter__(self) -> DemoProgress:
        if self._status is not None:
            self._status.start()
        self._beat.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._done.set()
        self._beat.join(timeout=5)
        if self._status is not None:
            self._status.stop()

    def _elapsed(self) -> str:
        return f"[{self._clock() - self._started:4.0f}s]"

    def step(self, message: str) -> None:
        from newsflow.cli.untrusted import escape_untrusted

        with self._lock:
            self._step, self._step_at = message, self._clock()
            self.console.print(f"[dim]{self._elapsed()}[/] {escape_untrusted(message)}", highlight=False)
            if self._status is not None:
                self._status.update(escape_untrusted(message))

    def _heartbeat(self) -> None:
        from newsflow.cli.untrusted import escape_untrusted

        while not self._done.wait(self.HEARTBEAT_S):
            with self._lock:
                step, waited = escape_untrusted(self._step), self._clock() - self._step_at
                self.console.print(
                    f"[dim]{self._elapsed()} still on: {step} ({waited:.0f}s so far)[/]", highlight=False
                )


def run_down(args: argparse.Namespace) -> int:
    from rich.console import Console

    from newsflow.devstack import demo

    stopped = demo.stop_all()
    Console(stderr=True).print("stopped: " + (", ".join(stopped) if stopped else "nothing was running"))
    return 0
