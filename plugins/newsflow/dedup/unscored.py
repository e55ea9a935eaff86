"""Pairs the look-up left unscored, scored when a merge depends on them.

Average link counts a pair without an edge as 0. That is right for a pair the model scored
below the edge threshold, and for two articles that share no look-up key, but not for a pair
the look-up never scored because each article is scored against at most ``max_candidates``
held articles. In a story told hundreds of times, an article's candidate slots go to the
retellings closest to it, so most pairs across the story are never scored, and groups whose
scored pairs are nearly all strong cannot merge: 300 reports of one event ended in 16 stories
(``bench/big_story.py``; docs/stories.md, "Big stories"). So when two groups are linked, their
mean is short of the link threshold, and their unscored pairs could still lift it there, those
pairs are scored now, with the same scorer as at arrival, and the mean is taken again.

Most such pairs find no edge. The source remembers them (``mark_unlinked``), and a later
partition counts them as scored at 0 rather than asking again: on the synthetic stream of
``bench/bench_dedup.py`` the same pairs were asked over and over as batches re-partitioned
their stories, 280,375 pairs in 6,602 fills, against 94,724 in 3,185 when remembered.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence, Set

from newsflow.dedup.similarity import Edge

# Scores the given pairs (``a`` of each first), returning the edges worth keeping.
PairScorer = Callable[[Sequence[tuple[str, str]]], list[Edge]]


class Unscored:
    """Which pairs of a partition have been scored, and the scorer for the rest.

    A pair is left at 0 unless one of its articles is in ``cut``: a look-up that scored all it
    reached has scored the pair, or the two share no key worth following. ``budget``: pairs it
    may score in one partition, so a partition costs at most a bounded multiple of what its new
    articles' own look-ups did. ``languages``: a pair of two known, different languages is
    never scored here (stories are decided per language first).
    """

    def __init__(
        self,
        scorer: PairScorer,
        scored: set[tuple[str, str]],
        *,
        cut: Set[str],
        budget: int,
        languages: Mapping[str, str | None] | None = None,
    ) -> None:
        self.scorer = scorer
        # (smaller id, larger id) of every pair with an edge, found unlinked before, or scored here
        self.scored = scored
        self.cut = cut  # articles whose look-up scored fewer held articles than it reached
        self.budget = budget
        self.languages = languages or {}
        self.spent = 0

    def missing(self, xs: Sequence[str], ys: Sequence[str]) -> list[tuple[str, str]]:
        """The pairs across ``xs`` and ``ys`` (each ``x`` first) a cut look-up may have left
        unscored and nothing has scored since (a pair of two known, different languages stays
        at 0)."""
        out = []
        for x in xs:
            x_cut = x in self.cut
            for y in ys:
                if not x_cut and y not in self.cut:
                    continue
                if ((x, y) if x < y else (y, x)) in self.scored:
                    continue
                lx, ly = self.languages.get(x), self.languages.get(y)
                if lx is not None and ly is not None and lx != ly:
                    continue
                out.append((x, y))
        return out

    def score(self, pairs: list[tuple[str, str]]) -> float | None:
        """Score ``pairs``; the sum of the edges found, or None when the budget cannot cover them."""
        if self.spent + len(pairs) > self.budget:
            return None
        self.spent += len(pairs)
        self.scored.update((x, y) if x < y else (y, x) for x, y in pairs)
        return sum(e.score for e in self.scorer(pairs))
