"""``newsflow search QUERY`` and ``newsflow stories``: read the article index by story."""

from __future__ import annotations

import argparse
import json
from typing import Any

from newsflow.cli.untrusted import escape_untrusted


def register(subparsers: Any) -> None:
    search: argparse.ArgumentParser = subparsers.add_parser(
        "search", help="full-text search, one hit per story (other outlets' reports listed under it)"
    )
    search.add_argument("query", help="words to search for in titles and bodies")
    _window(search)
    search.add_argument("--source", action="append", help="only this outlet (repeatable)")
    search.add_argument(
        "--lang", help="only this language: a code such as en (matches en-GB and en-US pages too)"
    )
    search.add_argument("--all-reports", action="store_true", help="list every report, not one per story")
    search.add_argument("--newest", action="store_true", help="newest first instead of by relevance")
    search.add_argument("--size", type=int, default=10, help="number of hits (default 10)")
    search.add_argument("--json", action="store_true", help="JSON with hits, reports and highlights")
    search.set_defaults(handler=run_search)

    stories: argparse.ArgumentParser = subparsers.add_parser(
        "stories", help="the biggest stories of a period (most reports)"
    )
    _window(stories)
    stories.add_argument("--size", type=int, default=10, help="number of stories (default 10)")
    stories.add_argument("--json", action="store_true", help="machine-readable output")
    stories.add_argument(
        "--history",
        metavar="STORY_ID",
        help="instead: the merges and renames that moved this story id or built this story",
    )
    stories.add_argument("--merges-index", help="story-merges alias (default NEWSFLOW_MERGES_ALIAS)")
    stories.set_defaults(handler=run_stories)


def _window(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--since", help="from: ISO date/datetime or relative (7d, 12h, 2w)")
    parser.add_argument("--until", help="until (inclusive for a date): ISO date/datetime or relative")
    parser.add_argument("--index", help="article alias (default NEWSFLOW_INDEX_ALIAS or news-articles)")


def _bounds(args: argparse.Namespace) -> dict[str, Any]:
    from newsflow.search import parse_when

    return {
        "since": parse_when(args.since) if args.since else None,
        "until": parse_when(args.until, end=True) if args.until else None,
    }


def _plain(fragment: str) -> str:
    """Highlight fragments as rich markup: escape the text, then bold the matched words."""
    return escape_untrusted(fragment, one_line=True).replace("<em>", "[bold yellow]").replace("</em>", "[/]")


def run_search(args: argparse.Namespace) -> int:
    from rich.console import Console
    from rich.table import Table

    from newsflow.es_client import make_client, reaching_cluster
    from newsflow.index import IndexNames
    from newsflow.search import search_stories

    alias = IndexNames.from_env(args.index).articles
    client = make_client()
    try:
        with reaching_cluster():
            result = search_stories(
                client,
                args.query,
                source=args.source,
                lang=args.lang,
                all_reports=args.all_reports,
                size=args.size,
                sort="newest" if args.newest else "relevance",
                index=alias,
                **_bounds(args),
            )
    finally:
        client.close()
    if args.json:
        print(json.dumps(result.to_dict(), indent=2, ensure_ascii=False))
        return 0
    console = Console()
    what = "reports" if args.all_reports else "stories"
    table = Table(
        title=escape_untrusted(
            f"{args.query!r}: {result.total_stories} stories, {result.total_reports} reports"
        )
    )
    for column in ("published", "source", "title / match", "reports"):
        table.add_column(column)
    for hit in result.hits:
        snippet = _plain(hit.highlights["text"][0]) if hit.highlights.get("text") else ""
        title = _plain(hit.highlights["title"][0]) if hit.highlights.get("title") else _plain(hit.title)
        others = ", ".join(sorted({r.source or "?" for r in hit.reports if r.id != hit.id}))
        count = str(hit.story_reports or 1) + (
            f" ({escape_untrusted(others, one_line=True)})" if others else ""
        )
        table.add_row(
            escape_untrusted((hit.published or "")[:16]),
            escape_untrusted(hit.source or "", one_line=True),
            f"{title}\n[dim]{snippet}[/]",
            count,
        )
    console.print(table)
    if not result.hits:
        console.print(f"no {what} matched")
    return 0


def run_stories(args: argparse.Namespace) -> int:
    from rich.console import Console
    from rich.table import Table

    from newsflow.es_client import make_client, reaching_cluster
    from newsflow.index import IndexNames
    from newsflow.search import top_stories

    if args.history:
        return _run_history(args)
    alias = IndexNames.from_env(args.index).articles
    client = make_client()
    try:
        with reaching_cluster():
            stories = top_stories(client, size=args.size, index=alias, **_bounds(args))
    finally:
        client.close()
    if args.json:
        print(json.dumps([s.to_dict() for s in stories], indent=2, ensure_ascii=False))
        return 0
    table = Table(title="biggest stories")
    for column in ("reports", "outlets", "first", "title"):
        table.add_column(column)
    for story in stories:
        table.add_row(
            str(story.reports),
            str(story.sources),
            escape_untrusted((story.first_published or "")[:16]),
            escape_untrusted(story.title or "", one_line=True),
        )
    Console().print(table)
    return 0


def _run_history(args: argparse.Namespace) -> int:
    from rich.console import Console
    from rich.table import Table

    from newsflow.es_client import make_client, reaching_cluster
    from newsflow.index import IndexNames
    from newsflow.index.story_merges import find_merges

    names = IndexNames.from_env(args.index, merges=args.merges_index)
    client = make_client()
    try:
        with reaching_cluster():
            merges = find_merges(client, args.history, names=names)
    finally:
        client.close()
    if args.json:
        print(json.dumps(merges, indent=2, ensure_ascii=False))
        return 0
    console = Console()
    if not merges:
        console.print(
            f"{escape_untrusted(args.history)} was never merged or renamed: it is current, or unknown"
        )
        return 0
    table = Table(title=f"history of {escape_untrusted(args.history)}")
    for column in ("recorded", "kind", "now", "was", "reports", "caused by", "run"):
        table.add_column(column)
    for m in merges:
        cells = (
            str(m.get("recorded_at", ""))[:19],
            str(m.get("kind", "")),
            str(m.get("story_id", "")),
            ", ".join(m.get("merged", [])),
            str(m.get("members", "")),
            ", ".join(m.get("by", [])[:3]) + (" ..." if len(m.get("by", [])) > 3 else ""),
            str(m.get("run_id", "")),
        )
        table.add_row(*(escape_untrusted(cell, one_line=True) for cell in cells))
    console.print(table)
    return 0
