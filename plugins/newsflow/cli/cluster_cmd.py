"""``newsflow cluster``: offline dedup and story clustering of an articles JSONL file.

Runs the same signals, candidate retrieval and decisions as the pipeline, with an
in-memory store instead of Elasticsearch, so quality can be measured on a file and a
re-clustering needs no services.
"""

from __future__ import annotations

import argparse
import json
from collections import Counter
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

from newsflow.cli.outputs import refuse_input_as_output
from newsflow.errors import InputError


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "cluster",
        help="deduplicate and group articles of a JSONL file into stories",
        description=(
            'Read {"id", "text", "title"?, "url"?, "published"?, "source"?} lines and write one '
            '{"id", "story_id", "relation", "duplicate_of", "score", "why"} line per accepted article. '
            "Bad lines are skipped and counted on stderr; see newsflow.dedup.batch for the rules."
        ),
    )
    parser.add_argument("--in", dest="input", type=Path, required=True, metavar="ARTICLES.jsonl")
    parser.add_argument("--out", type=Path, required=True, metavar="STORIES.jsonl")
    parser.add_argument(
        "--window-hours", type=float, default=48.0, help="max publish-time gap within a story (default 48)"
    )
    parser.add_argument(
        "--link-threshold",
        type=float,
        default=None,
        help="mean same-story probability needed to join stories (default from DedupOptions)",
    )
    parser.add_argument(
        "--model",
        metavar="MODEL.json",
        help="a pair model `newsflow refit` wrote (default: NEWSFLOW_PAIR_MODEL, else the shipped one)",
    )
    parser.add_argument("--merges", type=Path, metavar="MERGES.jsonl", help="also write merge events here")
    parser.add_argument(
        "--corrections",
        type=Path,
        metavar="CORRECTIONS.jsonl",
        help='an analyst\'s corrections to respect: {"a", "b", "verdict": "apart"|"together"} objects, '
        "one a line or in one JSON array (as `newsflow correct list --json` prints them)",
    )
    parser.set_defaults(handler=_handle)


def _handle(args: argparse.Namespace) -> int:
    from rich.console import Console

    from newsflow.dedup.batch import ReadReport, cluster_articles, read_articles, read_corrections
    from newsflow.dedup.options import DedupOptions
    from newsflow.dedup.story_index import StoryIndex

    refuse_input_as_output(args.input, args.out, args.merges)
    if args.corrections is not None:
        refuse_input_as_output(args.corrections, args.out, args.merges)
    overrides: dict[str, Any] = {"window_hours": args.window_hours}
    if args.link_threshold is not None:
        overrides["link_threshold"] = args.link_threshold
    if args.model is not None:
        overrides["model_path"] = args.model
    options = replace(DedupOptions.from_env(), **overrides)
    report, corrections_read = ReadReport(), ReadReport()
    story_index = StoryIndex.in_memory(options)
    if args.corrections is not None:
        corrections = read_corrections(args.corrections, corrections_read)
        story_index.correct(corrections)
    articles = read_articles(args.input, report)
    result = cluster_articles(articles, options, report, story_index)
    by_id = result.assignments
    lines = (json.dumps(by_id[article.id].to_dict(), ensure_ascii=False) for article in articles)
    _write(args.out, lines)
    if args.merges is not None:
        _write(args.merges, (json.dumps(merge.to_dict()) for merge in result.merges))
    console = Console(stderr=True)
    relations = Counter(a.relation for a in result.assignments.values())
    stories = len({a.story_id for a in result.assignments.values()})
    console.print(
        f"read {report.read} lines, clustered {len(articles)} articles into {stories} stories: "
        + ", ".join(f"{k} {v}" for k, v in sorted(relations.items())),
        highlight=False,
    )
    if report.counts:
        console.print(
            "skipped/noted: " + ", ".join(f"{k} {v}" for k, v in sorted(report.counts.items())),
            highlight=False,
        )
    if args.corrections is not None:
        skipped = ", ".join(f"{k} {v}" for k, v in sorted(corrections_read.counts.items()))
        console.print(
            f"corrections: read {corrections_read.read}, respected {len(corrections)}"
            + (f"; skipped: {skipped}" if skipped else ""),
            highlight=False,
        )
    return 0


def _write(path: Path, lines: Iterator[str]) -> None:
    try:
        with path.open("w", encoding="utf-8") as out:
            for line in lines:
                out.write(line + "\n")
    except OSError as exc:
        raise InputError(
            f"{path}: cannot be written ({exc}); check the folder exists and is writable"
        ) from exc
