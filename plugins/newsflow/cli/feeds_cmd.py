"""``newsflow feeds status`` (each feed's health) and ``newsflow feeds check FILE`` (a registry's errors)."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, Any

from newsflow.cli.ops_render import MISSING, ago, dash, number, ratio, styled
from newsflow.cli.untrusted import escape_untrusted, print_json, safe

if TYPE_CHECKING:
    from datetime import datetime

    from rich.table import Table

    from newsflow.feed_status import FeedHealth

STATUS_HELP = """\
columns:
  status          the latest poll: success, partial (some pages failed), failed; - never polled
  streak          failed polls in a row (0 once a poll succeeds)
  last success    the logical time of the latest successful poll
  last error      its short reason (http_404, timeout, robots, ...) and message
  304             share of polls the server answered 304 Not Modified
  newest item     the newest entry the feed listed
  next due        when the poll DAG will poll it next (each feed has its own interval)
  waiting         new pages the poll's page budget left for a later poll to fetch
Feeds in error (failed the poll flow's limit of polls in a row: red) come first, then feeds
failing (a failed latest poll or a streak below the limit: yellow). Values a poll did not
record show as '-'.
"""


def register(subparsers: Any) -> None:
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "feeds", help="feed health (status) and feed-registry validation (check)"
    )
    actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    status = actions.add_parser(
        "status",
        help="one row per feed: last success, last error and streak, 304 ratio, newest item, next due",
        epilog=STATUS_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    status.add_argument(
        "--registry",
        metavar="FILE",
        help="also list this registry's feeds that were never polled, and mark feeds it no longer has",
    )
    status.add_argument(
        "--errors",
        action="store_true",
        help="only feeds in error or failing (a failed latest poll, an error streak)",
    )
    status.add_argument("--json", action="store_true", help="machine-readable output")
    status.set_defaults(handler=run_status)
    check = actions.add_parser(
        "check", help="validate a feed registry: every error at once, with line and field (exit 1 on errors)"
    )
    check.add_argument("file", metavar="FILE", help="the registry (YAML), e.g. seeds/feeds.yaml")
    check.add_argument("--json", action="store_true", help="machine-readable output")
    check.set_defaults(handler=run_check)


def run_status(args: argparse.Namespace) -> int:
    from rich.console import Console

    from newsflow.es_client import make_client
    from newsflow.feed_status import feed_health
    from newsflow.feeds import load_registry
    from newsflow.index import IndexNames
    from newsflow.timestamps import now_utc

    registry = load_registry(args.registry) if args.registry else None
    client = make_client()
    try:
        rows = feed_health(client, IndexNames.from_env(), registry)
    finally:
        client.close()
    if args.errors:
        rows = [row for row in rows if row.in_error or row.failing]
    if args.json:
        print_json([row.to_dict() for row in rows])
        return 0
    console = Console()
    console.print(feeds_table(rows, now_utc()))
    if not rows:
        console.print(
            "no feed in error or failing"
            if args.errors
            else "no feed has been polled yet (the poll DAG writes this)"
        )
    return 0


def feeds_table(rows: list[FeedHealth], now: datetime, *, title: str | None = None) -> Table:
    from rich import box
    from rich.table import Table

    in_error = sum(1 for row in rows if row.in_error)
    failing = sum(1 for row in rows if row.failing and not row.in_error)
    heading = f"feeds: {len(rows)}, in error: {in_error}" + (f", failing: {failing}" if failing else "")
    table = Table(title=title or heading, box=box.SIMPLE_HEAD, pad_edge=False)
    for column in (
        "feed",
        "status",
        "streak",
        "last success",
        "last error",
        "304",
        "newest item",
        "next due",
        "waiting",
    ):
        table.add_column(column, no_wrap=column in {"feed", "status", "streak", "304", "waiting"})
    for row in rows:
        name = safe(row.feed)
        if row.in_registry is False:
            name += "\n[dim](not in the registry)[/]"
        status = styled(row.status) if not row.never_polled else "[dim]never polled[/]"
        streak = number(row.error_streak)
        if row.in_error:
            streak = f"[red]{streak}[/]"
        elif row.failing:
            streak = f"[yellow]{streak}[/]"
        table.add_row(
            name,
            status,
            streak,
            ago(row.last_success, now, cell=True),
            _error(row),
            ratio(row.not_modified_ratio),
            ago(row.newest_item, now, cell=True),
            ago(row.next_due, now, cell=True),
            number(row.pages_waiting),
        )
    return table


def _error(row: FeedHealth) -> str:
    if not row.last_error and not row.last_error_message:
        return MISSING
    reason = f"[red]{dash(row.last_error)}[/]" if row.last_error else MISSING
    message = row.last_error_message or ""
    if len(message) > 120:
        message = message[:119] + "…"
    return f"{reason}\n[dim]{safe(message)}[/]" if message else reason


def run_check(args: argparse.Namespace) -> int:
    from rich.console import Console

    from newsflow.feeds import check_registry, load_registry

    errors = check_registry(args.file)
    feeds = None if errors else len(load_registry(args.file).feeds)
    if args.json:
        listed = [
            {"path": e.path, "line": e.line, "field": e.field, "message": e.message, "text": str(e)}
            for e in errors
        ]
        print_json({"file": args.file, "feeds": feeds, "errors": listed})
        return 1 if errors else 0
    console = Console()
    if not errors:
        console.print(
            f"[green]ok[/] {escape_untrusted(args.file)}: {feeds} feeds, no errors", highlight=False
        )
        return 0
    for error in errors:
        console.print(f"[red]error[/] {escape_untrusted(str(error))}", highlight=False)
    noun = "error" if len(errors) == 1 else "errors"
    console.print(f"{len(errors)} {noun} in {escape_untrusted(args.file)}", highlight=False)
    return 1
