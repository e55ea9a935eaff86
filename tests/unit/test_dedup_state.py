"""The stage object: batches, merges when a late article links stories, order independence."""

from __future__ import annotations

import itertools
import random

from newsflow.dedup import DedupOptions, DedupState, compute_signals
from newsflow.dedup.signals import ArticleSignals
from tests.unit.dedup_texts import BACKGROUND, LOHAN, REID_1, REID_2

OPTIONS = DedupOptions()


def _random_text(name: str, seed: int, n: int = 300) -> str:
    rng = random.Random(seed)
    words = [f"w{rng.randrange(1_000_000)}" for _ in range(n)]
    return f"{name} reported. " + " ".join(words)


def _partition(state: DedupState, ids: list[str]) -> set[frozenset[str]]:
    by_story: dict[str, set[str]] = {}
    for a in state.assignments(ids).values():
        by_story.setdefault(a.story_id, set()).add(a.id)
    return {frozenset(v) for v in by_story.values()}


def test_late_article_linking_two_stories_merges_them_and_records_it() -> None:
    options = DedupOptions(near_duplicate_jaccard=0.4)
    a = compute_signals("a", _random_text("Zorblat Quenton", 1), options)
    b = compute_signals("b", _random_text("Mirelda Vost", 2), options)
    # A round-up that copies both reports is a near copy of each of them.
    c = compute_signals(
        "c", _random_text("Zorblat Quenton", 1) + " " + _random_text("Mirelda Vost", 2), options
    )
    state = DedupState(options)
    first = state.add([a])
    second = state.add([b])
    assert first.assignments[0].story_id != second.assignments[0].story_id
    assert not first.merges and not second.merges
    third = state.add([c])
    stories = {x.story_id for x in state.assignments(["a", "b", "c"]).values()}
    assert stories == {"s-c"}  # c is the longest undated article, so it represents the story
    assert len(third.merges) == 1
    merge = third.merges[0]
    assert merge.story_id == "s-c"
    assert merge.merged == ("s-a", "s-b")
    assert merge.by == ("c",)
    changed = {x.id: x for x in third.assignments}
    assert set(changed) == {"a", "b", "c"}
    assert changed["a"].relation == "near_duplicate" and changed["a"].duplicate_of == "c"


def _corpus() -> list[ArticleSignals]:
    texts = {
        "reid1": REID_1,
        "reid2": REID_2,
        "reid1-copy": REID_1 + " Updated with a photo.",
        "lohan": LOHAN,
        "lohan-exact": LOHAN,
        **{f"bg{i}": t for i, t in enumerate(BACKGROUND)},
    }
    return [compute_signals(k, v, OPTIONS) for k, v in texts.items()]


def test_batch_result_does_not_depend_on_order() -> None:
    corpus = _corpus()
    ids = [s.id for s in corpus]
    results = set()
    edges = set()
    for perm in itertools.islice(itertools.permutations(corpus), 0, 720, 97):
        state = DedupState(OPTIONS)
        state.add(list(perm))
        results.add(frozenset(_partition(state, ids)))
        # The same edges too, scores and all: every article meets the whole batch, and a pair
        # found from both sides keeps the same one of its two edges whichever arrived first.
        edges.add(frozenset(state.source.edges_of(ids)))
        assert state.assignments(["lohan-exact"])["lohan-exact"].relation == "exact"
    assert len(results) == 1
    assert len(edges) == 1
    partition = next(iter(results))
    assert frozenset({"reid1", "reid2", "reid1-copy"}) in partition
    assert frozenset({"lohan", "lohan-exact"}) in partition


def test_one_at_a_time_matches_batch() -> None:
    corpus = _corpus()
    ids = [s.id for s in corpus]
    batch = DedupState(OPTIONS)
    batch.add(corpus)
    for seed in range(3):
        order = corpus[:]
        random.Random(seed).shuffle(order)
        stream = DedupState(OPTIONS)
        for sig in order:
            stream.add([sig])
        assert _partition(stream, ids) == _partition(batch, ids)


def test_repeated_id_is_ignored_not_double_counted() -> None:
    state = DedupState(OPTIONS)
    sig = compute_signals("x", REID_1, OPTIONS)
    state.add([sig])
    again = state.add([sig, sig])
    assert again.assignments == ()
    assert state.source.n_docs == 1


def test_earlier_report_arriving_late_renames_the_story_and_says_so() -> None:
    state = DedupState(OPTIONS)
    later = compute_signals("later", REID_1, OPTIONS, published="2024-01-02T12:00:00Z")
    earlier = compute_signals("earlier", REID_2, OPTIONS, published="2024-01-02T08:00:00Z")
    assert state.add([later]).assignments[0].story_id == "s-later"
    result = state.add([earlier])
    assert {a.story_id for a in state.assignments(["later", "earlier"]).values()} == {"s-earlier"}
    assert [(m.story_id, m.merged) for m in result.merges] == [("s-earlier", ("s-later",))]


def test_a_source_keeping_only_the_queried_keys_finds_the_same_candidates() -> None:
    from newsflow.dedup import InMemoryCandidateSource

    dates = ["2013-03-01T08:00:00Z", "2013-03-02T08:00:00Z", "2013-03-05T08:00:00Z", None]
    held = [
        compute_signals(
            f"h{n}", text, OPTIONS, published=dates[n % 4], canonical_url=f"https://x.test/{n % 5}"
        )
        for n, text in enumerate([REID_1, REID_2, LOHAN, *BACKGROUND, REID_1 + " Update.", LOHAN])
    ]
    queried = [
        compute_signals("new1", REID_2 + " More.", OPTIONS, published=dates[1]),
        compute_signals("new2", LOHAN, OPTIONS, canonical_url="https://x.test/2"),
    ]
    only = frozenset(k for s in queried for k in s.query_keys())
    full, restricted = InMemoryCandidateSource(), InMemoryCandidateSource(only_keys=only)
    for source in (full, restricted):
        source.count([*held, *queried])
        for sig in held:
            source.put(sig, [])
    for sig in queried:
        expected = [c.id for c in full.candidates(sig, OPTIONS)]
        assert expected  # each shares keys with some held report (a name, a quote, a URL)
        assert [c.id for c in restricted.candidates(sig, OPTIONS)] == expected


def test_the_look_up_keeps_each_pairs_window_and_ranks_best_first_ties_by_id() -> None:
    """Held copies of one report, dated around the new one: only those within each pair's
    window are candidates (wider when either date is low-confidence, none for an undated
    article), best first, ties in id order, and ``max_candidates`` cuts inside a tie."""
    from newsflow.dedup import InMemoryCandidateSource

    def held(
        doc_id: str, published: str | None, confidence: str = "high", text: str = REID_2
    ) -> ArticleSignals:
        return compute_signals(doc_id, text, OPTIONS, published=published, published_confidence=confidence)

    new = held("new", "2024-01-10T10:00:00+00:00", text=REID_2 + " More.")
    assert OPTIONS.window_hours < 72 <= OPTIONS.low_confidence_window_hours < 144
    copies = [
        held("c-day-before", "2024-01-09T10:00:00+00:00"),
        held("b-three-days", "2024-01-13T10:00:00+00:00"),  # declared: beyond the 48 h window
        held("a-three-days-low", "2024-01-07T10:00:00+00:00", "low"),  # within 96 h
        held("d-six-days-low", "2024-01-16T10:00:00+00:00", "low"),  # beyond 96 h too
        held("e-undated", None),
        held("f-weeks-before", "2023-12-01T10:00:00+00:00"),
    ]
    weaker = held("g-same-day-fewer-keys", "2024-01-10T12:00:00+00:00", text=REID_1)
    source = InMemoryCandidateSource()
    source.count(
        [*copies, weaker, new, *(compute_signals(f"b{n}", t, OPTIONS) for n, t in enumerate(BACKGROUND))]
    )
    for sig in [*copies, weaker]:
        source.put(sig, [])
    # The copies share every key with the new report (a tie), the other Reid report fewer.
    ranked = [c.id for c in source.candidates(new, OPTIONS)]
    assert ranked == ["a-three-days-low", "c-day-before", "e-undated", "g-same-day-fewer-keys"]
    cut = DedupOptions(max_candidates=2)
    assert [c.id for c in source.candidates(new, cut)] == ["a-three-days-low", "c-day-before"]
    guessed = held("new-low", "2024-01-10T10:00:00+00:00", "low", text=REID_2 + " More.")
    assert "b-three-days" in [c.id for c in source.candidates(guessed, OPTIONS)]
    undated = held("new-undated", None, text=REID_2 + " More.")
    assert {c.id for c in source.candidates(undated, OPTIONS)} >= {c.id for c in copies}


def test_reports_in_their_own_words_without_a_shared_name_are_still_compared() -> None:
    """Lede terms are look-up keys: headlines of one event share its words, not always a name."""
    from newsflow.dedup import InMemoryCandidateSource

    first = compute_signals(
        "first",
        "Flood barrier fails as river bursts banks overnight\n"
        "Hundreds of homes were evacuated after the flood barrier failed when the swollen river "
        "burst its banks.",
        OPTIONS,
    )
    second = compute_signals(
        "second",
        "River bursts banks, flood barrier fails, homes evacuated\n"
        "A flood barrier gave way overnight and emergency crews moved families out of low streets.",
        OPTIONS,
    )
    assert not set(first.entities) & set(second.entities)
    assert not set(first.quote_keys) & set(second.quote_keys)
    source = InMemoryCandidateSource()
    source.count([first, second, *(compute_signals(f"b{n}", t, OPTIONS) for n, t in enumerate(BACKGROUND))])
    source.put(first, [])
    assert [c.id for c in source.candidates(second, OPTIONS)] == ["first"]


def test_a_weak_edge_does_not_pull_another_story_into_the_group_re_partitioned() -> None:
    """Weak edges chain unrelated stories (common names); following them would cut true
    stories at ``max_component``. The group stops where no edge could join two stories."""
    from newsflow.dedup.similarity import Edge

    options = DedupOptions(link_threshold=0.5, max_component=4)  # the weak chain holds 6
    state = DedupState(options)
    held = [compute_signals(i, _random_text(i, n), options) for n, i in enumerate("abcdef")]
    state.source.count(held)
    chain = {"b": [Edge("b", "a", "same_story", 0.9, ())], "c": [Edge("c", "b", "same_story", 0.35, ())]}
    chain["d"] = [Edge("d", "c", "same_story", 0.9, ()), Edge("d", "a", "same_story", 0.31, ())]
    chain["e"] = [Edge("e", "d", "same_story", 0.4, ()), Edge("e", "c", "near_duplicate", 0.3, ())]
    chain["f"] = [Edge("f", "e", "same_story", 0.35, ())]
    for sig in held:
        state.source.put(sig, chain.get(sig.id, []))
    batch = set("abcdef")  # one batch: every article is new
    members, edges = state.component("a", set(), batch)
    assert members == {"a", "b"}
    assert [(e.a, e.b) for e in edges] == [("b", "a")]
    members, edges = state.component("c", set(), batch)
    assert members == {"c", "d", "e"}  # d through a strong edge, e through a copy; not f
    assert {(e.a, e.b) for e in edges} == {("d", "c"), ("e", "d"), ("e", "c")}


def test_a_batch_re_partitions_the_held_stories_it_reaches_not_what_they_reach() -> None:
    """Held stories joined by a strong edge but kept apart (a recurring kind of event on
    another day) are re-partitioned together only when a new article reaches both."""
    from newsflow.dedup.similarity import Edge
    from newsflow.records import StoryAssignment

    options = DedupOptions(link_threshold=0.5)
    state = DedupState(options)
    held = [compute_signals(i, _random_text(i, n), options) for n, i in enumerate("abcdn")]
    state.source.count(held)
    chain = {"b": [Edge("b", "a", "same_story", 0.9, ())], "c": [Edge("c", "b", "same_story", 0.6, ())]}
    chain["d"] = [Edge("d", "c", "same_story", 0.9, ())]
    for sig in held[:4]:
        state.source.put(sig, chain.get(sig.id, []))
    state.source.put_assignments(
        [
            StoryAssignment(i, f"s-{story}", "same_story", None, 0.9, ())
            for i, story in zip("abcd", "aacc", strict=True)
        ]
    )
    state.source.put(held[4], [Edge("n", "a", "same_story", 0.8, ())])
    members, edges = state.component("n", set(), {"n"})
    assert members == {"n", "a", "b"}  # a's story, but not the story b has an edge to
    assert {(e.a, e.b) for e in edges} == {("n", "a"), ("b", "a")}
    state.source.put(held[4], [Edge("n", "d", "same_story", 0.7, ())])
    members, _ = state.component("n", set(), {"n"})
    assert members == {"n", "a", "b", "c", "d"}  # n reaches both stories


def test_keys_held_by_one_article_and_by_several_are_followed_alike() -> None:
    """A posting of one article is held as its number, not an array (candidates.py): the
    look-up reaches it as before, and again once a second article shares the key."""
    from newsflow.dedup import InMemoryCandidateSource

    new = compute_signals("new", REID_2 + " More.", OPTIONS)
    first = compute_signals("first", REID_2, OPTIONS)
    second = compute_signals("second", REID_2 + " Again.", OPTIONS)
    source = InMemoryCandidateSource()
    source.count(
        [new, first, second, *(compute_signals(f"b{n}", t, OPTIONS) for n, t in enumerate(BACKGROUND))]
    )
    source.put(first, [])
    assert [c.id for c in source.candidates(new, OPTIONS)] == ["first"]
    source.put(second, [])
    assert sorted(c.id for c in source.candidates(new, OPTIONS)) == ["first", "second"]
    assert [c.id for c in source.candidates(first, OPTIONS)] == ["second"]
