"""The pair features the same-story model reads, for one new article against all its
candidates at once.

Term, lede and name overlaps are weighted by rarity (``weighting``); names are also weighed
by how many of the other candidates carry them, so the names a whole neighbourhood shares
(its topic) weigh little. A pair's features therefore depend on the candidates it is scored
with: ``pair_features`` takes them, and one pair alone is weighed by collection IDF only.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import cast

import numpy as np
import numpy.typing as npt

from newsflow.dedup.weighting import Prepared

# The model's inputs, in its weight order (``pair_model.json`` names them too).
FEATURES = ("tfidf", "lede", "names", "tfidf_x_names", "salient", "quotes", "numbers", "jaccard",
            "year_match", "year_conflict", "names_across_languages")  # fmt: skip


def _contained(names: frozenset[str], other: dict[str, float]) -> float:
    return sum(1 for k in names if k in other) / len(names) if names else 0.0


def minhash_jaccards(new: Prepared, others: Sequence[Prepared]) -> list[float]:
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
        jaccards = minhash_jaccards(new, others) if n else []
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
