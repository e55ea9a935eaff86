"""Feed registry (YAML) and feed parsing (RSS, Atom, RDF, JSON Feed) into frozen entries.

The registry is data, validated on load with the file, line and field of every
mistake, because a typo in one feed must not take the whole poll down silently.
Parsing works on bytes we fetched ourselves (feedparser never goes to the
network) and keeps every entry it can recover from a malformed feed.
"""

from __future__ import annotations

import calendar
import html
import json
import logging
import re
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urljoin, urlsplit

import yaml

from newsflow.errors import ConfigError
from newsflow.timestamps import iso_z, parse_utc_or_none
from newsflow.urls import canonicalize_url

logger = logging.getLogger(__name__)

_INTERVAL = re.compile(r"^\s*(\d+)\s*([smhd])\s*$")
_INTERVAL_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
_NAME = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,79}$")
_LANGUAGE = re.compile(r"^[a-z]{2,3}(-[A-Za-z0-9]{2,8})*$")
_DOCTYPE = re.compile(rb"<!DOCTYPE", re.IGNORECASE)
_ENTITY = re.compile(rb"<!ENTITY", re.IGNORECASE)
_PROLOG_SCAN_BYTES = 64 * 1024
_TAG = re.compile(r"<[^>]*>")
_SPACE = re.compile(r"\s+")
SUMMARY_MAX_CHARS = 4000  # keeps poll reports small enough for XCom
_REQUIRED = ("name", "url", "language", "poll_interval", "tags")
_OPTIONAL = ("enabled", "outlet", "notes")  # notes: free text for humans, not loaded


def parse_interval(text: str) -> int:
    """Seconds in an interval like ``15m``; raises ValueError otherwise."""
    match = _INTERVAL.match(text)
    if not match:
        raise ValueError(f"{text!r} is not an interval like '30s', '15m', '2h' or '1d'")
    seconds = int(match.group(1)) * _INTERVAL_UNITS[match.group(2)]
    if seconds <= 0:
        raise ValueError(f"{text!r} must be longer than zero")
    return seconds


def _field_problem(name: str, value: str) -> str | None:
    """Why ``value`` is not acceptable for registry field ``name`` (None if it is)."""
    if name == "name" and not _NAME.match(value):
        return f"{value!r} must be lower-case letters, digits, '_', '.', '-' (max 80)"
    if name == "url":
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            return f"{value!r} must be an absolute http(s) URL"
    if name == "language" and not _LANGUAGE.match(value):
        return f"{value!r} must be a language code like 'en' or 'en-GB'"
    if name == "poll_interval":
        try:
            parse_interval(value)
        except ValueError as exc:
            return str(exc)
    return None


@dataclass(frozen=True, slots=True)
class FeedSpec:
    """One feed of the registry."""

    name: str
    url: str
    language: str
    poll_interval: str
    tags: tuple[str, ...] = ()
    outlet: str | None = None
    enabled: bool = True

    def __post_init__(self) -> None:
        for name in ("name", "url", "language", "poll_interval"):
            problem = _field_problem(name, getattr(self, name))
            if problem:
                raise ConfigError(f"feed {self.name!r}: field {name!r}: {problem}")

    @property
    def poll_seconds(self) -> int:
        return parse_interval(self.poll_interval)


@dataclass(frozen=True, slots=True)
class FeedRegistry:
    path: str
    feeds: tuple[FeedSpec, ...]

    def __iter__(self) -> Iterator[FeedSpec]:
        return iter(self.feeds)

    def __len__(self) -> int:
        return len(self.feeds)

    def enabled(self) -> tuple[FeedSpec, ...]:
        return tuple(f for f in self.feeds if f.enabled)

    def get(self, name: str) -> FeedSpec:
        for spec in self.feeds:
            if spec.name == name:
                return spec
        raise ConfigError(f"{self.path}: no feed named {name!r}")


def _where(path: str, node: yaml.Node) -> str:
    return f"{path}:{node.start_mark.line + 1}"


def _scalar(path: str, node: yaml.Node, field_name: str) -> str:
    if not isinstance(node, yaml.ScalarNode) or not isinstance(node.value, str) or not node.value.strip():
        raise ConfigError(f"{_where(path, node)}: field {field_name!r} must be a non-empty string")
    return str(node.value).strip()


def load_registry(path: str | Path) -> FeedRegistry:
    """Load and validate the feed registry; errors name the file, line and field."""
    path_str = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"{path_str}: cannot read feed registry ({exc})") from exc
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path_str}: not valid YAML ({exc})") from exc
    if root is None:
        raise ConfigError(f"{path_str}: empty file; expected a mapping with a 'feeds' list")
    items: yaml.Node | None = None
    if isinstance(root, yaml.MappingNode):
        for key, value in root.value:
            if isinstance(key, yaml.ScalarNode) and key.value == "feeds":
                items = value
    if not isinstance(items, yaml.SequenceNode):
        raise ConfigError(f"{_where(path_str, root)}: expected a top-level 'feeds:' list")
    specs: list[FeedSpec] = []
    seen: dict[str, int] = {}
    for item in items.value:
        spec = _load_spec(path_str, item)
        line = item.start_mark.line + 1
        if spec.name in seen:
            raise ConfigError(
                f"{path_str}:{line}: field 'name': {spec.name!r} already used on line {seen[spec.name]}"
            )
        seen[spec.name] = line
        specs.append(spec)
    return FeedRegistry(path=path_str, feeds=tuple(specs))


def _load_spec(path: str, node: yaml.Node) -> FeedSpec:
    if not isinstance(node, yaml.MappingNode):
        raise ConfigError(f"{_where(path, node)}: each feed must be a mapping of fields")
    fields: dict[str, yaml.Node] = {}
    for key, value in node.value:
        name = key.value if isinstance(key, yaml.ScalarNode) else None
        if name not in _REQUIRED and name not in _OPTIONAL:
            raise ConfigError(
                f"{_where(path, key)}: unknown field {name!r}; allowed: {', '.join(_REQUIRED + _OPTIONAL)}"
            )
        fields[str(name)] = value
    for required in _REQUIRED:
        if required not in fields:
            raise ConfigError(f"{_where(path, node)}: missing field {required!r}")
    values: dict[str, Any] = {}
    for name in ("name", "url", "language", "poll_interval"):
        values[name] = _scalar(path, fields[name], name)
        problem = _field_problem(name, values[name])
        if problem:
            raise ConfigError(f"{_where(path, fields[name])}: field {name!r}: {problem}")
    tags_node = fields["tags"]
    if not isinstance(tags_node, yaml.SequenceNode):
        raise ConfigError(f"{_where(path, tags_node)}: field 'tags' must be a list of strings")
    values["tags"] = tuple(_scalar(path, t, "tags") for t in tags_node.value)
    if "outlet" in fields:
        values["outlet"] = _scalar(path, fields["outlet"], "outlet")
    if "enabled" in fields:
        enabled = fields["enabled"]
        if not isinstance(enabled, yaml.ScalarNode) or enabled.value not in ("true", "false"):
            raise ConfigError(f"{_where(path, enabled)}: field 'enabled' must be true or false")
        values["enabled"] = enabled.value == "true"
    return FeedSpec(**values)


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

    def to_dict(self) -> dict[str, Any]:
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
    def from_dict(cls, data: Mapping[str, Any]) -> FeedEntry:
        return cls(
            feed=str(data["feed"]),
            url=str(data["url"]),
            canonical_url=str(data["canonical_url"]),
            title=str(data.get("title") or ""),
            summary=str(data.get("summary") or ""),
            published=data.get("published"),
            updated=data.get("updated"),
            guid=data.get("guid"),
            tags=tuple(data.get("tags") or ()),
            feed_ref=data.get("feed_ref"),
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

    # Bytes only: given a str, feedparser would treat it as a URL or a file name.
    parsed = feedparser.parse(
        bytes(body),
        response_headers={"content-location": base_url, "content-type": content_type or "application/xml"},
        resolve_relative_uris=False,
        # Sanitising costs over half the parse time and we never render feed HTML:
        # summaries are reduced to plain text by ``_plain_text`` instead.
        sanitize_html=False,
    )
    entries: list[FeedEntry] = []
    skipped = 0
    for raw in parsed.entries:
        entry = _entry_from_feedparser(raw, feed=feed, base_url=base_url)
        if entry is None:
            skipped += 1
        else:
            entries.append(entry)
    error = None
    detail = None
    if parsed.get("bozo"):
        exc = parsed.get("bozo_exception")
        name = type(exc).__name__ if exc is not None else ""
        # A declared-vs-actual charset mismatch is recoverable and common; still reported.
        error = "encoding_mismatch" if "CharacterEncoding" in name else "malformed"
        detail = f"{name}: {exc}"[:300]
    if not entries and not parsed.get("version"):
        error = "not_a_feed"
        detail = detail or "no RSS/Atom/RDF root element"
    return ParsedFeed(
        format=str(parsed.get("version") or "unknown"),
        title=str(parsed.feed.get("title") or ""),
        entries=tuple(entries),
        error=error,
        error_detail=detail,
        skipped=skipped,
    )


def _plain_text(value: Any) -> str:
    """Feed summaries as bounded plain text: they are a fallback body, never rendered as HTML."""
    if not value:
        return ""
    text = _TAG.sub(" ", str(value))
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
    if not link or not isinstance(link, str):
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
    tags = tuple(
        str(t.get("term")).strip() for t in raw.get("tags") or () if t.get("term") and str(t["term"]).strip()
    )
    return FeedEntry(
        feed=feed,
        url=url,
        canonical_url=canonicalize_url(url),
        title=str(raw.get("title") or "").strip(),
        summary=_plain_text(raw.get("summary")),
        # Many feeds (RDF dc:date, some Atom) carry only an update date: it is the best publication date.
        published=_struct_to_iso(dict.get(raw, "published_parsed") or dict.get(raw, "updated_parsed")),
        # dict.get: FeedParserDict.get would silently map a missing updated_parsed to published_parsed.
        updated=_struct_to_iso(dict.get(raw, "updated_parsed")),
        guid=str(raw["id"]) if raw.get("id") else None,
        tags=tags,
    )


def _iso_from_text(value: Any) -> str | None:
    when = parse_utc_or_none(value)
    return iso_utc(when) if when is not None else None


def _parse_json_feed(body: bytes, *, feed: str, base_url: str) -> ParsedFeed:
    """JSON Feed 1.0/1.1 (feedparser does not read it)."""
    try:
        data = json.loads(body.decode("utf-8-sig"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        return ParsedFeed("json", "", (), error="malformed", error_detail=f"JSON Feed: {exc}"[:300])
    if not isinstance(data, dict) or not isinstance(data.get("items"), list):
        return ParsedFeed("json", "", (), error="not_a_feed", error_detail="JSON without an 'items' list")
    version = str(data.get("version") or "")
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
        tags = tuple(str(t) for t in item.get("tags") or () if isinstance(t, str | int) and str(t).strip())
        entries.append(
            FeedEntry(
                feed=feed,
                url=url,
                canonical_url=canonicalize_url(url),
                title=str(item.get("title") or "").strip(),
                summary=_plain_text(summary),
                published=_iso_from_text(item.get("date_published") or item.get("date_modified")),
                updated=_iso_from_text(item.get("date_modified")),
                guid=str(item["id"]) if item.get("id") is not None else None,
                tags=tags,
            )
        )
    error = None if version.startswith("https://jsonfeed.org/version/") else "malformed"
    detail = None if error is None else f"JSON Feed version {version!r} not recognised"
    return ParsedFeed(
        fmt, str(data.get("title") or ""), tuple(entries), error=error, error_detail=detail, skipped=skipped
    )


__all__ = [
    "FeedEntry",
    "FeedRegistry",
    "FeedSpec",
    "ParsedFeed",
    "has_entity_declarations",
    "load_registry",
    "parse_feed",
    "parse_interval",
]
