"""Searching the article index by story.

Several outlets report the same story; a reader wants the story once, with the
other reports listed under it. ``search_stories`` therefore collapses hits on
``story_id`` (the dedup stage's grouping) and returns the other reports as inner
hits, oldest first; ``all_reports=True`` turns the grouping off. Every result also
carries the head of each story it shows (``story_view.story_heads``: the first report,
outlets in order of arrival), so who reported first never depends on what matched.

Queries use ``query_text`` (AND/OR/NOT, quotes, ``prefix*``); ``--source`` and
``--lang`` values are matched against what the index holds (``facets``), ignoring
case, and a value that matches nothing is an error listing the closest ones. The same
code runs on the local node and on a secured production cluster.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING, Any, Literal

from newsflow import stored_fields
from newsflow.errors import InputError
from newsflow.es_client import aggregation, buckets, doc_count, hits, metric, search_alias, total_hits
from newsflow.facets import known_values, resolve_values
from newsflow.index.names import IndexNames
from newsflow.jsontypes import JsonObject, JsonValue, as_object
from newsflow.language import primary_language
from newsflow.query_text import is_plain, text_query
from newsflow.reports import CHRONOLOGICAL, REPORT_FIELDS, SearchHit, hit_from_es
from newsflow.story_view import StoryHead, story_heads
from newsflow.timestamps import iso_z, now_utc, span_seconds

if TYPE_CHECKING:
    from elasticsearch import Elasticsearch

Sort = Literal["relevance", "newest"]
TITLE_BOOST = 3
MAX_REPORTS_PER_STORY = 20


def parse_when(text: str, *, now: datetime | None = None, end: bool = False) -> datetime:
    """An instant from ``7d``/``12h``/``30m``/``2w`` (that long ago), ``today``, ``yesterday``,
    an ISO date or an ISO datetime. With ``end=True`` a bare date means the end of that day,
    so ``--until 2024-08-29`` includes the 29th."""
    now = now or now_utc()
    raw = text.strip().lower()
    seconds = span_seconds(raw)
    if seconds is not None:
        try:
            return now - timedelta(seconds=seconds)
        except OverflowError:  # "99999999d": before the year 1
            raise InputError(f"{text!r} reaches back before the calendar starts; give less") from None
    day: date | None = None
    if raw in {"today", "yesterday"}:
        day = now.date() - timedelta(days=1 if raw == "yesterday" else 0)
    elif re.fullmatch(r"\d{4}-\d{2}-\d{2}", raw):
        try:
            day = date.fromisoformat(raw)
        except ValueError:
            day = None
    if day is not None:
        start = datetime(day.year, day.month, day.day, tzinfo=UTC)
        return start + timedelta(days=1) if end else start
    try:
        moment = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        raise InputError(
            f"cannot read the date {text!r}; use an ISO date (2024-08-29), an ISO datetime, "
            "'today', 'yesterday' or a relative form like 7d, 12h, 30m, 2w"
        ) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class SearchResult:
    query: str
    total_reports: int
    total_stories: int
    hits: tuple[SearchHit, ...]
    took_ms: int
    collapsed: bool
    stories: dict[str, StoryHead] = field(default_factory=dict)  # the head of every story shown

    def head(self, hit: SearchHit) -> StoryHead | None:
        return self.stories.get(hit.story_id or "")

    def to_dict(self) -> dict[str, JsonValue]:
        return {
            "query": self.query,
            "total_reports": self.total_reports,
            "total_stories": self.total_stories,
            "collapsed": self.collapsed,
            "took_ms": self.took_ms,
            "hits": [h.to_dict() for h in self.hits],
            "stories": {k: v.to_dict() for k, v in self.stories.items()},
        }


@dataclass(frozen=True, slots=True)
class TopStory:
    story_id: str
    reports: int
    sources: int
    title: str | None
    url: str | None
    source: str | None
    first_published: str | None
    last_published: str | None

    def to_dict(self) -> dict[str, JsonValue]:
        return {
            "story_id": self.story_id,
            "reports": self.reports,
            "sources": self.sources,
            "title": self.title,
            "url": self.url,
            "source": self.source,
            "first_published": self.first_published,
            "last_published": self.last_published,
        }


def _sources(source: str | Sequence[str] | None) -> list[str]:
    return [source] if isinstance(source, str) else list(source or [])


def _filters(
    since: datetime | None, until: datetime | None, source: str | Sequence[str] | None, lang: str | None
) -> list[dict[str, Any]]:
    filters: list[dict[str, Any]] = []
    window: dict[str, str] = {}
    if since is not None:
        window["gte"] = iso_z(since)
    if until is not None:
        window["lt"] = iso_z(until)
    if window:
        filters.append({"range": {"published": window}})
    if source:
        filters.append({"terms": {"source": _sources(source)}})
    if lang:
        filters.append({"term": {"language": _primary(lang)}})
    return filters


def _primary(lang: str) -> str:
    """Articles store the primary code (``en``) next to the full tag, so ``EN``, ``en`` and
    ``en-GB`` all filter on ``en``."""
    primary = primary_language(lang)
    if primary is None:
        raise InputError(f"--lang {lang!r} is not a language code; use one such as en, de or pt-BR")
    return primary


def build_search_body(
    query: str,
    *,
    since: datetime | None = None,
    until: datetime | None = None,
    source: str | Sequence[str] | None = None,
    lang: str | None = None,
    all_reports: bool = False,
    size: int = 10,
    sort: Sort = "relevance",
) -> dict[str, Any]:
    """The request body, separate from the call so it can be inspected and tested."""
    if not query.strip():
        raise InputError("the search query is empty; pass the words to search for")
    if not 1 <= size <= 500:
        raise InputError(f"size={size} must be within 1..500")
    if sort not in ("relevance", "newest"):
        raise InputError(f"sort={sort!r}: use 'relevance' or 'newest'")
    highlight = {
        "pre_tags": ["<em>"],
        "post_tags": ["</em>"],
        "fields": {
            "title": {"number_of_fragments": 0},
            "text": {"fragment_size": 160, "number_of_fragments": 3},
        },
    }
    # Words typed without operators rank higher where they stand together.
    phrase = [{"match_phrase": {"text": {"query": query, "slop": 2, "boost": 2}}}] if is_plain(query) else []
    body: dict[str, Any] = {
        "query": {
            "bool": {
                "must": [text_query(query, (f"title^{TITLE_BOOST}", "text", "description"))],
                "should": phrase,
                "filter": _filters(since, until, source, lang),
            }
        },
        "size": size,
        "_source": REPORT_FIELDS,
        "highlight": highlight,
        "track_total_hits": True,
        "aggs": {"stories": {"cardinality": {"field": "story_id"}}},
    }
    if sort == "newest":
        body["sort"] = [{"published": {"order": "desc", "missing": "_last"}}, "_score"]
    if not all_reports:
        body["collapse"] = {
            "field": "story_id",
            "inner_hits": {
                "name": "reports",
                "size": MAX_REPORTS_PER_STORY,
                "sort": CHRONOLOGICAL,
                "_source": REPORT_FIELDS,
                "highlight": highlight,
            },
        }
    return body


def search_stories(
    client: Elasticsearch,
    query: str,
    *,
    since: datetime | None = None,
    until: datetime | None = None,
    source: str | Sequence[str] | None = None,
    lang: str | None = None,
    all_reports: bool = False,
    size: int = 10,
    sort: Sort = "relevance",
    index: str | None = None,
) -> SearchResult:
    alias = index or IndexNames.from_env().articles
    body = build_search_body(
        query,
        since=since,
        until=until,
        source=resolve_sources(client, alias, source),
        lang=resolve_language(client, alias, lang),
        all_reports=all_reports,
        size=size,
        sort=sort,
    )
    resp = search_alias(client, alias, "search", **body)
    found = tuple(hit_from_es(h) for h in hits(resp))
    return SearchResult(
        query=query,
        total_reports=total_hits(resp),
        total_stories=stored_fields.whole(aggregation(resp, "stories").get("value")) or 0,
        hits=found,
        took_ms=stored_fields.whole(resp.get("took")) or 0,
        collapsed=not all_reports,
        stories=story_heads(client, alias, [h.story_id for h in found if h.story_id]),
    )


def resolve_sources(
    client: Elasticsearch, alias: str, source: str | Sequence[str] | None
) -> list[str] | None:
    """The outlet names as stored, for names given in any case; unknown names raise with hints."""
    wanted = _sources(source)
    if not wanted:
        return None
    known = known_values(client, alias, "source")
    return resolve_values(wanted, known, what="outlet", listing="`newsflow sources` lists every outlet")


def resolve_language(client: Elasticsearch, alias: str, lang: str | None) -> str | None:
    """The primary code of ``lang`` if the index holds reports in it; else raise listing those it holds."""
    if not lang:
        return None
    known = known_values(client, alias, "language")
    held = ", ".join(f"{code} ({n})" for code, n in sorted(known.items(), key=lambda kv: -kv[1])) or "none"
    return resolve_values([_primary(lang)], known, what="language", listing=f"languages held: {held}")[0]


def build_top_stories_body(
    *, since: datetime | None = None, until: datetime | None = None, size: int = 10
) -> dict[str, Any]:
    if not 1 <= size <= 1000:
        raise InputError(f"size={size} must be within 1..1000")
    return {
        "size": 0,
        "query": {"bool": {"filter": _filters(since, until, None, None)}},
        "aggs": {
            "stories": {
                "terms": {"field": "story_id", "size": size, "order": [{"_count": "desc"}, {"_key": "asc"}]},
                "aggs": {
                    "sources": {"cardinality": {"field": "source"}},
                    "first": {"min": {"field": "published"}},
                    "last": {"max": {"field": "published"}},
                    "representative": {
                        "top_hits": {
                            "size": 1,
                            "sort": CHRONOLOGICAL,
                            "_source": ["title", "url", "source"],
                        }
                    },
                },
            }
        },
    }


def top_stories(
    client: Elasticsearch,
    since: datetime | None = None,
    until: datetime | None = None,
    size: int = 10,
    *,
    index: str | None = None,
) -> tuple[TopStory, ...]:
    """The stories with the most reports in a period, with how many outlets covered each.

    Title, outlet and first date are the story's first report's, even when that report is
    older than the period (a story counted in a window still began where it began).
    """
    alias = index or IndexNames.from_env().articles
    body = build_top_stories_body(since=since, until=until, size=size)
    resp = search_alias(client, alias, "top stories", **body)
    found = buckets(aggregation(resp, "stories"))
    heads = story_heads(client, alias, [str(b["key"]) for b in found])
    stories = []
    for bucket in found:
        top = hits(as_object(bucket.get("representative")))
        src: JsonObject = as_object(top[0].get("_source")) if top else {}
        first_published = stored_fields.string(metric(bucket, "first", "value_as_string"))
        head = heads.get(str(bucket["key"]))
        if head is not None:
            src = {"title": head.first.title, "url": head.first.url, "source": head.first.source}
            first_published = head.first.published or first_published
        stories.append(
            TopStory(
                story_id=str(bucket["key"]),
                reports=doc_count(bucket),
                sources=stored_fields.whole(metric(bucket, "sources")) or 0,
                title=stored_fields.string(src.get("title")),
                url=stored_fields.string(src.get("url")),
                source=stored_fields.string(src.get("source")),
                first_published=first_published,
                last_published=stored_fields.string(metric(bucket, "last", "value_as_string")),
            )
        )
    return tuple(stories)
