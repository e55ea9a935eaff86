"""Golden file for the Elasticsearch document of an article: every field the index stores.

The article, its story assignment and its dedup signals go through ``build_document`` as
the story stage writes them; a change to any stored field (or to the signals' shape) shows
up here as a diff to review, before it reaches an index.
"""

from __future__ import annotations

from newsflow.dedup import DedupOptions
from newsflow.dedup.story_index import signals_of
from newsflow.index import ArticleDoc, build_document
from newsflow.jsontypes import as_object
from newsflow.records import Article, StoryAssignment, content_hash
from tests.unit.golden import GOLDEN, check

TEXT = (
    "The city council voted on Monday to build two new cycle lanes along the harbour road.\n"
    "Mayor Anna Berg said the work would start in May and cost 4.2 million euros.\n"
    '"We have waited ten years for this," said Lars Holm of the cyclists\' club.'
)
ARTICLE = Article(
    url="https://courier.example/2026/03/02/city-approves-cycle-lanes?utm_source=rss",
    canonical_url="https://courier.example/2026/03/02/city-approves-cycle-lanes",
    title="City approves cycle lanes",
    text=TEXT,
    published="2026-03-02T09:30:00Z",
    published_source="json-ld",
    modified="2026-03-02T11:00:00Z",
    authors=("Eva Lind",),
    language="en",
    language_tag="en-GB",
    site_name="Southern Courier",
    description="Two new lanes along the harbour road.",
    source="Southern Courier",
    feed="southern-courier",
    tags=("city", "transport"),
    fetched_at="2026-03-02T12:00:03Z",
    extractor_version="newsflow-extract/1.1+trafilatura/2.3.1",
    archive_ref="/archive/warc/2026/03/02/poll-20260302T120000Z-0a1b2c3d-00001.warc.gz#1234",
    content_hash=content_hash(TEXT),
)


def test_the_document_of_an_article() -> None:
    signals = signals_of(ARTICLE, DedupOptions())  # as the story stage computes them
    story = StoryAssignment(
        id=ARTICLE.id,
        story_id="story-harbour-lanes",
        relation="same_story",
        duplicate_of=None,
        score=0.91,
        why=("entities", "lede"),
    )
    document = build_document(
        ArticleDoc(ARTICLE, story, dedup_keys=signals.query_keys(), dedup_signals=signals.to_dict()),
        version=3,
        indexed_at="2026-03-02T12:00:09.125Z",
    )
    assert document["content_hash"] == as_object(document["dedup_signals"])["content_hash"]
    check(GOLDEN / "index" / "article.expected.json", document)
