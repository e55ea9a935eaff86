"""Where held articles come from: the ``CandidateSource`` protocol and its in-memory form.

The dedup decision never scans everything held. A source answers "which held articles
share a keyword key with this one, within the time window" (band keys, name keys, quote
keys, lede terms, content hash, URL), which an Elasticsearch index answers with a ``terms`` query on
keyword fields plus a range filter on the publish time. It also keeps the scored edges
and current assignments, so a second worker sees exactly what the first one decided.
"""

from __future__ import annotations

import itertools
import math
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator, Sequence
from typing import Protocol

import numpy as np

from newsflow.dedup.options import DedupOptions
from newsflow.dedup.signals import ArticleSignals
from newsflow.dedup.similarity import Edge
from newsflow.records import StoryAssignment


class CandidateSource(Protocol):
    """Held articles, their document-frequency statistics, edges and assignments."""

    @property
    def n_docs(self) -> int: ...

    def df(self, key: str) -> int: ...

    def count(self, signals: Sequence[ArticleSignals]) -> None:
        """Add articles to the document-frequency statistics (before deciding about them)."""

    def candidates(self, signals: ArticleSignals, options: DedupOptions) -> list[ArticleSignals]:
        """Held articles worth scoring against ``signals`` (never ``signals`` itself)."""

    def put(self, signals: ArticleSignals, edges: Sequence[Edge]) -> None:
        """Hold an article and the edges found when it arrived."""

    def get(self, ids: Iterable[str]) -> dict[str, ArticleSignals]: ...

    def edges_of(self, ids: Iterable[str]) -> list[Edge]: ...

    def assignments(self, ids: Iterable[str]) -> dict[str, StoryAssignment]: ...

    def put_assignments(self, assignments: Sequence[StoryAssignment]) -> None: ...


class InMemoryCandidateSource:
    """Inverted index over query keys, for the offline CLI, tests and batch runs."""

    def __init__(self, bucket_hours: float = 24.0, *, only_keys: frozenset[str] | None = None) -> None:
        self._bucket_seconds = bucket_hours * 3600.0
        # When every article that will ever be queried is known up front (a pipeline batch
        # against its neighbourhood), postings of other keys can never be read: skip them.
        # Kept per signal, unprefixed, so a held article's keys are matched without first
        # spelling out all of them (most are not wanted).
        self._only_keys: dict[str, frozenset[str]] | None = None
        if only_keys is not None:
            split: defaultdict[str, set[str]] = defaultdict(set)
            for key in only_keys:
                split[key[:2]].add(key[2:])
            self._only_keys = {prefix: frozenset(raw) for prefix, raw in split.items()}
        self._signals: dict[str, ArticleSignals] = {}
        # Publish times as POSIX seconds, parsed once at put: the window check runs for every
        # ranked candidate (about 80 per article), and parsing ISO strings there cost more than
        # ranking them (``bench/bench_dedup.py``).
        self._published_ts: dict[str, float | None] = {}
        # Postings per key, then per publish-time bucket (undated articles under None): a query
        # reads only the buckets within the window, as an index's range filter would, and a
        # key no held article has costs one look-up.
        # Held articles are numbered in put order; postings hold the numbers.
        self._postings: dict[str, dict[int | None, list[int]]] = {}
        self._ids: list[str] = []
        self._number: dict[str, int] = {}
        self._df: Counter[str] = Counter()
        self._counted: set[str] = set()
        self._edges: dict[str, list[Edge]] = defaultdict(list)
        self._assignments: dict[str, StoryAssignment] = {}

    @property
    def n_docs(self) -> int:
        return len(self._counted)

    def df(self, key: str) -> int:
        return self._df.get(key, 0)

    def count(self, signals: Sequence[ArticleSignals]) -> None:
        for sig in signals:
            self.count_keys(sig.id, sig.counted_keys())

    def count_keys(self, doc_id: str, keys: Iterable[str]) -> None:
        """Count one article by its ``counted_keys`` (a statistics sample needs no more)."""
        if doc_id in self._counted:
            return
        self._counted.add(doc_id)
        self._df.update(keys)

    def candidates(self, signals: ArticleSignals, options: DedupOptions) -> list[ArticleSignals]:
        # Keys held by many articles say little and cost much: they are not followed. The cap
        # is a share of the collection, bounded on both sides, so per-article cost stays
        # bounded as the collection grows.
        cap = min(
            options.max_key_df,
            max(options.min_key_df_cap, int(options.max_key_df_fraction * self.n_docs)),
        )
        own_ts = _timestamp(signals)
        bucket = self._bucket_of(own_ts)
        # Held articles are reached within the widest window; each pair's own window is below.
        reach = math.ceil(options.low_confidence_window_hours * 3600.0 / self._bucket_seconds)
        lo, hi = (bucket - reach, bucket + reach) if bucket is not None else (0, 0)
        postings = self._postings
        reached: list[list[int]] = []  # posting lists followed, as held articles' numbers ...
        key_weights: list[float] = []  # ... and the weight of the key each came from
        for key in signals.query_keys():
            by_bucket = postings.get(key)
            if by_bucket is None:
                continue
            exact = key[0] in "uh"  # identical text or URL is always worth following, at any time
            df = self._df.get(key, 0)
            if not exact and df > cap:
                continue
            weight = 1.0 / math.log(2 + df)
            for held_bucket, held in by_bucket.items():
                if exact or bucket is None or held_bucket is None or lo <= held_bucket <= hi:
                    reached.append(held)
                    key_weights.append(weight)
        out: list[ArticleSignals] = []
        held_ts = self._published_ts
        for group in self._ranked(signals.id, reached, key_weights, options.min_shared_keys):
            for other_id in group:
                other = self._signals[other_id]
                other_ts = held_ts[other_id]
                if own_ts is not None and other_ts is not None:
                    window = options.window_for(signals.published_confidence, other.published_confidence)
                    if abs(own_ts - other_ts) / 3600.0 > window:
                        continue
                out.append(other)
                if len(out) >= options.max_candidates:
                    return out
        return out

    def _ranked(
        self, own_id: str, reached: list[list[int]], key_weights: list[float], min_shared_keys: int
    ) -> Iterator[list[str]]:
        """Held articles reached, best first, as groups of equal weight each in id order."""
        if not reached:
            return
        # Summed in C: each held article's weights are added in key order from 0.0, as a loop
        # over the keys would add them (so the same sums, to the last bit).
        numbers = np.fromiter(itertools.chain.from_iterable(reached), dtype=np.intp)
        lengths = np.fromiter(map(len, reached), dtype=np.intp, count=len(reached))
        sums = np.bincount(numbers, weights=np.repeat(key_weights, lengths), minlength=len(self._ids))
        own = self._number.get(own_id)
        if own is not None:
            sums[own] = 0.0
        if min_shared_keys > 1:
            # One shared name is how unrelated articles look; copies share many band keys and
            # same-story reports share several names or quote shingles.
            sums[np.bincount(numbers, minlength=len(self._ids)) < min_shared_keys] = 0.0
        found = np.flatnonzero(sums)  # every key weight is > 0, so reached means non-zero
        by_weight = np.argsort(-sums[found], kind="stable")
        ranked_sums = sums[found][by_weight].tolist()
        ranked_numbers = found[by_weight].tolist()
        ids = self._ids
        start = 0
        while start < len(ranked_numbers):
            end = start + 1
            while end < len(ranked_numbers) and ranked_sums[end] == ranked_sums[start]:
                end += 1
            yield sorted(ids[n] for n in ranked_numbers[start:end])
            start = end

    def put(self, signals: ArticleSignals, edges: Sequence[Edge]) -> None:
        if signals.id not in self._signals:
            ts = self._published_ts[signals.id] = _timestamp(signals)
            bucket = self._bucket_of(ts)
            number = self._number[signals.id] = len(self._ids)
            self._ids.append(signals.id)
            postings = self._postings
            wanted = self._only_keys
            for key in signals.query_keys() if wanted is None else _wanted_keys(signals, wanted):
                by_bucket = postings.get(key)
                if by_bucket is None:
                    postings[key] = {bucket: [number]}
                elif bucket in by_bucket:
                    by_bucket[bucket].append(number)
                else:
                    by_bucket[bucket] = [number]
        self._signals[signals.id] = signals
        for e in edges:
            self._edges[e.a].append(e)
            self._edges[e.b].append(e)

    def _bucket_of(self, ts: float | None) -> int | None:
        return None if ts is None else int(ts // self._bucket_seconds)

    def get(self, ids: Iterable[str]) -> dict[str, ArticleSignals]:
        return {i: self._signals[i] for i in ids if i in self._signals}

    def edges_of(self, ids: Iterable[str]) -> list[Edge]:
        out: dict[tuple[str, str], Edge] = {}
        for i in ids:
            for e in self._edges.get(i, ()):
                out[(e.a, e.b)] = e
        return list(out.values())

    def assignments(self, ids: Iterable[str]) -> dict[str, StoryAssignment]:
        return {i: self._assignments[i] for i in ids if i in self._assignments}

    def put_assignments(self, assignments: Sequence[StoryAssignment]) -> None:
        for a in assignments:
            self._assignments[a.id] = a

    def __len__(self) -> int:
        return len(self._signals)


def _wanted_keys(signals: ArticleSignals, wanted: dict[str, frozenset[str]]) -> list[str]:
    """``signals.query_keys()`` that are in ``wanted`` (unprefixed keys by prefix)."""
    empty: frozenset[str] = frozenset()
    keys = [f"b:{k}" for k in wanted.get("b:", empty).intersection(signals.band_keys)]  # in C
    keys += [f"e:{k}" for k in wanted.get("e:", empty).intersection(signals.entities)]
    keys += [f"q:{k}" for k in wanted.get("q:", empty).intersection(signals.quote_keys)]
    keys += [f"l:{t}" for t in wanted.get("l:", empty).intersection(signals.lede_keys)]
    if signals.content_hash in wanted.get("h:", empty):
        keys.append(f"h:{signals.content_hash}")
    if signals.canonical_url and signals.canonical_url in wanted.get("u:", empty):
        keys.append(f"u:{signals.canonical_url}")
    return keys


def _timestamp(signals: ArticleSignals) -> float | None:
    published = signals.published_at()
    return None if published is None else published.timestamp()
