"""A batch and an analyst's correction deciding the same stories at once, on a real node.

Workers keep nothing between batches, so a batch that loaded its neighbourhood before a
correction was recorded decides without it, and a correction that looked its stories up
before a batch was indexed decides without the batch. Whichever checks last must decide
again (``dedup.changes``). Each test stops one side at the moment of the race: the batch by
running its two passes by hand (``decide``, then ``reconcile``), the correction by a client
that lets the racing batch write between the correction's look-up and its check.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.articles import make_article

pytestmark = pytest.mark.integration


def _stories(es_client: Any, alias: str) -> dict[str, str]:
    es_client.indices.refresh(index=alias)
    hits = es_client.search(index=alias, size=100, source_includes=["id", "story_id"])["hits"]["hits"]
    return {h["_source"]["id"]: h["_source"]["story_id"] for h in hits}


def _copy_of(article: Any) -> Any:
    """A new outlet's copy of ``article``: it joins whatever story the article is in."""
    return make_article(
        "https://eastern-post.example/2022/08/30/kherson",
        article.title,
        article.text,
        "2022-08-30T13:00:00Z",
        "Eastern Post",
        content_hash=article.content_hash,
    )


def _index_first_pass(es_client: Any, names: Any, batch: list[Any], first: Any) -> None:
    """What ``ElasticStories.add`` writes between its two passes."""
    from newsflow.dedup.es_stories import story_documents
    from newsflow.index import index_articles
    from newsflow.index.stories import rewrite_stories

    rewrite_stories(es_client, names.articles, first.changed_held)
    index_articles(es_client, story_documents(batch, first), names=names, run_id="racing")


def test_a_batch_that_loaded_before_a_correction_decides_again_with_it(
    es_client: Any, story_names: Any, kherson: list[Any], others: list[Any]
) -> None:
    from newsflow.dedup import DedupOptions
    from newsflow.dedup.corrections import Correction
    from newsflow.dedup.es_stories import ElasticStories
    from newsflow.index.corrections import record_corrections

    options = DedupOptions()
    herald, courier, wire = kherson
    backend = ElasticStories(es_client, story_names)
    backend.add([herald, wire, *others], options, run_id="batch-1")
    first = backend.decide([courier], options)  # loads its neighbourhood: no correction yet
    assert first.assignments[courier.id].story_id == first.held_stories[herald.id]

    # The analyst's word is recorded now; the command has not decided its stories yet (the
    # courier is not even indexed), so nothing this batch loaded has moved.
    record_corrections(es_client, story_names.corrections, [Correction.of(courier.id, herald.id, "apart")])
    _index_first_pass(es_client, story_names, [courier], first)
    again, writes = backend.reconcile([courier], options, first=first)

    assert again.assignments, "the reconcile did not decide the batch again"
    assert writes.failed == 0
    stories = _stories(es_client, story_names.articles)
    assert stories[courier.id] != stories[herald.id]
    assert stories[herald.id] == stories[wire.id]


class _RacingClient:
    """The node's client, but the first refresh of an index first lets ``race`` write: in
    ``apply_corrections`` that falls after its look-up and rewrite and before its check."""

    def __init__(self, client: Any, race: Any) -> None:
        self._client = client
        self.indices = _RacingIndices(client.indices, race)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)


class _RacingIndices:
    def __init__(self, indices: Any, race: Any) -> None:
        self._indices = indices
        self._race = race

    def refresh(self, **kwargs: Any) -> Any:
        race, self._race = self._race, None
        if race is not None:
            race()
        return self._indices.refresh(**kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._indices, name)


def test_a_correction_decides_again_with_a_batch_indexed_after_its_look_up(
    es_client: Any, story_names: Any, kherson: list[Any], others: list[Any]
) -> None:
    from newsflow.dedup import DedupOptions
    from newsflow.dedup.corrections import Correction
    from newsflow.dedup.es_stories import ElasticStories

    options = DedupOptions()
    herald, courier, wire = kherson
    ElasticStories(es_client, story_names).add([*kherson, *others], options, run_id="batch-1")
    copy = _copy_of(courier)
    # The racing batch decided before the correction was recorded, and its reconcile found
    # nothing to do; it is indexed while the correction is being decided.
    first = ElasticStories(es_client, story_names).decide([copy], options)
    assert first.assignments[copy.id].story_id == first.held_stories[herald.id]

    racing = _RacingClient(es_client, lambda: _index_first_pass(es_client, story_names, [copy], first))
    report = ElasticStories(racing, story_names).correct(  # type: ignore[arg-type] # a client proxy
        [Correction.of(courier.id, herald.id, "apart")], options
    )
    assert report.counts.get("corrections:decided_again") == 1
    stories = _stories(es_client, story_names.articles)
    assert stories[copy.id] == stories[courier.id] != stories[herald.id]  # the copy goes with its original
    assert stories[herald.id] == stories[wire.id]
    assert copy.id in report.moved
