"""Searching the article index by story.

Several outlets report the same story; a reader wants the story once, with the
other reports listed under it. ``search_stories`` therefore collapses hits on
``story_id`` (the dedup stage's grouping) and returns the other reports as inner
hits, oldest first; ``all_reports=True`` turns the grouping off. The same code
runs on the local node and on a secured production cluster: the client comes
from ``newsflow.es_client`` with credentials from the environment.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING, Any, Literal

from newsflow.errors import InputError, ServiceError
from newsflow.index.names import IndexNames
from newsflow.language import primary_language

if TYPE_CHECKING:
    from elasticsearch import Elasticsearch

Sort = Literal["relevance", "newest"]
REPORT_FIELDS = [
    "title",
    "url",
    "canonical_url",
    "source",
    "site_name",
    "published",
    "language",
    "story_id",
    "relation",
    "duplicate_of",
    "authors",
]
TITLE_BOOST = 3
MAX_REPORTS_PER_STORY = 20
_RELATIVE_RE = re.compile(r"^(\d+)\s*([mhdw])$")
_UNITS = {"m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


def parse_when(text: str, *, now: datetime | None = None, end: bool = False) -> datetime:
    """An instant from ``7d``/``12h``/``30m``/``2w`` (that long ago), ``today``, ``yesterday``,
    an ISO date or an ISO datetime. With ``end=True`` a bare date means the end of that day,
    so ``--until 2024-08-29`` includes the 29th."""
    now = now or datetime.now(UTC)
    raw = text.strip().lower()
    match = _RELATIVE_RE.match(raw)
    if match:
        return now - timedelta(**{_UNITS[match.group(2)]: int(match.group(1))})
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


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


@dataclass(frozen=True, slots=True)
class SearchHit:
    """One report; a story hit also lists the story's reports (``reports``) oldest first."""

    id: str
    title: str
    url: str | None
    source: str | None
    published: str | None
    language: str | None
    story_id: str | None
    relation: str | None
    score: float | None
    highlights: dict[str, tuple[str, ...]] = field(default_factory=dict)
    reports: tuple[SearchHit, ...] = ()
    story_reports: int = 0

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "id": self.id,
            "title": self.title,
            "url": self.url,
            "source": self.source,
            "published": self.published,
            "language": self.language,
            "story_id": self.story_id,
            "relation": self.relation,
            "score": self.score,
            "highlights": {k: list(v) for k, v in self.highlights.items()},
        }
        if self.reports or self.story_reports:
            data["story_reports"] = self.story_reports
            data["reports"] = [r.to_dict() for r in self.reports]
        return data


@dataclass(frozen=True, slots=True)
class SearchResult:
    query: str
    total_reports: int
    total_stories: int
    hits: tuple[SearchHit, ...]
    took_ms: int
    collapsed: bool

    def to_dict(self) -> dict[str, Any]:
        return {
            "query": self.query,
            "total_reports": self.total_reports,
            "total_stories": self.total_stories,
            "collapsed": self.collapsed,
            "took_ms": self.took_ms,
            "hits": [h.to_dict() for h in self.hits],
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

    def to_dict(self) -> dict[str, Any]:
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


def _filters(
    since: datetime | None, until: datetime | None, source: str | list[str] | None, lang: str | None
) -> list[dict[str, Any]]:
    filters: list[dict[str, Any]] = []
    window: dict[str, str] = {}
    if since is not None:
        window["gte"] = _iso(since)
    if until is not None:
        window["lt"] = _iso(until)
    if window:
        filters.append({"range": {"published": window}})
    if source:
        filters.append({"terms": {"source": [source] if isinstance(source, str) else list(source)}})
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


def _highlights(raw: dict[str, Any] | None) -> dict[str, tuple[str, ...]]:
    return {str(k): tuple(str(x) for x in v) for k, v in (raw or {}).items()}


def _hit(raw: dict[str, Any]) -> SearchHit:
    src = raw.get("_source", {})
    inner = raw.get("inner_hits", {}).get("reports", {}).get("hits", {})
    reports = tuple(_hit(r) for r in inner.get("hits", []))
    score = raw.get("_score")
    return SearchHit(
        id=str(raw["_id"]),
        title=str(src.get("title") or ""),
        url=src.get("url"),
        source=src.get("source"),
        published=src.get("published"),
        language=src.get("language"),
        story_id=src.get("story_id"),
        relation=src.get("relation"),
        score=float(score) if score is not None else None,
        highlights=_highlights(raw.get("highlight")),
        reports=reports,
        story_reports=int(inner.get("total", {}).get("value", 0)) if inner else 0,
    )


def build_search_body(
    query: str,
    *,
    since: datetime | None = None,
    until: datetime | None = None,
    source: str | list[str] | None = None,
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
    body: dict[str, Any] = {
        "query": {
            "bool": {
                "must": [
                    {
                        "multi_match": {
                            "query": query,
                            "fields": [f"title^{TITLE_BOOST}", "text", "description"],
                            "type": "best_fields",
                            "tie_breaker": 0.3,
                        }
                    }
                ],
                "should": [{"match_phrase": {"text": {"query": query, "slop": 2, "boost": 2}}}],
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
                "sort": [{"published": {"order": "asc", "missing": "_last"}}],
                "_source": REPORT_FIELDS,
                "highlight": highlight,
            },
        }
    return body


def _call(action: str, alias: str, fn: Any, **kwargs: Any) -> Any:
    from elasticsearch import ApiError, NotFoundError, TransportError

    try:
        return fn(**kwargs)
    except NotFoundError:
        raise ServiceError(
            f"the index {alias!r} does not exist; run `newsflow index setup` and index some articles, "
            "or choose another alias with --index / NEWSFLOW_INDEX_ALIAS"
        ) from None
    except TransportError as exc:  # down, unreachable or timing out: say how to start it
        from newsflow.es_client import unreachable

        raise unreachable(exc) from exc
    except ApiError as exc:
        from newsflow.redact import redact_text

        raise ServiceError(f"{action} on {alias!r} failed: {redact_text(str(exc))}") from exc


def search_stories(
    client: Elasticsearch,
    query: str,
    *,
    since: datetime | None = None,
    until: datetime | None = None,
    source: str | list[str] | None = None,
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
        source=source,
        lang=lang,
        all_reports=all_reports,
        size=size,
        sort=sort,
    )
    resp = _call("search", alias, client.search, index=alias, **body)
    hits = tuple(_hit(h) for h in resp["hits"]["hits"])
    return SearchResult(
        query=query,
        total_reports=int(resp["hits"]["total"]["value"]),
        total_stories=int(resp.get("aggregations", {}).get("stories", {}).get("value", 0)),
        hits=hits,
        took_ms=int(resp.get("took", 0)),
        collapsed=not all_reports,
    )


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
                            "sort": [{"published": {"order": "asc", "missing": "_last"}}],
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
    """The stories with the most reports in a period, with how many outlets covered each."""
    alias = index or IndexNames.from_env().articles
    body = build_top_stories_body(since=since, until=until, size=size)
    resp = _call("top stories", alias, client.search, index=alias, **body)
    stories = []
    for bucket in resp["aggregations"]["stories"]["buckets"]:
        top = bucket["representative"]["hits"]["hits"]
        src = top[0]["_source"] if top else {}
        stories.append(
            TopStory(
                story_id=str(bucket["key"]),
                reports=int(bucket["doc_count"]),
                sources=int(bucket["sources"]["value"]),
                title=src.get("title"),
                url=src.get("url"),
                source=src.get("source"),
                first_published=bucket["first"].get("value_as_string"),
                last_published=bucket["last"].get("value_as_string"),
            )
        )
    return tuple(stories)
