"""Pair decisions and the story partition are pure functions with the stated rules."""

from __future__ import annotations

import random
from collections.abc import Callable

import numpy as np

from newsflow.dedup import DedupOptions, InMemoryCandidateSource, compute_signals
from newsflow.dedup.clusterer import assign, joining_edge, partition, partition_under
from newsflow.dedup.signals import ArticleSignals
from newsflow.dedup.similarity import Edge, EdgeKind, score_pair
from tests.unit.dedup_texts import BACKGROUND, LOHAN, REID_1, REID_2

OPTIONS = DedupOptions()


def _signals(article_id: str, text: str, **kwargs: str) -> ArticleSignals:
    return compute_signals(article_id, text, OPTIONS, **kwargs)


def _stats(*signals: ArticleSignals) -> InMemoryCandidateSource:
    source = InMemoryCandidateSource()
    source.count([*signals, *(_signals(f"bg{i}", t) for i, t in enumerate(BACKGROUND))])
    return source


def test_same_event_links_and_same_kind_other_event_does_not() -> None:
    a, b, c = _signals("a", REID_1), _signals("b", REID_2), _signals("c", LOHAN)
    stats = _stats(a, b, c)
    same = score_pair(a, b, stats, OPTIONS)
    other = score_pair(a, c, stats, OPTIONS)
    assert same is not None and same.kind == "same_story"
    assert same.score >= OPTIONS.link
    assert any(w.startswith("shared_quotes=") for w in same.why)
    assert other is None or other.score < OPTIONS.link
    assert score_pair(b, a, stats, OPTIONS) == Edge("b", "a", same.kind, same.score, same.why)


def test_edges_scored_apart_share_one_copy_of_each_why_string() -> None:
    """Held state keeps every edge's ``why``; equal parts are one string, not one per edge."""
    a, b = _signals("a", REID_1), _signals("b", REID_2)
    stats = _stats(a, b)
    first, second = score_pair(a, b, stats, OPTIONS), score_pair(b, a, stats, OPTIONS)
    assert first is not None and second is not None and first.why == second.why
    assert all(x is y for x, y in zip(first.why, second.why, strict=True))


def test_copies_are_classified_before_story_similarity() -> None:
    a = _signals("a", REID_1, canonical_url="https://x.example/reid")
    same_url = _signals("b", REID_2, canonical_url="https://x.example/reid")
    exact = _signals("c", "  " + REID_1.upper() + " ")
    near = _signals("d", REID_1 + " She was photographed leaving a party last week.")
    stats = _stats(a, same_url, exact, near)
    assert (e := score_pair(a, same_url, stats, OPTIONS)) is not None and e.kind == "same_url"
    assert (e := score_pair(a, exact, stats, OPTIONS)) is not None and e.kind == "exact"
    assert (e := score_pair(a, near, stats, OPTIONS)) is not None and e.kind == "near_duplicate"


def test_publish_gap_beyond_window_forbids_a_story_link() -> None:
    a = _signals("a", REID_1, published="2024-01-01T10:00:00+00:00")
    b = _signals("b", REID_2, published="2024-01-05T10:00:00+00:00")
    b_close = _signals("b", REID_2, published="2024-01-01T20:00:00+00:00")
    stats = _stats(a, b)
    assert score_pair(a, b, stats, OPTIONS) is None
    close = score_pair(a, b_close, stats, OPTIONS)
    assert close is not None and "gap_h=10" in close.why
    undated = score_pair(a, _signals("b", REID_2), stats, OPTIONS)
    assert undated is not None  # a missing date disables the time signal, it does not block


def _edge(a: str, b: str, score: float, kind: EdgeKind = "same_story") -> Edge:
    return Edge(a, b, kind, score, (f"p={score}",))


def _pairs(rng: random.Random, ids: list[str], n: int) -> list[tuple[str, str]]:
    """``n`` random pairs of distinct ids."""
    return [(a, b) for a, b in (rng.sample(ids, 2) for _ in range(n))]


def test_average_link_does_not_chain_through_one_bridge() -> None:
    edges = [_edge("a", "b", 0.95), _edge("b", "c", 0.95), _edge("c", "d", 0.9), _edge("a", "c", 0.95)]
    groups = partition("abcd", edges, link_threshold=0.6)
    # a-b-c are mutually linked; d links only to c, so its mean over {a, b, c} is 0.30.
    assert groups == [["a", "b", "c"], ["d"]]
    assert partition("abcd", [*edges, _edge("b", "d", 0.9), _edge("a", "d", 0.5)], 0.6) == [
        ["a", "b", "c", "d"]
    ]


def test_duplicates_always_fuse_and_partition_ignores_input_order() -> None:
    edges = [_edge("x", "y", 0.5, "near_duplicate"), _edge("y", "z", 0.7)]
    assert partition(["z", "y", "x"], edges, 0.6) == partition(["x", "y", "z"], list(reversed(edges)), 0.6)
    assert ["x", "y"] in partition("xyz", edges, 0.99)


def test_links_across_languages_join_whole_stories_and_never_two_of_one_language() -> None:
    languages = {"en1": "en", "en2": "en", "en3": "en", "de1": "de", "de2": "de", "fr1": "fr", "x": None}
    same_language = [_edge("en1", "en2", 0.9), _edge("de1", "de2", 0.9)]
    across = [_edge("en1", "de1", 0.8), _edge("de2", "en3", 0.7), _edge("fr1", "en3", 0.6)]
    ids = sorted(languages)

    # The German story joins the English one it is most strongly linked to, whole (one
    # strong link between two languages is what such stories share); en3, another English
    # story, cannot join through it, and keeps its French report.
    assert partition(ids, [*same_language, *across], 0.5, languages=languages) == [
        ["de1", "de2", "en1", "en2"], ["en3", "fr1"], ["x"]
    ]  # fmt: skip
    # Without languages, average link over the same edges leaves the German story apart.
    assert partition(ids, [*same_language, *across], 0.5) == [
        ["de1", "de2"], ["en1", "en2"], ["en3", "fr1"], ["x"]
    ]  # fmt: skip
    # Edges below the link threshold join nothing; an unknown language is nobody's.
    assert partition(ids, [*same_language, _edge("en1", "de1", 0.45)], 0.5, languages=languages) == [
        ["de1", "de2"], ["en1", "en2"], ["en3"], ["fr1"], ["x"]
    ]  # fmt: skip
    assert ["en3", "x"] in partition(ids, [_edge("x", "en3", 0.9)], 0.5, languages=languages)
    # A strong link to a translation cannot pull a report out of its own language's story.
    pulled = [*same_language, _edge("en2", "de1", 0.99), _edge("en1", "de1", 0.1)]
    assert ["de1", "de2", "en1", "en2"] in partition(ids, pulled, 0.5, languages=languages)


def test_representative_is_earliest_then_longest_then_smallest_id() -> None:
    sig = {
        "late": _signals("late", REID_1 + " more", published="2024-01-02T00:00:00Z"),
        "early": _signals("early", REID_2, published="2024-01-01T00:00:00Z"),
        "copy": _signals("copy", REID_2, published="2024-01-01T05:00:00Z"),
        "undated": _signals("undated", REID_1 + " much longer text " * 20),
    }
    edges = [_edge("early", "copy", 1.0, "exact"), _edge("early", "late", 0.9), _edge("late", "undated", 0.8)]
    out = {a.id: a for a in assign(sorted(sig), sig, edges)}
    assert {a.story_id for a in out.values()} == {"s-early"}
    assert out["early"].relation == "original"
    assert out["copy"].relation == "exact" and out["copy"].duplicate_of == "early"
    assert out["late"].relation == "same_story" and out["late"].score == 0.9
    assert out["undated"].relation == "same_story"


def test_small_fragment_joins_a_story_only_with_a_strong_corroborated_link() -> None:
    pairs = [("a", "b"), ("a", "c"), ("a", "d"), ("b", "c"), ("b", "d"), ("c", "d")]
    core = [_edge(x, y, 0.9) for x, y in pairs]

    def groups(edges: list[Edge], size: int = 3) -> list[list[str]]:
        return partition("abcde", edges, 0.6, fragment_size=size, fragment_mean=0.25, fragment_max=0.6)

    strong = [*core, _edge("e", "a", 0.65), _edge("e", "b", 0.4)]  # mean 0.26, peak 0.65
    assert groups(strong, size=0) == [["a", "b", "c", "d"], ["e"]]
    assert groups(strong) == [["a", "b", "c", "d", "e"]]
    weak = [*core, _edge("e", "a", 0.55), _edge("e", "b", 0.5)]  # mean 0.26, but no strong pair
    assert groups(weak) == [["a", "b", "c", "d"], ["e"]]
    sparse = [*core, _edge("e", "a", 0.62), _edge("e", "b", 0.3)]  # peak 0.62, mean 0.23: too thin
    assert groups(sparse) == [["a", "b", "c", "d"], ["e"]]


def _reference_average_link(ids: list[str], edges: list[Edge], threshold: float) -> list[list[str]]:
    """Average link written the plain way (rescan every pair after each merge)."""
    groups = {i: [i] for i in ids}
    pair_scores: dict[tuple[str, str], float] = {}
    for e in edges:
        pair_scores.setdefault((min(e.a, e.b), max(e.a, e.b)), e.score)
    while True:
        best: tuple[float, str, str] | None = None
        names = sorted(groups)
        for n, x in enumerate(names):
            for y in names[n + 1 :]:
                total = sum(
                    pair_scores.get((min(p, q), max(p, q)), 0.0) for p in groups[x] for q in groups[y]
                )
                if not total:
                    continue
                mean = total / (len(groups[x]) * len(groups[y]))
                if best is None or (-mean, x, y) < (-best[0], best[1], best[2]):
                    best = (mean, x, y)
        if best is None or best[0] < threshold:
            return sorted(sorted(g) for g in groups.values())
        groups[best[1]] += groups.pop(best[2])


def _joined_parts(ids: list[str], edges: list[Edge], joins: Callable[[Edge], bool]) -> list[list[str]]:
    """The connected parts of ``ids`` over the edges ``joins`` accepts."""
    part_of = {i: i for i in ids}

    def root(x: str) -> str:
        while part_of[x] != x:
            x = part_of[x]
        return x

    for e in edges:
        if joins(e):
            part_of[root(e.a)] = root(e.b)
    parts: dict[str, list[str]] = {}
    for i in ids:
        parts.setdefault(root(i), []).append(i)
    return list(parts.values())


def test_each_part_joined_by_linking_edges_partitions_as_the_whole_does() -> None:
    """Why ``DedupState`` follows only linking edges to find the group it re-partitions."""
    options = DedupOptions(link_threshold=0.625, fragment_mean=0.25, fragment_max=0.6)
    joins = joining_edge(options)
    assert joins(_edge("a", "b", 0.6)) and not joins(_edge("a", "b", 0.5))  # fragment_max 0.6 is lower
    assert joins(_edge("a", "b", 0.3, "near_duplicate"))
    rng = random.Random(11)
    for _ in range(300):
        ids = [f"a{i:02d}" for i in range(rng.randint(2, 16))]
        edges = []
        for _ in range(rng.randint(1, 3 * len(ids))):
            a, b = rng.sample(ids, 2)
            score = rng.choice([0.25, 0.375, 0.5, 0.625, 0.75, 0.875, 1.0])
            edges.append(_edge(a, b, score, "near_duplicate" if rng.random() < 0.05 else "same_story"))
        by_part = [
            group
            for part in _joined_parts(ids, edges, joins)
            for group in partition_under(options, part, [e for e in edges if e.a in part and e.b in part])
        ]
        assert sorted(by_part) == partition_under(options, ids, edges)


def test_average_link_matches_the_plain_quadratic_algorithm() -> None:
    rng = random.Random(7)
    for _ in range(200):
        ids = [f"a{i:02d}" for i in range(rng.randint(2, 14))]
        # Binary fractions: sums are exact, so ties are ties in both implementations.
        scores = [0.25, 0.5, 0.625, 0.75, 0.875, 1.0]
        edges = [_edge(a, b, rng.choice(scores)) for a, b in _pairs(rng, ids, rng.randint(1, 3 * len(ids)))]
        for threshold in (0.25, 0.6):
            expected = _reference_average_link(ids, edges, threshold)
            assert partition(ids, edges, threshold) == expected


def test_scoring_many_candidates_at_once_agrees_with_the_pair_features() -> None:
    import math

    from newsflow.dedup.features import pair_features
    from newsflow.dedup.similarity import same_story_probability, score_many
    from newsflow.dedup.weighting import idf, prepare

    def unit_vector(sig: ArticleSignals) -> dict[str, float]:  # TF-IDF written out plainly
        raw = {
            t: (1.0 + math.log(n)) * idf(stats, f"t:{t}")
            for t, n in zip(sig.terms, sig.term_counts, strict=True)
        }
        norm = math.sqrt(sum(w * w for w in raw.values()))
        return {t: w / norm for t, w in raw.items()}

    texts = [REID_1, REID_2, LOHAN, *BACKGROUND]
    signals = [_signals(f"a{i}", t) for i, t in enumerate(texts)]
    stats = _stats(*signals)
    prepared = [prepare(s, stats) for s in signals]
    modelled = 0
    for new in prepared:
        others = [p for p in prepared if p is not new]
        for other, edge in zip(others, score_many(new, others, OPTIONS), strict=True):
            features = pair_features(new, other)
            va, vb = unit_vector(new.sig), unit_vector(other.sig)
            assert abs(features["tfidf"] - sum(va[t] * vb[t] for t in va.keys() & vb.keys())) < 1e-9
            probability = same_story_probability(features)
            if edge is None:
                assert probability < OPTIONS.edge_threshold
                continue
            assert edge.kind == "same_story"
            assert abs(edge.score - probability) < 1e-4
            # ``why`` names the features that moved the score most, largest first.
            row = np.array([features[f] for f in OPTIONS.model.features])
            expected = [name for name, _ in OPTIONS.model.top_contributions(row, 3)]
            assert [w.split("=")[0] for w in edge.why[1 : 1 + len(expected)]] == expected
            assert edge.why[0] == f"p={probability:.2f}"
            # ... and what the shipped model's trees alone said.
            trees = OPTIONS.model.scored(row[None, :])[1]
            assert trees is not None and f"trees_p={trees[0]:.2f}" in edge.why
            modelled += 1
    assert modelled >= 2  # the two Reid reports link both ways


def test_names_are_weighed_by_their_rarity_in_the_collection_not_by_the_fellow_candidates() -> None:
    """A rare name two reports share counts for more than a common one; the other candidates
    scored beside a pair do not change its score (weighing them was tried and undone)."""
    import math

    from newsflow.dedup.features import feature_matrix, pair_features
    from newsflow.dedup.weighting import Prepared, prepare

    def reference(new: Prepared, other: Prepared) -> float:  # IDF-weighted cosine, written out plainly
        a = {k: math.sqrt(w) for k, w in new.entity_weight.items()}
        b = {k: math.sqrt(w) for k, w in other.entity_weight.items()}
        shared = sum(a[k] * b[k] for k in a.keys() & b.keys())
        return shared / math.sqrt(sum(v * v for v in a.values()) * sum(v * v for v in b.values()))

    new = _signals("n", "Senator Warren met Governor Newsom in Sacramento on Monday to discuss the fires.")
    common = _signals("t", "Senator Warren met Governor Abbott in Austin on Friday to discuss the border.")
    rare = _signals("e", "Governor Newsom showed Sacramento's fire crews to visitors on Monday.")
    rest = [
        _signals(f"w{i}", f"Senator Warren spoke in {city} about taxes and {other} on Tuesday.")
        for i, (city, other) in enumerate([("Boston", "Medicare"), ("Denver", "Pentagon"), ("Miami", "Cuba")])
    ]
    stats = _stats(new, common, rare, *rest)
    pn, pc, pr, *pw = (prepare(s, stats) for s in (new, common, rare, *rest))
    assert pair_features(pn, pr)["names"] > pair_features(pn, pc)["names"] > 0
    batch = [pc, pr, *pw]
    names = feature_matrix(pn, batch)[:, 2]
    for n, other in enumerate(batch):
        assert abs(names[n] - reference(pn, other)) < 1e-9
        assert abs(names[n] - pair_features(pn, other)["names"]) < 1e-12


def test_a_low_confidence_date_widens_the_window_rather_than_dropping_it() -> None:
    a = _signals("a", REID_1, published="2024-01-01T10:00:00+00:00")
    three_days = "2024-01-04T10:00:00+00:00"
    declared = compute_signals("b", REID_2, OPTIONS, published=three_days)
    guessed = compute_signals("b", REID_2, OPTIONS, published=three_days, published_confidence="low")
    stats = _stats(a, declared)
    assert OPTIONS.window_hours < 72 <= OPTIONS.low_confidence_window_hours
    assert score_pair(a, declared, stats, OPTIONS) is None
    linked = score_pair(a, guessed, stats, OPTIONS)
    assert linked is not None and "gap_h=72" in linked.why
    beyond = compute_signals(
        "b", REID_2, OPTIONS, published="2024-01-06T10:00:00+00:00", published_confidence="low"
    )
    assert score_pair(a, beyond, stats, OPTIONS) is None
