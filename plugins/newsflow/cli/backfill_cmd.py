"""``newsflow backfill``: reprocess a window of the archive through Airflow, the current hour included."""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from newsflow.cli.ops_render import MISSING, styled
from newsflow.cli.untrusted import print_json, safe

if TYPE_CHECKING:
    from rich.console import Console
    from rich.table import Table

    from newsflow.backfill import BackfillPlan, RunProgress
    from newsflow.run_history import RunSummary

BACKFILL_HELP = """\
how it works:
  The window is cut into runs of --step (default 1h) on the step's grid, so the first and
  last may be partial. Each becomes a run of newsflow_process with an explicit data
  interval, conf {"reprocess": true, "backfill": true} and its own run id
  (manual__backfill_<start>_<end>_<token>): the current, still-open hour is covered too
  (Airflow's own backfill refuses it), and no scheduled run or its record is touched.
  Each run re-reads the archive batches polled in its window, re-extracts them with the
  current extractor and re-indexes them (idempotent: unchanged documents stay as they are).

  The summary comes from the runs' records in newsflow-runs (pages read, documents
  created/updated/unchanged/failed, rejected pages); Airflow gives each run's state.
  Exit 0 when every run succeeded, 1 when one failed, was partial or did not finish in
  --timeout (runs left running go on in Airflow).

examples:
  newsflow backfill --last 2h
  newsflow backfill --from 2026-11-20 --to 2026-11-21 --step 6h
  newsflow backfill --from 2026-11-20T08:00 --to 2026-11-20T12:30 --dry-run
"""
TOTALS = ("pages_read", "index_created", "index_updated", "index_unchanged", "index_failed", "rejected")
LABELS = ("pages\nread", "created", "updated", "unchanged", "failed", "rejected")


def register(subparsers: Any) -> None:
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "backfill",
        help="reprocess a window of the archive through Airflow (current hour included), with a summary",
        description="Reprocess a window of the raw archive through Airflow's REST API.",
        epilog=BACKFILL_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    window = parser.add_mutually_exclusive_group(required=True)
    window.add_argument("--last", metavar="DURATION", help="the last 30m, 2h, 1d, 1w (up to now)")
    window.add_argument("--from", dest="start", metavar="WHEN", help="ISO date or datetime (UTC when naive)")
    parser.add_argument(
        "--to",
        dest="end",
        metavar="WHEN",
        help="with --from: until (a bare date includes its day); default now",
    )
    parser.add_argument("--step", default="1h", help="length of one run's window (default 1h)")
    parser.add_argument(
        "--timeout", type=float, default=3600.0, help="seconds to wait for the runs (default 3600)"
    )
    parser.add_argument("--dry-run", action="store_true", help="show the runs it would trigger, trigger none")
    parser.add_argument("--no-wait", action="store_true", help="trigger the runs and return")
    parser.add_argument("--json", action="store_true", help="the summary as JSON on stdout")
    parser.set_defaults(handler=run)


def window_of(args: argparse.Namespace, now: datetime) -> tuple[datetime, datetime]:
    """The [start, end) the arguments ask for."""
    from newsflow.errors import InputError
    from newsflow.search import parse_when
    from newsflow.timestamps import span_seconds

    if args.last is not None:
        if span_seconds(args.last) is None:
            raise InputError(f"--last {args.last!r}: give a duration such as 30m, 2h, 1d or 1w")
        if args.end:
            raise InputError("--to goes with --from; --last always ends now")
        return parse_when(args.last, now=now), now
    start = parse_when(args.start, now=now)
    end = parse_when(args.end, now=now, end=True) if args.end else now
    return start, end


@dataclass(frozen=True, slots=True)
class Outcome:
    """One backfill run at the end: Airflow's state and its record (None when none was found)."""

    progress: RunProgress
    record: RunSummary | None

    @property
    def ok(self) -> bool:
        recorded = self.record.status if self.record else None
        return self.progress.state == "success" and recorded in (None, "success")

    def to_dict(self, link: str) -> dict[str, Any]:
        record = self.record
        return {
            "run_id": self.progress.run_id,
            "window": [_iso(self.progress.window.start), _iso(self.progress.window.end)],
            "state": self.progress.state,
            "status": record.status if record else None,
            "try_number": record.try_number if record else None,
            "counts": dict(record.counts) if record else None,
            "link": link,
        }


def _iso(when: datetime) -> str:
    from newsflow.timestamps import iso_z

    return iso_z(when)


def run(args: argparse.Namespace) -> int:
    from rich.console import Console

    from newsflow.backfill import parse_step, plan_backfill
    from newsflow.timestamps import now_utc

    now = now_utc()
    start, end = window_of(args, now)
    plan = plan_backfill(start, end, now=now, step=parse_step(args.step))
    out, err = Console(), Console(stderr=True)
    if args.dry_run:
        if args.json:
            runs = [{"run_id": plan.run_id(w), "window": [_iso(w.start), _iso(w.end)]} for w in plan.windows]
            print_json({"dag_id": plan.dag_id, "dry_run": True, "runs": runs})
        else:
            out.print(_plan_table(plan))
        return 0
    return _drive(plan, args, now, out, err)


def _plan_table(plan: BackfillPlan) -> Table:
    from rich.table import Table

    table = Table(title=f"{plan.dag_id}: {len(plan.windows)} runs would be triggered (dry run)")
    table.add_column("window (UTC)", no_wrap=True)
    table.add_column("run id", overflow="fold")
    for window in plan.windows:
        table.add_row(window.label(), safe(plan.run_id(window)))
    return table


def _drive(plan: BackfillPlan, args: argparse.Namespace, now: datetime, out: Console, err: Console) -> int:
    from newsflow.backfill import RUN_PREFIX, check_dag, follow_runs, trigger_runs
    from newsflow.cli.scheduler import scheduler_api

    with scheduler_api() as api, _Reporter(err, plan) as reporter:
        check_dag(api, plan.dag_id)
        err.print(
            f"triggering {len(plan.windows)} runs of {safe(plan.dag_id)} on "
            f"{safe(api.conn.display_url)} (conf reprocess + backfill)",
            highlight=False,
        )
        runs = trigger_runs(api, plan, now=now, on_trigger=reporter.update)
        if args.no_wait:
            reporter.stop()
            for progress in runs:
                out.print(safe(api.run_link(plan.dag_id, progress.run_id)), highlight=False)
            return 0
        finished = follow_runs(api, plan.dag_id, runs, timeout_s=args.timeout, on_update=reporter.update)
        links = {p.run_id: api.run_link(plan.dag_id, p.run_id) for p in finished}
    records, problem = _records(plan, finished)
    outcomes = [Outcome(p, records.get(f"{plan.dag_id}/{p.run_id}")) for p in finished]
    code = 0 if all(o.ok for o in outcomes) else 1
    if args.json:
        report = {
            "dag_id": plan.dag_id,
            "runs": [o.to_dict(links[o.progress.run_id]) for o in outcomes],
            "totals": totals(outcomes),
            "summary_from": "newsflow-runs",
            "records_unavailable": problem,
        }
        print_json(report)
        return code
    out.print(summary_table(outcomes))
    out.print(f"run ids: {safe(RUN_PREFIX)}<start>_<end>_{safe(plan.token)}", highlight=False)
    if problem:
        out.print(f"[yellow]run records could not be read:[/] {safe(problem)}", highlight=False)
    for outcome in outcomes:
        if not outcome.ok:
            out.print(
                f"[red]{safe(outcome.progress.run_id)}[/] {safe(outcome.progress.state)}: "
                f"{safe(links[outcome.progress.run_id])}",
                highlight=False,
            )
    return code


def _records(plan: BackfillPlan, runs: Sequence[RunProgress]) -> tuple[dict[str, RunSummary], str | None]:
    """The runs' records; on a cluster problem, none and why (Airflow's states still tell the outcome)."""
    from elasticsearch import ApiError, TransportError

    from newsflow.errors import NewsflowError
    from newsflow.es_client import make_client
    from newsflow.index import IndexNames
    from newsflow.redact import redact_text
    from newsflow.run_history import records_of_runs

    client = make_client()
    try:
        ids = [f"{plan.dag_id}/{p.run_id}" for p in runs]
        return records_of_runs(client, IndexNames.from_env(), ids, stage="process"), None
    except (NewsflowError, ApiError, TransportError) as exc:
        return {}, redact_text(str(exc))[:300]
    finally:
        client.close()


def totals(outcomes: Sequence[Outcome]) -> dict[str, int]:
    summed = {
        "runs": len(outcomes),
        "succeeded": sum(1 for o in outcomes if o.ok),
        "failed": sum(1 for o in outcomes if not o.ok),
        "without_record": sum(1 for o in outcomes if o.record is None),
    }
    for key in TOTALS:
        summed[key] = sum((o.record.count(key) or 0) for o in outcomes if o.record)
    return summed


def summary_table(outcomes: Sequence[Outcome]) -> Table:
    """One row per run (its window; run ids are printed under the table), totals in the footer.

    Narrow on purpose (80 columns): the date the windows share goes into the title.
    """
    from rich import box
    from rich.table import Table

    sums = totals(outcomes)
    starts = {o.progress.window.start.date() for o in outcomes}
    day = f"{min(starts):%Y-%m-%d}" if len(starts) == 1 else None
    title = f"backfill: {sums['runs']} runs, {sums['succeeded']} succeeded, {sums['failed']} not"
    table = Table(title=title, box=box.SIMPLE_HEAD, show_footer=True, pad_edge=False, collapse_padding=True)
    # Windows over several days wrap between date and times.
    table.add_column(f"{day} (UTC)" if day else "window (UTC)", "total", min_width=11)
    table.add_column("outcome", min_width=9)
    for label, key in zip(LABELS, TOTALS, strict=True):
        widest = max(len(word) for word in label.split("\n"))
        table.add_column(label, str(sums[key]), justify="right", min_width=widest)
    for outcome in outcomes:
        record = outcome.record
        state = outcome.progress.state
        status = record.status if record else None
        # Airflow's state, unless the run succeeded and its record says more (partial, failed).
        shown = styled(status if status and state == "success" else state)
        if record is None:
            shown += "\n[dim]no record[/]"
        # A record without a count counted nothing of it (a window with no batch reads no page).
        cells = [str(record.count(key) or 0) if record else MISSING for key in TOTALS]
        window = outcome.progress.window
        label = f"{window.start:%H:%M}-{window.end:%H:%M}" if day else window.label()
        table.add_row(label, shown, *cells)
    return table


class _Reporter:
    """Progress per run on stderr: live bars on a terminal, a line per change elsewhere (CI, logs)."""

    def __init__(self, console: Console, plan: BackfillPlan) -> None:
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

        self.console = console
        self.live = console.is_terminal
        self.progress = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("tasks"),
            TimeElapsedColumn(),
            console=console,
            transient=False,
        )
        self.tasks: dict[str, Any] = {}
        self.shown: dict[str, str] = {}
        self.plan = plan

    def __enter__(self) -> _Reporter:
        if self.live:
            self.progress.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def stop(self) -> None:
        if self.live:
            self.progress.stop()

    def update(self, run: RunProgress) -> None:
        description = f"{run.window.label()} {styled(run.state)}"
        if self.live:
            if run.run_id not in self.tasks:
                self.tasks[run.run_id] = self.progress.add_task(description, total=None)
            self.progress.update(
                self.tasks[run.run_id],
                description=description,
                completed=run.tasks_done,
                total=run.tasks_total or None,
            )
            return
        if self.shown.get(run.run_id) != run.state:  # one line per state change, not per poll
            self.shown[run.run_id] = run.state
            tasks = f" ({run.tasks_done}/{run.tasks_total} tasks)" if run.tasks_total else ""
            self.console.print(f"{description} {safe(run.run_id)}{tasks}", highlight=False)
