"""The naive baseline of ../shared/eval/README.md: TF-IDF cosine and single link, computed in
the same run as newsflow's figures.

Two readings of it. ``tfidf_baseline`` picks the threshold best for the corpus it is scored
on, as the issue defines the baseline: on the corpus it is judged on, it is fitted. In
leave-one-out newsflow's setting is chosen on the other two corpora, so ``tfidf_held_out``
also gives the baseline under that rule: its threshold chosen on the other corpora (best
mean F1 over them, with no precision floor, the rule most generous to it) and scored on the
held-out one.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from bench.story_corpora import Corpus
from bench.storyfit import Scores, evaluate

THRESHOLDS: tuple[float, ...] = tuple(np.arange(0.1, 0.951, 0.025).round(3).tolist())


@dataclass(frozen=True, slots=True)
class Baseline:
    """The baseline's scores at one threshold, and which."""

    scores: Scores
    threshold: float


def tfidf_curve(corpus: Corpus, languages: str | None = None) -> dict[float, Scores]:
    """The baseline's scores at each of ``THRESHOLDS``, lowest first."""
    similarity = tfidf_similarity(corpus)
    return {t: evaluate(corpus, tfidf_stories(corpus, t, similarity), languages) for t in THRESHOLDS}


def best_of(curve: Mapping[float, Scores]) -> Baseline:
    """The threshold with the highest F1 (the lowest of those tied)."""
    threshold = max(curve, key=lambda t: curve[t].f1)
    return Baseline(curve[threshold], threshold)


def tfidf_baseline(corpus: Corpus, languages: str | None = None) -> Baseline:
    """The baseline at the threshold best for ``corpus`` itself."""
    return best_of(tfidf_curve(corpus, languages))


def tfidf_held_out(curves: Mapping[str, Mapping[float, Scores]]) -> dict[str, Baseline]:
    """Each corpus's baseline at the threshold the other corpora choose: the highest mean F1
    over them (the lowest of those tied). ``curves``: each corpus's ``tfidf_curve`` on the
    figure it is judged by."""
    out = {}
    for name, curve in curves.items():
        others = [c for other, c in curves.items() if other != name]
        if not others:
            raise ValueError("leaving a corpus out needs at least two corpora")
        threshold = max(THRESHOLDS, key=lambda t: sum(c[t].f1 for c in others))
        out[name] = Baseline(curve[threshold], threshold)
    return out


def tfidf_similarity(corpus: Corpus) -> Any:
    """Cosine of every two articles' TF-IDF vectors (sublinear tf), as a sparse matrix."""
    from sklearn.feature_extraction.text import TfidfVectorizer

    texts = [f"{a.title}\n{a.text}" if a.title else a.text for a in corpus.articles]
    matrix = TfidfVectorizer(sublinear_tf=True).fit_transform(texts)
    return (matrix @ matrix.T).tocsr()


def tfidf_stories(corpus: Corpus, threshold: float, similarity: Any = None) -> dict[str, str]:
    """The baseline's stories at one threshold: single link over ``tfidf_similarity``."""
    from scipy.sparse.csgraph import connected_components

    kept = (tfidf_similarity(corpus) if similarity is None else similarity).copy()
    kept.data[kept.data < threshold] = 0
    kept.eliminate_zeros()
    _, labels = connected_components(kept, directed=False)
    return {a.id: f"c{label}" for a, label in zip(corpus.articles, labels.tolist(), strict=True)}
