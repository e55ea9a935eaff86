"""``newsflow story ID`` (one story's timeline) and ``newsflow sources`` (the outlets held)."""

from __future__ import annotations

import argparse
from typing import Any

from newsflow.cli.search_cmd import delay, when
from newsflow.cli.untrusted import print_json, safe

WHY_SHOWN = 6  # signals listed per report; --json has them all
ARTICLE_SHOWN = 12  # characters of an article id shown (``newsflow correct`` takes them)


def register(subparsers: Any) -> None:
    story: argparse.ArgumentParser = subparsers.add_parser(
        "story",
        help="one story's timeline: who reported first, who followed, when, and why each report joined",
        description="The reports of one story in order of publication. ID may be a story id, a unique "
        "prefix of one (as tables show them), an old id that was merged or renamed (followed to the "
        "current story), or an article id. Exit 1 when nothing knows the id.",
    )
    story.add_argument("story_id", metavar="ID", help="story id (s-...), prefix, old story id or article id")
    story.add_argument("--index", help="article alias (default NEWSFLOW_INDEX_ALIAS or news-articles)")
    story.add_argument("--merges-index", help="story-merges alias (default NEWSFLOW_MERGES_ALIAS)")
    story.add_argument("--json", action="store_true", help="machine-readable output")
    story.set_defaults(handler=run_story)

    sources: argparse.ArgumentParser = subparsers.add_parser(
        "sources", help="the outlets in the index (valid --source values) with reports, stories, languages"
    )
    sources.add_argument("--index", help="article alias (default NEWSFLOW_INDEX_ALIAS or news-articles)")
    sources.add_argument("--json", action="store_true", help="machine-readable output")
    sources.set_defaults(handler=run_sources)


def run_story(args: argparse.Namespace) -> int:
    from rich.console import Console
    from rich.table import Table

    from newsflow.es_client import make_client
    from newsflow.index import IndexNames
    from newsflow.story_view import delay_after, load_timeline

    names = IndexNames.from_env(args.index, merges=args.merges_index)
    client = make_client()
    try:
        timeline = load_timeline(client, args.story_id, names)
    finally:
        client.close()
    console = Console(stderr=args.json)
    if timeline is None:
        if args.json:
            print_json(None)
        console.print(
            f"unknown story {safe(args.story_id)}: no report, merge or article id matches it "
            "(`newsflow search` shows story ids)",
            highlight=False,
        )
        return 1
    if args.json:
        print_json(timeline.to_dict())
        return 0
    first = timeline.first
    for move in timeline.moves:
        console.print(
            f"[dim]{safe(move.old)} was {safe(move.kind)}d into {safe(move.new)} "
            f"on {when(move.recorded_at)} (run {safe(move.run_id or '?')})[/]",
            highlight=False,
        )
    if timeline.via_article:
        console.print(f"[dim]article {safe(timeline.asked)} belongs to this story[/]", highlight=False)
    outlets = sorted({r.source or "?" for r in timeline.reports})
    console.print(f"[bold]{safe(first.title)}[/]", highlight=False)
    console.print(
        f"story {safe(timeline.story_id)}: {timeline.total} reports from {len(outlets)} outlets; "
        f"first reported by [bold]{safe(first.source or '?')}[/] at {when(first.published)} UTC",
        highlight=False,
    )
    if timeline.total > len(timeline.reports):
        console.print(f"[dim]showing the first {len(timeline.reports)} reports[/]")
    by_id = {r.id: r for r in timeline.reports}
    table = Table(title=None)
    # The article column is what `newsflow correct` takes to name a report.
    for column in ("published", "after first", "outlet", "article", "relation", "linked to", "why", "title"):
        table.add_column(column, no_wrap=column in {"published", "after first", "article"})
    for report in timeline.reports:
        target = by_id.get(report.duplicate_of or "")
        linked = (
            f"{safe(target.source or '?')} {when(target.published)}"
            if target
            else safe((report.duplicate_of or "")[:12])
        )
        why = list(report.why)
        shown = ", ".join(why[:WHY_SHOWN]) + (f" (+{len(why) - WHY_SHOWN})" if len(why) > WHY_SHOWN else "")
        score = f"{report.link_score:.2f} " if report.link_score is not None and report.id != first.id else ""
        table.add_row(
            when(report.published),
            "" if report.id == first.id else delay(delay_after(first.published, report.published)),
            safe(report.source or ""),
            safe(report.id[:ARTICLE_SHOWN]),
            safe(report.relation or ""),
            linked,
            safe(score + shown),
            safe(report.title),
        )
    console.print(table)
    for c in timeline.corrections:
        said = f" by {safe(c.by)}" if c.by else ""
        note = f": {safe(c.note)}" if c.note else ""
        console.print(
            f"[dim]corrected {when(c.recorded_at)}{said}: {safe(c.a[:ARTICLE_SHOWN])} "
            f"{safe(c.verdict)} {safe(c.b[:ARTICLE_SHOWN])}{note} (`newsflow correct`)[/]",
            highlight=False,
        )
    for split in timeline.splits:
        gone = split.left == timeline.story_id
        console.print(
            f"[dim]{when(split.recorded_at)}: {len(split.reports)} report(s) "
            + (f"left for story {safe(split.joined)}" if gone else f"came from story {safe(split.left)}")
            + f" ({safe(', '.join(r[:ARTICLE_SHOWN] for r in split.reports[:3]))}"
            + (" ..." if len(split.reports) > 3 else "")
            + f"; run {safe(split.run_id or '?')})[/]",
            highlight=False,
        )
    return 0


def run_sources(args: argparse.Namespace) -> int:
    from rich.console import Console
    from rich.table import Table

    from newsflow.es_client import make_client
    from newsflow.facets import list_sources
    from newsflow.index import IndexNames

    alias = IndexNames.from_env(args.index).articles
    client = make_client()
    try:
        sources = list_sources(client, alias)
    finally:
        client.close()
    if args.json:
        print_json([s.to_dict() for s in sources])
        return 0
    table = Table(title=f"outlets in {safe(alias)}: {len(sources)}")
    for column in ("outlet", "reports", "stories", "languages", "first", "latest"):
        table.add_column(column)
    for s in sources:
        table.add_row(
            safe(s.source),
            str(s.reports),
            str(s.stories),
            safe(", ".join(s.languages)),
            when(s.first_published),
            when(s.last_published),
        )
    Console().print(table)
    if not sources:
        Console().print("the index holds no reports yet")
    return 0
