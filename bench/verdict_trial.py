"""Would an analyst's verdicts teach the model news it was not fitted on? A trial, not a feature.

    .venv/bin/python bench/verdict_trial.py                      # every corpus held out in turn
    .venv/bin/python bench/verdict_trial.py --held-out neus_dev --verdicts 25,200

A deployment meets news unlike the dev corpora, and its analysts record verdicts on pairs
(``newsflow correct together`` / ``apart``). Today a verdict binds only its own pair. This
asks what the verdicts would be worth as training data, on each dev corpus in turn as the
"new" news:

- the blend (``storyfit.fit_blend``) is fitted at the shipped ``C`` on the other two corpora,
  at the shipped link threshold and fragment rule: the model a deployment on that news runs;
- the held-out corpus is cut in two by story (``storyfolds.folds``). On one half an analyst
  gives ``n`` verdicts, drawn at random among the labelled pairs the model draws an edge for
  (the pairs an analyst meets in ``newsflow story`` and ``why``); stories are made on the
  other half, then the halves swap;
- each row is the mean over both halves and ``--draws`` draws.

Rows: TF-IDF at its own best threshold on the story half; the model as fitted; what
``newsflow refit`` does (``newsflow.dedup.refit``: the logistic half refitted on the verdicts
and the other corpora's loss as the curvature the model carries, the trees kept); the blend
refitted on the other corpora's pairs plus the verdicts (logistic and trees, one fit, the
verdicts weighing as a corpus of their own); the logistic half refitted so and the trees
kept; a calibration (``a * logit + b``) fitted on the verdicts alone, which is all a user's
machine could fit today, since the dev corpora are not there; and the blend refitted with
the whole half's pairs, the most verdicts could give. Last, ``newsflow refit`` on verdicts
drawn only among the model's mistakes (a linked pair of two stories, an unlinked pair of
one), as an analyst who corrects only what is wrong would give them.

Stories come from the cached candidate pairs, as ``storyselect`` makes them (about 4 minutes
on two cores). Figures are in docs/stories.md, "Verdicts teach the model".
"""

from __future__ import annotations

import argparse
import logging
import sys
import time
from dataclasses import dataclass, replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np
import numpy.typing as npt
from rich.console import Console
from rich.table import Table
from scipy.optimize import minimize

from bench.crossfit_stories import fit_at_shipped_setting
from bench.story_corpora import all_corpora
from bench.storyfit import (
    PreparedCorpus,
    Scores,
    curvature_of,
    evaluate,
    fit,
    fit_blend,
    fit_trees,
    prepare_corpus,
    quick_stories,
)
from bench.storyfolds import folds, subset
from bench.tfidf_baseline import tfidf_baseline
from newsflow.dedup import DedupOptions
from newsflow.dedup.model import PairModel, load_model
from newsflow.dedup.refit import VerdictRows, refit
from newsflow.dedup.similarity import model_columns


@dataclass(frozen=True)
class Calibrated:
    """A model's probabilities recalibrated (``a * logit + b``), shaped for ``quick_stories``."""

    model: PairModel
    a: float
    b: float

    @property
    def features(self) -> tuple[str, ...]:
        return self.model.features

    @property
    def link_threshold(self) -> float:
        return self.model.link_threshold

    @property
    def fragment_mean(self) -> float:
        return self.model.fragment_mean

    @property
    def fragment_max(self) -> float:
        return self.model.fragment_max

    def probabilities(self, rows: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
        return np.asarray(
            1.0 / (1.0 + np.exp(-(self.a * _logit(self.model, rows) + self.b))), dtype=np.float64
        )


def _logit(model: PairModel, rows: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    p = np.clip(model.probabilities(rows), 1e-6, 1.0 - 1e-6)
    return np.asarray(np.log(p / (1.0 - p)), dtype=np.float64)


def calibrate(model: PairModel, x: npt.NDArray[np.float64], y: npt.NDArray[np.int64]) -> Calibrated:
    """``a`` and ``b`` by logistic loss on the verdicts, held near (1, 0) by a prior worth one
    verdict, so a handful cannot swing them far."""
    z = _logit(model, x[:, model_columns(model)])

    def loss(v: npt.NDArray[np.float64]) -> float:
        s = v[0] * z + v[1]
        prior = float((v[0] - 1.0) ** 2 + v[1] ** 2)
        return float(np.mean(np.logaddexp(0.0, s) - y * s)) + prior / len(y)

    a, b = minimize(loss, np.array([1.0, 0.0]), method="L-BFGS-B").x
    return Calibrated(model, float(a), float(b))


def _score(prepared: PreparedCorpus, model: PairModel | Calibrated, options: DedupOptions) -> Scores:
    stories = quick_stories(prepared, model, options)  # type: ignore[arg-type]  # duck-typed as the bench's TreesAlone
    return evaluate(prepared.corpus, stories, "same" if prepared.corpus.pairs else None)


def trial(
    prepared: list[PreparedCorpus], held: PreparedCorpus, counts: list[int], draws: int
) -> dict[str, list[Scores]]:
    """Each row's scores on each story half and draw (see the module docstring)."""
    options = DedupOptions()
    link = load_model().link_threshold
    blend_at, at_link = fit_at_shipped_setting(fit_blend)
    logistic_at, _ = fit_at_shipped_setting(fit)

    def at_shipped(model: PairModel) -> PairModel:
        return at_link(model, link)

    others = [p for p in prepared if p is not held]
    base = at_shipped(blend_at(others))
    curved = replace(base, curvature=curvature_of(base, others))
    rng, mistakes_rng = np.random.default_rng(0), np.random.default_rng(1)
    fold = folds(held, 0)
    halves = [subset(held, fold, k) for k in (0, 1)]
    rows: dict[str, list[Scores]] = {}
    for k in (0, 1):
        pool, stories = halves[1 - k], halves[k]
        rows.setdefault("TF-IDF, its own best threshold", []).append(
            tfidf_baseline(stories.corpus, "same" if stories.corpus.pairs else None).scores
        )
        rows.setdefault("fitted on the other corpora", []).append(_score(stories, base, options))
        whole = at_shipped(blend_at([*others, pool]))
        rows.setdefault("refitted with the whole half's pairs", []).append(_score(stories, whole, options))
        probability = base.probabilities(pool.train_x[:, model_columns(base)])
        met = np.flatnonzero(probability >= options.edge_threshold)
        for n in counts:
            for _ in range(draws):
                pick = rng.choice(met, size=min(n, len(met)), replace=False)
                x, y = pool.train_x[pick], pool.train_y[pick]
                rows.setdefault(f"{n} verdicts: calibration on them alone", []).append(
                    _score(stories, calibrate(base, x, y), options)
                )
                if y.min() == y.max():
                    continue  # one class: nothing to refit
                verdicts = replace(pool, train_x=x, train_y=y)
                rows.setdefault(f"{n} verdicts: newsflow refit", []).append(
                    _score(stories, refit(curved, VerdictRows(x, y), min_verdicts=1), options)
                )
                logistic = logistic_at([*others, verdicts])
                rows.setdefault(f"{n} verdicts: logistic refitted, trees kept", []).append(
                    _score(stories, at_shipped(replace(logistic, trees=base.trees)), options)
                )
                refitted = replace(logistic, trees=fit_trees([*others, verdicts]))
                rows.setdefault(f"{n} verdicts: blend refitted", []).append(
                    _score(stories, at_shipped(refitted), options)
                )
        # An analyst who only corrects what is wrong: a linked pair of two stories, or a pair
        # of one story the model scored under its link. Drawn apart from the draws above.
        wrong = (probability >= base.link_threshold) != (pool.train_y == 1)
        mistakes = np.flatnonzero(wrong & (probability >= options.edge_threshold))
        for n in counts:
            for _ in range(draws):
                pick = mistakes_rng.choice(mistakes, size=min(n, len(mistakes)), replace=False)
                x, y = pool.train_x[pick], pool.train_y[pick]
                if y.min() != y.max():
                    rows.setdefault(f"{n} verdicts on its mistakes only: newsflow refit", []).append(
                        _score(stories, refit(curved, VerdictRows(x, y), min_verdicts=1), options)
                    )
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--held-out", action="append", choices=("ecbplus", "neus_dev", "semeval_dev"))
    parser.add_argument("--verdicts", default="25,100,200,500", help="comma-separated verdict counts")
    parser.add_argument("--draws", type=int, default=3, help="random draws of the verdicts per half")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    started = time.monotonic()
    counts = [int(n) for n in args.verdicts.split(",")]
    prepared = [prepare_corpus(corpus, DedupOptions()) for corpus in all_corpora()]
    console = Console(width=150)
    for held in prepared:
        if args.held_out and held.corpus.name not in args.held_out:
            continue
        table = Table(
            title=f"{held.corpus.name} as the new news (stories on one half, verdicts from the other)"
        )
        for column in ("model", "P", "R", "F1"):
            table.add_column(column, justify="left" if column == "model" else "right")
        for label, scores in trial(prepared, held, counts, args.draws).items():
            table.add_row(
                label,
                *(f"{np.mean([getattr(s, a) for s in scores]):.3f}" for a in ("precision", "recall", "f1")),
            )
        console.print(table)
    console.print(f"{time.monotonic() - started:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
