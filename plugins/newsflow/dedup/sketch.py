"""MinHash sketches of word shingles and their LSH band keys.

Band keys are plain strings so a store can index them as keywords: two articles that
share any band key are likely near-copies, found without comparing against everything.
The permutations come from a fixed seed, so sketches computed by different workers
(or on different days) are comparable.

A signature is held as bytes, its values packed as little-endian 32-bit integers: a held
article keeps 256 bytes instead of 64 Python integers (about 2.3 KB), and arrays compare it
without a copy (``as_array``). Stored records list the values as integers, as before.
"""

from __future__ import annotations

import hashlib
import struct
import zlib
from collections.abc import Iterable
from functools import lru_cache

import numpy as np
import numpy.typing as npt

from newsflow.dedup.text import tokens

_MERSENNE = np.uint64((1 << 61) - 1)
_MAX32 = np.uint64((1 << 32) - 1)
_SEED = 20240601
_PACKED = np.dtype("<u4")  # a signature's values as stored in its bytes


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


def minhash(shingle_set: set[str], num_perm: int) -> bytes:
    """MinHash signature; an empty set gives all-max values (similar to nothing)."""
    if not shingle_set:
        return pack((int(_MAX32),) * num_perm)
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
    lowest: npt.NDArray[np.uint64] = values.min(axis=0)
    return lowest.astype(_PACKED).tobytes()


def pack(values: Iterable[int]) -> bytes:
    """A signature from its values; ``struct.error`` if one is not a 32-bit unsigned integer."""
    listed = list(values)
    return struct.pack(f"<{len(listed)}I", *listed)


def unpack(signature: bytes) -> list[int]:
    return list(struct.unpack(f"<{len(signature) // 4}I", signature))


def as_array(signature: bytes) -> npt.NDArray[np.uint32]:
    """The values as a read-only array over the signature's own bytes."""
    return np.frombuffer(signature, dtype=_PACKED)


def band_keys(signature: bytes, bands: int) -> tuple[str, ...]:
    values = unpack(signature)
    rows = len(values) // bands
    keys = []
    for band in range(bands):
        chunk = ",".join(str(v) for v in values[band * rows : (band + 1) * rows])
        keys.append(f"{band}:{hashlib.blake2b(chunk.encode('ascii'), digest_size=8).hexdigest()}")
    return tuple(keys)


def estimate_jaccard(left: bytes, right: bytes) -> float:
    if not left or len(left) != len(right):
        return 0.0
    return int(np.count_nonzero(as_array(left) == as_array(right))) / (len(left) // 4)
