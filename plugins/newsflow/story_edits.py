"""An analyst's corrections of stories in the index: which articles they name, and applying them.

Analysts name articles as the tools show them: an article id, the first characters of one
(``newsflow story`` prints twelve), or the article's URL. The correction itself is the story
stage's (``dedup.corrections``), recorded and applied by its one owner of story state
(``StoryIndex``), so it holds through every later batch.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from newsflow import stored_fields
from newsflow.dedup.corrections import Correction
from newsflow.dedup.options import DedupOptions
from newsflow.dedup.story_index import CorrectionReport
from newsflow.errors import InputError
from newsflow.es_client import hits, search_alias
from newsflow.index import IndexNames
from newsflow.index.corrections import list_corrections
from newsflow.jsontypes import JsonObject, as_object
from newsflow.records import article_id
from newsflow.urls import canonicalize_url

if TYPE_CHECKING:
    from elasticsearch import Elasticsearch

MIN_ID_PREFIX = 6  # shortest article-id prefix looked up
MAX_DETACHED_FROM = 1000  # reports of one story an article is detached from in one command


@dataclass(frozen=True, slots=True)
class ArticleRef:
    """An article as an analyst names it, and what the index holds of it."""

    asked: str
    id: str
    title: str
    source: str | None
    story_id: str | None


def _found(client: Elasticsearch, alias: str, query: JsonObject, size: int) -> list[ArticleRef]:
    response = search_alias(
        client,
        alias,
        "reading articles",
        query=query,
        size=size,
        _source=["id", "title", "source", "story_id"],
    )
    out = []
    for hit in hits(response):
        source = as_object(hit.get("_source"))
        out.append(
            ArticleRef(
                asked="",
                id=stored_fields.string(source.get("id")) or str(hit.get("_id")),
                title=stored_fields.text(source.get("title")) or "",
                source=stored_fields.string(source.get("source")),
                story_id=stored_fields.string(source.get("story_id")),
            )
        )
    return out


def resolve_article(client: Elasticsearch, alias: str, asked: str) -> ArticleRef:
    """The one article ``asked`` names (id, unique id prefix or URL); ``InputError`` otherwise."""
    wanted = asked.strip()
    if "://" in wanted:
        try:
            wanted = article_id(canonicalize_url(wanted))
        except ValueError as exc:
            raise InputError(f"{asked!r} is not a URL newsflow can read ({exc})") from exc
    found = _found(client, alias, {"ids": {"values": [wanted]}}, 1)
    if not found and len(wanted) >= MIN_ID_PREFIX and "://" not in asked:
        found = _found(client, alias, {"prefix": {"id": wanted}}, 2)
        if len(found) > 1:
            raise InputError(f"{asked!r} starts several article ids; give more of it")
    if not found:
        raise InputError(
            f"no article in {alias!r} is {asked!r} (an article id, at least {MIN_ID_PREFIX} of its first "
            "characters, or its URL: `newsflow story ID` lists a story's articles)"
        )
    ref = found[0]
    return ArticleRef(asked, ref.id, ref.title, ref.source, ref.story_id)


def correct_stories(
    client: Elasticsearch,
    names: IndexNames,
    verdict: str,
    first: str,
    second: str,
    *,
    by: str = "",
    note: str = "",
    options: DedupOptions | None = None,
) -> tuple[tuple[ArticleRef, ArticleRef], CorrectionReport]:
    """Record one correction of two named articles and apply it; the two articles as found."""
    a = resolve_article(client, names.articles, first)
    b = resolve_article(client, names.articles, second)
    return (a, b), _apply(client, names, [Correction.of(a.id, b.id, verdict, by=by, note=note)], options)


def _apply(
    client: Elasticsearch, names: IndexNames, corrections: list[Correction], options: DedupOptions | None
) -> CorrectionReport:
    """Through the one owner of story state; the index stamps each record's time."""
    from newsflow.dedup.es_stories import ElasticStories
    from newsflow.dedup.options import DedupOptions
    from newsflow.dedup.story_index import StoryIndex

    options = options or DedupOptions.from_env()
    return StoryIndex(ElasticStories(client, names), options).correct(corrections, run_id="correction")


def detach_from_story(
    client: Elasticsearch,
    names: IndexNames,
    asked: str,
    *,
    by: str = "",
    note: str = "",
    options: DedupOptions | None = None,
) -> tuple[ArticleRef, CorrectionReport]:
    """Keep an article apart from every other report of its story: "it does not belong here",
    without naming which report it was wrongly joined to. One apart correction per report, so
    each can be withdrawn on its own; the article may still join another story."""
    ref = resolve_article(client, names.articles, asked)
    if ref.story_id is None:
        raise InputError(f"article {ref.id} has no story yet; nothing to detach it from")
    mates = [
        m
        for m in _found(client, names.articles, {"term": {"story_id": ref.story_id}}, MAX_DETACHED_FROM + 2)
        if m.id != ref.id
    ]
    if not mates:
        raise InputError(f"article {ref.id} is alone in its story {ref.story_id}; nothing to detach it from")
    if len(mates) > MAX_DETACHED_FROM:
        raise InputError(
            f"story {ref.story_id} holds more than {MAX_DETACHED_FROM} other reports; name the ones the "
            "article is apart from (`newsflow correct apart`)"
        )
    corrections = [Correction.of(ref.id, m.id, "apart", by=by, note=note) for m in mates]
    return ref, _apply(client, names, corrections, options)


def recorded_corrections(
    client: Elasticsearch, names: IndexNames, *, article: str | None = None, size: int = 100
) -> list[Correction]:
    """The latest corrections, of one named article with ``article``."""
    wanted = resolve_article(client, names.articles, article).id if article else None
    return list_corrections(client, names.corrections, article=wanted, size=size)
