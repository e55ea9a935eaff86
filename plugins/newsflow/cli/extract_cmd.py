"""``newsflow extract``: one page to a JSON article, or a manifest of pages to JSONL.

The batch form is how extraction quality is measured (its output feeds the
shared scorer) and how archives are re-extracted after a rule change.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from newsflow.cli.outputs import refuse_input_as_output
from newsflow.errors import InputError


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "extract",
        help="extract article text and metadata from saved HTML",
        description=(
            "Extract one page (prints the full article record as JSON) or, with --batch, every page of "
            'a JSONL manifest of {"id", "path", "url"} lines (relative paths are resolved against the '
            "manifest's folder; .gz pages are decompressed) into --out."
        ),
    )
    parser.add_argument("page", nargs="?", type=Path, help="HTML file (.gz allowed) to extract")
    parser.add_argument("--url", help="the page's URL (improves canonical URL and date detection)")
    parser.add_argument("--content-type", help="HTTP Content-Type header value, for its charset")
    parser.add_argument("--batch", type=Path, metavar="MANIFEST.jsonl", help="extract every manifest entry")
    parser.add_argument("--out", type=Path, metavar="OUT.jsonl", help="output of --batch")
    parser.add_argument(
        "--workers", type=int, default=None, help="processes for --batch (default: all cores)"
    )
    parser.add_argument(
        "--favor",
        choices=("adaptive", "precision", "balanced", "recall"),
        default="adaptive",
        help="trafilatura setting (default: adaptive)",
    )
    parser.add_argument(
        "--fast", action="store_true", help="skip trafilatura's fallback cross-check (about 2x faster)"
    )
    parser.add_argument("--no-progress", action="store_true", help="no progress bar on stderr")
    parser.set_defaults(handler=_handle)


def _handle(args: argparse.Namespace) -> int:
    from newsflow.extract import ExtractOptions

    options = ExtractOptions(favor=args.favor, fast=args.fast)
    if args.batch is not None:
        if args.page is not None:
            raise InputError("give either PAGE or --batch MANIFEST, not both")
        if args.out is None:
            raise InputError("--batch needs --out OUT.jsonl")
        refuse_input_as_output(args.batch, args.out)
        return _batch(args, options)
    if args.page is None:
        raise InputError("nothing to extract: give PAGE.html or --batch MANIFEST.jsonl --out OUT.jsonl")
    _check_url(args.url)
    return _single(args, options)


def _single(args: argparse.Namespace, options: Any) -> int:
    import zlib

    from newsflow.cli.untrusted import print_json
    from newsflow.errors import ExtractionError
    from newsflow.extract import extract_article
    from newsflow.extract.batch import read_page

    try:
        html = read_page(args.page, options.max_html_bytes)
    except (OSError, EOFError, zlib.error) as exc:
        raise InputError(f"{args.page}: cannot be read ({exc}); check the path") from exc
    try:
        article = extract_article(html, url=args.url, options=options, content_type=args.content_type)
    except ExtractionError as exc:
        raise ExtractionError(f"{args.page}: {exc}", reason=exc.reason) from exc
    # The page's text is untrusted: what a terminal obeys is written as JSON escapes.
    print_json(article.to_dict())
    return 0


def _check_url(value: str | None) -> None:
    """``--url``: a URL the page can be canonicalised against."""
    from newsflow.urls import canonicalize_url

    if value is None:
        return
    try:
        canonicalize_url(value)
    except ValueError as exc:
        raise InputError(f"--url {value!r} is not a URL ({exc})") from exc


def _batch(args: argparse.Namespace, options: Any) -> int:
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
    from rich.table import Table

    from newsflow.cli.untrusted import escape_untrusted
    from newsflow.extract.batch import run_batch

    console = Console(stderr=True)
    progress = Progress(
        TextColumn("extract"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=console,
        disable=args.no_progress,
    )
    task = progress.add_task("extract", total=None)
    with progress:
        summary = run_batch(
            args.batch,
            args.out,
            workers=args.workers,
            options=options,
            on_start=lambda total: progress.update(task, total=total),
            on_row=lambda _row: progress.advance(task),
        )
    for problem in summary.bad_lines:
        console.print(f"[yellow]bad manifest line:[/] {escape_untrusted(problem)}", highlight=False)
    console.print(
        f"extracted {summary.extracted} of {summary.total} -> {escape_untrusted(args.out)}", highlight=False
    )
    table = Table(title="outcomes")
    table.add_column("outcome")
    table.add_column("count", justify="right")
    table.add_row("ok", str(summary.extracted))
    for reason, count in sorted(summary.errors.items(), key=lambda kv: (-kv[1], kv[0])):
        table.add_row(escape_untrusted(reason, one_line=True), str(count))
    console.print(table)
    if not summary.extracted:
        console.print("[red]no page was extracted[/]", highlight=False)
        return 1
    return 0
