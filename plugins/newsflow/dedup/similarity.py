"""How likely two articles report the same event: a pure function of their signals.

The score is a logistic combination of independent signals. Term and name overlap are
each weighted by rarity (IDF from the held collection's document frequencies), and
their *product* carries a negative weight, which makes the model demand corroboration:
high term overlap alone (same kind of event) or name overlap alone (same people, other
day) scores lower than both together. Conflicting calendar years and a missing central
name count against a link; a publish-time gap beyond the window forbids it.
"""

from __future__ import annotations

import math
import operator
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal, Protocol, cast

import numpy as np
import numpy.typing as npt

from newsflow.dedup.options import DedupOptions
from newsflow.dedup.signals import ArticleSignals

EdgeKind = Literal["same_url", "exact", "near_duplicate", "same_story"]

# Logistic-regression weights over FEATURES (quotes and numbers enter as log1p), fitted
# (scikit-learn, C=100) on the pairs within the even-numbered ECB+ topics only, with the
# link threshold chosen there too, and then checked on the odd-numbered topics. They are
# hard-coded so the decision depends on no corpus at run time. Refit on a pair-labelled
# set whenever a signal changes.
FEATURES = ("tfidf", "entities", "quotes", "numbers", "jaccard", "tfidf_x_entities", "year_conflict",
            "year_match", "salient")  # fmt: skip
WEIGHTS = (15.80, 14.55, 0.76, 0.30, 0.64, -25.41, -1.82, 1.85, 1.11)
INTERCEPT = -5.934
SALIENT_NAMES = 3


class TermStats(Protocol):
    """Document frequencies of stat keys over the held collection (an ES index can answer this)."""

    @property
    def n_docs(self) -> int: ...

    def df(self, key: str) -> int: ...


@dataclass(frozen=True, slots=True)
class Edge:
    """A scored relation between two articles, kept so later arrivals can re-partition."""

    a: str
    b: str
    kind: EdgeKind
    score: float
    why: tuple[str, ...]


def idf(stats: TermStats, key: str) -> float:
    return math.log((stats.n_docs + 1) / (stats.df(key) + 1)) + 1.0


@dataclass(frozen=True, slots=True)
class Prepared:
    """An article's signals weighted by the current statistics, ready for many comparisons."""

    sig: ArticleSignals
    entity_weight: dict[str, float]  # squared IDF of each name key
    entity_mass: float
    salient: frozenset[str]
    number_idf: dict[str, float]
    quotes: frozenset[str]
    years: frozenset[str]
    minhash: npt.NDArray[np.uint64]
    published_ts: float | None  # POSIX seconds, looked up once rather than per pair
    # Unit-length TF-IDF weights of the content terms, and ``entity_weight`` again, as arrays
    # sorted by the keys' hashes, so one article is compared with all its candidates in a few
    # array operations (``score_many``). The hashes are Python's own (fixed within a process;
    # a Prepared is never stored).
    term_hashes: npt.NDArray[np.int64]
    term_values: npt.NDArray[np.float64]
    entity_hashes: npt.NDArray[np.int64]
    entity_values: npt.NDArray[np.float64]


def prepare(sig: ArticleSignals, stats: TermStats, memo: dict[str, float] | None = None) -> Prepared:
    """``memo`` keeps IDF by key across the articles prepared from one statistics snapshot."""
    log_n = math.log(stats.n_docs + 1)
    known = memo if memo is not None else {}

    def weights_of(keys: list[str]) -> list[float]:
        """``idf`` of each key, memoised; looked up in C, computed only for keys not seen yet."""
        values = list(map(known.get, keys))
        for i, value in enumerate(values):
            if value is None:
                values[i] = known[keys[i]] = log_n - math.log(stats.df(keys[i]) + 1) + 1.0
        return cast("list[float]", values)  # every None was just replaced

    term_idf = weights_of(["t:" + t for t in sig.terms])
    raw = [
        (1.0 + log_count) * w for log_count, w in zip(map(math.log, sig.term_counts), term_idf, strict=True)
    ]
    norm = math.sqrt(sum(map(operator.mul, raw, raw))) or 1.0
    term_hashes = np.fromiter(map(hash, sig.terms), dtype=np.int64, count=len(sig.terms))
    by_hash = np.argsort(term_hashes, kind="stable")
    entity_idf = dict(zip(sig.entities, weights_of(["e:" + k for k in sig.entities]), strict=True))
    # The few names an article is most about: frequent in it, rare in the collection.
    counts = dict(zip(sig.entities, sig.entity_counts, strict=True))
    ranked = sorted((k for k in counts if " " not in k), key=lambda k: (-counts[k] * entity_idf[k], k))
    weights = {k: v * v for k, v in entity_idf.items()}
    published = sig.published_at()
    entity_hashes, entity_values = _sorted_by_hash(weights)
    return Prepared(
        sig=sig,
        entity_weight=weights,
        entity_mass=sum(weights.values()),
        salient=frozenset(ranked[:SALIENT_NAMES]),
        number_idf=dict(zip(sig.numbers, weights_of(["n:" + n for n in sig.numbers]), strict=True)),
        quotes=frozenset(sig.quote_keys),
        years=frozenset(sig.years),
        minhash=np.asarray(sig.minhash, dtype=np.uint64),
        published_ts=None if published is None else published.timestamp(),
        term_hashes=term_hashes[by_hash],
        term_values=np.array(raw, dtype=np.float64)[by_hash] / norm,
        entity_hashes=entity_hashes,
        entity_values=entity_values,
    )


def _sorted_by_hash(weights: dict[str, float]) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.float64]]:
    hashes = np.fromiter(map(hash, weights), dtype=np.int64, count=len(weights))
    values = np.fromiter(weights.values(), dtype=np.float64, count=len(weights))
    order = np.argsort(hashes, kind="stable")
    return hashes[order], values[order]


def _contained(names: frozenset[str], other: dict[str, float]) -> float:
    return sum(1 for k in names if k in other) / len(names) if names else 0.0


def _jaccard(a: Prepared, b: Prepared) -> float:
    if len(a.minhash) != len(b.minhash) or not len(a.minhash):
        return 0.0
    return int(np.count_nonzero(a.minhash == b.minhash)) / len(a.minhash)


def pair_features(a: Prepared, b: Prepared, jaccard: float | None = None) -> dict[str, float]:
    """The model's features of one pair (``score_many`` computes them for many at once)."""
    tfidf = float(_shared_sums(a.term_hashes, a.term_values, [b.term_hashes], [b.term_values])[0])
    shared_mass = sum(a.entity_weight[k] for k in a.entity_weight.keys() & b.entity_weight.keys())
    entities = shared_mass / math.sqrt(a.entity_mass * b.entity_mass) if shared_mass else 0.0
    return {
        "tfidf": tfidf,
        "entities": entities,
        "quotes": _quotes(a, b),
        "numbers": _numbers(a, b),
        "jaccard": _jaccard(a, b) if jaccard is None else jaccard,
        "years": _years(a, b),
        "salient": _salient(a, b),
    }


# The set features, shared by ``pair_features`` and ``score_many``.
def _quotes(a: Prepared, b: Prepared) -> float:
    return float(len(a.quotes & b.quotes))


def _numbers(a: Prepared, b: Prepared) -> float:
    return sum(a.number_idf[n] for n in a.number_idf.keys() & b.number_idf.keys())


def _years(a: Prepared, b: Prepared) -> float:
    return 1.0 if a.years & b.years else (-1.0 if a.years and b.years else 0.0)


def _salient(a: Prepared, b: Prepared) -> float:
    return min(_contained(a.salient, b.entity_weight), _contained(b.salient, a.entity_weight))


def same_story_probability(features: dict[str, float]) -> float:
    values = (
        features["tfidf"],
        features["entities"],
        math.log1p(features["quotes"]),
        math.log1p(features["numbers"]),
        features["jaccard"],
        features["tfidf"] * features["entities"],
        1.0 if features["years"] < 0 else 0.0,
        1.0 if features["years"] > 0 else 0.0,
        features["salient"],
    )
    z = INTERCEPT + sum(w * v for w, v in zip(WEIGHTS, values, strict=True))
    return 1.0 / (1.0 + math.exp(-z))


def gap_hours(a: ArticleSignals, b: ArticleSignals) -> float | None:
    ta, tb = a.published_at(), b.published_at()
    if ta is None or tb is None:
        return None
    return abs((ta - tb).total_seconds()) / 3600.0


def score_pair(a: ArticleSignals, b: ArticleSignals, stats: TermStats, options: DedupOptions) -> Edge | None:
    """The edge between two articles, or None when they are not even weakly related."""
    return score_prepared(prepare(a, stats), prepare(b, stats), options)


def score_prepared(pa: Prepared, pb: Prepared, options: DedupOptions) -> Edge | None:
    """``score_pair`` on prepared signals (prepare each article once per statistics snapshot)."""
    return score_many(pa, [pb], options)[0]


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
    if gap is not None and gap > options.window_hours:
        return None
    if jaccard >= options.near_duplicate_jaccard:
        return Edge(a.id, b.id, "near_duplicate", round(jaccard, 4), (f"jaccard={jaccard:.2f}",))
    return "model"


def _gap(pa: Prepared, pb: Prepared) -> float | None:
    ta, tb = pa.published_ts, pb.published_ts
    return None if ta is None or tb is None else abs(ta - tb) / 3600.0


def _shared_sums(
    hashes: npt.NDArray[np.int64],
    values: npt.NDArray[np.float64],
    others: Sequence[npt.NDArray[np.int64]],
    other_values: Sequence[npt.NDArray[np.float64]] | None,
) -> npt.NDArray[np.float64]:
    """Per other article: the sum over keys it shares with ours of our value (times its value)."""
    out = np.zeros(len(others), dtype=np.float64)
    if not len(hashes) or not others:
        return out
    lengths = np.fromiter(map(len, others), dtype=np.int64, count=len(others))
    keys = np.concatenate(others)
    pos = np.minimum(np.searchsorted(hashes, keys), len(hashes) - 1)
    products = np.where(hashes[pos] == keys, values[pos], 0.0)
    if other_values is not None:
        products *= np.concatenate(other_values)
    owner = np.repeat(np.arange(len(others)), lengths)
    # Weighted bincount returns floats (the stubs say ints): the cast is a no-op.
    return np.bincount(owner, weights=products, minlength=len(others)).astype(np.float64, copy=False)


def score_many(new: Prepared, candidates: Sequence[Prepared], options: DedupOptions) -> list[Edge | None]:
    """``score_prepared`` of ``new`` against each candidate, with the term and name overlaps
    of all candidates computed together (the per-pair version spent most of a batch there)."""
    out: list[Edge | None] = [None] * len(candidates)
    if not candidates:
        return out
    minhashes = [c.minhash for c in candidates]
    if len(new.minhash) and all(len(m) == len(new.minhash) for m in minhashes):
        jaccards = (np.count_nonzero(np.stack(minhashes) == new.minhash, axis=1) / len(new.minhash)).tolist()
    else:
        jaccards = [_jaccard(new, c) for c in candidates]
    modelled: list[int] = []
    for i, other in enumerate(candidates):
        decided = _copy_edge(new, other, options, jaccards[i])
        if decided == "model":
            modelled.append(i)
        else:
            out[i] = decided
    if not modelled:
        return out
    others = [candidates[i] for i in modelled]
    tfidf = _shared_sums(
        new.term_hashes, new.term_values, [o.term_hashes for o in others], [o.term_values for o in others]
    ).tolist()
    shared_mass = _shared_sums(new.entity_hashes, new.entity_values, [o.entity_hashes for o in others], None)
    entities = [
        float(m) / math.sqrt(new.entity_mass * o.entity_mass) if m else 0.0
        for m, o in zip(shared_mass.tolist(), others, strict=True)
    ]
    quotes = [_quotes(new, o) for o in others]
    numbers = [_numbers(new, o) for o in others]
    years = [_years(new, o) for o in others]
    salient = [_salient(new, o) for o in others]
    model_jaccard = [jaccards[i] for i in modelled]
    # ``same_story_probability``'s sum (same WEIGHTS, same order) over all candidates at once;
    # the few that pass are then decided and explained one by one.
    t, e, y = np.array(tfidf), np.array(entities), np.array(years)
    z = (
        INTERCEPT
        + WEIGHTS[0] * t
        + WEIGHTS[1] * e
        + WEIGHTS[2] * np.log1p(quotes)
        + WEIGHTS[3] * np.log1p(numbers)
        + WEIGHTS[4] * np.array(model_jaccard)
        + WEIGHTS[5] * t * e
        + WEIGHTS[6] * (y < 0)
        + WEIGHTS[7] * (y > 0)
        + WEIGHTS[8] * np.array(salient)
    )
    # The array z only pre-selects: each pair it keeps is decided again by the exact scalar
    # ``same_story_probability``, and the small margin keeps any pair that rounding in the
    # array sum could have put just below the threshold.
    threshold_z = (
        math.log(options.edge_threshold / (1.0 - options.edge_threshold))
        if options.edge_threshold < 1
        else math.inf
    )
    for n in np.flatnonzero(z >= threshold_z - 1e-9).tolist():
        features = {
            "tfidf": tfidf[n],
            "entities": entities[n],
            "quotes": quotes[n],
            "numbers": numbers[n],
            "jaccard": model_jaccard[n],
            "years": years[n],
            "salient": salient[n],
        }
        out[modelled[n]] = _model_edge(new, others[n], features, options)
    return out


def _model_edge(pa: Prepared, pb: Prepared, features: dict[str, float], options: DedupOptions) -> Edge | None:
    probability = same_story_probability(features)
    if probability < options.edge_threshold:
        return None
    why = [
        f"p={probability:.2f}",
        f"tfidf={features['tfidf']:.2f}",
        f"entities={features['entities']:.2f}",
        f"salient={features['salient']:.2f}",
    ]
    if features["quotes"]:
        why.append(f"shared_quotes={int(features['quotes'])}")
    if features["numbers"]:
        why.append(f"numbers={features['numbers']:.1f}")
    if features["years"]:
        why.append("years=match" if features["years"] > 0 else "years=conflict")
    gap = _gap(pa, pb)
    if gap is not None:
        why.append(f"gap_h={gap:.0f}")
    return Edge(pa.sig.id, pb.sig.id, "same_story", round(probability, 4), tuple(why))
