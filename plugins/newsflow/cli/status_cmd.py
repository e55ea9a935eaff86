"""``newsflow status``: the pipeline on one screen.

Services, index sizes, freshness, the latest runs of each DAG with their outcome (from the
run records, and Airflow's view when it answers), dead letters waiting for a replay and the
feeds in error. Each section is read on its own: what cannot be read says why, and the rest
is still shown. Exit 1 when Elasticsearch or Airflow is down or unreachable.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any, TypedDict, TypeVar

from newsflow.cli.ops_render import MISSING, ago, dash, number, span, styled
from newsflow.cli.untrusted import print_json, safe

if TYPE_CHECKING:
    from rich.console import Console
    from rich.table import Table

    from newsflow.run_history import RunSummary
    from newsflow.scheduler_api import SchedulerApi

T = TypeVar("T")
SHOWN_COUNTS = {  # in this order, when the record has them, under these short labels
    "feeds_polled": "feeds",
    "feeds_failed": "feeds failed",
    "new_entries": "new entries",
    "pages_fetched": "fetched",
    "pages_failed": "fetch failed",
    "pages_read": "read",
    "extracted": "extracted",
    "rejected": "rejected",
    "fallback": "fallback",
    "index_created": "created",
    "index_updated": "updated",
    "index_unchanged": "unchanged",
    "index_failed": "index failed",
    "units_missing": "units missing",
    "feeds_in_error": "feeds in error",
    "feeds_unknown": "unknown feeds",
    "pages_deferred": "pages deferred",
    "dead_lettered": "dead-lettered",
    "dead_letters_replayed": "replayed",
    "dead_letters_failed": "replay failed",
}
WITH_REASONS = frozenset({"rejected", "feeds_failed", "pages_failed", "index_failed"})
ERROR_FEEDS_SHOWN = 5


def register(subparsers: Any) -> None:
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "status",
        help="the pipeline on one screen: services, index sizes, freshness, last runs, dead letters, "
        "feeds in error (exit 1 when a service is down)",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--runs", type=int, default=3, help="runs shown per DAG (default 3)")
    parser.add_argument("--json", action="store_true", help="machine-readable output")
    parser.set_defaults(handler=run)


def counts_text(record: RunSummary) -> str:
    """``read 5, rejected 1 (paywall 1), created 4, unchanged 1``: the counts that say most."""
    parts = []
    for key, label in SHOWN_COUNTS.items():
        value = record.count(key)
        if value is None:
            continue
        text = f"{label} {value}"
        reasons = record.breakdown.get(key) or {}
        if value and reasons and key in WITH_REASONS:
            text += " (" + ", ".join(f"{r} {n}" for r, n in sorted(reasons.items())) + ")"
        parts.append(text)
    alerts = sum(v for k, v in record.counts.items() if k.startswith("alerts_"))
    if alerts:
        parts.append(f"alerts {alerts}")
    parts += [f"{key.replace('_', ' ')}: {', '.join(names)}" for key, names in record.listed.items()]
    text = safe(", ".join(parts)) if parts else MISSING
    if record.status_reasons:  # why the run is partial or failed, as the record says
        text += "\n[dim]" + safe("; ".join(record.status_reasons)) + "[/]"
    return text


def runs_table(runs: dict[str, list[RunSummary]], now: datetime) -> Table:
    from rich import box
    from rich.table import Table

    attempts = any(r.try_number is not None for records in runs.values() for r in records)
    table = Table(title="last runs (run records)", box=box.SIMPLE_HEAD, pad_edge=False)
    table.add_column("dag", no_wrap=True)
    table.add_column("run", overflow="fold")
    if attempts:
        table.add_column("try", no_wrap=True)
    table.add_column("outcome", no_wrap=True)
    table.add_column("finished", no_wrap=True)
    table.add_column("counts", ratio=2)
    for dag_id, records in runs.items():
        for n, record in enumerate(records):
            table.add_row(
                safe(dag_id) if n == 0 else "",
                safe(record.airflow_run_id),
                *([number(record.try_number)] if attempts else []),
                styled(record.status),
                ago(record.finished, now, cell=True)
                if record.finished or not record.started
                else f"[dim]started[/] {ago(record.started, now, cell=True)}",
                counts_text(record),
            )
    return table


def _section(errors: dict[str, str], name: str, read: Callable[[], T]) -> T | None:
    """Run one reader; when it fails (a service, the archive, bad input) keep why and go on."""
    from elasticsearch import ApiError, TransportError

    from newsflow.errors import NewsflowError
    from newsflow.redact import redact_text

    try:
        return read()
    except (NewsflowError, ApiError, TransportError, OSError) as exc:
        errors[name] = redact_text(str(exc))[:300]
        return None


def run(args: argparse.Namespace) -> int:
    from rich.console import Console

    from newsflow import settings
    from newsflow.cli.scheduler import scheduler_api
    from newsflow.es_client import make_client
    from newsflow.feed_status import feeds_in_error
    from newsflow.index import IndexNames
    from newsflow.pipeline_status import (
        airflow_state,
        dead_letters,
        elasticsearch_state,
        freshness,
        index_counts,
    )
    from newsflow.run_history import latest_runs
    from newsflow.timestamps import iso_z, now_utc

    now = now_utc()
    names = IndexNames.from_env()
    errors: dict[str, str] = {}
    client = make_client(request_timeout=10.0, max_retries=1)
    api = scheduler_api(patience_s=5.0)
    try:
        es = elasticsearch_state(client, settings.es_connection().display_url)
        airflow = airflow_state(api)
        dags = _section(errors, "dags", lambda: _dag_states(api)) if airflow.up else None
        counts = fresh = runs = failing = None
        if es.up:
            counts = _section(errors, "indices", lambda: index_counts(client, names))
            fresh = _section(errors, "freshness", lambda: freshness(client, names))
            runs = _section(errors, "runs", lambda: latest_runs(client, names, args.runs))
            failing = _section(errors, "feeds", lambda: feeds_in_error(client, names, ERROR_FEEDS_SHOWN))
        letters = _section(errors, "dead_letters", lambda: dead_letters(settings.archive_root()))
    finally:
        client.close()
        api.close()
    code = 0 if es.up and airflow.up else 1
    if args.json:
        report = {
            "at": iso_z(now),
            "services": [es.to_dict(), airflow.to_dict()],
            "dags": dags,
            "indices": counts,
            "freshness": fresh.to_dict() if fresh else None,
            "runs": {d: [_record_dict(r) for r in rs] for d, rs in (runs or {}).items()},
            "dead_letters": letters.to_dict() if letters else None,
            "feeds_in_error": {"count": failing[0], "worst": [r.to_dict() for r in failing[1]]}
            if failing
            else None,
            "errors": errors,
        }
        print_json(report)
        return code
    console = Console()
    console.print(f"[bold]newsflow status[/] at {iso_z(now)}", highlight=False)
    _services(console, [es, airflow], dags)
    if counts is not None:
        console.print(
            "[bold]indices[/]  "
            + "   ".join(
                f"{safe(a)} {number(n) if n is not None else '[red]missing[/]'}" for a, n in counts.items()
            ),
            highlight=False,
        )
    if fresh is not None:
        lag = span(fresh.median_lag_s)
        console.print(
            f"[bold]freshness[/]  newest indexed {ago(fresh.newest_indexed, now)}   "
            f"newest published {ago(fresh.newest_published, now)}   "
            f"publish→index lag {lag} (median of the {fresh.sample} latest indexed)",
            highlight=False,
        )
    if runs is not None:
        console.print(runs_table(runs, now) if runs else "[bold]last runs[/]  no run records yet")
    if letters is not None:
        _dead_letters(console, letters)
    if failing is not None:
        _failing(console, *failing, now=now)
    for name, message in errors.items():
        console.print(f"[red]{safe(name)}:[/] could not read: {safe(message)}", highlight=False)
    return code


def _record_dict(record: RunSummary) -> dict[str, Any]:
    return {
        "run_id": record.run_id,
        "stage": record.stage,
        "airflow_run_id": record.airflow_run_id,
        "run_kind": record.run_kind,
        "try_number": record.try_number,
        "status": record.status,
        "status_reasons": list(record.status_reasons),
        "started": record.started,
        "finished": record.finished,
        "counts": dict(record.counts),
        **{key: list(names) for key, names in record.listed.items()},
    }


class _DagState(TypedDict):
    """What the screen and its JSON show of one DAG, each field read for its type."""

    paused: bool
    latest_run: str | None
    state: str | None
    run_type: str | None
    start_date: str | None


def _dag_states(api: SchedulerApi) -> dict[str, _DagState]:
    """Per pipeline DAG: paused or not, and Airflow's latest run (it may have no record yet)."""
    from newsflow.scheduler_api import PIPELINE_DAGS
    from newsflow.stored_fields import string

    states: dict[str, _DagState] = {}
    for dag_id in PIPELINE_DAGS:
        dag = api.dag(dag_id)
        latest = api.dag_runs(dag_id, limit=1)
        run = latest[0] if latest else {}
        states[dag_id] = {
            "paused": dag.get("is_paused") is True,
            "latest_run": string(run.get("dag_run_id")),
            "state": string(run.get("state")),
            "run_type": string(run.get("run_type")),
            "start_date": string(run.get("start_date")),
        }
    return states


def _services(console: Console, services: list[Any], dags: dict[str, _DagState] | None) -> None:
    for service in services:
        word = "[green]up[/]" if service.up else "[red]unreachable[/]"
        console.print(f"[bold]{service.name:<13}[/] {word}  {safe(service.detail)}", highlight=False)
    for dag_id, state in (dags or {}).items():
        paused = "[yellow]paused[/]" if state["paused"] else "active"
        latest = (
            f"latest {safe(state['latest_run'])} {styled(state['state'])}"
            if state["latest_run"]
            else "no runs"
        )
        console.print(f"  {safe(dag_id):<18} {paused}  {latest}", highlight=False)


def _dead_letters(console: Console, letters: Any) -> None:
    if not letters.lines:
        console.print("[bold]dead letters[/]  none waiting", highlight=False)
        return
    style = "red" if letters.waiting else "green"
    text = (
        f"[bold]dead letters[/]  [{style}]{letters.waiting} waiting[/] of {letters.lines} "
        f"in {letters.files} files (newest {dash(letters.newest_file)})"
    )
    if letters.unreadable:
        text += f"; {letters.unreadable} unreadable lines"
    console.print(text, highlight=False)


def _failing(console: Console, count: int, worst: list[Any], *, now: datetime) -> None:
    if not count:
        console.print("[bold]feeds in error or failing[/]  none", highlight=False)
        return
    console.print(f"[bold]feeds in error or failing[/]  [red]{count}[/] (`newsflow feeds status --errors`)")
    for row in worst:
        mark = "[red]in error[/], " if row.recorded_in_error else ""  # the limit reached, as recorded
        console.print(
            f"  {safe(row.feed)}: {mark}{row.error_streak or 0} failed in a row, last error "
            f"{dash(row.last_error)}, last success {ago(row.last_success, now)}",
            highlight=False,
        )
