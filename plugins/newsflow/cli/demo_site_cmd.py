"""``newsflow demo-site``: serve the demo's fixture news site in the foreground."""

from __future__ import annotations

import argparse
import threading
from typing import Any


def register(subparsers: Any) -> None:
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "demo-site", help="serve the demo fixture news site (seeds/site) on 127.0.0.1"
    )
    parser.add_argument("--port", type=int, default=None, help="port (default 8765)")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from rich.console import Console

    from newsflow.devstack import demo_site
    from newsflow.errors import InputError

    port = args.port if args.port is not None else demo_site.DEFAULT_PORT
    if not 0 <= port <= 65535:
        raise InputError(f"--port {port}: a port is 0..65535 (0: any free one)")
    try:
        site = demo_site.start(port=port)
    except OSError as exc:  # in use, or not ours to bind
        raise InputError(
            f"cannot serve on 127.0.0.1:{port} ({exc.strerror or exc}); try another --port"
        ) from exc
    Console(stderr=True).print(f"demo site at {site.base_url}/ (Ctrl-C to stop)")
    try:
        threading.Event().wait()
    finally:
        site.stop()
    return 0
