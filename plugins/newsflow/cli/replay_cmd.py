"""``newsflow index replay-dead-letters [--run RUN]``: write refused documents again.

The command lives under ``newsflow index`` (``index_cmd`` hands the action to ``replay``);
this module adds no top-level command of its own. It runs what every processing run runs
first (``flows.process.replay_dead_letters``): the waiting lines of the archive's
dead-letter files, written again through the idempotent bulk path, each line replayed
marked done so it is never replayed twice, the story alerts they call for raised.
"""

from __future__ import annotations

import argparse
from typing import Any

from newsflow.cli.untrusted import print_json

REPLAY_HELP = (
    "replay-dead-letters: write again the documents Elasticsearch refused (dead letters under "
    "<archive>/dead-letter/); lines replayed are marked done, lines that fail again keep waiting "
    "(rc 1). --run RUN replays one run's only; --dry-run lists what waits."
)


def register(subparsers: Any) -> None:
    """Nothing at the top level: ``index_cmd`` registers ``index replay-dead-letters``."""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--run", help="replay-dead-letters: only this run's (its run id, or the Airflow run id alone)"
    )
    parser.add_argument(
        "--dry-run",
        action="store_true",
        help="list what would be replayed, or say whether the index would roll over; write nothing",
    )


def replay(args: argparse.Namespace, client: Any) -> int:
    from rich.console import Console
    from rich.table import Table

    from newsflow.cli.untrusted import safe
    from newsflow.flows.options import FlowOptions
    from newsflow.flows.process import replay_dead_letters
    from newsflow.index.dead_letter import scan_dead_letters
    from newsflow.timestamps import iso_z, now_utc

    options = FlowOptions.from_env()
    console = Console()
    scan = scan_dead_letters(options.archive_root, run=args.run)
    if args.dry_run:
        waiting: dict[tuple[str, str], int] = {}
        for letter in scan.waiting:
            key = (letter.run_id, letter.reason)
            waiting[key] = waiting.get(key, 0) + 1
        if args.json:
            listed = [
                {"run_id": run, "reason": reason, "waiting": n}
                for (run, reason), n in sorted(waiting.items())
            ]
            print_json({"waiting": listed, "done": scan.done, "unreadable": scan.unreadable})
            return 0
        table = Table(title=f"dead letters waiting: {len(scan.waiting)} ({scan.done} replayed before)")
        for column in ("run", "reason", "documents"):
            table.add_column(column)
        for (run, reason), n in sorted(waiting.items()):
            table.add_row(safe(run), safe(reason), str(n))
        console.print(table)
        return 0
    by_run = f"cli/replay-dead-letters@{iso_z(now_utc())}"  # who replayed, in the done log
    result = replay_dead_letters(options, client, by_run=by_run, only_run=args.run)
    counts = result.counts
    failed = counts.group("dead_letters_failed")
    if args.json:
        print_json({"waiting_before": len(scan.waiting), "counts": counts.to_dict()})
    elif counts["dead_letters_busy"]:
        console.print("another replay is running (a processing run?); try again when it is done")
    else:
        table = Table(title=f"dead letters: {len(scan.waiting)} waiting before this replay")
        table.add_column("outcome")
        table.add_column("documents", justify="right")
        rows: list[tuple[str, int]] = [
            ("replayed (written again, or found already as they were)", counts["dead_letters_replayed"]),
            ("superseded (a later write had the article)", counts["dead_letters_superseded"]),
            *((f"failed again: {safe(reason)} (still waiting)", n) for reason, n in failed.items()),
            ("alerts raised", counts["alerts_new_stories"] + counts["alerts_updates"]),
        ]
        if counts["dead_letters_unreadable"]:
            rows.append(
                ("unreadable lines (kept as they are; see the log)", counts["dead_letters_unreadable"])
            )
        if counts["alerts_delivery_failed"]:
            rows.append(
                ("alert deliveries failed (sent again by the next run)", counts["alerts_delivery_failed"])
            )
        rows.extend(
            (f"alerts failed: {safe(reason)}", n) for reason, n in counts.group("alerts_failed").items()
        )
        for label, number in rows:
            table.add_row(label, str(number))
        console.print(table)
    # Anything left waiting, unreadable or undelivered fails the command: there is more to do.
    left = (
        counts["dead_letters_unreadable"] or counts["alerts_delivery_failed"] or counts.group("alerts_failed")
    )
    return 1 if failed or left or counts["dead_letters_busy"] else 0
