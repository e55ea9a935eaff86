"""Story figures on stories the fit never saw, from the same sources: the test split's question.

    .venv/bin/python bench/crossfit_stories.py                         # the logistic model
    .venv/bin/python bench/crossfit_stories.py --pair-model trees --pair-model blend --loo
    .venv/bin/python bench/crossfit_stories.py --pair-model logistic --pair-model blend --splits 4
    .venv/bin/python bench/crossfit_stories.py --shipped-setting --splits 4   # link by link

The test splits that judge newsflow hold other stories from the same sources as the dev
corpora. ``eval_stories.py`` scores the shipped model on the corpora it was fitted and
selected on, which flatters the link threshold chosen there and anything with many
parameters. Here each corpus is cut in two folds by story (ECB+ by topic, so both events of
a topic fall in one fold; NeuS by story; SemEval by the groups its rated pairs connect), the
model is fitted and selected (``storyselect.select_model``) on one fold of all three corpora and
makes stories on the other, and both folds' stories are scored together. Stories come from
the cached candidate pairs, as the selection makes them. A half holds fewer neighbouring
stories than the whole corpus, so NeuS reads higher than in ``eval_stories.py``: compare pair
models with one another here, not with that table.

Pair models (``--pair-model``, repeatable):

- ``logistic``: ``storyfit.fit``, the logistic half of the shipped model (the default);
- ``trees``: the gradient-boosted trees of ``storyfit.fit_trees`` alone; ``C`` scales the
  boosting rounds (100 per unit);
- ``blend``: ``storyfit.fit_blend``, the mean of the two probabilities (the trees at 100
  rounds at most; ``C`` is the logistic model's), itself the mean of four fits on halves of
  each corpus (``storyfit.BAG_SPLITS``): the shipped kind (``--pair-model blend``).

For each it prints the fit on all three corpora (what ``eval_stories.py`` reports, here from
the cached candidates), the cross-fitted figures (with ``--splits N``, each way of cutting
the folds and their mean), and with ``--loo`` each corpus scored by the model selected on the
other two.
"""

from __future__ import annotations

import argparse
import logging
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np
import numpy.typing as npt
from rich.console import Console
from rich.table import Table

from bench.story_corpora import all_corpora
from bench.storyfit import (
    PreparedCorpus,
    Scores,
    evaluate,
    fit,
    fit_blend,
    fit_trees,
    prepare_corpus,
    quick_stories,
)
from bench.storyfolds import folds, subset
from bench.storyselect import select_model
from bench.tfidf_baseline import tfidf_baseline
from newsflow.dedup import DedupOptions
from newsflow.dedup.model import PairModel, load_model
from newsflow.dedup.trees import Trees


@dataclass(frozen=True)
class TreesAlone:
    """The blend's trees on their own, shaped like ``PairModel`` for ``quick_stories``."""

    trees: Trees
    link_threshold: float = 0.5
    fragment_mean: float = 0.3
    fragment_max: float = 0.5

    @property
    def features(self) -> tuple[str, ...]:
        return self.trees.features

    def probabilities(self, rows: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
        return self.trees.probabilities(rows)


def fit_trees_alone(corpora: Sequence[PreparedCorpus], *, c: float) -> TreesAlone:
    return TreesAlone(fit_trees(corpora, c=c))


FITTERS: dict[str, Callable[..., Any]] = {"logistic": fit, "trees": fit_trees_alone, "blend": fit_blend}


def _score(prepared: PreparedCorpus, stories: dict[str, str]) -> Scores:
    return evaluate(prepared.corpus, stories, "same" if prepared.corpus.pairs else None)


def cross_fitted(
    prepared: list[PreparedCorpus], select: Callable[[Sequence[PreparedCorpus]], Any], split: int
) -> dict[str, Scores]:
    """Each half's stories made by the model selected on the other halves; scored together."""
    options = DedupOptions()
    halves = {}
    for p in prepared:
        fold = folds(p, split)
        halves[p.corpus.name] = [subset(p, fold, k) for k in (0, 1)]
    stories: dict[str, dict[str, str]] = {p.corpus.name: {} for p in prepared}
    for k in (0, 1):
        model = select([halves[p.corpus.name][1 - k] for p in prepared])
        for p in prepared:
            made = quick_stories(halves[p.corpus.name][k], model, options)
            stories[p.corpus.name].update({i: f"{k}:{s}" for i, s in made.items()})
    return {p.corpus.name: _score(p, stories[p.corpus.name]) for p in prepared}


def figures(
    prepared: list[PreparedCorpus],
    baselines: dict[str, float],
    fitter: Callable[..., Any],
    loo: bool,
    splits: int,
    *,
    first_split: int = 0,
    fit_on_all: bool = True,
) -> dict[str, dict[str, Scores]]:
    """Fitted on all, cross-fitted (the mean over ``splits`` ways of cutting the folds, from
    ``first_split`` on, with each way's own row when there are several), and leave one out.

    A later session can add ways of cutting to an earlier one's with ``first_split`` and skip
    the fit on all (a third of a run), whose figures do not change with the split."""
    options = DedupOptions()

    def select(corpora: Sequence[PreparedCorpus]) -> Any:
        names = [p.corpus.name for p in corpora]
        return select_model(corpora, {n: baselines[n] for n in names}, options, fitter)[0]

    out: dict[str, dict[str, Scores]] = {}
    if fit_on_all:
        model = select(prepared)
        out["fitted on all"] = {p.corpus.name: _score(p, quick_stories(p, model, options)) for p in prepared}
    ways = range(first_split, first_split + splits)
    each = [cross_fitted(prepared, select, split) for split in ways]
    if splits > 1 or first_split:
        out.update({f"cross-fitted, split {n}": scores for n, scores in zip(ways, each, strict=True)})
    out[f"cross-fitted, mean of {splits}" if splits > 1 else "cross-fitted"] = {
        p.corpus.name: Scores(
            *(
                float(np.mean([getattr(e[p.corpus.name], k) for e in each]))
                for k in ("precision", "recall", "f1")
            )
        )
        for p in prepared
    }
    if loo:
        out["leave one out"] = {}
        for p in prepared:
            model = select([q for q in prepared if q is not p])
            out["leave one out"][p.corpus.name] = _score(p, quick_stories(p, model, options))
    return out


def fit_at_shipped_setting(
    fitter: Callable[..., PairModel],
) -> tuple[Callable[[Sequence[PreparedCorpus]], PairModel], Callable[[PairModel, float], PairModel]]:
    """A fit at the shipped ``C``, and a fitted model at a link threshold and the shipped
    fragment rule."""
    shipped = load_model()
    chosen_c = shipped.fitted.get("C")
    c = float(chosen_c) if isinstance(chosen_c, int | float) else 1.0

    def fit_at(corpora: Sequence[PreparedCorpus]) -> PairModel:
        return fitter(corpora, c=c)

    def at_link(fitted: PairModel, link: float) -> PairModel:
        return replace(
            fitted,
            link_threshold=link,
            fragment_mean=shipped.fragment_mean,
            fragment_max=shipped.fragment_max,
        )

    return fit_at, at_link


def shipped_setting(
    prepared: list[PreparedCorpus],
    links: Sequence[float],
    splits: int,
    fitter: Callable[..., PairModel] = fit_blend,
) -> dict[float, dict[str, list[Scores]]]:
    """Out of fold with the shipped setting held: the blend fitted at the shipped ``C`` on
    one fold, stories on the other at the shipped fragment rule, for each link threshold in
    ``links``; each split's scores. Nothing is selected per fold, so this is what the fitted
    weights give on unseen stories at the chosen setting (the precision of the selection on
    a half is another question, the one ``cross_fitted`` answers). ``fitter`` is called as
    ``select_model`` calls it, so a trial of another feature can pass its own."""
    options = DedupOptions()
    fit_at, at_link = fit_at_shipped_setting(fitter)
    out: dict[float, dict[str, list[Scores]]] = {
        link: {p.corpus.name: [] for p in prepared} for link in links
    }
    for split in range(splits):
        halves = {p.corpus.name: [subset(p, folds(p, split), k) for k in (0, 1)] for p in prepared}
        stories: dict[float, dict[str, dict[str, str]]] = {
            link: {p.corpus.name: {} for p in prepared} for link in links
        }
        for k in (0, 1):
            fitted = fit_at([halves[p.corpus.name][1 - k] for p in prepared])
            for link in links:
                model = at_link(fitted, link)
                for p in prepared:
                    made = quick_stories(halves[p.corpus.name][k], model, options)
                    stories[link][p.corpus.name].update({i: f"{k}:{s}" for i, s in made.items()})
        for link in links:
            for p in prepared:
                out[link][p.corpus.name].append(_score(p, stories[link][p.corpus.name]))
    return out


def shipped_setting_loo(
    prepared: list[PreparedCorpus], links: Sequence[float], fitter: Callable[..., PairModel] = fit_blend
) -> dict[float, dict[str, Scores]]:
    """Leave one corpus out with the shipped setting held: the weights fitted on the other two
    corpora at the shipped ``C``, stories on the third at each link of ``links`` and the
    shipped fragment rule. Not the selection's leave-one-out (``eval_stories.py --loo``
    re-selects the setting on the two), but minutes rather than half an hour."""
    options = DedupOptions()
    fit_at, at_link = fit_at_shipped_setting(fitter)
    out: dict[float, dict[str, Scores]] = {link: {} for link in links}
    for p in prepared:
        fitted = fit_at([q for q in prepared if q is not p])
        for link in links:
            out[link][p.corpus.name] = _score(p, quick_stories(p, at_link(fitted, link), options))
    return out


def _print_shipped_setting(prepared: list[PreparedCorpus], links: Sequence[float], splits: int) -> None:
    shipped = load_model()
    table = Table(
        title=f"Out of fold at the shipped C and fragment rule ({splits} ways of cutting the folds; "
        f"shipped link {shipped.link_threshold}; SemEval: same-language pairs)"
    )
    table.add_column("link")
    for p in prepared:
        table.add_column(f"{p.corpus.name} P (lowest) / F1", justify="right")
    for link, by_corpus in shipped_setting(prepared, links, splits).items():
        table.add_row(
            f"{link:g}",
            *(
                f"{np.mean([s.precision for s in scores]):.3f} ({min(s.precision for s in scores):.3f})"
                f" / {np.mean([s.f1 for s in scores]):.3f}"
                for scores in by_corpus.values()
            ),
        )
    console = Console(width=150)
    console.print(table)
    loo = Table(title="Leave one corpus out at the shipped C and fragment rule (not re-selected)")
    loo.add_column("link")
    for p in prepared:
        loo.add_column(f"{p.corpus.name} P / F1", justify="right")
    for link, by_name in shipped_setting_loo(prepared, links).items():
        loo.add_row(f"{link:g}", *(f"{s.precision:.3f} / {s.f1:.3f}" for s in by_name.values()))
    console.print(loo)


def _at_least_one(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"needs 1 or more, got {value}")
    return value


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--pair-model", action="append", choices=sorted(FITTERS), help="default: logistic")
    parser.add_argument("--loo", action="store_true", help="also leave one corpus out")
    parser.add_argument("--splits", type=_at_least_one, default=1, help="ways of cutting the folds, averaged")
    parser.add_argument("--first-split", type=int, default=0, help="the first way of cutting (default 0)")
    parser.add_argument("--cross-only", action="store_true", help="skip the fit on all")
    parser.add_argument(
        "--shipped-setting",
        action="store_true",
        help="only out of fold and leave-one-out at the shipped C and fragment rule, for each link of "
        "--links (about 1 min)",
    )
    parser.add_argument("--links", default="0.5,0.55,0.6,0.65,0.7", help="with --shipped-setting")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    started = time.monotonic()
    corpora = all_corpora()
    prepared = [prepare_corpus(c, DedupOptions()) for c in corpora]
    if args.shipped_setting:
        _print_shipped_setting(prepared, [float(v) for v in args.links.split(",")], args.splits)
        print(f"{time.monotonic() - started:.0f} s")
        return 0
    baselines = {c.name: tfidf_baseline(c, "same" if c.pairs else None).scores.f1 for c in corpora}
    table = Table(title="Stories by pair model (SemEval: same-language pairs)")
    for column in ("pair model", "figures", *(f"{c.name} P / R / F1" for c in corpora)):
        table.add_column(column, justify="left" if column in ("pair model", "figures") else "right")
    table.add_row(
        "TF-IDF baseline", "best threshold on all", *(f"F1 {baselines[c.name]:.3f}" for c in corpora)
    )
    for kind in args.pair_model or ["logistic"]:
        for label, scores in figures(
            prepared,
            baselines,
            FITTERS[kind],
            args.loo,
            args.splits,
            first_split=args.first_split,
            fit_on_all=not args.cross_only,
        ).items():
            table.add_row(
                kind,
                label,
                *(f"{s.precision:.3f} / {s.recall:.3f} / {s.f1:.3f}" for s in scores.values()),
            )
    console = Console(width=150)
    console.print(table)
    console.print(f"[dim]{time.monotonic() - started:.0f} s[/dim]")
    return 0


if __name__ == "__main__":
    sys.exit(main())
