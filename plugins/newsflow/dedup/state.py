"""The dedup stage as an explicit object: options plus a ``CandidateSource``.

``DedupState`` holds no hidden state of its own: everything a second worker would need
(held signals, document frequencies, edges, assignments) lives in the source. Adding
articles holds the whole batch, scores each new article against its candidates (pure
``score_many``; a pair two new articles find from both sides keeps its more cautious edge),
stores the edges, then re-partitions the new articles with the held stories they link to (pure
``partition``/``assign``) and reports stories that merged. A held story that no new article
links to is not decided again, so a batch costs what it touches, not what is held.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from functools import partial

from newsflow.dedup.candidates import CandidateSource, InMemoryCandidateSource
from newsflow.dedup.clusterer import assign, joining_edge, partition_under
from newsflow.dedup.corrections import NO_CORRECTIONS, Corrections
from newsflow.dedup.options import DedupOptions
from newsflow.dedup.signals import ArticleSignals
from newsflow.dedup.similarity import Edge, score_many
from newsflow.dedup.weighting import Prepared, prepare
from newsflow.records import StoryAssignment

logger = logging.getLogger(__name__)

_PREPARED_CACHE_LIMIT = 20_000
# Pairs a partition may score that the look-ups left out (``dedup.unscored``), as a multiple of
# what its new articles' look-ups may score (``max_candidates`` each): 300 retellings of an
# event ended in 11 stories with 1, 5.5 with 3 and 5.0 with 10 (``bench/big_story.py
# --with-neus --events 2``, the mean of the two events).
UNSCORED_BUDGET = 3


@dataclass(frozen=True, slots=True)
class MergeEvent:
    """Stories that became one because of newly added articles."""

    story_id: str  # the surviving story id (from the merged story's representative)
    merged: tuple[str, ...]  # previous story ids now inside ``story_id`` (one: the story was renamed)
    by: tuple[str, ...]  # the newly added article ids in the merged story

    def to_dict(self) -> dict[str, object]:
        return {"story_id": self.story_id, "merged": list(self.merged), "by": list(self.by)}


@dataclass(frozen=True, slots=True)
class SplitEvent:
    """Reports that left a story which lives on under its id: parted from it by new reports'
    evidence or by an analyst's correction. No id moved, so nothing is redirected; the
    history says where the reports went."""

    story_id: str  # the story the reports are in now
    split_from: str  # the story they left, which keeps its id
    moved: tuple[str, ...]  # the reports that left it

    def to_dict(self) -> dict[str, object]:
        return {"story_id": self.story_id, "split_from": self.split_from, "moved": list(self.moved)}


@dataclass(frozen=True, slots=True)
class DedupResult:
    """Assignments that are new or changed by an ``add`` call, and the merges and splits it caused."""

    assignments: tuple[StoryAssignment, ...]
    merges: tuple[MergeEvent, ...]
    splits: tuple[SplitEvent, ...] = ()


def _split_off(
    group: Sequence[str], story_id: str, previous: dict[str, StoryAssignment], surviving: set[str]
) -> list[SplitEvent]:
    """The reports of ``group`` that left another story which lives on, by the story they left."""
    left: dict[str, list[str]] = {}
    for i in group:
        before = previous.get(i)
        if before is not None and before.story_id != story_id and before.story_id in surviving:
            left.setdefault(before.story_id, []).append(i)
    return [SplitEvent(story_id, old, tuple(sorted(ids))) for old, ids in sorted(left.items())]


def link(new: Prepared, candidates: Sequence[Prepared], options: DedupOptions) -> list[Edge]:
    """Edges from a new article to its candidates (pure: prepared signals in, edges out)."""
    return [edge for edge in score_many(new, candidates, options) if edge is not None]


def _more_cautious(edge: Edge, other: Edge) -> bool:
    """Of one pair scored from both sides, the edge to keep: the lower score (the two differ
    only by rounding, as each side sums its overlaps in its own order), ties going to the
    edge from the smaller id, so the choice never depends on the order of the batch."""
    return (edge.score, edge.a) < (other.score, other.a)


class DedupState:
    """Options plus the source the stage reads and writes; see module docstring."""

    def __init__(
        self,
        options: DedupOptions | None = None,
        source: CandidateSource | None = None,
        corrections: Corrections = NO_CORRECTIONS,
    ) -> None:
        self.options = options or DedupOptions()
        self.source: CandidateSource = source if source is not None else InMemoryCandidateSource()
        # An analyst's corrections among the held articles: every partition respects them.
        self.corrections = corrections
        # Prepared (IDF-weighted) signals are a cache, kept until the collection has grown by
        # ``stats_refresh_fraction``: IDF moves slowly, and re-weighting every held candidate
        # after each single article would dominate the cost of streaming one at a time.
        self._prepared: dict[str, Prepared] = {}
        self._idf: dict[str, float] = {}
        self._prepared_at = -1

    def _prepare(self, sig: ArticleSignals) -> Prepared:
        n_docs = self.source.n_docs
        if n_docs < self._prepared_at or n_docs > self._prepared_at * (
            1 + self.options.stats_refresh_fraction
        ):
            self._prepared.clear()
            self._idf.clear()
            self._prepared_at = n_docs
        if len(self._prepared) > _PREPARED_CACHE_LIMIT:
            self._prepared.clear()  # bounded memory; only recent candidates are worth keeping
            self._idf.clear()
        cached = self._prepared.get(sig.id)
        if cached is None or cached.sig is not sig:
            cached = self._prepared[sig.id] = prepare(sig, self.source, self._idf)
        return cached

    def add(self, batch: Sequence[ArticleSignals]) -> DedupResult:
        """Add a batch (compared with each other and with everything held)."""
        held = self.source.get(s.id for s in batch)
        new = []
        seen: set[str] = set()
        for sig in batch:
            if sig.id in held or sig.id in seen:
                logger.warning("dedup: article %s is already held; ignoring the repeat", sig.id)
                continue
            seen.add(sig.id)
            new.append(sig)
        # Count the whole batch first so every pair in it is weighted by the same statistics,
        # whatever order the batch is in.
        self.source.count(new)
        self._idf.clear()  # counts moved: IDF is memoised only within one add
        # Likewise the whole batch is held before any of it is scored, so each article meets
        # the same candidates (and weighs names among the same neighbours) in any order.
        for sig in new:
            self.source.put(sig, [])
        found: dict[tuple[str, str], Edge] = {}
        for sig in new:
            candidates = [self._prepare(c) for c in self.source.candidates(sig, self.options)]
            for edge in link(self._prepare(sig), candidates, self.options):
                pair = (edge.a, edge.b) if edge.a < edge.b else (edge.b, edge.a)
                other = found.get(pair)
                if other is None or _more_cautious(edge, other):
                    found[pair] = edge
        owned: dict[str, list[Edge]] = {}
        for edge in found.values():
            owned.setdefault(edge.a, []).append(edge)
        for sig in new:
            self.source.put(sig, owned.get(sig.id, []))
        return self._repartition([s.id for s in new])

    def _together_edges(self, ids: list[str]) -> list[Edge]:
        """The analyst's together pairs from ``ids`` to articles held (one not held yet is
        joined when it arrives)."""
        if not self.corrections.together:
            return []
        edges = self.corrections.together_edges(ids)
        held = self.source.get({i for e in edges for i in (e.a, e.b)})
        return [e for e in edges if e.a in held and e.b in held]

    def component(self, start: str, done: set[str], new: set[str]) -> tuple[set[str], list[Edge]]:
        """The articles whose stories the new ones around ``start`` may change, and every edge
        among them.

        An edge is followed only where it can join two groups (``joining_edge``): weaker
        edges still weigh in the averages of the articles they connect, but groups linked by
        nothing stronger never merge (political news chains thousands of articles through
        weak edges on common names). And it is followed only from or to a new article, or
        within one held story: a held story no new article reaches keeps the partition it got
        when its own articles arrived. Otherwise a recurring kind of event (a daily market
        report, the same template with other numbers) chains stories day after day, and every
        batch would re-partition all of them, at a cost that grows with everything held.
        This is what the Elasticsearch backend sees as well (the batch, its candidates' whole
        stories and their edges). Within one batch every new article is re-partitioned with
        all it can join, so a batch's stories do not depend on its order.
        """
        members = {start}
        frontier = [start]
        edges: dict[tuple[str, str], Edge] = {}
        story: dict[str, str] = {}
        joins = joining_edge(self.options)

        def followed(e: Edge) -> bool:
            if not joins(e):
                return False
            if e.a in new or e.b in new:
                return True
            return e.a in story and story[e.a] == story.get(e.b)

        while frontier:
            if len(members) >= self.options.max_component:
                logger.info(
                    "dedup: linked group around %s exceeds %d articles; re-partitioning only that part",
                    start,
                    self.options.max_component,
                )
                break
            found = [*self.source.edges_of(frontier), *self._together_edges(frontier)]
            unknown = {n for e in found for n in (e.a, e.b) if n not in new and n not in story}
            story.update((i, a.story_id) for i, a in self.source.assignments(unknown).items())
            frontier = []
            for e in found:
                edges[(e.a, e.b)] = e
                if not followed(e):
                    continue
                for node in (e.a, e.b):
                    if node not in members and node not in done:
                        members.add(node)
                        frontier.append(node)
        kept = [e for e in edges.values() if e.a in members and e.b in members]
        return members, kept

    def repartition(self, ids: Sequence[str]) -> DedupResult:
        """Decide again the stories of held articles (``ids``) and all they link to, with the
        edges they have: after a correction, nothing is scored again."""
        held = self.source.get(ids)
        return self._repartition([i for i in dict.fromkeys(ids) if i in held])

    def _repartition(self, new_ids: list[str]) -> DedupResult:
        done: set[str] = set()
        changed: list[StoryAssignment] = []
        merges: list[MergeEvent] = []
        splits: list[SplitEvent] = []
        new_set = set(new_ids)
        for start in sorted(new_ids):
            if start in done:
                continue
            members, edges = self.component(start, done, new_set)
            done |= members
            previous = self.source.assignments(members)
            signals = self.source.get(members)
            languages = {i: sig.language for i, sig in signals.items()}
            found: list[Edge] = []
            groups = partition_under(
                self.options,
                members,
                edges,
                languages=languages,
                corrections=self.corrections,
                scorer=partial(self._score_pairs, signals=signals, found=found),
                cut=self.source.cut(members),
                budget=UNSCORED_BUDGET * self.options.max_candidates * len(members & new_set),
                unlinked=self.source.unlinked(members),
            )
            edges = [*edges, *found]
            # Each story's own edges, found in one pass (not every edge once per story).
            group_of = {m: n for n, group in enumerate(groups) for m in group}
            inside: list[list[Edge]] = [[] for _ in groups]
            for e in edges:
                if group_of[e.a] == group_of[e.b]:
                    inside[group_of[e.a]].append(e)
            decided = [assign(group, signals, own) for group, own in zip(groups, inside, strict=True)]
            surviving = {assignments[0].story_id for assignments in decided}
            for group, assignments in zip(groups, decided, strict=True):
                old_stories = sorted({previous[i].story_id for i in group if i in previous})
                # Two or more stories became one, or a story's id moved to a newly arrived
                # earlier representative: either way the old ids must be redirected. A part
                # split off a story that lives on under its id (a correction, or a re-partition
                # that parts two events) moved no id: nothing to redirect.
                moved = [s for s in old_stories if s != assignments[0].story_id and s not in surviving]
                if moved:
                    merges.append(
                        MergeEvent(
                            story_id=assignments[0].story_id,
                            merged=tuple(old_stories),
                            by=tuple(sorted(i for i in group if i in new_set)),
                        )
                    )
                splits.extend(_split_off(group, assignments[0].story_id, previous, surviving))
                for a in assignments:
                    if previous.get(a.id) != a:
                        changed.append(a)
        self.source.put_assignments(changed)
        return DedupResult(tuple(sorted(changed, key=lambda a: a.id)), tuple(merges), tuple(splits))

    def _score_pairs(
        self, pairs: Sequence[tuple[str, str]], *, signals: dict[str, ArticleSignals], found: list[Edge]
    ) -> list[Edge]:
        """Edges of held ``pairs`` no look-up scored (``dedup.unscored``), held as if the first
        article's look-up had reached the other, and the pairs that found none remembered as
        unlinked: later partitions need not score either again."""
        by_first: dict[str, list[str]] = {}
        for a, b in pairs:
            by_first.setdefault(a, []).append(b)
        out: list[Edge] = []
        for a in sorted(by_first):
            others = [self._prepare(signals[b]) for b in sorted(by_first[a])]
            out += link(self._prepare(signals[a]), others, self.options)
        owned: dict[str, list[Edge]] = {}
        for edge in out:
            owned.setdefault(edge.a, []).append(edge)
        for a, kept in owned.items():
            self.source.put(signals[a], kept)
        linked = {(e.a, e.b) for e in out} | {(e.b, e.a) for e in out}
        self.source.mark_unlinked(p for p in pairs if p not in linked)
        found += out
        return out

    def assignments(self, ids: Sequence[str]) -> dict[str, StoryAssignment]:
        return self.source.assignments(ids)
