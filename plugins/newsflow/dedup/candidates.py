"""Where held articles come from: the ``CandidateSource`` protocol and its in-memory form.

The dedup decision never scans everything held. A source answers "which held articles
share a keyword key with this one, within the time window" (band keys, name keys, quote
keys, lede terms, content hash, URL), which an Elasticsearch index answers with a ``terms`` query on
keyword fields plus a range filter on the publish time. It also keeps the scored edges
and current assignments, so a second worker sees exactly what the first one decided.
"""

from __future__ import annotations

import math
from array import array
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from typing import Protocol

import numpy as np
import numpy.typing as npt

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

    def cut(self, ids: Iterable[str]) -> set[str]:
        """Those of ``ids`` whose look-up reached more held articles than it scored: only their
        pairs can lack an edge for want of a candidate slot (``dedup.unscored``)."""

    def unlinked(self, ids: Iterable[str]) -> list[tuple[str, str]]:
        """Pairs among ``ids`` scored when a merge depended on them and found no edge
        (``dedup.unscored``), each once, the smaller id first."""

    def mark_unlinked(self, pairs: Iterable[tuple[str, str]]) -> None:
        """Remember held pairs scored without an edge, so no later partition asks again."""


class InMemoryCandidateSource:
    """Inverted index over query keys, for the offline CLI, tests and batch runs."""

    def __init__(self, *, only_keys: frozenset[str] | None = None) -> None:
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
        # Held articles are numbered in put order. Postings hold the numbers, one flat array
        # per key: a key is followed only while few articles hold it (``candidates``), so its
        # whole list is short, and the time window is applied to what a look-up reached, at
        # once, as publish times by number (POSIX seconds, NaN: undated) with whether each
        # date is low-confidence. Per-day buckets of Python lists cost more, in the look-up's
        # loop and in what the garbage collector walks, than reading a list whole: dedup took
        # 4.31 against 4.73 ms/article at 100k held (``bench/bench_dedup.py --sizes 100000``,
        # the two run side by side), for the same candidates. Most keys (band keys, quote
        # shingles) are held by one article only: such a posting is the article's number
        # itself, one object for all its keys, rather than an array of one (72 bytes a key,
        # some 2.5 KB an article held; docs/stories.md, "Memory").
        self._postings: dict[str, array[int] | int] = {}
        self._ts: npt.NDArray[np.float64] = np.empty(0)
        self._low: npt.NDArray[np.bool_] = np.empty(0, dtype=bool)
        self._ids: list[str] = []
        self._number: dict[str, int] = {}
        self._df: Counter[str] = Counter()
        self._counted: set[str] = set()
        self._edges: dict[str, list[Edge]] = defaultdict(list)
        self._assignments: dict[str, StoryAssignment] = {}
        self._cut: set[str] = set()
        # By held number, both ways: a partition reads the pairs among its members.
        self._unlinked: dict[int, array[int]] = {}

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
        postings = self._postings
        reached: list[array[int]] = []  # posting lists followed, as held articles' numbers ...
        key_weights: list[float] = []  # ... and the weight of the key each came from
        for key in signals.query_keys():
            held = postings.get(key)
            if held is None:
                continue
            df = self._df.get(key, 0)
            # Identical text or URL is always worth following; a common key is not.
            if df > cap and key[0] not in "uh":
                continue
            reached.append(array("q", (held,)) if isinstance(held, int) else held)
            key_weights.append(1.0 / math.log(2 + df))
        return self._ranked(signals, own_ts, reached, key_weights, options)

    def _ranked(
        self,
        signals: ArticleSignals,
        own_ts: float | None,
        reached: list[array[int]],
        key_weights: list[float],
        options: DedupOptions,
    ) -> list[ArticleSignals]:
        """The best ``max_candidates`` held articles reached within the pair's window, best first,
        ties in id order."""
        if not reached:
            return []
        n_held = len(self._ids)
        # Summed in C: each held article's weights are added in key order from 0.0, as a loop
        # over the keys would add them (so the same sums, to the last bit).
        numbers = np.concatenate([np.frombuffer(held, dtype=np.int64) for held in reached])
        lengths = np.fromiter(map(len, reached), dtype=np.intp, count=len(reached))
        sums = np.bincount(numbers, weights=np.repeat(key_weights, lengths), minlength=n_held)
        own = self._number.get(signals.id)
        if own is not None:
            sums[own] = 0.0
        if options.min_shared_keys > 1:
            # One shared name is how unrelated articles look; copies share many band keys and
            # same-story reports share several names or quote shingles.
            sums[np.bincount(numbers, minlength=n_held) < options.min_shared_keys] = 0.0
        found = np.flatnonzero(sums)  # every key weight is > 0, so reached means non-zero
        if own_ts is not None:
            # Each pair's own window (wider when either date is low-confidence), for all the
            # reached articles at once; undated held articles have no window to fall outside of.
            held_ts = self._ts[found]
            window = np.where(
                self._low[found] | (signals.published_confidence == "low"),
                options.window_for("low"),
                options.window_for("high"),
            )
            found = found[np.isnan(held_ts) | ~(np.abs(own_ts - held_ts) / 3600.0 > window)]
        if len(found) > options.max_candidates:
            self._cut.add(signals.id)
        by_weight = np.argsort(-sums[found], kind="stable")
        ranked_sums = sums[found][by_weight].tolist()
        ranked_numbers = found[by_weight].tolist()
        ids, held = self._ids, self._signals
        out: list[ArticleSignals] = []
        start = 0
        while start < len(ranked_numbers) and len(out) < options.max_candidates:
            end = start + 1
            while end < len(ranked_numbers) and ranked_sums[end] == ranked_sums[start]:
                end += 1
            group = sorted(ids[n] for n in ranked_numbers[start:end])
            out += (held[i] for i in group[: options.max_candidates - len(out)])
            start = end
        return out

    def put(self, signals: ArticleSignals, edges: Sequence[Edge]) -> None:
        if signals.id not in self._signals:
            ts = _timestamp(signals)
            number = self._number[signals.id] = len(self._ids)
            self._ids.append(signals.id)
            self._hold_time(number, ts)
            postings = self._postings
            wanted = self._only_keys
            for key in signals.query_keys() if wanted is None else _wanted_keys(signals, wanted):
                held = postings.get(key)
                if held is None:
                    postings[key] = number
                elif isinstance(held, int):
                    postings[key] = array("q", (held, number))
                else:
                    held.append(number)
        self._signals[signals.id] = signals
        self._low[self._number[signals.id]] = signals.published_confidence == "low"
        for e in edges:
            self._edges[e.a].append(e)
            self._edges[e.b].append(e)

    def _hold_time(self, number: int, ts: float | None) -> None:
        """The publish time of a newly held article (the arrays grow by doubling)."""
        if number >= len(self._ts):
            size = max(1024, 2 * len(self._ts))
            self._ts = np.concatenate([self._ts, np.full(size - len(self._ts), np.nan)])
            self._low = np.concatenate([self._low, np.zeros(size - len(self._low), dtype=bool)])
        self._ts[number] = np.nan if ts is None else ts

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

    def cut(self, ids: Iterable[str]) -> set[str]:
        return {i for i in ids if i in self._cut}

    def mark_cut(self, ids: Iterable[str]) -> None:
        """Take these articles' look-ups as cut (held ones whose look-up is not known)."""
        self._cut.update(ids)

    def unlinked(self, ids: Iterable[str]) -> list[tuple[str, str]]:
        numbers = {self._number[i] for i in ids if i in self._number}
        pairs = {(n, m) for n in numbers for m in self._unlinked.get(n, ()) if n < m and m in numbers}
        out = [(self._ids[n], self._ids[m]) for n, m in pairs]
        return sorted((a, b) if a < b else (b, a) for a, b in out)

    def mark_unlinked(self, pairs: Iterable[tuple[str, str]]) -> None:
        number = self._number
        for a, b in pairs:
            if a in number and b in number:
                for one, other in ((number[a], number[b]), (number[b], number[a])):
                    held = self._unlinked.get(one)
                    if held is None:
                        self._unlinked[one] = array("q", (other,))
                    else:
                        held.append(other)

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
