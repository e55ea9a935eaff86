"""``newsflow search QUERY`` and ``newsflow stories``: read the article index by story."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, Any

from newsflow.cli.untrusted import print_json, safe

if TYPE_CHECKING:
    from rich.table import Table

    from newsflow.reports import SearchHit
    from newsflow.search import SearchResult

QUERY_HELP = """\
query syntax:
  Kherson counteroffensive      either word, reports using both (and together) first
  Kherson AND cycle             both words (also: Kherson + cycle)
  Bakhmut OR Kherson            either word (also: Bakhmut | Kherson)
  Kherson NOT Bakhmut           without the second (also: Kherson -Bakhmut)
  "run home or die"             the exact phrase
  Kher*                         words starting with Kher
  (Bakhmut OR Kherson) AND shelling
  Only upper-case AND/OR/NOT are operators.

filters:
  --source and --lang ignore case; --lang en also finds en-GB and en-US pages. A value the
  index does not hold is an error naming the closest ones; `newsflow sources` lists outlets.

output:
  One row per story: the date, outlet and title of the story's FIRST report, whatever
  matched; `relation` is how the best-matching report joined the story (original,
  same_story, near_duplicate, exact, same_url) and the text under the title is its best
  passage. --all-reports lists every matching report grouped under its story, the
  original first. Story ids are shortened; `newsflow story ID` takes any unique prefix.
"""
ORDER = {"original": 0, "same_url": 1, "same_story": 2, "near_duplicate": 3, "exact": 4}
SHORT_ID = 12


def register(subparsers: Any) -> None:
    search: argparse.ArgumentParser = subparsers.add_parser(
        "search",
        help="full-text search, one hit per story (other outlets' reports listed under it)",
        description="Full-text search over titles, bodies and descriptions, one row per story.",
        epilog=QUERY_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    search.add_argument("query", help="what to search for (see query syntax below)")
    _window(search)
    search.add_argument("--source", action="append", help="only this outlet, any case (repeatable)")
    search.add_argument(
        "--lang", help="only this language, any case: a code such as en (matches en-GB and en-US pages too)"
    )
    search.add_argument(
        "--all-reports", action="store_true", help="every matching report, grouped under its story"
    )
    search.add_argument("--newest", action="store_true", help="newest first instead of by relevance")
    search.add_argument("--size", type=int, default=10, help="number of hits (default 10)")
    search.add_argument(
        "--json", action="store_true", help="JSON with hits, reports, story heads and highlights"
    )
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
        help="instead: the merges and renames that moved this story id or built this story "
        "(exit 1 when no report and no merge knows the id)",
    )
    stories.add_argument("--merges-index", help="story-merges alias (default NEWSFLOW_MERGES_ALIAS)")
    stories.set_defaults(handler=run_stories)


def _window(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--since", help="from: ISO date/datetime or relative (7d, 12h, 2w)")
    parser.add_argument("--until", help="until (inclusive for a date): ISO date/datetime or relative")
    parser.add_argument("--index", help="article alias (default NEWSFLOW_INDEX_ALIAS or news-articles)")


def _bounds(args: argparse.Namespace) -> dict[str, Any]:
    from newsflow.errors import InputError
    from newsflow.search import parse_when

    since = parse_when(args.since) if args.since else None
    until = parse_when(args.until, end=True) if args.until else None
    if since is not None and until is not None and since >= until:
        raise InputError(f"--since {args.since} is not before --until {args.until}: no report could match")
    return {"since": since, "until": until}


def short_id(story_id: str | None) -> str:
    return safe((story_id or "")[:SHORT_ID])


def when(iso: str | None) -> str:
    """``2022-08-30 07:15`` from an ISO instant (UTC), blank when unknown."""
    return safe((iso or "")[:16].replace("T", " "))


def delay(seconds: float | None) -> str:
    """``+3h50m`` after the first report (``-`` before it, which a late re-dated report can be)."""
    if seconds is None:
        return ""
    sign = "-" if seconds < 0 else "+"
    minutes = round(abs(seconds) / 60)
    days, rest = divmod(minutes, 24 * 60)
    hours, mins = divmod(rest, 60)
    if days:
        return f"{sign}{days}d{hours}h"
    return f"{sign}{hours}h{mins:02d}m" if hours else f"{sign}{mins}m"


def _marked(fragment: str) -> str:
    """A highlight fragment as rich markup: the text made safe, then the matched words bold."""
    return safe(fragment).replace("<em>", "[bold yellow]").replace("</em>", "[/]")


def _title(hit: SearchHit) -> str:
    return _marked(hit.highlights["title"][0]) if hit.highlights.get("title") else safe(hit.title)


def _snippet(hit: SearchHit) -> str:
    return _marked(hit.highlights["text"][0]) if hit.highlights.get("text") else ""


def run_search(args: argparse.Namespace) -> int:
    from rich.console import Console

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
        print_json(result.to_dict())
        return 0
    console = Console()
    title = f"{safe(args.query)}: {result.total_stories} stories, {result.total_reports} reports"
    table = _grouped(result, title) if args.all_reports else _by_story(result, title)
    console.print(table)
    if not result.hits:
        console.print("no reports matched" if args.all_reports else "no stories matched")
    return 0


def _table(title: str, *columns: str) -> Table:
    from rich.table import Table

    table = Table(title=title)
    for column in columns:
        table.add_column(column, no_wrap=column in {"first reported", "published", "story", "relation"})
    return table


def _by_story(result: SearchResult, title: str) -> Table:
    """One row per story: the first report's date, outlet and title; the best match under it."""
    table = _table(title, "first reported", "outlet", "story", "relation", "title / best match", "reports")
    for hit in result.hits:
        head = result.head(hit)
        first = head.first if head else hit
        matched = {r.id: r for r in (*hit.reports, hit)}
        headline = _title(matched.get(first.id, first))
        passage = _snippet(hit)
        if passage and hit.id != first.id:
            passage = f"{safe(hit.source or '?')}: {passage}"
        outlets = head.outlets if head else ()
        count = str(head.reports if head else hit.story_reports or 1)
        if len(outlets) > 1:
            count += f"\n[dim]{len(outlets)} outlets[/]"
        table.add_row(
            when(first.published),
            safe(first.source or ""),
            short_id(hit.story_id),
            safe(hit.relation or ""),
            f"{headline}\n[dim]{passage}[/]" if passage else headline,
            count,
        )
    return table


def _grouped(result: SearchResult, title: str) -> Table:
    """Matching reports under their story: the first report, then the others in order of arrival."""
    from newsflow.story_view import delay_after

    groups: dict[str, list[SearchHit]] = {}
    for hit in result.hits:
        groups.setdefault(hit.story_id or hit.id, []).append(hit)
    table = _table(title, "story", "published", "outlet", "relation", "title / match")
    for story_id, members in groups.items():
        head = result.stories.get(story_id)
        first = head.first if head else None
        ordered = sorted(members, key=lambda h: (ORDER.get(h.relation or "", 9), h.published or "~", h.id))
        rows: list[tuple[str, str, str, str, str]] = []
        if first is not None and all(m.id != first.id for m in members):
            note = "[dim](first report; did not match)[/]"
            opening = (when(first.published), safe(first.source or ""), "original", safe(first.title), note)
            rows.append(opening)
        passages: set[str] = set()
        for hit in ordered:
            gap = delay_after(first.published, hit.published) if first and hit.id != first.id else None
            stamp = when(hit.published) + (f" [dim]{delay(gap)}[/]" if gap is not None else "")
            passage = _snippet(hit)
            shown = "" if passage in passages else passage  # a syndicated copy's passage is shown once
            passages.add(passage)
            rows.append((stamp, safe(hit.source or ""), safe(hit.relation or ""), _title(hit), shown))
        for n, (stamp, outlet, relation, headline, passage) in enumerate(rows):
            table.add_row(
                short_id(story_id) if n == 0 else "",
                stamp,
                outlet,
                relation if n == 0 else f"  {relation}",
                f"{headline}\n[dim]{passage}[/]" if passage else headline,
                end_section=n == len(rows) - 1,
            )
    return table


def run_stories(args: argparse.Namespace) -> int:
    from rich.console import Console

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
        print_json([s.to_dict() for s in stories])
        return 0
    columns = ("reports", "outlets", "first reported", "first outlet", "story", "title")
    table = _table("biggest stories", *columns)
    for story in stories:
        table.add_row(
            str(story.reports),
            str(story.sources),
            when(story.first_published),
            safe(story.source or ""),
            short_id(story.story_id),
            safe(story.title or ""),
        )
    Console().print(table)
    return 0


def _run_history(args: argparse.Namespace) -> int:
    from rich.console import Console

    from newsflow import stored_fields
    from newsflow.es_client import make_client, reaching_cluster
    from newsflow.index import IndexNames
    from newsflow.index.story_merges import find_merges
    from newsflow.story_view import follow_story, story_size

    names = IndexNames.from_env(args.index, merges=args.merges_index)
    asked = args.history
    client = make_client()
    try:
        with reaching_cluster():
            merges = find_merges(client, asked, names=names)
            reports = story_size(client, names.articles, asked)
            current, moves = follow_story(client, asked, names) if not reports and merges else (asked, ())
    finally:
        client.close()
    known = bool(reports or merges)
    if args.json:
        print_json(merges)
        return 0 if known else 1
    console = Console()
    if not known:
        console.print(
            f"unknown story id {safe(asked)}: no report carries it and no merge or rename mentions it",
            highlight=False,
        )
        return 1
    if reports:
        console.print(f"{safe(asked)} is current: {reports} reports", highlight=False)
    else:
        console.print(f"{safe(asked)} no longer exists; it now lives in {safe(current)}", highlight=False)
        for move in moves:
            console.print(f"  {move.kind}: {safe(move.old)} -> {safe(move.new)} ({when(move.recorded_at)})")
    if not merges:
        console.print("never merged, renamed or split")
        return 0
    columns = ("recorded", "kind", "now", "was", "reports", "caused by", "run")
    table = _table(f"history of {safe(asked)}", *columns)
    for m in merges:
        # As stored: a lone string in a list field is one item, an odd date is blank.
        by = stored_fields.texts(m.get("by"))
        split_from = stored_fields.string(m.get("split_from")) if m.get("kind") == "split" else None
        was = f"part of {split_from}" if split_from else ", ".join(stored_fields.texts(m.get("merged")))
        table.add_row(
            when(stored_fields.instant(m.get("recorded_at"))),
            safe(str(m.get("kind", ""))),
            safe(str(m.get("story_id", ""))),
            safe(was),
            str(m.get("members", "")),
            safe(("moved: " if split_from else "") + ", ".join(by[:3]) + (" ..." if len(by) > 3 else "")),
            safe(str(m.get("run_id", ""))),
        )
    console.print(table)
    return 0
