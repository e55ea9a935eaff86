"""Refit the same-story model on the dev corpora and write ``pair_model.json``.

    .venv/bin/python bench/fit_story_model.py [--out PATH]

Reads ../shared/eval/clustering (ECB+ with the two seed reports, NeuS dev, SemEval dev),
fits a logistic model and boosted trees on each corpus's labelled pairs (every corpus
weighing the same; the model's probability is the mean of the two, ``dedup/trees.py``; each
is the mean of four fits on halves of the corpora, ``storyfit.fit_blend``),
and chooses the regularisation, the link threshold and the fragment rule that give the
largest mean F1 gain over the TF-IDF baseline across the corpora (computed in the same run)
among the settings that keep each corpus's precision at its floor (ECB+ 0.97, the quality
gate's; NeuS and SemEval 0.80), in one batch and
in batches of 200 in three shuffled orders, as the pipeline meets articles (see
``storyselect.select_model``). The written file
records the command, the SHA-256 of each training file, the chosen settings and the
figures they reached, and the curvature of the logistic fit's loss on the corpora at the
chosen weights (``storyfit.curvature_of``), which ``newsflow refit`` needs to refit on a
deployment's verdicts. Run it again whenever a signal or feature changes.

    .venv/bin/python bench/fit_story_model.py --curvature-only

adds the curvature to the shipped model as it is (its weights, trees and settings unchanged;
about a minute), for a model fitted before the curvature was recorded.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import sklearn

from bench.story_corpora import all_corpora
from bench.storyfit import BAG_SPLITS, TREE_DEPTH, TREE_ROUNDS, curvature_of, prepare_corpus
from bench.storyselect import select_model
from bench.tfidf_baseline import tfidf_baseline
from newsflow.dedup import DedupOptions
from newsflow.dedup.model import MODEL_PATH, load_model


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--out", type=Path, default=MODEL_PATH)
    parser.add_argument(
        "--curvature-only", action="store_true", help="add the curvature to the shipped model, refit nothing"
    )
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    started = time.monotonic()
    options = DedupOptions()
    corpora = all_corpora()
    prepared = [prepare_corpus(c, options) for c in corpora]
    if args.curvature_only:
        shipped = load_model()
        if shipped.fitted.get("training_data_sha256") != {c.name: c.digest() for c in corpora}:
            raise SystemExit("the corpora differ from those the shipped model was fitted on; refit it")
        curved = replace(shipped, curvature=curvature_of(shipped, prepared))
        args.out.write_text(json.dumps(curved.to_dict(), indent=2) + "\n", encoding="utf-8")
        print(f"wrote {args.out} (curvature added) in {time.monotonic() - started:.0f} s")
        return 0
    baselines = {c.name: tfidf_baseline(c, "same" if c.pairs else None).scores.f1 for c in corpora}
    model, record = select_model(prepared, baselines, options)
    fitted = {
        "command": "python bench/fit_story_model.py",
        "training_data_sha256": {c.name: c.digest() for c in corpora},
        "training_pairs": {p.corpus.name: len(p.train_y) for p in prepared},
        "positive_pairs": {p.corpus.name: int(p.train_y.sum()) for p in prepared},
        "scikit_learn": sklearn.__version__,
        "trees": {"rounds": TREE_ROUNDS, "depth": TREE_DEPTH, "blend": "mean of the two probabilities"},
        "fits": f"the mean of {2 * len(BAG_SPLITS)} fits on halves of each corpus (cuts {list(BAG_SPLITS)})",
        "selection": (
            "largest mean F1 gain over the TF-IDF baseline, precision floors kept in one batch and in arrival"
        ),
        **record,
    }
    model = replace(model, curvature=curvature_of(model, prepared))
    data = {**model.to_dict(), "fitted": fitted}
    args.out.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(record, indent=2))
    print(f"wrote {args.out} in {time.monotonic() - started:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
