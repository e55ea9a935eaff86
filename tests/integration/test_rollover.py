"""Article generations after a core ``_rollover``: reads, upserts, story rewrites and stories still
see every generation, and a create that raced the rollover is settled to one copy."""

from __future__ import annotations

from typing import Any

import pytest

from tests.articles import make_article

pytestmark = pytest.mark.integration


def _articles(n: int, prefix: str) -> list[Any]:
    return [
        make_article(
            f"https://outlet.example/{prefix}/{i}",
            f"{prefix} report {i}",
            f"Report {i} of {prefix}: the council met on Tuesday and voted {i} to {n - i} on the budget.",
            f"2022-08-{10 + i % 15:02d}T09:00:00Z",
            "Outlet",
        )
        for i in range(n)
    ]


@pytest.fixture
def names(es_client: Any, es_prefix: str) -> Any:
    from newsflow.index import IndexNames, setup_indices

    names = IndexNames.with_prefix(es_prefix)
    setup_indices(es_client, names)
    return names


def _copies(es_client: Any, alias: str) -> dict[str, list[str]]:
    es_client.indices.refresh(index=alias)
    hits = es_client.search(index=alias, size=1000, source=False)["hits"]["hits"]
    held: dict[str, list[str]] = {}
    for hit in hits:
        held.setdefault(hit["_id"], []).append(hit["_index"])
    return held


def test_rollover_then_upserts_find_every_generation(es_client: Any, names: Any) -> None:
    from dataclasses import replace

    from newsflow.index import index_articles
    from newsflow.index.generations import RolloverConditions, generations, rollover

    first = _articles(6, "first")
    report = index_articles(es_client, first, names=names, run_id="one", options=None)
    assert report.created == 6
    es_client.indices.refresh(index=names.articles)
    kept = rollover(es_client, names.articles, RolloverConditions(None, None, max_docs=100))
    assert not kept.rolled_over
    rolled = rollover(es_client, names.articles, RolloverConditions(None, None, max_docs=5))
    assert rolled.rolled_over and rolled.new_index.endswith("-000002")
    assert generations(es_client, names.articles) == [rolled.old_index, rolled.new_index]

    # The same six again, one of them changed, and four new: no second copy of anything.
    changed = [replace(first[0], title="first report 0, corrected"), *first[1:]]
    again = index_articles(es_client, [*changed, *_articles(4, "second")], names=names, run_id="two")
    assert (again.created, again.updated, again.unchanged, again.failed) == (4, 1, 5, 0)
    held = _copies(es_client, names.articles)
    copies = sum(map(len, held.values()))
    print(f"\nrollover upserts: expected 10 documents, found {len(held)} ids in {copies} copies")
    assert len(held) == 10 and all(len(where) == 1 for where in held.values())
    assert held[first[0].id] == [rolled.old_index]  # updated where it lives
    stored = es_client.get(index=rolled.old_index, id=first[0].id)["_source"]
    assert (stored["title"], stored["version"]) == ("first report 0, corrected", 2)


def test_story_rewrites_and_edges_reach_older_generations(es_client: Any, names: Any) -> None:
    from newsflow.index import index_articles
    from newsflow.index.generations import RolloverConditions, rollover
    from newsflow.index.stories import rewrite_stories, store_edges
    from newsflow.records import StoryAssignment

    (old,) = _articles(1, "old")
    index_articles(es_client, [old], names=names, run_id="one")
    es_client.indices.refresh(index=names.articles)
    rolled = rollover(es_client, names.articles, RolloverConditions(None, None, max_docs=1))
    assert rolled.rolled_over
    moved = StoryAssignment(old.id, "s-new", "same_story", "other", 0.7, ("p=0.70",))
    writes = rewrite_stories(es_client, names.articles, [moved])
    assert (writes.updated, writes.failed) == (1, 0)
    edges = store_edges(es_client, names.articles, {old.id: [["other", 0.7]], "missing-id": []})
    assert (edges.updated, edges.failed_by_reason) == (1, {"not_found": 1})
    assert _copies(es_client, names.articles) == {old.id: [rolled.old_index]}
    stored = es_client.get(index=rolled.old_index, id=old.id)["_source"]
    assert stored["story_id"] == "s-new"


def test_a_create_that_raced_the_rollover_is_settled_to_the_oldest_copy(es_client: Any, names: Any) -> None:
    from newsflow.index import index_articles
    from newsflow.index.generations import RolloverConditions, rollover, settle_created

    a, b = _articles(2, "race")
    index_articles(es_client, [a], names=names, run_id="one")
    es_client.indices.refresh(index=names.articles)
    rolled = rollover(es_client, names.articles, RolloverConditions(None, None, max_docs=1))
    # Writer 1 planned before the rollover (b absent) and created b in the old generation;
    # writer 2 planned after it and created b in the new one: two copies.
    source = es_client.get(index=rolled.old_index, id=a.id)["_source"]
    es_client.index(index=rolled.old_index, id=b.id, document=source, op_type="create")
    es_client.index(index=rolled.new_index, id=b.id, document=source, op_type="create")
    assert len(_copies(es_client, names.articles)[b.id]) == 2
    # Writer 2's check finds both: its own (newer) copy goes, and it is told to decide again.
    assert settle_created(es_client, names.articles, {b.id: rolled.new_index}) == {b.id}
    # Writer 1's check, later, finds one copy and does nothing.
    assert settle_created(es_client, names.articles, {b.id: rolled.old_index}) == set()
    assert _copies(es_client, names.articles)[b.id] == [rolled.old_index]


def test_stories_decided_across_a_rollover_match_one_generation(
    es_client: Any, names: Any, seed_texts: list[str]
) -> None:
    from newsflow.dedup.es_stories import ElasticStories
    from newsflow.dedup.story_index import StoryIndex
    from newsflow.index.generations import RolloverConditions, rollover

    herald, courier = (
        make_article(
            f"https://outlet-{i}.example/kherson",
            f"Kherson report {i}",
            text,
            f"2022-08-30T{7 + 3 * i:02d}:00:00Z",
            f"outlet-{i}",
        )
        for i, text in enumerate(seed_texts)
    )
    index = StoryIndex(ElasticStories(es_client, names))
    index.add([herald])
    es_client.indices.refresh(index=names.articles)
    assert rollover(es_client, names.articles, RolloverConditions(None, None, max_docs=1)).rolled_over
    index.add([courier])
    index.add([herald])  # a rerun of the first batch after the rollover
    held = _copies(es_client, names.articles)
    assert sorted(held) == sorted([herald.id, courier.id])
    assert all(len(where) == 1 for where in held.values())
    docs = {d["_id"]: d["_source"] for d in es_client.search(index=names.articles)["hits"]["hits"]}
    assert docs[herald.id]["story_id"] == docs[courier.id]["story_id"]
