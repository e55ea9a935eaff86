"""Average link scores the pairs a cut look-up left out, where a merge depends on them."""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import replace

import pytest

from newsflow.dedup import DedupOptions, DedupState, compute_signals
from newsflow.dedup import state as dedup_state
from newsflow.dedup.clusterer import partition
from newsflow.dedup.similarity import Edge
from tests.unit.dedup_texts import BACKGROUND, REID_1, REID_2

X, Y = ["a1", "a2", "a3"], ["b1", "b2", "b3"]
# Two tight groups of three, of which two cross pairs were scored: strong, but 2 of 9.
EDGES = [
    *(Edge(p, q, "same_story", 0.9, ()) for g in (X, Y) for i, p in enumerate(g) for q in g[i + 1 :]),
    Edge("a1", "b1", "same_story", 0.9, ()),
    Edge("a2", "b2", "same_story", 0.9, ()),
]


class Scorer:
    """Scores every pair it is asked at ``score`` (None: finds no edge), and remembers them."""

    def __init__(self, score: float | None = 0.9) -> None:
        self.score = score
        self.asked: list[tuple[str, str]] = []

    def __call__(self, pairs: Sequence[tuple[str, str]]) -> list[Edge]:
        self.asked += pairs
        if self.score is None:
            return []
        return [Edge(a, b, "same_story", self.score, ()) for a, b in pairs]


def _groups(
    scorer: Scorer | None, *, cut: frozenset[str] = frozenset(X + Y), budget: int = 100
) -> list[list[str]]:
    return partition(X + Y, EDGES, 0.55, scorer=scorer, cut=cut, budget=budget)


def test_unscored_pairs_between_linked_groups_are_scored_and_join_them() -> None:
    assert _groups(None) == [X, Y]  # counted as 0: mean 1.8 / 9
    scorer = Scorer()
    assert _groups(scorer) == [X + Y]
    assert sorted(tuple(sorted(p)) for p in scorer.asked) == sorted(
        (a, b) for a in X for b in Y if (a, b) not in {("a1", "b1"), ("a2", "b2")}
    )


def test_pairs_the_model_finds_apart_keep_the_groups_apart() -> None:
    scorer = Scorer(None)
    assert _groups(scorer) == [X, Y]
    assert len(scorer.asked) == 7


def test_pairs_no_cut_look_up_could_have_missed_stay_at_zero() -> None:
    scorer = Scorer()
    assert _groups(scorer, cut=frozenset()) == [X, Y]
    assert scorer.asked == []
    # One cut article: only its own pairs may be missing for want of a slot.
    scorer = Scorer()
    assert _groups(scorer, cut=frozenset({"a3"})) == [X, Y]  # 1.8 + 3 * 0.9 over 9 is 0.5
    assert sorted(scorer.asked) == [("a3", "b1"), ("a3", "b2"), ("a3", "b3")]


def test_a_budget_too_small_for_the_pairs_scores_none() -> None:
    scorer = Scorer()
    assert _groups(scorer, budget=6) == [X, Y]
    assert scorer.asked == []


def test_scored_pairs_that_say_apart_are_not_second_guessed() -> None:
    weak = [e for e in EDGES if e.a[0] == e.b[0]] + [Edge("a1", "b1", "same_story", 0.4, ())]
    scorer = Scorer()
    assert partition(X + Y, weak, 0.55, scorer=scorer, cut=frozenset(X + Y), budget=100) == [X, Y]
    assert scorer.asked == []


def test_the_outcome_does_not_depend_on_input_order() -> None:
    rng = random.Random(3)
    for _ in range(5):
        ids, edges = X + Y, list(EDGES)
        rng.shuffle(ids)
        rng.shuffle(edges)
        assert partition(ids, edges, 0.55, scorer=Scorer(), cut=frozenset(ids), budget=100) == [X + Y]


@pytest.mark.parametrize(("budget", "stories"), [(0, 2), (dedup_state.UNSCORED_BUDGET, 1)])
def test_a_story_whose_look_ups_were_cut_holds_together(
    monkeypatch: pytest.MonkeyPatch, budget: int, stories: int
) -> None:
    """Six reports of one event, two wordings three times each; each look-up scores 3
    candidates, and the copies of its own wording take most slots."""
    monkeypatch.setattr(dedup_state, "UNSCORED_BUDGET", budget)
    options = replace(DedupOptions(), max_candidates=3)
    state = DedupState(options)
    state.add([compute_signals(f"bg{i}", t, options) for i, t in enumerate(BACKGROUND)])
    reports = [
        compute_signals(f"r{i}", (REID_1 if i % 2 else REID_2) + f"\nFiled by desk {i * 7}.", options)
        for i in range(6)
    ]
    state.add(reports)
    assigned = state.assignments([r.id for r in reports])
    assert len({a.story_id for a in assigned.values()}) == stories


def test_pairs_found_unlinked_count_as_scored_and_are_not_asked_again() -> None:
    """A pair scored on demand that found no edge is scored for good, at 0."""
    scorer = Scorer()
    some = [("a3", "b1"), ("b2", "a3"), ("a3", "b3")]
    assert partition(X + Y, EDGES, 0.55, scorer=scorer, cut=frozenset(X + Y), budget=100, unlinked=some) == [
        X,
        Y,
    ]
    # 2 edges of 0.9 and 3 known zeros: what was scored no longer says one story.
    assert scorer.asked == []
    scorer = Scorer()
    known = [("a3", "b3")]  # 1.8 over 3 scored pairs still says one story: the other 6 are asked
    assert partition(X + Y, EDGES, 0.55, scorer=scorer, cut=frozenset(X + Y), budget=100, unlinked=known) == [
        X + Y
    ]
    assert len(scorer.asked) == 6 and ("a3", "b3") not in scorer.asked
    # Pairs outside the partition, or already edges, change nothing.
    scorer = Scorer()
    others = [("a1", "b1"), ("a1", "zz")]
    assert partition(
        X + Y, EDGES, 0.55, scorer=scorer, cut=frozenset(X + Y), budget=100, unlinked=others
    ) == [X + Y]
    assert len(scorer.asked) == 7


def test_the_source_remembers_pairs_scored_without_an_edge() -> None:
    """``DedupState`` marks the pairs it scored on demand and found no edge for, and the source
    gives back those among any articles, each once, the smaller id first."""
    from newsflow.dedup.candidates import InMemoryCandidateSource

    options = DedupOptions()
    state = DedupState(options)
    held = [compute_signals(f"bg{i}", t, options) for i, t in enumerate(BACKGROUND)]
    reid = compute_signals("reid", REID_1, options)
    state.add([*held, reid])
    signals = {s.id: s for s in [*held, reid]}
    edges = state._score_pairs([("reid", "bg0"), ("bg2", "bg1")], signals=signals, found=[])
    assert edges == []
    source = state.source
    assert isinstance(source, InMemoryCandidateSource)
    assert source.unlinked(["bg0", "bg1", "bg2", "reid"]) == [("bg0", "reid"), ("bg1", "bg2")]
    assert source.unlinked(["bg0", "bg1", "bg3"]) == []
    source.mark_unlinked([("bg3", "nobody")])  # an article not held is not remembered
    assert source.unlinked(["bg3", "nobody"]) == []
