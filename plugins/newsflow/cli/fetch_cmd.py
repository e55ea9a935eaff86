"""``newsflow fetch-feed URL``: see what a feed yields before adding it to the registry."""

from __future__ import annotations

import argparse
from typing import Any


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "fetch-feed",
        help="fetch and parse one feed, show its entries and parse errors",
        description="Fetch one feed politely and show what it yields (nothing is archived).",
    )
    parser.add_argument("url", help="feed URL (http or https)")
    parser.add_argument(
        "--allow-private",
        action="store_true",
        help="allow this URL's host even if it resolves to a private/loopback address (local test sites)",
    )
    parser.add_argument("--no-robots", action="store_true", help="do not consult robots.txt")
    parser.add_argument("--timeout", type=float, default=20.0, help="read timeout in seconds (default 20)")
    parser.add_argument("--limit", type=int, default=50, help="show at most this many entries (default 50)")
    parser.add_argument("--contact", default=None, help="contact URL for the User-Agent")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from urllib.parse import urlsplit

    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    from newsflow.errors import FetchError, InputError
    from newsflow.feeds import parse_feed
    from newsflow.fetch import Fetcher, FetchFailure, FetchOptions

    host = urlsplit(args.url).hostname
    if urlsplit(args.url).scheme not in ("http", "https") or not host:
        raise InputError(f"{args.url!r} is not an absolute http(s) URL; pass the feed's full address")
    extra: dict[str, Any] = {}
    if args.contact:
        extra["contact_url"] = args.contact
    options = FetchOptions(
        read_timeout=args.timeout,
        allow_private_hosts=frozenset({host}) if args.allow_private else frozenset(),
        respect_robots=not args.no_robots,
        per_host_delay=0.0,
        **extra,
    )
    console = Console()
    with Fetcher(options) as fetcher:
        try:
            result = fetcher.fetch(args.url)
        except FetchFailure as exc:
            raise FetchError(f"could not fetch feed {args.url}: {exc.reason} ({exc.detail})") from exc
    parsed = parse_feed(result.body, feed="cli", base_url=result.final_url, content_type=result.content_type)
    # Feed text is untrusted: escape it so brackets are shown, not read as rich markup.
    table = Table(
        title=escape(f"{parsed.title or args.url} [{parsed.format}] — {len(parsed.entries)} entries")
    )
    table.add_column("published")
    table.add_column("title")
    table.add_column("url", overflow="fold")
    for entry in parsed.entries[: args.limit]:
        table.add_row(entry.published or entry.updated or "-", escape(entry.title or "-"), escape(entry.url))
    console.print(table)
    console.print(
        f"HTTP {result.status}, {len(result.body)} bytes, {result.elapsed:.2f}s"
        + (f", redirected via {len(result.redirects)} hop(s)" if result.redirects else ""),
        highlight=False,
    )
    if parsed.skipped:
        console.print(f"[yellow]{parsed.skipped} entries had no usable http(s) link[/]")
    if parsed.bozo:
        detail = escape(f"{parsed.error}: {parsed.error_detail}")
        console.print(f"[bold red]parse error:[/] {detail}", highlight=False)
        return 1 if not parsed.entries else 0
    return 0
