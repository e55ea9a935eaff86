"""``newsflow correct apart|together|withdraw|list``: an analyst's word on two articles' stories."""

from __future__ import annotations

import argparse
import getpass
from typing import Any

from newsflow.cli.search_cmd import when
from newsflow.cli.untrusted import print_json, safe

CORRECT_HELP = """\
The model joins reports by what their texts share, and it is wrong at times. A correction
says what you know about two articles, and every later batch, rerun and backfill respects it:

  apart     the two are never in one story (the story is split at once)
  together  the two are always in one story (their stories are joined at once)
  withdraw  forget the correction: the model decides again
  detach    one article does not belong in its story: apart from each of its other reports

ARTICLE is an article id, its first characters as `newsflow story ID` shows them, or the
article's URL. Corrections are documents in the newsflow-story-corrections index, one per pair
(a later word on a pair replaces the earlier one); stories joined are recorded in the story
history (`newsflow stories --history`).
"""


def register(subparsers: Any) -> None:
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "correct",
        help="correct stories: keep two articles apart or together, withdraw that, or list corrections",
        description="Correct the stories of two articles.",
        epilog=CORRECT_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    subs = []
    for action, text in (
        ("apart", "the two articles are never in one story"),
        ("together", "the two articles are always in one story"),
        ("withdraw", "forget the correction of the two articles"),
    ):
        sub = actions.add_parser(action, help=text)
        sub.add_argument("first", metavar="ARTICLE")
        sub.add_argument("second", metavar="ARTICLE")
        sub.add_argument("--note", default="", help="why (kept with the correction)")
        sub.add_argument("--by", default=None, help="who corrects (default: your user name)")
        subs.append(sub)
    detach = actions.add_parser("detach", help="the article does not belong in its story")
    detach.add_argument("first", metavar="ARTICLE")
    detach.add_argument("--note", default="", help="why (kept with each correction)")
    detach.add_argument("--by", default=None, help="who corrects (default: your user name)")
    subs.append(detach)
    listing = actions.add_parser("list", help="the latest corrections, newest first")
    listing.add_argument("--article", metavar="ARTICLE", help="only this article's")
    listing.add_argument("--size", type=int, default=50, help="how many (default 50)")
    for sub in (*subs, listing):
        sub.add_argument("--index", help="article alias (default NEWSFLOW_INDEX_ALIAS or news-articles)")
        sub.add_argument("--json", action="store_true", help="machine-readable output")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from newsflow.es_client import make_client
    from newsflow.index import IndexNames

    names = IndexNames.from_env(args.index)
    client = make_client()
    try:
        return _list(client, names, args) if args.action == "list" else _correct(client, names, args)
    finally:
        client.close()


def _user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no name for this uid (a bare container)
        return ""


def _correct(client: Any, names: Any, args: argparse.Namespace) -> int:
    from rich.console import Console
    from rich.table import Table

    from newsflow.story_edits import ArticleRef, correct_stories, detach_from_story

    by = _user() if args.by is None else args.by
    if args.action == "detach":
        verdict = "apart"
        ref, report = detach_from_story(client, names, args.first, by=by, note=args.note)
        named: tuple[ArticleRef, ...] = (ref,)
    else:
        verdict = "withdrawn" if args.action == "withdraw" else args.action
        named, report = correct_stories(
            client, names, verdict, args.first, args.second, by=by, note=args.note
        )
    if args.json:
        print_json(
            {
                "articles": [ref.id for ref in named],
                "verdict": verdict,
                "moved": {i: s.to_dict() for i, s in sorted(report.moved.items())},
                "merges": [m.to_dict() for m in report.merges],
                "splits": [p.to_dict() for p in report.splits],
                "counts": report.counts,
            }
        )
        return 0
    console = Console()
    recorded = f" from {len(report.recorded)} report(s) of its story" if args.action == "detach" else ""
    console.print(f"recorded: {safe(verdict)}{recorded}", highlight=False)
    for ref in named:
        console.print(
            f"  {safe(ref.id[:12])}  {safe(ref.source or '?')}: {safe(ref.title)}  "
            f"[dim](was in {safe(ref.story_id or '-')})[/]",
            highlight=False,
        )
    if report.counts.get("corrections:still_racing"):
        console.print(
            "[yellow]batches kept changing these stories while they were decided; the next batch "
            "touching them applies the correction, or run the command again[/]"
        )
    if not report.moved:
        console.print("no story changed: the stories already agree with it")
        return 0
    table = Table(title=f"{len(report.moved)} article(s) moved")
    for column in ("article", "now in story", "relation"):
        table.add_column(column)
    for article, assignment in sorted(report.moved.items()):
        table.add_row(safe(article[:12]), safe(assignment.story_id), safe(assignment.relation))
    console.print(table)
    for merge in report.merges:
        console.print(
            f"[dim]{safe(', '.join(merge.merged))} now live in {safe(merge.story_id)}[/]", highlight=False
        )
    failed = {k: v for k, v in report.counts.items() if "_failed:" in k}
    if failed:
        shown = ", ".join(f"{safe(k)} {v}" for k, v in sorted(failed.items()))
        console.print(f"[bold red]not written:[/] {shown}; run the command again", highlight=False)
        return 1
    return 0


def _list(client: Any, names: Any, args: argparse.Namespace) -> int:
    from rich.console import Console
    from rich.table import Table

    from newsflow.story_edits import recorded_corrections

    found = recorded_corrections(client, names, article=args.article, size=args.size)
    if args.json:
        print_json([c.to_dict() for c in found])
        return 0
    table = Table(title=f"story corrections: {len(found)}")
    for column in ("recorded", "verdict", "article", "article", "by", "note"):
        table.add_column(column)
    for c in found:
        table.add_row(
            when(c.recorded_at),
            safe(c.verdict),
            safe(c.a[:12]),
            safe(c.b[:12]),
            safe(c.by),
            safe(c.note),
        )
    Console().print(table)
    return 0
