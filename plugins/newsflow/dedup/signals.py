"""The per-article record every dedup decision is made from.

``ArticleSignals`` is what a store keeps for each held article (band keys, entity and
quote keys as keywords, publish time), so deciding about a new article never needs the
held articles' full text. It is computed by a pure function and round-trips through JSON.
"""

from __future__ import annotations

import struct
import sys
from collections import Counter
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache

from newsflow.dedup.entities import date_years, entity_counts, number_keys
from newsflow.dedup.options import DedupOptions
from newsflow.dedup.quotes import quote_keys
from newsflow.dedup.sketch import band_keys, minhash, pack, unpack, word_shingles
from newsflow.dedup.text import stem, stopwords, tokens
from newsflow.dedup.weekdays import named_weekdays
from newsflow.errors import InputError
from newsflow.jsontypes import JsonObject, JsonValue, array, integer, integers, strings
from newsflow.language import detect_language, primary_language
from newsflow.records import content_hash
from newsflow.stored_fields import string
from newsflow.timestamps import parse_utc_or_none

LEDE_WORDS = 40  # content words of the title and first lines compared as the lede
# The first lede terms are look-up keys too: two outlets telling one event in their own words
# often share no rare name or quotation, but their headlines and first lines share its words.
LEDE_KEYS = 12


@dataclass(frozen=True, slots=True)
class ArticleSignals:
    """Stored signals of one article; every field is JSON-serialisable."""

    id: str
    content_hash: str
    length: int
    minhash: bytes  # packed (``sketch.pack``); records list the values
    band_keys: tuple[str, ...]
    # Parallel tuples rather than (key, count) pairs: a held article costs a few hundred
    # bytes less, which matters at 100k articles in memory.
    terms: tuple[str, ...]  # content terms, most frequent first
    term_counts: tuple[int, ...]
    entities: tuple[str, ...]  # name keys, most frequent first
    entity_counts: tuple[int, ...]
    numbers: tuple[str, ...]
    quote_keys: tuple[str, ...]
    years: tuple[str, ...]  # years of explicit dates in the text
    canonical_url: str | None = None
    published: str | None = None  # ISO 8601
    title: str = ""
    source: str | None = None
    truncated: bool = False
    language: str | None = None  # primary subtag, given or detected
    published_confidence: str = "high"  # "low": a date the page did not declare (wider window)
    lede: tuple[str, ...] = ()  # distinct content terms of the title and first lines, in order
    weekdays: tuple[int, ...] = ()  # days the opening names, 0 Monday (``weekdays``); older records: ()

    def query_keys(self) -> tuple[str, ...]:
        """Keyword keys a store is searched by (prefix says which signal)."""
        keys = [f"b:{k}" for k in self.band_keys]
        keys += [f"e:{k}" for k in self.entities]
        keys += [f"q:{k}" for k in self.quote_keys]
        keys += [f"l:{t}" for t in self.lede_keys]
        keys.append(f"h:{self.content_hash}")
        if self.canonical_url:
            keys.append(f"u:{self.canonical_url}")
        return tuple(keys)

    @property
    def lede_keys(self) -> tuple[str, ...]:
        """The lede terms that are look-up keys (``LEDE_KEYS``), unprefixed."""
        return self.lede[:LEDE_KEYS]

    def stat_keys(self) -> tuple[str, ...]:
        """Keys whose document frequency weights the similarity (rare shared = strong)."""
        return (
            tuple(f"t:{t}" for t in self.terms)
            + tuple(f"e:{k}" for k in self.entities)
            + tuple(f"n:{n}" for n in self.numbers)
        )

    def counted_keys(self) -> frozenset[str]:
        """Every key whose document frequency is counted (see ``stored_counted_keys``)."""
        return frozenset(self.stat_keys()) | frozenset(self.query_keys())

    def published_at(self) -> datetime | None:
        return parse_published(self.published)

    def to_dict(self) -> dict[str, JsonValue]:
        return {
            "id": self.id,
            "content_hash": self.content_hash,
            "length": self.length,
            "minhash": unpack(self.minhash),
            "band_keys": list(self.band_keys),
            "terms": list(self.terms),
            "term_counts": list(self.term_counts),
            "entities": list(self.entities),
            "entity_counts": list(self.entity_counts),
            "numbers": list(self.numbers),
            "quote_keys": list(self.quote_keys),
            "years": list(self.years),
            "canonical_url": self.canonical_url,
            "published": self.published,
            "title": self.title,
            "source": self.source,
            "truncated": self.truncated,
            "language": self.language,
            "lede": list(self.lede),
            "published_confidence": self.published_confidence,
            "weekdays": list(self.weekdays),
        }

    @classmethod
    def from_dict(cls, data: JsonObject) -> ArticleSignals:
        try:
            return cls(
                id=str(data["id"]),
                content_hash=str(data["content_hash"]),
                length=integer(data["length"], "length"),
                minhash=pack(integers(data["minhash"], "minhash")),
                band_keys=strings(data["band_keys"], "band_keys"),
                terms=strings(data["terms"], "terms"),
                term_counts=integers(data["term_counts"], "term_counts"),
                entities=strings(data["entities"], "entities"),
                entity_counts=integers(data["entity_counts"], "entity_counts"),
                numbers=strings(data["numbers"], "numbers"),
                quote_keys=strings(data["quote_keys"], "quote_keys"),
                years=strings(data["years"], "years"),
                canonical_url=string(data.get("canonical_url")),
                published=string(data.get("published")),
                title=str(data.get("title") or ""),
                source=string(data.get("source")),
                truncated=bool(data.get("truncated", False)),
                language=string(data.get("language")),
                lede=strings(data.get("lede") or (), "lede"),
                published_confidence="low" if data.get("published_confidence") == "low" else "high",
                weekdays=integers(data.get("weekdays") or (), "weekdays"),
            )
        except (KeyError, TypeError, ValueError, struct.error) as exc:
            raise InputError(
                f"stored dedup signals for {data.get('id')!r} are malformed ({exc}); recompute them"
            ) from exc


# The parts of stored signals that ``stored_counted_keys`` reads (a statistics sample needs
# no sketches, counts or edges, which are most of a stored record).
COUNTED_FIELDS = (
    "id",
    "band_keys",
    "terms",
    "entities",
    "numbers",
    "quote_keys",
    "lede",
    "content_hash",
    "canonical_url",
)


def stored_counted_keys(data: JsonObject) -> frozenset[str]:
    """``ArticleSignals.counted_keys`` straight from a stored record's ``COUNTED_FIELDS``."""
    try:
        keys = {f"t:{t}" for t in array(data["terms"], "terms")}
        keys.update(f"e:{k}" for k in array(data["entities"], "entities"))
        keys.update(f"n:{n}" for n in array(data["numbers"], "numbers"))
        keys.update(f"b:{k}" for k in array(data["band_keys"], "band_keys"))
        keys.update(f"q:{k}" for k in array(data["quote_keys"], "quote_keys"))
        lede = array(data.get("lede") or (), "lede")  # older records may lack it
        keys.update(f"l:{t}" for t in lede[:LEDE_KEYS])
        keys.add(f"h:{data['content_hash']}")
    except (KeyError, TypeError) as exc:
        raise InputError(
            f"stored dedup signals for {data.get('id')!r} are malformed ({exc}); recompute them"
        ) from exc
    if data.get("canonical_url"):
        keys.add(f"u:{data['canonical_url']}")
    return frozenset(keys)


@lru_cache(maxsize=65_536)
def parse_published(value: str | None) -> datetime | None:
    """Publish time as aware UTC; unparseable or missing gives None (time signal off)."""
    return parse_utc_or_none(value)


def _top(counts: Counter[str], limit: int) -> tuple[tuple[str, ...], tuple[int, ...]]:
    ranked = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:limit]
    # Interned: held articles share one copy of each vocabulary word.
    return tuple(sys.intern(k) for k, _ in ranked), tuple(n for _, n in ranked)


def compute_signals(
    article_id: str,
    text: str,
    options: DedupOptions,
    *,
    title: str = "",
    canonical_url: str | None = None,
    published: str | None = None,
    source: str | None = None,
    language: str | None = None,
    published_confidence: str = "high",
) -> ArticleSignals:
    """Signals of one article (pure: same input, same record, on any worker).

    ``language`` is a tag as the page gave it; without one, it is detected from the text.
    """
    truncated = len(text) > options.max_text_chars
    if truncated:
        text = text[: options.max_text_chars]
    body = f"{title}\n{text}" if title and not text.startswith(title) else text
    language = primary_language(language)
    if language is None:
        detected = detect_language(body)
        language = detected.language if detected is not None else None
    stop = stopwords(language)
    text_words = tokens(text)
    # Words never span the line break, so the body's tokens are the title's then the text's.
    body_words = text_words if body is text else tokens(title) + text_words
    sig = minhash(word_shingles(text_words, options.shingle_size), options.num_perm)
    content = stem([t for t in body_words if len(t) > 1 and t not in stop], language)
    terms, term_counts = _top(Counter(content), options.max_terms)
    entities, name_counts = _top(entity_counts(body, stop), options.max_entities)
    return ArticleSignals(
        id=article_id,
        content_hash=content_hash(text),
        length=len(text),
        minhash=sig,
        band_keys=band_keys(sig, options.bands),
        terms=terms,
        term_counts=term_counts,
        entities=entities,
        entity_counts=name_counts,
        numbers=number_keys(body),
        quote_keys=quote_keys(text, options.max_quote_keys),
        years=date_years(body),
        canonical_url=canonical_url,
        published=published,
        title=title,
        source=source,
        truncated=truncated,
        language=language,
        published_confidence="low" if published_confidence == "low" else "high",
        lede=tuple(sys.intern(t) for t in dict.fromkeys(content[:LEDE_WORDS])),
        weekdays=named_weekdays(title, text),
    )
