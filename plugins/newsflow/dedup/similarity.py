"""How likely two articles report the same event: a pure function of their signals and of
the other candidates they are scored with.

One function computes the pair features of a new article against all its candidates at
once (``feature_matrix``), and the fitted model (``model.PairModel``) turns each row into a
probability; scoring a single pair is the same code on a batch of one. Term, lede and name
overlaps are weighted by rarity (IDF from the held collection), so common names (a
president, a parliament) weigh little; names are also weighed by how many of the other
candidates carry them, so the names a whole neighbourhood shares (its topic) weigh little
too. Copies (same URL, same text, near-copy sketch) are decided before the model; a
publish-time gap beyond the window forbids a link.
"""

from __future__ import annotations

import math
import operator
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Literal, Protocol, cast

import numpy as np
import numpy.typing as npt

from newsflow.dedup.model import PairModel, load_model
from newsflow.dedup.options import DedupOptions
from newsflow.dedup.signals import ArticleSignals
from newsflow.errors import ConfigError

EdgeKind = Literal["same_url", "exact", "near_duplicate", "same_story"]

# The model's inputs, in its weight order (``pair_model.json`` names them too).
FEATURES = ("tfidf", "lede", "names", "tfidf_x_names", "salient", "quotes", "numbers", "jaccard",
            "year_match", "year_conflict", "names_across_languages")  # fmt: skip
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
    salient: frozenset[str]
    number_idf: dict[str, float]
    quotes: frozenset[str]
    years: frozenset[str]
    minhash: npt.NDArray[np.uint64]
    published_ts: float | None  # POSIX seconds, looked up once rather than per pair
    # Unit-length TF-IDF weights of the content terms and of the lede's terms, and
    # ``entity_weight`` again, as arrays sorted by the keys' hashes, so one article is
    # compared with all its candidates in a few array operations (``feature_matrix``). The
    # hashes are Python's own (fixed within a process; a Prepared is never stored).
    term_hashes: npt.NDArray[np.int64]
    term_values: npt.NDArray[np.float64]
    lede_hashes: npt.NDArray[np.int64]
    lede_values: npt.NDArray[np.float64]
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
    term_hashes, term_values = _unit_by_hash(sig.terms, raw)
    # The lede compares which terms the first lines use (each once), weighted by rarity.
    lede_hashes, lede_values = _unit_by_hash(sig.lede, weights_of(["t:" + t for t in sig.lede]))
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
        salient=frozenset(ranked[:SALIENT_NAMES]),
        number_idf=dict(zip(sig.numbers, weights_of(["n:" + n for n in sig.numbers]), strict=True)),
        quotes=frozenset(sig.quote_keys),
        years=frozenset(sig.years),
        minhash=np.asarray(sig.minhash, dtype=np.uint64),
        published_ts=None if published is None else published.timestamp(),
        term_hashes=term_hashes,
        term_values=term_values,
        lede_hashes=lede_hashes,
        lede_values=lede_values,
        entity_hashes=entity_hashes,
        entity_values=entity_values,
    )


def _unit_by_hash(
    keys: Sequence[str], raw: list[float]
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.float64]]:
    """Key hashes sorted, with their weights scaled to unit length in the same order."""
    norm = math.sqrt(sum(map(operator.mul, raw, raw))) or 1.0
    hashes = np.fromiter(map(hash, keys), dtype=np.int64, count=len(keys))
    order = np.argsort(hashes, kind="stable")
    return hashes[order], np.array(raw, dtype=np.float64)[order] / norm


def _sorted_by_hash(weights: dict[str, float]) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.float64]]:
    hashes = np.fromiter(map(hash, weights), dtype=np.int64, count=len(weights))
    values = np.fromiter(weights.values(), dtype=np.float64, count=len(weights))
    order = np.argsort(hashes, kind="stable")
    return hashes[order], values[order]


def _contained(names: frozenset[str], other: dict[str, float]) -> float:
    return sum(1 for k in names if k in other) / len(names) if names else 0.0


def _jaccards(new: Prepared, others: Sequence[Prepared]) -> list[float]:
    """Share of equal MinHash values with each other article (0 when sketches differ in size)."""
    size = len(new.minhash)
    if size and all(len(o.minhash) == size for o in others):
        equal = np.count_nonzero(np.stack([o.minhash for o in others]) == new.minhash, axis=1)
        return cast("list[float]", (equal / size).tolist())
    return [
        int(np.count_nonzero(new.minhash == o.minhash)) / size if size and len(o.minhash) == size else 0.0
        for o in others
    ]


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


def _name_overlap(new: Prepared, others: Sequence[Prepared]) -> npt.NDArray[np.float64]:
    """Cosine of the name keys of ``new`` and each of ``others``, each name weighted by its
    IDF in the collection times its IDF among the rest of ``others`` (the candidates).

    A name most candidates carry is the neighbourhood's topic (the president in political
    news), not evidence that two of them report one event; a name only these two share is.
    Collection IDF alone cannot tell them apart, since the topic's names are rare in the
    collection as a whole. The local factor is ``log((m + 1) / (d + 1)) + 1`` for a name
    that ``d`` of the ``m`` other candidates carry: 1 for every name when there are no
    others, so one pair alone is weighed by collection IDF. It raised held-out pair AUC on
    all three dev corpora (docs/stories.md).
    """
    n = len(others)
    out = np.zeros(n, dtype=np.float64)
    if not n or not len(new.entity_hashes):
        return out
    lengths = np.fromiter((len(o.entity_hashes) for o in others), dtype=np.int64, count=n)
    keys = np.concatenate([o.entity_hashes for o in others])
    squared = np.concatenate([o.entity_values for o in others])  # collection IDF squared
    owner = np.repeat(np.arange(n), lengths)
    # How many candidates carry each key: an article's keys are distinct.
    _, inverse, counts = np.unique(keys, return_inverse=True, return_counts=True)
    carried = counts[inverse]  # per key occurrence, including its own article
    log_m = math.log(n)  # log(m + 1) with m = n - 1 others beside the pair's candidate

    def factor(d: npt.NDArray[np.int64]) -> npt.NDArray[np.float64]:
        return cast("npt.NDArray[np.float64]", log_m - np.log(d + 1.0) + 1.0)

    own = squared * factor(carried - 1) ** 2  # a candidate's keys, as its pair weighs them
    other_mass = np.bincount(owner, weights=own, minlength=n)
    # The new article's keys: carried by how many candidates, and by which.
    pos = np.minimum(np.searchsorted(new.entity_hashes, keys), len(new.entity_hashes) - 1)
    hit = new.entity_hashes[pos] == keys
    in_new = np.bincount(pos[hit], minlength=len(new.entity_hashes))
    new_full = new.entity_values * factor(in_new) ** 2  # weighed for a pair sharing none
    # For a pair's own candidate, a shared key is carried by one candidate fewer.
    shared_values = new.entity_values[pos[hit]]
    shared_weight = shared_values * factor(in_new[pos[hit]] - 1) ** 2
    shared = np.bincount(owner[hit], weights=shared_weight, minlength=n)
    new_mass = float(new_full.sum()) + np.bincount(
        owner[hit], weights=shared_weight - new_full[pos[hit]], minlength=n
    )
    masses = new_mass * other_mass
    return cast(
        "npt.NDArray[np.float64]",
        np.divide(shared, np.sqrt(masses), out=out, where=(shared > 0) & (masses > 0)),
    )


def feature_matrix(
    new: Prepared, others: Sequence[Prepared], jaccards: Sequence[float] | None = None
) -> npt.NDArray[np.float64]:
    """The model's features (``FEATURES`` order) of ``new`` paired with each of ``others``.

    ``others`` are all the candidates scored together: the name overlap weighs each name
    by how many of them carry it (``_name_overlap``), so a pair's features depend on its
    neighbourhood. Quote and number evidence enter as ``log1p`` (the fifth shared quote adds
    less than the first); a pair with no year on one side has neither a year match nor a
    conflict.
    """
    n = len(others)
    if jaccards is None:
        jaccards = _jaccards(new, others) if n else []
    tfidf = _shared_sums(
        new.term_hashes, new.term_values, [o.term_hashes for o in others], [o.term_values for o in others]
    )
    lede = _shared_sums(
        new.lede_hashes, new.lede_values, [o.lede_hashes for o in others], [o.lede_values for o in others]
    )
    names = _name_overlap(new, others)
    rows = np.empty((n, len(FEATURES)), dtype=np.float64)
    rows[:, 0] = tfidf
    rows[:, 1] = lede
    rows[:, 2] = names
    rows[:, 3] = tfidf * names
    for i, o in enumerate(others):
        shared_years = bool(new.years & o.years)
        rows[i, 4] = min(_contained(new.salient, o.entity_weight), _contained(o.salient, new.entity_weight))
        rows[i, 5] = math.log1p(len(new.quotes & o.quotes))
        rows[i, 6] = math.log1p(sum(new.number_idf[k] for k in new.number_idf.keys() & o.number_idf.keys()))
        rows[i, 7] = jaccards[i]
        rows[i, 8] = 1.0 if shared_years else 0.0
        rows[i, 9] = 1.0 if new.years and o.years and not shared_years else 0.0
    # Two reports in different languages share little text but the same names, so a name
    # overlap across languages is weighed on its own, not as the same overlap beside text.
    language = new.sig.language
    across = (bool(language and o.sig.language and o.sig.language != language) for o in others)
    rows[:, 10] = names * np.fromiter(across, dtype=np.float64, count=n)
    return rows


def pair_features(a: Prepared, b: Prepared, neighbours: Sequence[Prepared] = ()) -> dict[str, float]:
    """``feature_matrix`` of one pair, by feature name (for tests and explanations), among
    ``b``'s fellow candidates ``neighbours`` (none: names weighed by collection IDF alone)."""
    return dict(zip(FEATURES, feature_matrix(a, [b, *neighbours])[0].tolist(), strict=True))


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


def gap_hours(a: ArticleSignals, b: ArticleSignals) -> float | None:
    ta, tb = a.published_at(), b.published_at()
    if ta is None or tb is None:
        return None
    return abs((ta - tb).total_seconds()) / 3600.0


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
    candidates left to the model, and every candidate's MinHash Jaccard. The candidates left
    to the model are the neighbourhood ``feature_matrix`` weighs names in."""
    out: list[Edge | None] = [None] * len(candidates)
    if not candidates:
        return out, [], []
    jaccards = _jaccards(new, candidates)
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
    return tuple(why)


def _shown(name: str, value: float) -> str:
    """A feature value as a reader knows it: counts and sums undo their ``log1p``."""
    if name in ("quotes", "numbers"):
        return f"{math.expm1(value):.0f}" if name == "quotes" else f"{math.expm1(value):.1f}"
    return f"{value:.2f}"
