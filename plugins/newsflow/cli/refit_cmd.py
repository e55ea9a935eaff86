"""``newsflow refit``: the pair model refitted on an analyst's verdicts, written as a new file.

Offline, like ``newsflow cluster``: the verdicts are the corrections file ``cluster
--corrections`` reads (``newsflow correct list --json`` prints it) and the articles are the
JSONL file they name, whose texts also give the term statistics. The shipped model is never
changed: the refitted one is written to ``--out`` and used by ``cluster --model`` or, for the
pipeline and every command, by ``NEWSFLOW_PAIR_MODEL``.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING, Any

from newsflow.cli.outputs import refuse_input_as_output
from newsflow.errors import InputError

if TYPE_CHECKING:
    from newsflow.dedup.batch import ReadReport
    from newsflow.dedup.model import PairModel
    from newsflow.dedup.options import DedupOptions
    from newsflow.dedup.refit import VerdictRows

_SHOWN_WEIGHTS = 5  # the weights that moved most, shown after a refit


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "refit",
        help="refit the same-story model on an analyst's verdicts (corrections), into a new model file",
        description=(
            "Read the corrections (together / apart verdicts) and the articles they name, refit the "
            "pair model's logistic weights on them with the dev corpora's loss the model carries, "
            "and write the new model. Use it with `newsflow cluster --model` or NEWSFLOW_PAIR_MODEL."
        ),
    )
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument(
        "--in", dest="input", type=Path, metavar="ARTICLES.jsonl", help="the articles (with --corrections)"
    )
    source.add_argument(
        "--from-index",
        action="store_true",
        help="the corrections recorded in Elasticsearch and the articles they name (NEWSFLOW_ES_URL)",
    )
    parser.add_argument(
        "--corrections", type=Path, metavar="CORRECTIONS.jsonl", help="the verdicts (with --in)"
    )
    parser.add_argument(
        "--out",
        required=True,
        metavar="MODEL.json",
        help="where to write the model: a path or any fsspec URL (a bucket every worker reads)",
    )
    parser.add_argument(
        "--model",
        metavar="MODEL.json",
        help="the model to refit (default: NEWSFLOW_PAIR_MODEL, else the shipped one)",
    )
    parser.add_argument(
        "--min-verdicts",
        type=int,
        default=None,
        help="refuse with fewer usable verdicts (default 100: fewer moved the model more than they taught)",
    )
    parser.add_argument("--json", action="store_true", help="print what was done as JSON")
    parser.set_defaults(handler=_handle)


def _handle(args: argparse.Namespace) -> int:
    from dataclasses import replace

    from newsflow.cli.untrusted import print_json
    from newsflow.dedup.batch import ReadReport
    from newsflow.dedup.model import write_model
    from newsflow.dedup.options import DedupOptions
    from newsflow.dedup.refit import MIN_VERDICTS, refit

    if args.min_verdicts is not None and args.min_verdicts < 2:
        raise InputError("--min-verdicts must be at least 2: a refit needs a together and an apart")
    options = DedupOptions.from_env()
    if args.model is not None:
        options = replace(options, model_path=args.model)
    model = options.model
    corrections_read, articles_read = ReadReport(), ReadReport()
    if args.from_index:
        if args.corrections is not None:
            raise InputError("--corrections goes with --in; --from-index reads the recorded corrections")
        verdicts, corrections_read.read = _from_index(options)
    else:
        verdicts = _from_files(args, options, corrections_read, articles_read)
    refitted = refit(
        model, verdicts, min_verdicts=MIN_VERDICTS if args.min_verdicts is None else args.min_verdicts
    )
    write_model(refitted, args.out)
    summary = _summary(model, refitted, verdicts, corrections_read, articles_read)
    if args.json:
        print_json({"out": args.out, **summary})
    else:
        _print(summary, args.out)
    return 0


def _from_files(
    args: argparse.Namespace, options: DedupOptions, corrections_read: ReadReport, articles_read: ReadReport
) -> VerdictRows:
    from newsflow.dedup.batch import read_articles, read_corrections, to_signals
    from newsflow.dedup.refit import verdict_rows

    if args.corrections is None:
        raise InputError(
            "--in needs --corrections (the verdicts: `newsflow correct list --json` prints them)"
        )
    if "://" not in args.out:
        refuse_input_as_output(args.input, Path(args.out))
        refuse_input_as_output(args.corrections, Path(args.out))
    corrections = read_corrections(args.corrections, corrections_read)
    articles = read_articles(args.input, articles_read)
    signals = [to_signals(a, options, articles_read) for a in articles]
    return verdict_rows(signals, corrections, options)


def _from_index(options: DedupOptions) -> tuple[VerdictRows, int]:
    from newsflow.dedup.es_refit import verdicts_in_index
    from newsflow.es_client import make_client
    from newsflow.index import IndexNames

    client = make_client()
    try:
        return verdicts_in_index(client, IndexNames.from_env(), options)
    finally:
        client.close()


def _summary(
    model: PairModel,
    refitted: PairModel,
    verdicts: VerdictRows,
    corrections_read: ReadReport,
    articles_read: ReadReport,
) -> dict[str, Any]:
    import numpy as np

    from newsflow.dedup.similarity import model_columns

    rows = verdicts.rows[:, model_columns(model)]
    agreed = [
        int(np.sum((m.probabilities(rows) >= m.link_threshold) == (verdicts.labels == 1)))
        for m in (model, refitted)
    ]
    moved = sorted(
        zip(model.features, model.weights, refitted.weights, strict=True), key=lambda t: -abs(t[2] - t[1])
    )[:_SHOWN_WEIGHTS]
    return {
        "verdicts_read": corrections_read.read,
        "verdicts_used": len(verdicts.labels),
        "together": int(verdicts.labels.sum()),
        "apart": int(len(verdicts.labels) - verdicts.labels.sum()),
        "skipped": dict(sorted((verdicts.skipped + corrections_read.counts).items())),
        "articles_read": articles_read.read,
        "articles_skipped": dict(sorted(articles_read.counts.items())),
        # On the verdicts it was fitted on: how far it moved, not how good it is.
        "verdicts_agreed_before": agreed[0],
        "verdicts_agreed_after": agreed[1],
        "weights_moved": {name: [round(a, 4), round(b, 4)] for name, a, b in moved},
    }


def _print(summary: dict[str, Any], out: str) -> None:
    from rich.console import Console
    from rich.table import Table

    from newsflow.cli.untrusted import safe

    console = Console()
    console.print(
        f"refitted on {summary['verdicts_used']} verdicts ({summary['together']} together, "
        f"{summary['apart']} apart) of {summary['verdicts_read']} read; wrote {safe(out)}",
        highlight=False,
    )
    for label, counts in (
        ("verdicts skipped", summary["skipped"]),
        ("articles skipped", summary["articles_skipped"]),
    ):
        if counts:
            console.print(f"{label}: " + ", ".join(f"{k} {v}" for k, v in counts.items()), highlight=False)
    console.print(
        f"the model's link agrees with {summary['verdicts_agreed_before']} verdicts before and "
        f"{summary['verdicts_agreed_after']} after (the verdicts it was fitted on: how far it moved, "
        "not how good it is)",
        highlight=False,
    )
    table = Table(title="weights that moved most")
    for column in ("feature", "before", "after"):
        table.add_column(column, justify="left" if column == "feature" else "right")
    for name, (before, after) in summary["weights_moved"].items():
        table.add_row(name, f"{before:.3f}", f"{after:.3f}")
    console.print(table)
    console.print(
        f"use it: newsflow cluster --model {safe(out)}, or NEWSFLOW_PAIR_MODEL for the pipeline",
        highlight=False,
    )
