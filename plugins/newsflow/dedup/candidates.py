"""Where held articles come from: the ``CandidateSource`` protocol and its in-memory form.

The dedup decision never scans everything held. A source answers "which held articles
share a keyword key with this one, within the time window" (band keys, name keys, quote
keys, content hash, URL), which an Elasticsearch index answers with a ``terms`` query on
keyword fields plus a range filter on the publish time. It also keeps the scored edges
and current assignments, so a second worker sees exactly what the first one decided.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from typing import Protocol

from newsflow.dedup.options import DedupOptions
from newsflow.dedup.signals import ArticleSignals
from newsflow.dedup.similarity import Edge, gap_hours
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
        # Postings are split by publish-time bucket (undated articles under None), so a
        # query reads only the buckets within the window, as an index's range filter would.
        self._bucket_seconds = bucket_hours * 3600.0
        # When every article that will ever be queried is known up front (a pipeline batch
        # against its neighbourhood), postings of other keys can never be read: skip them.
        self._only_keys = only_keys
        self._signals: dict[str, ArticleSignals] = {}
        # Postings per publish-time bucket, then per key: an article's keys all land in one
        # bucket, so adding it touches one bucket's table.
        self._postings: dict[int | None, defaultdict[str, list[str]]] = {}
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
        bucket = self._bucket(signals)
        reach = math.ceil(options.window_hours * 3600.0 / self._bucket_seconds)
        in_window: list[int | None] = [None]
        if bucket is not None:
            in_window += list(range(bucket - reach, bucket + reach + 1))
        weights: dict[str, float] = {}
        # Every article reached shares at least one key, so counting is needed only for more.
        shared: Counter[str] | None = Counter() if options.min_shared_keys > 1 else None
        postings = self._postings
        all_buckets = [postings[b] for b in postings]
        window_buckets = all_buckets if bucket is None else [postings[b] for b in in_window if b in postings]
        for key in signals.query_keys():
            exact = key[0] in "uh"  # identical text or URL is always worth following, at any time
            df = self._df.get(key, 0)
            if not exact and df > cap:
                continue
            weight = 1.0 / math.log(2 + df)
            # Each held article sits in one bucket, so the bucket order does not change any sum.
            for table in all_buckets if exact else window_buckets:
                held = table.get(key)
                if not held:
                    continue
                if shared is not None:
                    shared.update(held)  # counted in C; the weights need the loop
                for held_id in held:
                    weights[held_id] = weights.get(held_id, 0.0) + weight
        weights.pop(signals.id, None)
        # One shared name is how unrelated articles look; copies share many band keys and
        # same-story reports share several names or quote shingles.
        ranked = sorted(
            ((k, w) for k, w in weights.items() if shared is None or shared[k] >= options.min_shared_keys),
            key=lambda kv: (-kv[1], kv[0]),
        )
        out = []
        for other_id, _ in ranked:
            other = self._signals[other_id]
            gap = gap_hours(signals, other)
            if gap is not None and gap > options.window_hours:
                continue
            out.append(other)
            if len(out) >= options.max_candidates:
                break
        return out

    def put(self, signals: ArticleSignals, edges: Sequence[Edge]) -> None:
        if signals.id not in self._signals:
            bucket = self._bucket(signals)
            keys: Iterable[str] = signals.query_keys()
            if self._only_keys is not None:
                keys = self._only_keys.intersection(keys)  # in C; each key's postings keep put order
            table = self._postings.get(bucket)
            if table is None:
                table = self._postings[bucket] = defaultdict(list)
            for key in keys:
                table[key].append(signals.id)
        self._signals[signals.id] = signals
        for e in edges:
            self._edges[e.a].append(e)
            self._edges[e.b].append(e)

    def _bucket(self, signals: ArticleSignals) -> int | None:
        published = signals.published_at()
        return None if published is None else int(published.timestamp() // self._bucket_seconds)

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
