"""Story rewrites of indexed articles keep the indexing rules: fingerprint, version, no blind writes."""

from __future__ import annotations

from typing import Any

import pytest

pytestmark = pytest.mark.integration


@pytest.fixture
def indexed(es_client: Any, es_prefix: str) -> tuple[Any, Any]:
    from newsflow.index import IndexNames, index_articles, setup_indices
    from newsflow.records import Article

    names = IndexNames.with_prefix(es_prefix)
    setup_indices(es_client, names)
    article = Article(
        url="https://outlet.example/a", canonical_url="https://outlet.example/a", title="A", text="Some text."
    )
    index_articles(es_client, [article], names=names, run_id="first")
    return names, article


def test_a_story_rewrite_bumps_the_version_and_fingerprint_once(
    es_client: Any, indexed: tuple[Any, Any]
) -> None:
    from newsflow.index.documents import fingerprint
    from newsflow.index.stories import rewrite_stories
    from newsflow.records import StoryAssignment

    names, article = indexed
    before = es_client.get(index=names.articles, id=article.id)["_source"]
    moved = StoryAssignment(article.id, "s-other", "same_story", "other", 0.8, ("p=0.80",))
    writes = rewrite_stories(es_client, names.articles, [moved])
    assert (writes.updated, writes.unchanged, writes.failed) == (1, 0, 0)
    after = es_client.get(index=names.articles, id=article.id)["_source"]
    assert (after["story_id"], after["relation"], after["duplicate_of"]) == ("s-other", "same_story", "other")
    assert after["version"] == before["version"] + 1
    assert after["doc_fingerprint"] == fingerprint(after) != before["doc_fingerprint"]
    # The same decision again writes nothing.
    again = rewrite_stories(es_client, names.articles, [moved])
    assert (again.updated, again.unchanged) == (0, 1)
    assert es_client.get(index=names.articles, id=article.id)["_source"]["version"] == after["version"]


def test_a_rewrite_of_a_missing_article_is_counted_not_dropped(
    es_client: Any, indexed: tuple[Any, Any]
) -> None:
    from newsflow.index.stories import rewrite_stories
    from newsflow.records import StoryAssignment

    names, _ = indexed
    writes = rewrite_stories(es_client, names.articles, [StoryAssignment("nope", "s-x", "original")])
    assert writes.failed_by_reason == {"not_found": 1}
