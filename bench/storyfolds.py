"""Cutting a corpus in two by story, for out-of-fold figures and for fits on halves.

No gold story (ECB+: no topic) or group of rated pairs spans the two halves, so a half is a
corpus of its own: a model fitted on one never saw the other's stories.
"""

from __future__ import annotations

import hashlib
from dataclasses import replace
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:  # storyfit fits on halves, so it imports this module
    from bench.storyfit import PreparedCorpus


def folds(prepared: PreparedCorpus, split: int = 0) -> dict[str, int]:
    """Article id -> fold, so that no gold story (ECB+: no topic) or rated pair spans two;
    each ``split`` cuts the corpus another way."""

    def _fold(key: str) -> int:
        salted = key if split == 0 else f"{split}:{key}"
        return int(hashlib.sha256(salted.encode()).hexdigest(), 16) % 2

    corpus = prepared.corpus
    if corpus.name == "ecbplus":
        return {i: _fold(story.split("_")[0]) for i, story in corpus.gold.items()}
    if corpus.metric == "bcubed":
        return {i: _fold(story) for i, story in corpus.gold.items()}
    parent = {a.id: a.id for a in corpus.articles}

    def root(i: str) -> str:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for pair in corpus.pairs:
        if pair.a in parent and pair.b in parent:
            parent[root(pair.a)] = root(pair.b)
    return {i: _fold(root(i)) for i in parent}


def subset(prepared: PreparedCorpus, fold: dict[str, int], k: int) -> PreparedCorpus:
    """The articles of fold ``k``, with the candidate and labelled pairs inside it."""
    corpus = prepared.corpus
    keep = [n for n, s in enumerate(prepared.signals) if fold[s.id] == k]
    ids = {prepared.signals[n].id for n in keep}
    renumber = {n: m for m, n in enumerate(keep)}
    inside = [n for n, (i, j) in enumerate(prepared.candidates) if i in renumber and j in renumber]
    candidates = [(renumber[prepared.candidates[n][0]], renumber[prepared.candidates[n][1]]) for n in inside]
    candidate_x = prepared.candidate_x[inside]
    part = replace(
        corpus,
        articles=tuple(a for a in corpus.articles if a.id in ids),
        gold={i: g for i, g in corpus.gold.items() if i in ids},
        pairs=tuple(p for p in corpus.pairs if p.a in ids and p.b in ids),
    )
    if corpus.metric == "bcubed":
        gold = corpus.gold
        train_y = np.array(
            [gold[prepared.signals[keep[i]].id] == gold[prepared.signals[keep[j]].id] for i, j in candidates],
            dtype=np.int64,
        )
        train_x = candidate_x
    else:
        # ``prepare_corpus`` keeps the rated pairs whose articles both exist, in file order.
        known = {s.id for s in prepared.signals}
        rated = [p for p in corpus.pairs if p.a in known and p.b in known]
        rows = [n for n, p in enumerate(rated) if p.a in ids and p.b in ids]
        train_x, train_y = prepared.train_x[rows], prepared.train_y[rows]
    signals = [prepared.signals[n] for n in keep]
    return replace(
        prepared,
        corpus=part,
        signals=signals,
        candidates=candidates,
        candidate_x=candidate_x,
        train_x=train_x,
        train_y=train_y,
    )
