"""Frozen records that cross stage boundaries.

Stages hand each other these plain values (and archive references), never live
objects, so a record can be written to JSON, passed between Airflow workers by
reference and replayed from the archive.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from dataclasses import asdict, dataclass, field
from typing import Literal, get_args

from newsflow.jsontypes import JsonValue

# Where ``Article.published`` came from; ``date_confidence`` says how far to trust it.
PublishedSource = Literal[
    "json-ld", "meta", "time-element", "url", "text", "feed", "http-last-modified", "none"
]
Confidence = Literal["high", "low", "none"]
# Every date source, most trusted first (extraction takes the first that gives a date).
DATE_SOURCES: tuple[PublishedSource, ...] = (
    "json-ld",
    "meta",
    "time-element",
    "url",
    "text",
    "feed",
    "http-last-modified",
)
HIGH_CONFIDENCE: frozenset[PublishedSource] = frozenset({"json-ld", "meta"})


def date_confidence(source: str) -> Confidence:
    """``high`` for the publisher's declared timestamp (json-ld, meta), ``low`` for the rest.

    A ``<time>`` element alone is on the right day only 0.94 of the time on fundus_ml, so it
    is ``low``. The story model keeps a low-confidence date but widens its window around it.
    """
    if source in HIGH_CONFIDENCE:
        return "high"
    return "low" if source in DATE_SOURCES else "none"


Relation = Literal["original", "same_url", "exact", "near_duplicate", "same_story"]
# Each relation by its stored name: a stored value is read through this, never trusted as one.
RELATIONS: dict[str, Relation] = {name: name for name in get_args(Relation)}


_SPACE = re.compile(r"\s+")


def stable_id(*parts: str) -> str:
    """An id every process, rerun and backfill computes alike, so writes are upserts: 32 hex
    characters of a SHA-256 over ``parts`` joined by a unit separator (U+001F)."""
    return hashlib.sha256("\x1f".join(parts).encode("utf-8")).hexdigest()[:32]


def article_id(canonical_url: str) -> str:
    """Document id of an article: a stable hash of its canonical URL (idempotent upserts)."""
    return stable_id(canonical_url)


def normalize_text(text: str) -> str:
    """Text as compared for exact copies: NFKC, case-folded, whitespace collapsed."""
    return _SPACE.sub(" ", unicodedata.normalize("NFKC", text).casefold()).strip()


def content_hash(text: str) -> str:
    """The one hash of an article's text: equal after ``normalize_text`` means an exact copy.

    Extraction stores it on the article (``Article.content_hash``, the document's
    ``content_hash``) and the story stage compares it (``dedup_signals.content_hash``, the
    ``h:`` key), so a syndicated copy re-wrapped or re-cased by another outlet hashes equal.
    """
    return stable_id(normalize_text(text))


@dataclass(frozen=True, slots=True)
class Article:
    """One extracted article, ready for story assignment and indexing."""

    url: str
    canonical_url: str
    title: str
    text: str
    published: str | None = None  # ISO 8601, UTC
    published_source: PublishedSource = "none"
    modified: str | None = None
    authors: tuple[str, ...] = ()
    language: str | None = None  # primary code, lower case ("en"): what search and stories match on
    language_tag: str | None = None  # full tag as the page gives it, normalised ("en-GB")
    paywalled: bool = False  # marked not free; ``text`` is the readable teaser only
    site_name: str | None = None
    description: str | None = None
    top_image: str | None = None
    source: str | None = None  # outlet / host name
    feed: str | None = None  # feed registry name
    tags: tuple[str, ...] = ()
    fetched_at: str | None = None
    extractor_version: str = ""
    archive_ref: str | None = None  # "warc-path#offset" of the raw response
    fallback: bool = False  # True when text is the feed summary because the page was unextractable
    content_hash: str = ""
    charset: str | None = None  # codec the page's bytes were read in (None: given as text, or fallback)
    # what decided it: bom, http-header, meta, utf-8-valid, detected, or redetected (the
    # declared charset did not fit the bytes); see newsflow.extract.decode
    charset_source: str | None = None

    @property
    def id(self) -> str:
        return article_id(self.canonical_url)

    def to_dict(self) -> dict[str, JsonValue]:
        data: dict[str, JsonValue] = asdict(self)
        data["id"] = self.id
        return data


@dataclass(frozen=True, slots=True)
class StoryAssignment:
    """Where one article landed among the stories, and why."""

    id: str
    story_id: str
    relation: Relation
    duplicate_of: str | None = None
    score: float = 0.0
    why: tuple[str, ...] = field(default_factory=tuple)

    def to_dict(self) -> dict[str, JsonValue]:
        return {
            "id": self.id,
            "story_id": self.story_id,
            "relation": self.relation,
            "duplicate_of": self.duplicate_of,
            "score": self.score,
            "why": list(self.why),
        }
