"""``newsflow index setup|status|migrate|rollover|replay-dead-letters``: templates, aliases,
mapping migrations, rolling the article index over to a new generation (the core ``_rollover``
API); dead letters are replayed by ``replay_cmd``."""

from __future__ import annotations

import argparse
from typing import Any

from rich.console import Console

from newsflow.cli.untrusted import print_json


def register(subparsers: Any) -> None:
    from newsflow.cli import replay_cmd

    parser: argparse.ArgumentParser = subparsers.add_parser(
        "index",
        help="set up, inspect or migrate the indices (templates + aliases); replay dead letters",
        epilog=replay_cmd.REPLAY_HELP,
    )
    parser.add_argument("action", choices=["setup", "status", "migrate", "rollover", "replay-dead-letters"])
    parser.add_argument("--index", help="article alias (default NEWSFLOW_INDEX_ALIAS or news-articles)")
    parser.add_argument(
        "--runs-index", help="run-metrics alias (default NEWSFLOW_RUNS_ALIAS or newsflow-runs)"
    )
    parser.add_argument(
        "--merges-index", help="story-merges alias (default NEWSFLOW_MERGES_ALIAS or newsflow-story-merges)"
    )
    parser.add_argument("--replicas", type=int, help="replica count (default: 0 on one data node, else 1)")
    parser.add_argument(
        "--analyzer", choices=["english", "standard"], help="full-text analyzer (default: detect)"
    )
    parser.add_argument(
        "--wait", type=float, default=60.0, help="seconds to wait for the cluster (default 60)"
    )
    parser.add_argument("--json", action="store_true", help="machine-readable output")
    replay_cmd.add_arguments(parser)  # --run, and --dry-run (rollover: say whether it would roll over)
    rollover = parser.add_argument_group("rollover conditions (any one rolls the article index over)")
    rollover.add_argument("--max-size", default="30gb", help="largest primary shard (default 30gb; 'none')")
    rollover.add_argument("--max-age", default="7d", help="oldest write index (default 7d; 'none')")
    rollover.add_argument("--max-docs", default="40000000", help="most documents (default 40000000; 'none')")
    parser.set_defaults(handler=run)


def _conditions(args: argparse.Namespace) -> Any:
    from newsflow.index.generations import RolloverConditions

    def given(value: str) -> str | None:
        return None if value.lower() == "none" else value

    docs = given(args.max_docs)
    return RolloverConditions(
        max_primary_shard_size=given(args.max_size),
        max_age=given(args.max_age),
        max_docs=int(docs) if docs is not None else None,
    )


def run(args: argparse.Namespace) -> int:
    from newsflow.cli.untrusted import escape_untrusted
    from newsflow.es_client import make_client, reaching_cluster, wait_until_healthy
    from newsflow.index import IndexNames, SetupOptions, migrate, setup_indices
    from newsflow.index.templates import alias_indices

    console = Console(stderr=True)
    names = IndexNames.from_env(args.index, args.runs_index, args.merges_index)
    conditions = _conditions(args) if args.action == "rollover" else None  # checked before connecting
    client = make_client()
    try:
        with reaching_cluster():
            wait_until_healthy(client, timeout_s=args.wait)
            if args.action == "replay-dead-letters":
                from newsflow.cli.replay_cmd import replay

                return replay(args, client)
            if args.action == "setup":
                report = setup_indices(
                    client, names, SetupOptions(replicas=args.replicas, text_analyzer=args.analyzer)
                )
                result: dict[str, Any] = report.to_dict()
                summary = (
                    ", ".join(f"{alias} -> {index}" for alias, index in report.indices.items())
                    + f" (analyzer {report.text_analyzer}, replicas {report.replicas}, "
                    f"created {list(report.created_indices) or 'nothing'})"
                )
            elif args.action == "migrate":
                migration = migrate(client, names.articles)
                result = migration.to_dict()
                summary = (
                    f"{migration.alias}: {migration.source_index} -> {migration.target_index} "
                    f"({migration.copied} documents)"
                )
            elif args.action == "rollover":
                from dataclasses import asdict

                from newsflow.index.generations import rollover

                rolled = rollover(client, names.articles, conditions, dry_run=args.dry_run)
                result = asdict(rolled)
                verb = "would roll" if rolled.dry_run and rolled.rolled_over else "rolled"
                summary = (
                    f"{rolled.alias}: {verb} over {rolled.old_index} -> {rolled.new_index}"
                    if rolled.rolled_over
                    else f"{rolled.alias}: {rolled.old_index} stays the write index (no condition met)"
                ) + f" {rolled.met}"
            else:
                result = {}
                for alias in names.all():
                    indices = alias_indices(client, alias)
                    count = client.count(index=alias)["count"] if indices else None
                    result[alias] = {"indices": indices, "documents": count}
                summary = "; ".join(
                    f"{alias}: {sorted(v['indices']) or 'missing'} ({v['documents']} documents)"
                    for alias, v in result.items()
                )
    finally:
        client.close()
    if args.json:
        print_json(result)
    else:
        console.print(escape_untrusted(summary), highlight=False)
    return 0
