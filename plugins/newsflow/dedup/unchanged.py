"""Articles a rerun or backfill brings back exactly as they are stored keep their stories.

A backfill re-reads batches whose articles were decided when they arrived. Deciding them
again would compare them with everything that arrived since, and could move stories that
later articles had already joined or merged; and a decision read before a concurrent batch
wrote would put stale story fields back over its writes. So an article whose stored
document is the one this batch would write, apart from what the story stage decides, is
left out of the story stage and out of the write: its stored story stands. An article whose
extraction changed (new text, a better title from a newer extractor) is decided again.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from newsflow.dedup.stored import hit_to_records
from newsflow.index.documents import ArticleDoc, build_document, fingerprint
from newsflow.index.generations import mget_across
from newsflow.jsontypes import as_object
from newsflow.records import Article, StoryAssignment

if TYPE_CHECKING:
    from elasticsearch import Elasticsearch

# What the story stage writes into a document; everything else comes from extraction.
STORY_STAGE_FIELDS = ("story_id", "relation", "duplicate_of", "score", "why", "dedup_keys", "dedup_signals")


def stored_unchanged(
    client: Elasticsearch, alias: str, articles: Sequence[Article]
) -> dict[str, StoryAssignment]:
    """The stored story of each article whose document would not change but for the story stage."""
    if not articles:
        return {}
    ids = [a.id for a in articles]
    docs = mget_across(client, alias, ids, source_includes=[*STORY_STAGE_FIELDS, "doc_fingerprint"])
    kept: dict[str, StoryAssignment] = {}
    for article, doc in zip(articles, docs, strict=True):
        source = as_object(doc.get("_source"))
        if not doc.get("found") or not source.get("doc_fingerprint"):
            continue
        records = hit_to_records(doc)
        if records is None or records[1] is None:
            continue
        rebuilt = build_document(ArticleDoc(article=article), version=0, indexed_at="")
        rebuilt.update({field: source.get(field) for field in STORY_STAGE_FIELDS})
        if fingerprint(rebuilt) == source["doc_fingerprint"]:
            kept[article.id] = records[1]
    return kept
