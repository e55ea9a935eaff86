"""Signals are pure, JSON-stable, and pick up what tells events apart."""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

import pytest

from newsflow.dedup import ArticleSignals, DedupOptions, compute_signals
from newsflow.dedup.entities import date_years, entity_counts, number_keys
from newsflow.dedup.neighbourhood import index_query_keys
from newsflow.dedup.quotes import quote_keys
from newsflow.dedup.signals import COUNTED_FIELDS, LEDE_KEYS, stored_counted_keys
from newsflow.dedup.similarity import Edge
from newsflow.dedup.sketch import band_keys, estimate_jaccard, minhash, shingles
from newsflow.dedup.stored import edges_from_stored, edges_to_stored, hit_to_records
from newsflow.errors import ConfigError, InputError
from newsflow.jsontypes import JsonValue

TEXT = (
    "Ukraine says its troops broke through Russian lines near Kherson on Monday.\n"
    'Oleksiy Arestovych said the defences were "broken through in a few hours" after the attack began.\n'
    "The army said it destroyed 20 ammunition depots and killed 82 soldiers."
)


def _words(n: int, seed: int) -> list[str]:
    rng = random.Random(seed)
    return [f"w{rng.randrange(100_000)}" for _ in range(n)]


def test_signals_are_deterministic_and_round_trip_through_json() -> None:
    options = DedupOptions()
    a = compute_signals("a1", TEXT, options, title="Breakthrough", published="2022-08-30T10:00:00Z")
    b = compute_signals("a1", TEXT, options, title="Breakthrough", published="2022-08-30T10:00:00Z")
    assert a == b
    restored = ArticleSignals.from_dict(json.loads(json.dumps(a.to_dict())))
    assert restored == a
    assert len(a.band_keys) == options.bands
    assert a.published_at() is not None


def test_a_held_signature_is_packed_and_its_stored_form_and_band_keys_are_unchanged() -> None:
    """Held as 256 bytes, not 64 Python integers (2.3 KB); the stored record still lists the
    values, and values and band keys are those the index already holds (computed by the
    code before the packing), so held articles and new ones still meet."""
    options = DedupOptions()
    sig = compute_signals("a1", TEXT, options, title="Breakthrough")
    assert isinstance(sig.minhash, bytes) and len(sig.minhash) == 4 * options.num_perm
    stored = json.loads(json.dumps(sig.to_dict()))
    assert stored["minhash"][:4] == [98365885, 13816554, 16696053, 87315776]
    assert stored["band_keys"][:2] == ["0:0dbdba318dae48bb", "1:06f07c98cbde5cde"]
    assert ArticleSignals.from_dict(stored).minhash == sig.minhash
    for bad in (-1, 1 << 32, "many"):
        with pytest.raises(InputError, match="malformed"):
            ArticleSignals.from_dict({**stored, "minhash": [bad, *stored["minhash"][1:]]})


def test_entities_skip_sentence_initial_function_words_and_keep_names() -> None:
    counts = entity_counts("The minister met Tara Reid in Paris. They left on Tuesday.")
    assert "tara reid" in counts
    assert "paris" in counts
    assert "the" not in counts
    assert "they" not in counts
    assert "tuesday" not in counts  # a weekday says nothing about which event


def test_numbers_skip_trivial_counts_and_normalise_separators() -> None:
    assert number_keys("3 men stole 2,500,000 euros and 4.6 tonnes in 2013") == ("2013", "2500000", "4.6")


def test_date_years_only_from_calendar_dates() -> None:
    assert date_years("On March 4, 2009 and 2013-10-04 (not the 1990s or 1984 alone)") == ("2009", "2013")


def test_quote_keys_match_across_punctuation_and_partial_quotes() -> None:
    first = quote_keys(
        "He said: \u201cIf they want to survive - it\u2019s time to run away. Go home.\u201d", 100
    )
    second = quote_keys('Speaking, he said: "If they want to survive \u2013 it\'s time to run away."', 100)
    assert first and second
    assert len(set(first) & set(second)) >= 5


def test_minhash_estimates_jaccard() -> None:
    base = _words(400, 1)
    other = base[:300] + _words(100, 2)
    sa, sb = shingles(" ".join(base), 3), shingles(" ".join(other), 3)
    true = len(sa & sb) / len(sa | sb)
    estimate = estimate_jaccard(minhash(sa, 128), minhash(sb, 128))
    assert abs(estimate - true) < 0.12
    assert estimate_jaccard(minhash(sa, 64), minhash(shingles(" ".join(_words(400, 3)), 3), 64)) < 0.1


def test_identical_texts_share_all_band_keys_different_texts_none() -> None:
    text = " ".join(_words(200, 4))
    a, b = minhash(shingles(text, 3), 64), minhash(shingles(text, 3), 64)
    c = minhash(shingles(" ".join(_words(200, 5)), 3), 64)
    assert band_keys(a, 16) == band_keys(b, 16)
    assert not set(band_keys(a, 16)) & set(band_keys(c, 16))


def test_enormous_text_is_capped_and_noted() -> None:
    options = DedupOptions(max_text_chars=1000)
    sig = compute_signals("big", "word " * 10_000, options)
    assert sig.truncated
    assert sig.length == 1000


@pytest.mark.parametrize(
    "kwargs",
    [
        {"num_perm": 60, "bands": 16},
        {"near_duplicate_jaccard": 0.0},
        {"edge_threshold": 0.8, "link_threshold": 0.5},
        {"window_hours": 0},
        {"max_candidates": 0},
        {"fragment_max": 1.5},
    ],
)
def test_options_are_validated(kwargs: dict[str, Any]) -> None:
    with pytest.raises(ConfigError):
        DedupOptions(**kwargs)


def test_fragment_rule_is_the_models_unless_given(tmp_path: Path) -> None:
    """The fragment thresholds are chosen with the weights and ship in the model file; a model
    file written before they were chosen keeps the hand-set values it was used with."""
    shipped = DedupOptions()
    assert (shipped.join_mean, shipped.join_max) == (shipped.model.fragment_mean, shipped.model.fragment_max)
    given = DedupOptions(fragment_mean=0.4, fragment_max=0.9)
    assert (given.join_mean, given.join_max) == (0.4, 0.9)
    with pytest.raises(ConfigError, match="fragment_max must be in"):
        DedupOptions(fragment_max=1.5)
    older = shipped.model.to_dict()
    del older["fragment_mean"], older["fragment_max"]
    path = tmp_path / "older.json"
    path.write_text(json.dumps(older), encoding="utf-8")
    older_options = DedupOptions(model_path=str(path))
    assert (older_options.join_mean, older_options.join_max) == (0.25, 0.6)
    bad = tmp_path / "bad.json"  # (models are read once per path)
    bad.write_text(json.dumps({**older, "fragment_mean": 0.0}), encoding="utf-8")
    with pytest.raises(ConfigError, match="fragment_mean"):
        DedupOptions(model_path=str(bad))


def test_short_quote_does_not_unpair_the_quotes_after_it() -> None:
    # (The old pairing took ' within hours of the attack. ' as the quote and lost the real one.)
    text = 'Lines were "broken" within hours of the attack. "We will chase them all the way to the border."'
    first = quote_keys(text, 100)
    second = quote_keys('Officials said "we will chase them all the way to the border" on Monday.', 100)
    assert len(set(first) & set(second)) >= 5


def test_counted_keys_read_from_a_stored_record_match_the_signals() -> None:
    sig = compute_signals("a1", TEXT, DedupOptions(), canonical_url="https://example.invalid/a1")
    stored = json.loads(json.dumps(sig.to_dict()))
    assert stored_counted_keys({k: stored[k] for k in COUNTED_FIELDS}) == sig.counted_keys()
    assert "u:https://example.invalid/a1" in sig.counted_keys()
    with pytest.raises(InputError, match="a1"):
        stored_counted_keys({"id": "a1", "terms": ["x"]})


def test_index_look_up_asks_for_bands_top_names_lowest_quote_keys_and_lede_terms() -> None:
    options = DedupOptions(index_query_entities=2, index_query_quotes=1)
    sig = compute_signals("a1", TEXT, options, canonical_url="https://example.invalid/a1")
    keys = index_query_keys(sig, options)
    assert [k for k in keys if k.startswith("e:")] == [f"e:{e}" for e in sig.entities[:2]]
    assert [k for k in keys if k.startswith("q:")] == [f"q:{min(sig.quote_keys)}"]
    assert [k for k in keys if k.startswith("l:")] == [f"l:{t}" for t in sig.lede[:LEDE_KEYS]]
    assert len(sig.lede) > LEDE_KEYS  # so the cap is what was tested
    assert sum(k.startswith("b:") for k in keys) == options.bands
    assert f"h:{sig.content_hash}" in keys and "u:https://example.invalid/a1" in keys


def test_each_edge_is_stored_once_with_the_article_it_was_scored_for() -> None:
    found_for_x = Edge("x", "h", "same_story", 0.9123456789, ("p=0.91", "gap_h=3"))
    found_for_y = Edge("y", "x", "near_duplicate", 0.6, ("jaccard=0.60",))
    stored = json.loads(json.dumps(edges_to_stored("x", [found_for_x, found_for_y])))
    assert stored == [["h", "same_story", 0.912346, ["p=0.91", "gap_h=3"]]]  # y keeps its own
    assert edges_from_stored("x", stored) == [Edge("x", "h", "same_story", 0.912346, ("p=0.91", "gap_h=3"))]
    assert edges_to_stored("y", [found_for_x, found_for_y]) == [
        ["x", "near_duplicate", 0.6, ["jaccard=0.60"]]
    ]


def test_edges_stored_before_the_compact_form_still_load_and_bad_ones_are_skipped() -> None:
    old: list[JsonValue] = [["h", "x", "exact", 1.0, ["content_hash"]], ["x", "only-three", 0.5], 7]
    assert edges_from_stored("x", old) == [Edge("h", "x", "exact", 1.0, ("content_hash",))]


def test_stored_story_fields_of_other_types_read_as_missing_and_odd_edges_are_skipped() -> None:
    """The mapping takes any field as a list: a stored story id, relation or score of another
    type must not reach a ``StoryAssignment``, and an edge of an unknown kind is not loaded."""
    signals = compute_signals("x", "The council voted on the bridge on Tuesday.", DedupOptions())
    stored: dict[str, JsonValue] = {
        **signals.to_dict(),
        "edges": [["h", "sideways", 0.5, []], ["h", "same_story", [0.5], []], ["h", "exact", 1.0, ["ok"]]],
    }
    hit: dict[str, JsonValue] = {
        "_source": {"dedup_signals": stored, "story_id": ["s1", "s2"], "relation": "same_story"}
    }
    records = hit_to_records(hit)
    assert records is not None
    assert records[0] == signals
    assert records[1] is None  # a story id that is a list is no story id
    assert records[2] == [Edge("x", "h", "exact", 1.0, ("ok",))]

    hit = {"_source": {"dedup_signals": stored, "story_id": "s1", "relation": "cousin", "score": "high"}}
    records = hit_to_records(hit)
    assert records is not None and records[1] is not None
    assert (records[1].story_id, records[1].relation, records[1].score) == ("s1", "original", 0.0)

    assert hit_to_records({"_source": {"dedup_signals": ["not", "an", "object"]}}) is None
    with pytest.raises(InputError, match="terms is str"):
        ArticleSignals.from_dict({**signals.to_dict(), "terms": "bridge"})


def test_sketches_of_another_size_share_nothing_whether_compared_alone_or_among_others() -> None:
    """One rule for a pair of sketches (``sketch.estimate_jaccard``): the batch comparison falls
    back to it when a candidate's sketch has another size (signals stored under other options)."""
    from newsflow.dedup.candidates import InMemoryCandidateSource
    from newsflow.dedup.features import minhash_jaccards
    from newsflow.dedup.weighting import prepare

    new = compute_signals("new", TEXT, DedupOptions())
    same = compute_signals("same", TEXT + " More.", DedupOptions())
    other_size = compute_signals("other", TEXT, DedupOptions(num_perm=32, bands=8))
    stats = InMemoryCandidateSource()
    stats.count([new, same, other_size])
    pn, ps, po = (prepare(s, stats) for s in (new, same, other_size))
    assert estimate_jaccard(new.minhash, other_size.minhash) == 0.0
    together = minhash_jaccards(pn, [ps])
    mixed = minhash_jaccards(pn, [ps, po])
    assert together[0] == mixed[0] == estimate_jaccard(new.minhash, same.minhash) > 0.5
    assert mixed[1] == 0.0
