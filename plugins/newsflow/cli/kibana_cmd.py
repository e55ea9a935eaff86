"""``newsflow kibana import|check``: the saved objects under ``seeds/kibana``."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING, Any

from newsflow.cli.untrusted import print_json

if TYPE_CHECKING:
    from newsflow.jsontypes import JsonObject


def register(subparsers: Any) -> None:
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "kibana", help="import the Kibana data views, searches and dashboard, or check them offline"
    )
    parser.add_argument("action", choices=["import", "check"])
    parser.add_argument("--url", help="Kibana URL (default NEWSFLOW_KIBANA_URL or http://127.0.0.1:5601)")
    parser.add_argument(
        "--file", action="append", type=Path, help="ndjson file (default seeds/kibana/*.ndjson)"
    )
    parser.add_argument("--space", help="Kibana space id (default: the default space)")
    parser.add_argument(
        "--timeout", type=float, default=300.0, help="seconds to wait for Kibana (default 300)"
    )
    parser.add_argument("--json", action="store_true", help="machine-readable output")
    parser.set_defaults(handler=run)


def _index_fields() -> dict[str, dict[str, JsonObject]]:
    from newsflow.index.templates import KINDS, load_seed
    from newsflow.jsontypes import as_object
    from newsflow.kibana import mapping_specs

    return {kind: mapping_specs(as_object(load_seed(kind, "mappings").get("mappings"))) for kind in KINDS}


def run(args: argparse.Namespace) -> int:
    from rich.console import Console

    from newsflow.cli.untrusted import escape_untrusted
    from newsflow.kibana import (
        ImportOptions,
        KibanaConnection,
        check_saved_objects,
        import_saved_objects,
        saved_object_files,
    )
    from newsflow.kibana_files import load_saved_objects

    console = Console(stderr=True)
    files = args.file or saved_object_files()
    if args.action == "check":
        objects = [obj for path in files for obj in load_saved_objects(path)]
        problems = check_saved_objects(objects, _index_fields())
        if args.json:
            print_json({"objects": len(objects), "problems": problems})
            return 1 if problems else 0
        for problem in problems:
            console.print(f"[red]problem:[/] {escape_untrusted(problem)}", highlight=False)
        console.print(f"{len(objects)} saved objects checked, {len(problems)} problems", highlight=False)
        return 1 if problems else 0
    reports = import_saved_objects(
        files, KibanaConnection.from_env(args.url), ImportOptions(timeout_s=args.timeout, space=args.space)
    )
    if args.json:
        print_json([r.to_dict() for r in reports])
    for report in reports:
        word = "[green]imported[/]" if report.success else "[red]failed[/]"
        console.print(
            f"{word} {escape_untrusted(report.file)}: {report.success_count} objects", highlight=False
        )
        for error in report.errors:
            # Kibana's answer quotes the objects we sent and its own text: shown, never obeyed.
            line = f"{error.get('type')} {error.get('id')}: {error.get('error')}"
            console.print(f"  {escape_untrusted(line)}", highlight=False)
    return 0 if all(r.success for r in reports) else 1
