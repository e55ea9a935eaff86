"""Feed parsing (RSS, Atom, RDF, JSON Feed) into frozen entries; the registry lives in feed_registry.

Parsing works on bytes we fetched ourselves (feedparser never goes to the network)
and keeps every entry it can recover from a malformed feed. Feeds are hostile input:
parsing never raises on them (a parser crash is reported as ``malformed``), and every
string it hands on is encodable (lone surrogates are replaced), so whatever writes an
entry (archive sidecars, XCom, the console) never fails on one.
"""

from __future__ import annotations

import calendar
import html
import json
import logging
import re
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urljoin, urlsplit

from newsflow.feed_registry import (
    MAX_POLL_INTERVAL,
    FeedRegistry,
    FeedSpec,
    RegistryError,
    check_registry,
    load_registry,
    parse_interval,
)
from newsflow.jsontypes import JsonObject, JsonValue, as_list
from newsflow.stored_fields import string
from newsflow.textsafe import clean_surrogates, has_lone_surrogates
from newsflow.timestamps import iso_z, parse_utc_or_none
from newsflow.urls import canonicalize_url

logger = logging.getLogger(__name__)

_DOCTYPE = re.compile(rb"<!DOCTYPE", re.IGNORECASE)
_ENTITY = re.compile(rb"<!ENTITY", re.IGNORECASE)
_PROLOG_SCAN_BYTES = 64 * 1024
_TAG = re.compile(r"<[^>]*>")
_SPACE = re.compile(r"\s+")
SUMMARY_MAX_CHARS = 4000  # keeps poll reports small enough for XCom


@dataclass(frozen=True, slots=True)
class FeedEntry:
    """One item of a feed, as the fetch stage needs it (never the page body)."""

    feed: str
    url: str
    canonical_url: str
    title: str = ""
    summary: str = ""
    published: str | None = None  # ISO 8601 UTC
    updated: str | None = None
    guid: str | None = None
    tags: tuple[str, ...] = ()
    feed_ref: str | None = None  # archive ref of the feed response this entry came from

    def to_dict(self) -> dict[str, JsonValue]:
        return {
            "feed": self.feed,
            "url": self.url,
            "canonical_url": self.canonical_url,
            "title": self.title,
            "summary": self.summary,
            "published": self.published,
            "updated": self.updated,
            "guid": self.guid,
            "tags": list(self.tags),
            "feed_ref": self.feed_ref,
        }

    @classmethod
    def from_dict(cls, data: JsonObject) -> FeedEntry:
        """An entry as the archive or a queue file holds it; an optional field of another type
        reads as missing (``KeyError`` only for a missing feed, URL or canonical URL)."""
        return cls(
            feed=str(data["feed"]),
            url=str(data["url"]),
            canonical_url=str(data["canonical_url"]),
            title=str(data.get("title") or ""),
            summary=str(data.get("summary") or ""),
            published=string(data.get("published")),
            updated=string(data.get("updated")),
            guid=string(data.get("guid")),
            tags=tuple(str(tag) for tag in as_list(data.get("tags"))),
            feed_ref=string(data.get("feed_ref")),
        )


@dataclass(frozen=True, slots=True)
class ParsedFeed:
    """What a feed body yielded; ``error`` is set (bozo) when it was malformed or refused."""

    format: str  # rss20, atom10, rss10, json, ... or "unknown"
    title: str
    entries: tuple[FeedEntry, ...]
    error: str | None = None  # short reason code, e.g. "malformed", "entity_declarations"
    error_detail: str | None = None
    skipped: int = 0  # entries without a usable http(s) link

    @property
    def bozo(self) -> bool:
        return self.error is not None


def has_entity_declarations(body: bytes) -> bool:
    """True if the XML prolog declares entities (billion-laughs and external-entity risk)."""
    head = body[:_PROLOG_SCAN_BYTES]
    return bool(_DOCTYPE.search(head) and _ENTITY.search(head))


def _looks_like_json(body: bytes, content_type: str) -> bool:
    if content_type in ("application/feed+json", "application/json"):
        return True
    stripped = body.lstrip(b"\xef\xbb\xbf \t\r\n")
    return stripped.startswith(b"{")


def parse_feed(
    body: bytes,
    *,
    feed: str,
    base_url: str,
    content_type: str = "",
) -> ParsedFeed:
    """Parse a feed body; never raises on bad input, reports it in ``error`` instead."""
    if not body.strip():
        return ParsedFeed(format="unknown", title="", entries=(), error="empty", error_detail="empty body")
    if _looks_like_json(body, content_type):
        return _parse_json_feed(body, feed=feed, base_url=base_url)
    if has_entity_declarations(body):
        return ParsedFeed(
            format="unknown",
            title="",
            entries=(),
            error="entity_declarations",
            error_detail="DOCTYPE declares entities; refused to avoid entity expansion",
        )
    import feedparser

    try:
        # Bytes only: given a str, feedparser would treat it as a URL or a file name.
        parsed = feedparser.parse(
            bytes(body),
            response_headers={
                "content-location": base_url,
                "content-type": content_type or "application/xml",
            },
            resolve_relative_uris=False,
            # Sanitising costs over half the parse time and we never render feed HTML:
            # summaries are reduced to plain text by ``_plain_text`` instead.
            sanitize_html=False,
        )
    except Exception as crash:  # feedparser's loose parser raises on some hostile input (&#xD800;)
        why = clean_surrogates(f"feed parser failed: {type(crash).__name__}: {crash}")[:300]
        return ParsedFeed(format="unknown", title="", entries=(), error="malformed", error_detail=why)
    entries: list[FeedEntry] = []
    skipped = 0
    for raw in parsed.entries:
        entry = _entry_from_feedparser(raw, feed=feed, base_url=base_url)
        if entry is None:
            skipped += 1
        else:
            entries.append(entry)
    error: str | None = None
    detail: str | None = None
    if parsed.get("bozo"):
        exc = parsed.get("bozo_exception")
        name = type(exc).__name__ if exc is not None else ""
        # A declared-vs-actual charset mismatch is recoverable and common; still reported.
        error = "encoding_mismatch" if "CharacterEncoding" in name else "malformed"
        detail = clean_surrogates(f"{name}: {exc}")[:300]
    if not entries and not parsed.get("version"):
        error = "not_a_feed"
        detail = detail or "no RSS/Atom/RDF root element"
    return ParsedFeed(
        format=str(parsed.get("version") or "unknown"),
        title=_text(parsed.feed.get("title")),
        entries=tuple(entries),
        error=error,
        error_detail=detail,
        skipped=skipped,
    )


def _text(value: Any) -> str:
    """A feed's string field, stripped and always encodable (lone surrogates become U+FFFD)."""
    return clean_surrogates(str(value or "")).strip()


def _plain_text(value: Any) -> str:
    """Feed summaries as bounded plain text: they are a fallback body, never rendered as HTML."""
    if not value:
        return ""
    text = _TAG.sub(" ", clean_surrogates(str(value)))
    text = _SPACE.sub(" ", html.unescape(text)).strip()
    return text[:SUMMARY_MAX_CHARS]


def iso_utc(when: datetime) -> str | None:
    """``YYYY-MM-DDTHH:MM:SSZ``; None for placeholder dates (year 1, the epoch) feeds use for "unknown"."""
    if when.astimezone(UTC).year < 1971:
        return None
    return iso_z(when)


def _struct_to_iso(value: Any) -> str | None:
    if not isinstance(value, time.struct_time):
        return None
    try:
        return iso_utc(datetime.fromtimestamp(calendar.timegm(value), UTC))
    except (OverflowError, ValueError, OSError):
        return None


def _absolute_http(link: str | None, base_url: str) -> str | None:
    """The link as an absolute http(s) URL; None when it is none (a lone surrogate cannot be sent)."""
    if not link or not isinstance(link, str) or has_lone_surrogates(link):
        return None
    absolute = urljoin(base_url, link.strip())
    parts = urlsplit(absolute)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return None
    return absolute


def _entry_link(raw: Mapping[str, Any]) -> str | None:
    link = raw.get("link")
    if link:
        return str(link)
    for candidate in raw.get("links") or ():
        if candidate.get("rel", "alternate") == "alternate" and candidate.get("href"):
            return str(candidate["href"])
    guid = raw.get("id")
    if raw.get("guidislink") and guid:
        return str(guid)
    return None


def _entry_from_feedparser(raw: dict[str, Any], *, feed: str, base_url: str) -> FeedEntry | None:
    url = _absolute_http(_entry_link(raw), base_url)
    if url is None:
        return None
    tags = tuple(_text(t.get("term")) for t in raw.get("tags") or () if t.get("term") and _text(t["term"]))
    return FeedEntry(
        feed=feed,
        url=url,
        canonical_url=canonicalize_url(url),
        title=_text(raw.get("title")),
        summary=_plain_text(raw.get("summary")),
        # Many feeds (RDF dc:date, some Atom) carry only an update date: it is the best publication date.
        published=_struct_to_iso(dict.get(raw, "published_parsed") or dict.get(raw, "updated_parsed")),
        # dict.get: FeedParserDict.get would silently map a missing updated_parsed to published_parsed.
        updated=_struct_to_iso(dict.get(raw, "updated_parsed")),
        guid=_text(raw["id"]) if raw.get("id") else None,
        tags=tags,
    )


def _iso_from_text(value: Any) -> str | None:
    when = parse_utc_or_none(value)
    return iso_utc(when) if when is not None else None


def _parse_json_feed(body: bytes, *, feed: str, base_url: str) -> ParsedFeed:
    """JSON Feed 1.0/1.1 (feedparser does not read it)."""
    try:
        data = json.loads(body.decode("utf-8-sig"))
    except (ValueError, RecursionError) as exc:  # bad UTF-8 or JSON, nesting or numbers past the limits
        detail = clean_surrogates(f"JSON Feed: {type(exc).__name__}: {exc}")[:300]
        return ParsedFeed("json", "", (), error="malformed", error_detail=detail)
    if not isinstance(data, dict) or not isinstance(data.get("items"), list):
        return ParsedFeed("json", "", (), error="not_a_feed", error_detail="JSON without an 'items' list")
    version = _text(data.get("version"))
    fmt = "json11" if version.endswith("/1.1") else "json10" if version.endswith("/1") else "json"
    entries: list[FeedEntry] = []
    skipped = 0
    for item in data["items"]:
        if not isinstance(item, dict):
            skipped += 1
            continue
        url = _absolute_http(item.get("url") or item.get("external_url"), base_url)
        if url is None:
            skipped += 1
            continue
        summary = item.get("summary") or item.get("content_text") or item.get("content_html") or ""
        tags = tuple(_text(t) for t in item.get("tags") or () if isinstance(t, str | int) and _text(t))
        entries.append(
            FeedEntry(
                feed=feed,
                url=url,
                canonical_url=canonicalize_url(url),
                title=_text(item.get("title")),
                summary=_plain_text(summary),
                published=_iso_from_text(item.get("date_published") or item.get("date_modified")),
                updated=_iso_from_text(item.get("date_modified")),
                guid=_text(item["id"]) if item.get("id") is not None else None,
                tags=tags,
            )
        )
    known = version.startswith("https://jsonfeed.org/version/")
    return ParsedFeed(
        fmt,
        _text(data.get("title")),
        tuple(entries),
        error=None if known else "malformed",
        error_detail=None if known else f"JSON Feed version {version!r} not recognised",
        skipped=skipped,
    )


__all__ = [
    "MAX_POLL_INTERVAL",
    "FeedEntry",
    "FeedRegistry",
    "FeedSpec",
    "ParsedFeed",
    "RegistryError",
    "check_registry",
    "has_entity_declarations",
    "load_registry",
    "parse_feed",
    "parse_interval",
]
