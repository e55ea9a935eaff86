"""``newsflow fetch-feed URL``: see what a feed yields before adding it to the registry."""

from __future__ import annotations

import argparse
from typing import Any


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "fetch-feed",
        help="fetch and parse one feed, show its entries and parse errors",
        description=(
            "Fetch one feed politely and show what it yields (nothing is archived). Private and "
            "loopback hosts are refused unless NEWSFLOW_ALLOW_PRIVATE_HOSTS or --allow-private allows them."
        ),
    )
    parser.add_argument("url", help="feed URL (http or https)")
    parser.add_argument(
        "--allow-private",
        action="store_true",
        help="also allow this URL's host and port if they are private/loopback (local test sites)",
    )
    parser.add_argument("--no-robots", action="store_true", help="do not consult robots.txt")
    parser.add_argument(
        "--timeout",
        type=float,
        default=60.0,
        help="give up after this many seconds: the whole fetch, retries and redirects included (default 60)",
    )
    parser.add_argument("--limit", type=int, default=50, help="show at most this many entries (default 50)")
    parser.add_argument("--contact", default=None, help="contact URL for the User-Agent")
    parser.set_defaults(handler=run)


def _allow_list(url: str, allow_private: bool) -> frozenset[str]:
    """``NEWSFLOW_ALLOW_PRIVATE_HOSTS``, plus exactly this URL's host and port with --allow-private."""
    import os
    from urllib.parse import urlsplit

    from newsflow.fetch_policy import ENV_VAR, allow_list_from_env

    allowed = allow_list_from_env(os.environ.get(ENV_VAR))
    if allow_private:
        parts = urlsplit(url)
        port = parts.port or (443 if parts.scheme == "https" else 80)
        host = parts.hostname or ""
        allowed |= {f"[{host}]:{port}" if ":" in host else f"{host}:{port}"}
    return allowed


def run(args: argparse.Namespace) -> int:
    from urllib.parse import urlsplit

    from rich.console import Console
    from rich.table import Table

    from newsflow.cli.untrusted import escape_untrusted
    from newsflow.errors import FetchError, InputError
    from newsflow.feeds import parse_feed
    from newsflow.fetch import Fetcher, FetchFailure, FetchOptions
    from newsflow.redact import redact_url

    try:
        parts = urlsplit(args.url)
        parts.port  # noqa: B018 - a bad port raises here, before anything is fetched
    except ValueError as exc:
        raise InputError(f"{args.url!r} is not a valid URL ({exc})") from exc
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise InputError(f"{args.url!r} is not an absolute http(s) URL; pass the feed's full address")
    if not 0 < args.timeout < float("inf"):  # "nan" and "inf" parse as floats too
        raise InputError(f"--timeout {args.timeout} must be a number of seconds more than 0")
    extra: dict[str, Any] = {}
    if args.contact:
        extra["contact_url"] = args.contact
    defaults = FetchOptions()
    options = FetchOptions(
        deadline=args.timeout,
        read_timeout=min(defaults.read_timeout, args.timeout),
        connect_timeout=min(defaults.connect_timeout, args.timeout),
        allow_private_hosts=_allow_list(args.url, args.allow_private),
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
    # Feed text is untrusted: markup and terminal control codes are shown, never obeyed. URLs are
    # shown without credentials: the operator's (in the feed URL, and so in links resolved
    # against it or a redirect's) as much as any a feed's own links carry.
    title = f"{parsed.title or redact_url(args.url)} [{parsed.format}] — {len(parsed.entries)} entries"
    table = Table(title=escape_untrusted(title, one_line=True))
    table.add_column("published")
    table.add_column("title")
    table.add_column("url", overflow="fold")
    for entry in parsed.entries[: args.limit]:
        table.add_row(
            escape_untrusted(entry.published or entry.updated or "-"),
            escape_untrusted(entry.title or "-", one_line=True),
            escape_untrusted(redact_url(entry.url), one_line=True),
        )
    console.print(table)
    console.print(
        f"HTTP {result.status}, {len(result.body)} bytes, {result.elapsed:.2f}s"
        + (f", redirected via {len(result.redirects)} hop(s)" if result.redirects else ""),
        highlight=False,
    )
    if parsed.skipped:
        console.print(f"[yellow]{parsed.skipped} entries had no usable http(s) link[/]")
    if parsed.bozo:
        detail = escape_untrusted(f"{parsed.error}: {parsed.error_detail}")
        console.print(f"[bold red]parse error:[/] {detail}", highlight=False)
        return 1 if not parsed.entries else 0
    return 0
