"""How likely two articles report the same event, and the edge that records it.

Copies (same URL, same text, near-copy sketch) are decided first (``decide_copies``); a
publish-time gap beyond the window forbids a link. The rest are scored by the fitted model
(``model.PairModel``) on their pair features (``features.feature_matrix``), a new article
against all its candidates at once; scoring a single pair is the same code on a batch of
one. ``why`` names the features that decided each score.
"""

from __future__ import annotations

import math
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Literal, get_args

import numpy as np
import numpy.typing as npt

from newsflow.dedup.features import FEATURES, feature_matrix, minhash_jaccards
from newsflow.dedup.model import PairModel, load_model
from newsflow.dedup.options import DedupOptions
from newsflow.dedup.signals import ArticleSignals
from newsflow.dedup.weighting import Prepared, TermStats, prepare
from newsflow.errors import ConfigError

# "analyst": a pair an analyst said is one story (``dedup.corrections``); made from the
# corrections whenever they are read, never scored or stored.
EdgeKind = Literal["same_url", "exact", "near_duplicate", "same_story", "analyst"]
StoredEdgeKind = Literal["same_url", "exact", "near_duplicate", "same_story"]
# Each kind by its stored name: a stored edge's kind is read through this.
EDGE_KINDS: dict[str, StoredEdgeKind] = {name: name for name in get_args(StoredEdgeKind)}


@dataclass(frozen=True, slots=True)
class Edge:
    """A scored relation between two articles, kept so later arrivals can re-partition."""

    a: str
    b: str
    kind: EdgeKind
    score: float
    why: tuple[str, ...]


@lru_cache(maxsize=8)
def model_columns(model: PairModel) -> list[int]:
    """Where each of the model's features sits in ``FEATURES`` (a model may use fewer)."""
    unknown = [f for f in model.features if f not in FEATURES]
    if unknown:
        raise ConfigError(f"pair model uses unknown features {unknown}; refit it with this version")
    return [FEATURES.index(f) for f in model.features]


def same_story_probability(features: dict[str, float], model: PairModel | None = None) -> float:
    """The model's probability for one pair's ``pair_features``."""
    model = model or load_model()
    row = np.array([[features.get(name, 0.0) for name in model.features]], dtype=np.float64)
    return float(model.probabilities(row)[0])


def score_pair(a: ArticleSignals, b: ArticleSignals, stats: TermStats, options: DedupOptions) -> Edge | None:
    """The edge between two articles, or None when they are not even weakly related."""
    return score_many(prepare(a, stats), [prepare(b, stats)], options)[0]


def _copy_edge(
    pa: Prepared, pb: Prepared, options: DedupOptions, jaccard: float
) -> Edge | Literal["model"] | None:
    """The relations decided before the model: a copy's Edge, None (no link), or "model"."""
    a, b = pa.sig, pb.sig
    if a.canonical_url and a.canonical_url == b.canonical_url:
        return Edge(a.id, b.id, "same_url", 1.0, ("same_url",))
    if a.content_hash == b.content_hash:
        return Edge(a.id, b.id, "exact", 1.0, ("content_hash",))
    # Beyond the window even a near copy is another event written from the same template
    # ("jobless claims rose to ..."); only identical text or URL links across it.
    gap = _gap(pa, pb)
    if gap is not None and gap > options.window_for(a.published_confidence, b.published_confidence):
        return None
    if jaccard >= options.near_duplicate_jaccard:
        return Edge(a.id, b.id, "near_duplicate", round(jaccard, 4), (f"jaccard={jaccard:.2f}",))
    return "model"


def _gap(pa: Prepared, pb: Prepared) -> float | None:
    ta, tb = pa.published_ts, pb.published_ts
    return None if ta is None or tb is None else abs(ta - tb) / 3600.0


def decide_copies(
    new: Prepared, candidates: Sequence[Prepared], options: DedupOptions
) -> tuple[list[Edge | None], list[int], list[float]]:
    """The edges decided before the model (copies; None elsewhere), the positions of the
    candidates left to the model, and every candidate's MinHash Jaccard."""
    out: list[Edge | None] = [None] * len(candidates)
    if not candidates:
        return out, [], []
    jaccards = minhash_jaccards(new, candidates)
    modelled: list[int] = []
    for i, other in enumerate(candidates):
        decided = _copy_edge(new, other, options, jaccards[i])
        if decided == "model":
            modelled.append(i)
        else:
            out[i] = decided
    return out, modelled, jaccards


def score_many(new: Prepared, candidates: Sequence[Prepared], options: DedupOptions) -> list[Edge | None]:
    """The edge from ``new`` to each candidate (None: no link worth keeping)."""
    out, modelled, jaccards = decide_copies(new, candidates, options)
    if not modelled:
        return out
    model = options.model
    rows = feature_matrix(new, [candidates[i] for i in modelled], [jaccards[i] for i in modelled])
    columns = model_columns(model)
    probabilities, trees_said = model.scored(rows[:, columns])
    kept = np.flatnonzero(probabilities >= options.edge_threshold)
    if not len(kept):
        return out
    tops = model.top_contributions_many(rows[kept][:, columns], _SHOWN_FEATURES)
    # What the trees said, beside the logistic contributions ``why`` names.
    said = trees_said[kept].tolist() if trees_said is not None else [None] * len(kept)
    for n, top, trees in zip(kept.tolist(), tops, said, strict=True):
        other = candidates[modelled[n]]
        probability = float(probabilities[n])
        why = _why(new, other, rows[n], probability, top, trees=trees)
        out[modelled[n]] = Edge(new.sig.id, other.sig.id, "same_story", round(probability, 4), why)
    return out


_SHOWN_FEATURES = 3  # ``why`` names the features that moved a score most


def _why(
    pa: Prepared,
    pb: Prepared,
    row: npt.NDArray[np.float64],
    probability: float,
    top: list[tuple[str, float]],
    *,
    trees: float | None = None,
) -> tuple[str, ...]:
    """The probability, then the features that decided it (``top``) with their values and
    logistic contributions, and the trees' own probability when the model blends them."""
    why = [f"p={probability:.2f}"]
    for name, contribution in top:
        why.append(f"{name}={_shown(name, float(row[FEATURES.index(name)]))} ({contribution:+.1f})")
    if trees is not None:
        why.append(f"trees_p={trees:.2f}")
    quotes = float(row[FEATURES.index("quotes")])
    if quotes:
        why.append(f"shared_quotes={round(math.expm1(quotes))}")
    gap = _gap(pa, pb)
    if gap is not None:
        why.append(f"gap_h={gap:.0f}")
    # Every scored pair keeps its ``why`` for as long as its articles are held, and the same
    # few strings ("p=0.62", "trees_p=0.58", a feature at two decimals) recur across thousands
    # of edges. One copy of each took held state from 30.9 to 21.7 KB an article at 20,000
    # held (``bench/bench_dedup.py``, "KB an article held"; docs/stories.md).
    return tuple(map(sys.intern, why))


def _shown(name: str, value: float) -> str:
    """A feature value as a reader knows it: counts and sums undo their ``log1p``."""
    if name in ("quotes", "numbers"):
        return f"{math.expm1(value):.0f}" if name == "quotes" else f"{math.expm1(value):.1f}"
    return f"{value:.2f}"
