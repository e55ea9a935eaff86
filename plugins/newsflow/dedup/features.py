"""The pair features the same-story model reads, for one new article against all its
candidates at once.

Term, lede and name overlaps are weighted by rarity in the held collection (``weighting``),
so common names weigh little. One function serves a batch of candidates and a single pair.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import cast

import numpy as np
import numpy.typing as npt

from newsflow.dedup.sketch import estimate_jaccard
from newsflow.dedup.weighting import Prepared

# The model's inputs, in its weight order (``pair_model.json`` names them too).
FEATURES = ("tfidf", "lede", "names", "tfidf_x_names", "salient", "quotes", "numbers", "jaccard",
            "year_match", "year_conflict", "names_across_languages", "day_match", "day_conflict")  # fmt: skip

# Evidence may only raise the probability (and a year or day conflict only lower it): a fit may
# not learn, from how one corpus sampled its pairs, that sharing more text counts against a
# link. The product of the two overlaps is free (it lets the model demand corroboration).
# Every fit keeps these: the refit on the dev corpora (``bench/storyfit.py``) and the refit on
# a deployment's verdicts (``refit``).
WEIGHT_SIGNS = {"year_conflict": -1, "day_conflict": -1, "tfidf_x_names": 0}


def _contained(names: frozenset[str], other: dict[str, float]) -> float:
    return sum(1 for k in names if k in other) / len(names) if names else 0.0


def minhash_jaccards(new: Prepared, others: Sequence[Prepared]) -> list[float]:
    """Share of equal MinHash values with each other article (0 when sketches differ in size)."""
    size = len(new.minhash)
    if size and all(len(o.minhash) == size for o in others):
        equal = np.count_nonzero(np.stack([o.minhash for o in others]) == new.minhash, axis=1)
        return cast("list[float]", (equal / size).tolist())
    return [estimate_jaccard(new.sig.minhash, o.sig.minhash) for o in others]


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
    IDF in the collection, so a name most articles carry (a president) weighs little.

    Weighing names also by how many of the other candidates carry them (the neighbourhood's
    topic) was tried and undone: it lost SemEval on every out-of-fold split
    (docs/stories.md, "Out of fold").
    """
    shared = _shared_sums(new.entity_hashes, new.entity_values, [o.entity_hashes for o in others], None)
    masses = float(new.entity_values.sum()) * np.fromiter(
        (float(o.entity_values.sum()) for o in others), dtype=np.float64, count=len(others)
    )
    return cast(
        "npt.NDArray[np.float64]",
        np.divide(shared, np.sqrt(masses), out=np.zeros(len(others)), where=(shared > 0) & (masses > 0)),
    )


def feature_matrix(
    new: Prepared, others: Sequence[Prepared], jaccards: Sequence[float] | None = None
) -> npt.NDArray[np.float64]:
    """The model's features (``FEATURES`` order) of ``new`` paired with each of ``others``.

    A pair's features depend on the pair alone, so scoring many candidates at once is the
    same as scoring each. Quote and number evidence enter as ``log1p`` (the fifth shared
    quote adds less than the first); a pair with no year on one side has neither a year
    match nor a conflict. Weekdays are the days each opening names (``weekdays``): a day
    both name is a match; a conflict needs each to name one day, another, since an opening
    naming several days may be telling more than its event.
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
        # In the new article's order: a set's order is salted per process, and so would the sum be.
        rows[i, 6] = math.log1p(sum(v for k, v in new.number_idf.items() if k in o.number_idf))
        rows[i, 7] = jaccards[i]
        rows[i, 8] = 1.0 if shared_years else 0.0
        rows[i, 9] = 1.0 if new.years and o.years and not shared_years else 0.0
        days, other_days = new.sig.weekdays, o.sig.weekdays
        rows[i, 11] = 1.0 if set(days) & set(other_days) else 0.0
        rows[i, 12] = 1.0 if len(days) == 1 and len(other_days) == 1 and days != other_days else 0.0
    # Two reports in different languages share little text but the same names, so a name
    # overlap across languages is weighed on its own, not as the same overlap beside text.
    language = new.sig.language
    across = (bool(language and o.sig.language and o.sig.language != language) for o in others)
    rows[:, 10] = names * np.fromiter(across, dtype=np.float64, count=n)
    return rows


def pair_features(a: Prepared, b: Prepared) -> dict[str, float]:
    """``feature_matrix`` of one pair, by feature name (for tests and explanations)."""
    return dict(zip(FEATURES, feature_matrix(a, [b])[0].tolist(), strict=True))
