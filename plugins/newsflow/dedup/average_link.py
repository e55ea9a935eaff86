"""Average link over scored edges: two groups merge while the mean over their cross pairs
reaches the link threshold (``clusterer.partition`` says why average rather than single link).

The best pair is taken from a heap (highest mean, then smallest key, so ties are order-free);
entries made stale by a merge are skipped by their groups' versions, so a merge costs the
merged group's neighbours rather than a scan of every linked pair. Two groups holding an
apart pair are never merged; the next best pair is tried.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable
from typing import TypeVar

from newsflow.dedup.corrections import Corrections
from newsflow.dedup.unscored import Unscored


class Apart:
    """Which groups may not become one: an analyst said two of their articles are apart
    (``corrections``). Without such pairs every check is one dictionary test."""

    def __init__(self, corrections: Corrections) -> None:
        self.pairs = corrections.apart

    def __bool__(self) -> bool:
        return bool(self.pairs)

    def blocked(self, one: Iterable[str], other: Iterable[str]) -> bool:
        if not self.pairs:
            return False
        others = set(other)
        return any(not self.pairs.get(m, frozenset()).isdisjoint(others) for m in one)


_Number = TypeVar("_Number", int, float)


def _fold(links: dict[str, dict[str, _Number]], keep: str, gone: str) -> None:
    """``gone``'s links added to ``keep``'s, ``gone`` dropped."""
    kept = links[keep]
    kept.pop(gone, None)
    for other, value in links.pop(gone).items():
        if other != keep:
            del links[other][gone]
            kept[other] = links[other][keep] = kept[other] + value if other in kept else value


class AverageLink:
    """Groups (by key, merged in place) with their sizes, and what links each two of them.

    With ``unscored``, when no linked pair of groups reaches the threshold, the pair whose
    unscored pairs could lift it there furthest has them scored (``dedup.unscored``), and
    merging goes on.
    """

    def __init__(
        self,
        groups: dict[str, list[str]],
        sizes: dict[str, int],
        threshold: float,
        apart: Apart,
        unscored: Unscored | None = None,
    ) -> None:
        self.groups = groups
        self.sizes = sizes
        self.threshold = threshold
        self.apart = apart
        self.unscored = unscored
        self.totals: dict[str, dict[str, float]] = {g: {} for g in groups}  # sum of cross pair scores
        self.counts: dict[str, dict[str, int]] = {g: {} for g in groups}  # cross pairs scored
        self.version = dict.fromkeys(groups, 0)
        self.heap: list[tuple[float, str, str, int, int]] = []

    def merge(self, sums: dict[tuple[str, str], float], scored: dict[tuple[str, str], int]) -> None:
        """Merge from the groups' cross-pair ``sums`` and how many pairs were ``scored``
        (also between groups no edge links: pairs found unlinked count)."""
        for (x, y), total in sums.items():
            self.totals[x][y] = self.totals[y][x] = total
            self._push(x, y)
        for (x, y), n in scored.items():
            self.counts[x][y] = self.counts[y][x] = n
        while True:
            self._merge_while_linked()
            if self.unscored is None or not self._score_unscored(self.unscored):
                return

    def _push(self, x: str, y: str) -> None:
        x, y = min(x, y), max(x, y)
        mean = self.totals[x][y] / (self.sizes[x] * self.sizes[y])
        heapq.heappush(self.heap, (-mean, x, y, self.version[x], self.version[y]))

    def _merge_while_linked(self) -> None:
        heap, version = self.heap, self.version
        while heap:
            negative_mean, keep, gone, v_keep, v_gone = heapq.heappop(heap)
            if version.get(keep) != v_keep or version.get(gone) != v_gone:
                continue  # a group of this pair has changed since the entry was pushed
            if -negative_mean < self.threshold:
                return
            if self.apart.blocked(self.groups[keep], self.groups[gone]):
                continue
            self.groups[keep].extend(self.groups.pop(gone))
            self.sizes[keep] += self.sizes.pop(gone)
            del version[gone]
            version[keep] += 1
            _fold(self.totals, keep, gone)
            _fold(self.counts, keep, gone)
            for other in self.totals[keep]:
                self._push(keep, other)

    def _score_unscored(self, unscored: Unscored) -> bool:
        """Score the unscored pairs of the linked groups that could reach the threshold
        furthest (ties by key, so the order is the groups', not the input's), where the pairs
        scored so far say one story; True if that settled a pair of groups."""
        best: tuple[float, str, str] | None = None
        for x, linked in self.totals.items():
            for y, total in linked.items():
                if y <= x:
                    continue  # each pair of groups once
                pairs, n = self.sizes[x] * self.sizes[y], self.counts[x].get(y, 0)
                could = (total + pairs - n) / pairs
                if not n or n >= pairs or could < self.threshold or total / n < self.threshold:
                    continue
                if best is None or (-could, x, y) < best:
                    best = (-could, x, y)
        if best is None:
            return False
        _, x, y = best
        if not self.apart.blocked(self.groups[x], self.groups[y]):  # else never merged: no need
            small, large = (x, y) if self.sizes[x] <= self.sizes[y] else (y, x)
            added = unscored.score(unscored.missing(self.groups[small], self.groups[large]))
            if added is None:
                return False
            self.totals[x][y] = self.totals[y][x] = self.totals[x][y] + added
            self._push(x, y)
        self.counts[x][y] = self.counts[y][x] = self.sizes[x] * self.sizes[y]
        return True
