"""How an article and its story assignment become one Elasticsearch document.

The document carries a fingerprint of everything we write except the
bookkeeping fields, so a re-run can tell "unchanged" from "changed" with a cheap
``mget`` of three fields instead of comparing whole sources (no scripts needed).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass

from newsflow.errors import InputError
from newsflow.jsontypes import JsonObject, JsonValue
from newsflow.records import Article, StoryAssignment, content_hash, stable_id

BOOKKEEPING_FIELDS = frozenset({"version", "indexed_at", "doc_fingerprint"})


@dataclass(frozen=True, slots=True)
class ArticleDoc:
    """One article to index, with its story assignment and the dedup stage's look-up keys."""

    article: Article
    story: StoryAssignment | None = None
    dedup_keys: tuple[str, ...] = ()
    dedup_signals: JsonObject | None = None

    def __post_init__(self) -> None:
        if self.story is not None and self.story.id != self.article.id:
            raise InputError(
                f"story assignment {self.story.id!r} does not belong to article {self.article.id!r} "
                f"({self.article.canonical_url}); pass the assignment made for this article"
            )

    @property
    def id(self) -> str:
        return self.article.id


def as_doc(item: Article | ArticleDoc) -> ArticleDoc:
    return item if isinstance(item, ArticleDoc) else ArticleDoc(article=item)


def content_hash_of(article: Article) -> str:
    """The article's own hash, or the same hash of its text when the article came without one."""
    return article.content_hash or content_hash(article.text)


def fingerprint(document: JsonObject) -> str:
    """What decides whether a rerun rewrites a document: its content and story, not bookkeeping.

    The dedup edges stored with an article are left out: a rerun after later articles
    arrived finds edges to them too (they already hold those edges themselves), and
    that alone must not rewrite an unchanged article.
    """
    payload = {k: v for k, v in document.items() if k not in BOOKKEEPING_FIELDS}
    signals = payload.get("dedup_signals")
    if isinstance(signals, Mapping) and "edges" in signals:
        payload["dedup_signals"] = {k: v for k, v in signals.items() if k != "edges"}
    text = json.dumps(payload, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str)
    return stable_id(text)


def build_document(item: ArticleDoc, *, version: int, indexed_at: str) -> dict[str, JsonValue]:
    """The ``_source`` of one article; an unassigned article is its own story (``original``).

    Every article gets a ``story_id`` so collapsing never lumps unassigned articles together.
    """
    article = item.article
    data = article.to_dict()
    data["authors"] = list(article.authors)
    data["tags"] = list(article.tags)
    data["content_hash"] = content_hash_of(article)
    story = item.story
    data["story_id"] = story.story_id if story else article.id
    data["relation"] = story.relation if story else "original"
    data["duplicate_of"] = story.duplicate_of if story else None
    data["score"] = float(story.score) if story else 0.0
    data["why"] = list(story.why) if story else []
    data["dedup_keys"] = list(item.dedup_keys)
    data["dedup_signals"] = dict(item.dedup_signals) if item.dedup_signals is not None else None
    data["doc_fingerprint"] = fingerprint(data)
    data["version"] = version
    data["indexed_at"] = indexed_at
    return data
