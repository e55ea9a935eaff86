"""The ``newsflow`` command line.

Each ``*_cmd`` module in this package registers its own sub-commands through
``register(subparsers)`` and imports heavy libraries inside its handlers, so
``newsflow --help`` stays fast and stages stay independent.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import pkgutil
import sys
from collections.abc import Sequence

from newsflow.cli.untrusted import VisibleControlsFilter, escape_untrusted, plain_untrusted
from newsflow.errors import NewsflowError
from newsflow.redact import RedactingFilter, redact_text


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="newsflow", description="News ingestion pipeline tools.")
    parser.add_argument("-v", "--verbose", action="count", default=0, help="more logging (-vv for debug)")
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        if info.name.endswith("_cmd"):
            importlib.import_module(f"{__name__}.{info.name}").register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    level = logging.WARNING - 10 * min(args.verbose, 2)
    logging.basicConfig(
        level=os.environ.get("NEWSFLOW_LOG_LEVEL", logging.getLevelName(level)),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    for handler in logging.getLogger().handlers:
        if not any(isinstance(f, RedactingFilter) for f in handler.filters):
            handler.addFilter(RedactingFilter())  # first: it formats a traceback to mask it
            handler.addFilter(VisibleControlsFilter())
    # httpx logs every request's URL at INFO, and an alert's webhook URL carries its token in
    # the path, where no pattern can tell it from a page: our own lines name the site only.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    if not args.verbose and "NEWSFLOW_LOG_LEVEL" not in os.environ:
        # The client logs each retry it makes, with its traceback, as a warning: five of them
        # bury the one error a command prints when the cluster is down. -v shows them.
        logging.getLogger("elastic_transport").setLevel(logging.ERROR)
    try:
        code: int = args.handler(args)
    except NewsflowError as exc:
        from rich.console import Console

        # Messages quote URLs, paths and servers' answers: untrusted, and maybe holding credentials.
        message = escape_untrusted(redact_text(str(exc)))
        Console(stderr=True).print(f"[bold red]error:[/] {message}", highlight=False, markup=True)
        return 2
    except KeyboardInterrupt:
        return 130
    except Exception:  # a bug: its traceback is shown, as every output is, with credentials masked
        import traceback

        sys.stderr.write(plain_untrusted(redact_text(traceback.format_exc())))
        return 1
    return code
