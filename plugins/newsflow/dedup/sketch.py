"""MinHash sketches of word shingles and their LSH band keys.

Band keys are plain strings so a store can index them as keywords: two articles that
share any band key are likely near-copies, found without comparing against everything.
The permutations come from a fixed seed, so sketches computed by different workers
(or on different days) are comparable.
"""

from __future__ import annotations

import hashlib
import zlib
from functools import lru_cache

import numpy as np
import numpy.typing as npt

from newsflow.dedup.text import tokens

_MERSENNE = np.uint64((1 << 61) - 1)
_MAX32 = np.uint64((1 << 32) - 1)
_SEED = 20240601


@lru_cache(maxsize=8)
def _permutations(num_perm: int) -> tuple[npt.NDArray[np.uint64], npt.NDArray[np.uint64]]:
    rng = np.random.default_rng(_SEED)
    a = rng.integers(1, 1 << 32, size=num_perm, dtype=np.uint64)
    b = rng.integers(0, 1 << 32, size=num_perm, dtype=np.uint64)
    return a, b


def shingles(text: str, size: int) -> set[str]:
    return word_shingles(tokens(text), size)


def word_shingles(words: list[str], size: int) -> set[str]:
    """``shingles`` of already tokenised text."""
    if len(words) < size:
        return {" ".join(words)} if words else set()
    # Every window of ``size`` words, joined in C (zip stops at the last full window).
    return set(map(" ".join, zip(*(words[i:] for i in range(size)), strict=False)))


def minhash(shingle_set: set[str], num_perm: int) -> tuple[int, ...]:
    """MinHash signature; an empty set gives all-max values (similar to nothing)."""
    if not shingle_set:
        return (int(_MAX32),) * num_perm
    hashed = np.fromiter(
        map(zlib.crc32, map(str.encode, shingle_set)), dtype=np.uint64, count=len(shingle_set)
    )
    a, b = _permutations(num_perm)
    # a, b and the hashes are < 2**32, so a*x+b fits in uint64 before the modulus. In place:
    # fresh temporaries of this (shingles x permutations) array made a long article's sketch
    # three times slower.
    values = np.multiply.outer(hashed, a)
    values += b
    np.remainder(values, _MERSENNE, out=values)
    values &= _MAX32
    return tuple(values.min(axis=0).tolist())


def band_keys(signature: tuple[int, ...], bands: int) -> tuple[str, ...]:
    rows = len(signature) // bands
    keys = []
    for band in range(bands):
        chunk = ",".join(str(v) for v in signature[band * rows : (band + 1) * rows])
        keys.append(f"{band}:{hashlib.blake2b(chunk.encode('ascii'), digest_size=8).hexdigest()}")
    return tuple(keys)


def estimate_jaccard(left: tuple[int, ...], right: tuple[int, ...]) -> float:
    if not left or len(left) != len(right):
        return 0.0
    return sum(1 for x, y in zip(left, right, strict=True) if x == y) / len(left)
