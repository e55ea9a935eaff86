"""Does a pair feature mean the same on every corpus? A one-minute check before a refit.

    .venv/bin/python bench/feature_transfer.py                    # the shipped features
    .venv/bin/python bench/feature_transfer.py --without names    # also the model without one

Leave-one-corpus-out story F1 (``eval_stories.py --loo``) is the figure that counts, but it
takes half an hour or more and mixes two things: how well the fitted weights rank a new corpus's
pairs, and where the link threshold chosen on the other corpora falls. This prints the
first alone, as pair ROC AUC on each corpus's labelled pairs (the candidates each article
meets, labelled by gold stories; SemEval's rated pairs):

- each feature on its own (where it separates same-story pairs from others at all);
- the body TF-IDF feature alone, the model fitted on the other two corpora, and the model
  fitted on all three, for each held-out corpus.

A feature that generalises raises the held-out AUC on every corpus. One that fits a
corpus's construction raises it on some and lowers it on others: fitted without NeuS, the
name features rank NeuS pairs below TF-IDF alone (``docs/stories.md``). AUC ignores the
link threshold and the clustering, so read a gain here as a reason to run ``--loo``, not as
a result.
"""

from __future__ import annotations

import argparse
import logging
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from rich.console import Console
from rich.table import Table
from sklearn.metrics import roc_auc_score

from bench.story_corpora import all_corpora
from bench.storyfit import PreparedCorpus, fit, prepare_corpus
from newsflow.dedup import DedupOptions
from newsflow.dedup.features import FEATURES
from newsflow.dedup.model import PairModel, load_model


def auc(prepared: PreparedCorpus, model: PairModel) -> float:
    """Pair AUC of ``model`` on ``prepared``'s labelled pairs."""
    columns = [FEATURES.index(f) for f in model.features]
    return float(roc_auc_score(prepared.train_y, model.probabilities(prepared.train_x[:, columns])))


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--without", action="append", default=[], choices=FEATURES, help="also fit without this feature"
    )
    parser.add_argument("--c", type=float, help="inverse regularisation (default: the shipped model's)")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    started = time.monotonic()
    shipped = load_model()
    chosen = shipped.fitted.get("C")
    c = args.c if args.c is not None else float(chosen) if isinstance(chosen, int | float) else 1.0
    features = list(shipped.features)
    variant = [f for f in features if f not in args.without]
    prepared = [prepare_corpus(corpus, DedupOptions()) for corpus in all_corpora()]
    names = [p.corpus.name for p in prepared]
    console = Console(width=150)

    alone = Table(title="Each feature alone: pair AUC")
    alone.add_column("feature", justify="left")
    for name in names:
        alone.add_column(name, justify="right")
    for feature in features:
        column = FEATURES.index(feature)
        cells = []
        for p in prepared:
            values = p.train_x[:, column]
            cells.append("-" if values.min() == values.max() else f"{roc_auc_score(p.train_y, values):.3f}")
        alone.add_row(feature, *cells)
    console.print(alone)

    held_out = Table(title=f"Held-out pair AUC (C={c:g}): fitted on the other two corpora")
    columns = ["held out", "tfidf alone", "fitted on the others", "fitted on all three"]
    if args.without:
        columns += [f"on the others, without {', '.join(args.without)}", "on all three, without"]
    for column_name in columns:
        held_out.add_column(column_name, justify="left" if column_name == "held out" else "right")
    on_all = fit(prepared, c=c, features=features)
    variant_on_all = fit(prepared, c=c, features=variant)
    for p in prepared:
        others = [q for q in prepared if q is not p]
        aucs = [
            auc(p, fit(others, c=c, features=["tfidf"])),
            auc(p, fit(others, c=c, features=features)),
            auc(p, on_all),
        ]
        if args.without:
            aucs += [auc(p, fit(others, c=c, features=variant)), auc(p, variant_on_all)]
        held_out.add_row(p.corpus.name, *(f"{v:.3f}" for v in aucs))
    console.print(held_out)
    console.print(f"[dim]{time.monotonic() - started:.0f} s[/dim]")
    return 0


if __name__ == "__main__":
    sys.exit(main())
