"""Choosing the same-story model's setting: the grid, the precision floors and arrival order.

``select_model`` is the one selection every story bench uses (``fit_story_model.py``,
``eval_stories.py``, ``crossfit_stories.py``, ``embedding_trial.py``): fit for each ``C``,
make stories from the cached candidates for each link threshold and fragment rule, and keep
the best gain over TF-IDF among the settings that keep the precision floors, in one batch
and in the pipeline's order of arrival.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import logging
import random
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from bench.storyfit import PreparedCorpus, Scores, evaluate, fit_blend, quick_stories
from newsflow.dedup import DedupOptions, DedupState
from newsflow.dedup.model import PairModel
from newsflow.dedup.signals import ArticleSignals

log = logging.getLogger(__name__)


GRID_C = (0.3, 1.0, 3.0)  # inverse regularisation strengths tried
GRID_LINK = (0.4, 0.45, 0.5, 0.55, 0.6, 0.65, 0.7)  # link thresholds tried
# Fragment rules tried, as (mean, strongest pair): the hand-set (0.25, 0.6) and its neighbours.
GRID_FRAGMENT = ((0.25, 0.5), (0.25, 0.6), (0.3, 0.5), (0.3, 0.6))


def score_settings(
    corpora: Sequence[PreparedCorpus], model: PairModel, options: DedupOptions
) -> dict[str, Scores]:
    return {
        p.corpus.name: evaluate(
            p.corpus, quick_stories(p, model, options), "same" if p.corpus.pairs else None
        )
        for p in corpora
    }


# A false merge hides a distinct story from the analyst, so a setting must first keep the
# precision floors of the quality gate (tests/quality/test_story_quality.py): the one on
# the corpus built of hard negatives, and those of the other two (without these, a refit
# of 2026-12-05 chose link 0.5 for +0.002 mean F1 at NeuS and SemEval precision 0.78-0.79).
PRECISION_FLOORS = {"ecbplus": 0.97, "neus_dev": 0.80, "semeval_dev": 0.80}
# The pipeline meets articles batch after batch: a held story keeps its partition unless a
# new article reaches it, and an edge is weighed by the term statistics of its arrival. On
# ECB+ that moves precision by up to 0.02 with the order of arrival, and a link threshold
# at a cliff's edge keeps the floor in one batch and loses it in batches (docs/stories.md,
# "Arrival order"). So the floors must also hold, at worst, over these arrivals: batches
# of ARRIVAL_BATCH articles in shuffled orders (the quality gate's Elasticsearch run, whose
# order is seed 3, is not among them).
ARRIVAL_BATCH = 200
ARRIVAL_SEEDS = (1, 2, 5)


def stories_in_arrival(
    signals: Sequence[ArticleSignals], options: DedupOptions, seed: int, batch: int = ARRIVAL_BATCH
) -> dict[str, str]:
    """Stories as the pipeline makes them when ``signals`` arrive in batches, shuffled by
    ``seed``: ``DedupState`` batch after batch (what the Elasticsearch backend decides too)."""
    order = list(signals)
    random.Random(seed).shuffle(order)
    state = DedupState(options)
    for start in range(0, len(order), batch):
        state.add(order[start : start + batch])
    return {i: a.story_id for i, a in state.assignments([s.id for s in order]).items()}


def arrival_precision(prepared: PreparedCorpus, model: PairModel, options: DedupOptions) -> float:
    """The worst precision of ``model`` over ``ARRIVAL_SEEDS`` (SemEval: same-language)."""
    data = json.dumps(model.to_dict(), sort_keys=True)
    with tempfile.TemporaryDirectory() as tmp:
        # Named by content: models are cached by path for the life of the process.
        path = Path(tmp) / f"pair_model-{hashlib.sha256(data.encode()).hexdigest()[:16]}.json"
        path.write_text(data, encoding="utf-8")
        settings = replace(
            options, model_path=str(path), link_threshold=None, fragment_mean=None, fragment_max=None
        )
        return min(
            evaluate(
                prepared.corpus,
                stories_in_arrival(prepared.signals, settings, seed),
                "same" if prepared.corpus.pairs else None,
            ).precision
            for seed in ARRIVAL_SEEDS
        )


def select_model(
    corpora: Sequence[PreparedCorpus],
    baselines: dict[str, float],
    options: DedupOptions,
    fitter: Callable[..., Any] = fit_blend,
    *,
    arrival: bool = True,
) -> tuple[PairModel, dict[str, object]]:
    """Fit on ``corpora`` for each setting and keep, among those meeting ``PRECISION_FLOORS``
    (for the corpora present) in one batch and in every arrival of ``ARRIVAL_SEEDS``, the
    one with the largest mean F1 gain over each corpus's TF-IDF baseline (SemEval:
    same-language pairs); ties go to the higher worst-corpus gain. If no setting meets the
    floors, the best by gain is kept and the record says so. Returns the model and what
    the choice was based on. ``fitter`` (the shipped kind, ``fit_blend``, unless a bench
    compares another) is called as ``fitter(corpora, c=C)``; what it returns is checked in
    arrival only if it is a ``PairModel`` (trees alone, a bench-only kind, are not), and
    only when ``arrival`` is set (a quick comparison of features may skip it: the one-batch
    floors still apply)."""

    present = {p.corpus.name for p in corpora}
    floors = {name: floor for name, floor in PRECISION_FLOORS.items() if name in present}
    settings: list[tuple[tuple[bool, float, float], float, PairModel, dict[str, Scores]]] = []
    for c in GRID_C:
        fitted = fitter(corpora, c=c)
        for link, (fragment_mean, fragment_max) in itertools.product(GRID_LINK, GRID_FRAGMENT):
            model = replace(
                fitted, link_threshold=link, fragment_mean=fragment_mean, fragment_max=fragment_max
            )
            scores = score_settings(corpora, model, options)
            gains = [scores[name].f1 - baselines[name] for name in scores]
            floors_met = all(scores[name].precision >= floor for name, floor in floors.items())
            log.info(
                "C=%s link=%s fragment=%s/%s gains %s",
                c,
                link,
                fragment_mean,
                fragment_max,
                [round(g, 4) for g in gains],
            )
            settings.append(((floors_met, float(np.mean(gains)), min(gains)), c, model, scores))
    # Best first; only settings that keep the floors in one batch are tried in arrival.
    settings.sort(key=lambda item: item[0], reverse=True)
    by_name = {p.corpus.name: p for p in corpora}
    rejected = 0
    _, chosen_c, chosen, chosen_scores = settings[0]
    worst_in_arrival: dict[str, float] = {}
    floors_met = False
    for key, c, model, scores in settings:
        if not key[0]:
            break
        # Trees alone (crossfit_stories.py) are not a package model and cannot run in arrival.
        if not arrival or not isinstance(model, PairModel):
            chosen_c, chosen, chosen_scores, floors_met = c, model, scores, True
            break
        worst = {name: arrival_precision(by_name[name], model, options) for name in floors}
        log.info(
            "C=%s link=%s fragment=%s/%s: worst precision in arrival %s",
            c,
            model.link_threshold,
            model.fragment_mean,
            model.fragment_max,
            {k: round(v, 4) for k, v in worst.items()},
        )
        if all(worst[name] >= floor for name, floor in floors.items()):
            chosen_c, chosen, chosen_scores, worst_in_arrival, floors_met = c, model, scores, worst, True
            break
        rejected += 1
    record: dict[str, object] = {
        "precision_floors": floors,
        "precision_floors_met": floors_met,
        "arrival": {"batch": ARRIVAL_BATCH, "seeds": list(ARRIVAL_SEEDS)} if arrival else None,
        "worst_precision_in_arrival": {k: round(v, 4) for k, v in worst_in_arrival.items()},
        "settings_losing_the_floors_in_arrival": rejected,
        "C": chosen_c,
        "link_threshold": chosen.link_threshold,
        "fragment_mean": chosen.fragment_mean,
        "fragment_max": chosen.fragment_max,
        "f1": {k: round(v.f1, 4) for k, v in chosen_scores.items()},
        "precision": {k: round(v.precision, 4) for k, v in chosen_scores.items()},
        "tfidf_baseline_f1": {k: round(v, 4) for k, v in baselines.items()},
    }
    return chosen, record
