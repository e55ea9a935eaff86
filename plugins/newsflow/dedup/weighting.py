"""An article's signals weighted by the held collection's statistics, once, so that it can
be compared with many candidates cheaply.

IDF comes from whatever counts the collection (``TermStats``: the in-memory source, or a
sample of an Elasticsearch index plus the batch), so the same article weighs the same on
either backend. Term, lede and name weights are kept as arrays sorted by key hash, which is
what lets ``features.feature_matrix`` compare one article with all its candidates at once.
"""

from __future__ import annotations

import math
import operator
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol, cast

import numpy as np
import numpy.typing as npt

from newsflow.dedup.signals import ArticleSignals
from newsflow.dedup.sketch import as_array
from newsflow.dedup.text import int_hash

SALIENT_NAMES = 3


class TermStats(Protocol):
    """Document frequencies of stat keys over the held collection (an ES index can answer this)."""

    @property
    def n_docs(self) -> int: ...

    def df(self, key: str) -> int: ...


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
    minhash: npt.NDArray[np.uint32]  # a view over the signature's bytes
    published_ts: float | None  # POSIX seconds, looked up once rather than per pair
    # Unit-length TF-IDF weights of the content terms and of the lede's terms, and
    # ``entity_weight`` again, as arrays sorted by the keys' hashes, so one article is
    # compared with all its candidates in a few array operations (``feature_matrix``). The
    # hashes are ``key_hashes``: the same in every process, so overlaps are summed in the
    # same order, to the last bit, on any worker.
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
        minhash=as_array(sig.minhash),
        published_ts=None if published is None else published.timestamp(),
        term_hashes=term_hashes,
        term_values=term_values,
        lede_hashes=lede_hashes,
        lede_values=lede_values,
        entity_hashes=entity_hashes,
        entity_values=entity_values,
    )


_KEY_HASHES: dict[str, int] = {}
_KEY_HASHES_LIMIT = 500_000  # distinct keys remembered (some tens of MB); then it starts afresh


def key_hashes(keys: Sequence[str] | dict[str, float]) -> npt.NDArray[np.int64]:
    """A 64-bit hash of each key that every process agrees on.

    Python's own ``hash`` of a string is salted per process (``PYTHONHASHSEED``), and the
    overlaps are summed in hash order, so a feature could differ in its last bit from one
    worker to the next. That was enough to move a pair across a tree's split: the same
    SemEval pair scored 0.5407 in one process and 0.5506 in another, either side of the link
    threshold (docs/stories.md). Memoised, so a key costs its ``int_hash`` once per process.
    """
    memo = _KEY_HASHES
    if len(memo) > _KEY_HASHES_LIMIT:
        memo.clear()
    keys = list(keys)
    values = list(map(memo.get, keys))
    for i, value in enumerate(values):
        if value is None:
            values[i] = memo[keys[i]] = int_hash(keys[i])
    return np.array(values, dtype=np.int64)


def _unit_by_hash(
    keys: Sequence[str], raw: list[float]
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.float64]]:
    """Key hashes sorted, with their weights scaled to unit length in the same order."""
    norm = math.sqrt(sum(map(operator.mul, raw, raw))) or 1.0
    hashes = key_hashes(keys)
    order = np.argsort(hashes, kind="stable")
    return hashes[order], np.array(raw, dtype=np.float64)[order] / norm


def _sorted_by_hash(weights: dict[str, float]) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.float64]]:
    hashes = key_hashes(weights)
    values = np.fromiter(weights.values(), dtype=np.float64, count=len(weights))
    order = np.argsort(hashes, kind="stable")
    return hashes[order], values[order]
