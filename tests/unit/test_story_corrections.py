"""An analyst's corrections: apart and together hold in every partition, on the in-memory
backend here (Elasticsearch: tests/integration/test_story_corrections_es.py)."""

from __future__ import annotations

import random

import pytest

from newsflow.dedup import SplitEvent
from newsflow.dedup.batch import InputArticle
from newsflow.dedup.clusterer import partition
from newsflow.dedup.corrections import TOGETHER_WHY, Correction, Corrections
from newsflow.dedup.similarity import Edge
from newsflow.dedup.story_index import StoryIndex
from newsflow.errors import InputError


def _edge(a: str, b: str, score: float, kind: str = "same_story") -> Edge:
    return Edge(a, b, kind, score, (f"p={score}",))  # type: ignore[arg-type]  # kinds from the tests' own literals


def _apart(*pairs: tuple[str, str]) -> Corrections:
    return Corrections.of(Correction.of(a, b, "apart") for a, b in pairs)


def _together(*pairs: tuple[str, str]) -> Corrections:
    return Corrections.of(Correction.of(a, b, "together") for a, b in pairs)


# ---------------------------------------------------------------------------- the records


def test_a_correction_names_two_articles_in_any_order() -> None:
    c = Correction.of("b", "a", "apart", by="ana", note="two events", at="2024-03-06T10:00:00Z")
    assert (c.a, c.b) == ("a", "b")
    assert c.id == Correction.of("a", "b", "together").id  # one record per pair
    assert Correction.from_dict(c.to_dict()) == c
    with pytest.raises(InputError, match="two different articles"):
        Correction.of("a", "a", "apart")
    with pytest.raises(InputError, match="unknown correction 'split'"):
        Correction.of("a", "b", "split")
    with pytest.raises(InputError, match="needs string fields"):
        Correction.from_dict({"a": "x", "verdict": "apart"})


def test_the_latest_word_on_a_pair_is_in_force_and_withdrawn_is_none() -> None:
    early = Correction.of("a", "b", "apart", at="2024-03-06T10:00:00Z")
    late = Correction.of("a", "b", "together", at="2024-03-06T11:00:00Z")
    assert Corrections.of([late, early]).together == {"a": frozenset({"b"}), "b": frozenset({"a"})}
    assert not Corrections.of([late, early]).apart
    withdrawn = Correction.of("a", "b", "withdrawn", at="2024-03-06T12:00:00Z")
    assert not Corrections.of([early, late, withdrawn])


# ---------------------------------------------------------------------------- the partition


def test_apart_parts_a_story_whatever_the_order_of_its_edges() -> None:
    edges = [_edge("a", "b", 0.9), _edge("b", "c", 0.9), _edge("a", "c", 0.9), _edge("c", "d", 0.8)]
    edges += [_edge("a", "d", 0.6), _edge("b", "d", 0.7)]
    assert partition("abcd", edges, 0.5) == [["a", "b", "c", "d"]]
    apart = _apart(("a", "c"))
    first = partition("abcd", edges, 0.5, corrections=apart)
    assert not any({"a", "c"} <= set(g) for g in first)
    assert sum(len(g) for g in first) == 4
    for seed in range(5):
        shuffled = edges[:]
        random.Random(seed).shuffle(shuffled)
        assert partition("abcd", shuffled, 0.5, corrections=apart) == first


def test_apart_holds_against_copies_fragments_and_other_languages() -> None:
    copies = [_edge("a", "b", 1.0, "exact"), _edge("b", "c", 1.0, "near_duplicate")]
    groups = partition("abc", copies, 0.5, corrections=_apart(("a", "c")))
    assert ["a", "b"] in groups and ["c"] in groups  # the exact copy is fused first
    # A fragment that would join its group through one strong pair.
    edges = [_edge("a", "b", 0.9), _edge("b", "c", 0.9), _edge("a", "c", 0.9), _edge("c", "d", 0.7)]
    assert partition("abcd", edges, 0.5, fragment_size=1, fragment_mean=0.1, fragment_max=0.6) == [
        ["a", "b", "c", "d"]
    ]
    parted = partition(
        "abcd",
        edges,
        0.5,
        fragment_size=1,
        fragment_mean=0.1,
        fragment_max=0.6,
        corrections=_apart(("a", "d")),
    )
    assert ["d"] in parted
    # Two languages' stories joined by a strong cross-language edge.
    languages = {"a": "en", "b": "en", "x": "de"}
    linked = [_edge("a", "b", 0.9), _edge("a", "x", 0.9)]
    assert partition("abx", linked, 0.5, languages=languages) == [["a", "b", "x"]]
    assert partition("abx", linked, 0.5, languages=languages, corrections=_apart(("b", "x"))) == [
        ["a", "b"],
        ["x"],
    ]


def test_together_joins_what_the_model_kept_apart_without_lifting_averages() -> None:
    edges = [_edge("a", "b", 0.9), _edge("c", "d", 0.9), _edge("b", "c", 0.1)]
    assert partition("abcd", edges, 0.5) == [["a", "b"], ["c", "d"]]
    assert partition("abcd", edges, 0.5, corrections=_together(("b", "c"))) == [["a", "b", "c", "d"]]
    # The analyst's edge is not averaged in: e joins nothing through it.
    analyst = _edge("c", "e", 1.0, "analyst")
    assert ["e"] in partition("abcde", [*edges, analyst], 0.5)
    # Together and apart that contradict: together first, then the apart pair is never joined.
    both = Corrections.of(
        [
            Correction.of("a", "b", "together"),
            Correction.of("b", "c", "together"),
            Correction.of("a", "c", "apart"),
        ]
    )
    groups = partition("abc", [], 0.5, corrections=both)
    assert not any({"a", "c"} <= set(g) for g in groups)


# ---------------------------------------------------------------------------- the in-memory backend

FERRY = InputArticle(
    id="ferry-1",
    title="Ferry Aurora sinks off Bergen, 14 missing",
    text=(
        "The passenger ferry Aurora sank off the Norwegian port of Bergen on Tuesday night with 212 people "
        'on board, and 14 are still missing, the coastguard said. "We are searching through the night," '
        "coastguard spokesman Lars Henriksen told reporters. The ferry, operated by Fjordline, sent a "
        "distress call at 22:40 after taking on water in heavy seas. Rescue helicopters lifted 198 "
        "survivors from lifeboats."
    ),
    published="2024-03-05T23:30:00Z",
    source="one",
    language="en",
)
FERRY_2 = InputArticle(
    id="ferry-2",
    title="Fourteen missing after Norwegian ferry goes down near Bergen",
    text=(
        "Fourteen people are missing after the Fjordline ferry Aurora went down near Bergen late on "
        'Tuesday. Coastguard spokesman Lars Henriksen said: "We are searching through the night." Of the '
        "212 passengers and crew, 198 were rescued by helicopters and boats after the ship reported taking "
        "on water during a storm."
    ),
    published="2024-03-06T06:10:00Z",
    source="two",
    language="en",
)
TRAM = InputArticle(
    id="tram",
    title="Oslo council approves new tram line",
    text=(
        "Oslo city council on Tuesday approved a new tram line to the eastern suburbs, to open in 2029. "
        "Transport councillor Ingrid Moe said the line would carry 40,000 passengers a day."
    ),
    published="2024-03-05T15:00:00Z",
    source="three",
    language="en",
)


def _story(stories: StoryIndex, article_id: str) -> str:
    backend = stories.backend
    assert hasattr(backend, "assignments")
    return str(backend.assignments([article_id])[article_id].story_id)


def test_apart_splits_a_story_records_no_rename_and_holds_for_later_reports() -> None:
    stories = StoryIndex.in_memory()
    stories.add([FERRY, FERRY_2, TRAM])
    assert _story(stories, "ferry-2") == _story(stories, "ferry-1") == "s-ferry-1"
    report = stories.correct([Correction.of("ferry-2", "ferry-1", "apart", by="ana")])
    assert set(report.moved) == {"ferry-2"}
    assert report.moved["ferry-2"].story_id == "s-ferry-2"
    # The story s-ferry-1 lives on: nothing was renamed or merged, and the split says where
    # its report went.
    assert report.merges == ()
    assert report.splits == (SplitEvent("s-ferry-2", "s-ferry-1", ("ferry-2",)),)
    assert report.counts["stories:split"] == 1
    assert report.counts["corrections:apart"] == 1
    # A later copy of the second report reaches both; the correction still parts them.
    copy = InputArticle(
        id="ferry-2-copy",
        title=FERRY_2.title,
        text=FERRY_2.text,
        published="2024-03-06T07:00:00Z",
        source="four",
    )
    stories.add([copy])
    assert _story(stories, "ferry-2-copy") == "s-ferry-2"
    assert _story(stories, "ferry-1") == "s-ferry-1"
    # Withdrawn: the model's story comes back.
    stories.correct([Correction.of("ferry-1", "ferry-2", "withdrawn")])
    assert _story(stories, "ferry-2") == _story(stories, "ferry-2-copy") == "s-ferry-1"


def test_together_joins_two_stories_and_why_names_the_analyst() -> None:
    stories = StoryIndex.in_memory()
    stories.add([FERRY, TRAM])
    assert _story(stories, "tram") != _story(stories, "ferry-1")
    report = stories.correct([Correction.of("ferry-1", "tram", "together")])
    assert _story(stories, "tram") == _story(stories, "ferry-1") == "s-tram"  # the earlier report leads
    assert report.merges and report.merges[0].story_id == "s-tram"
    assert report.splits == ()  # a join is a merge, not a split
    backend = stories.backend
    assert hasattr(backend, "assignments")
    assert backend.assignments(["ferry-1"])["ferry-1"].why == (TOGETHER_WHY,)


def test_in_memory_the_latest_word_wins_in_any_order_given() -> None:
    """`newsflow correct list --json` prints newest first; the later word is in force either way."""
    early = Correction.of("ferry-1", "ferry-2", "apart", at="2024-03-06T10:00:00.000Z")
    late = Correction.of("ferry-1", "ferry-2", "withdrawn", at="2024-03-06T11:00:00.000Z")
    for given in ([late, early], [early, late]):
        stories = StoryIndex.in_memory()
        stories.correct(given)
        stories.add([FERRY, FERRY_2])
        assert _story(stories, "ferry-2") == _story(stories, "ferry-1")


def test_a_correction_made_before_its_articles_arrive_waits_for_them() -> None:
    stories = StoryIndex.in_memory()
    report = stories.correct(
        [Correction.of("ferry-1", "ferry-2", "apart"), Correction.of("tram", "ferry-2", "together")]
    )
    assert report.moved == {}
    stories.add([FERRY])
    stories.add([TRAM])  # its partner is not held yet: a story of its own until it arrives
    assert _story(stories, "tram") == "s-tram"
    stories.add([FERRY_2])
    assert _story(stories, "ferry-1") != _story(stories, "ferry-2") == _story(stories, "tram")
