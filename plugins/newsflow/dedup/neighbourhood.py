"""Dedup state from Elasticsearch: the held articles a batch must be compared with.

Workers keep nothing between batches. Each batch looks up, in the index, the
articles sharing a look-up key with it (sketch bands, names, quote shingles;
URL and content-hash keys at any time, the rest within the time window), then
the whole stories those belong to, and re-clusters that neighbourhood together
with the batch. The partition is a pure function of the articles, and a story's
id is its representative's, so two workers that see the same articles reach the
same stories whatever their order; a story whose members change is re-written.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from newsflow.dedup.options import DedupOptions
from newsflow.dedup.signals import ArticleSignals
from newsflow.records import StoryAssignment

if TYPE_CHECKING:
    from elasticsearch import Elasticsearch

log = logging.getLogger(__name__)

_ANYTIME_PREFIXES = ("u:", "h:")
_SOURCE_FIELDS = ["dedup_signals", "story_id", "relation", "duplicate_of", "score", "why"]


@dataclass(frozen=True, slots=True)
class Neighbourhood:
    signals: tuple[ArticleSignals, ...]
    assignments: dict[str, StoryAssignment]


def _chunks(items: Sequence[str], size: int) -> Iterable[Sequence[str]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _window(batch: Sequence[ArticleSignals], options: DedupOptions) -> dict[str, str] | None:
    times = [t for t in (s.published_at() for s in batch) if t is not None]
    if not times:
        return None
    pad = timedelta(hours=options.window_hours)
    return {"gte": (min(times) - pad).isoformat(), "lte": (max(times) + pad).isoformat()}


def key_query(batch: Sequence[ArticleSignals], options: DedupOptions) -> dict[str, Any] | None:
    """Articles sharing a key with the batch: exact keys at any time, the others in the window."""
    keys = sorted({k for s in batch for k in s.query_keys()})
    anytime = [k for k in keys if k.startswith(_ANYTIME_PREFIXES)]
    windowed = [k for k in keys if not k.startswith(_ANYTIME_PREFIXES)]
    should: list[dict[str, Any]] = []
    if anytime:
        should.append({"terms": {"dedup_keys": anytime}})
    if windowed:
        clause: dict[str, Any] = {"terms": {"dedup_keys": windowed}}
        window = _window(batch, options)
        if window is not None:
            # Undated articles have no window to fall outside of.
            in_window = {"range": {"published": window}}
            undated = {"bool": {"must_not": {"exists": {"field": "published"}}}}
            clause = {"bool": {"filter": [clause, {"bool": {"should": [in_window, undated]}}]}}
        should.append(clause)
    if not should:
        return None
    return {"bool": {"should": should, "minimum_should_match": 1}}


def _hit_to_records(hit: dict[str, Any]) -> tuple[ArticleSignals, StoryAssignment | None] | None:
    source = hit.get("_source") or {}
    stored = source.get("dedup_signals")
    if not stored:
        return None
    signals = ArticleSignals.from_dict(stored)
    assignment = None
    if source.get("story_id"):
        assignment = StoryAssignment(
            id=signals.id,
            story_id=source["story_id"],
            relation=source.get("relation") or "original",
            duplicate_of=source.get("duplicate_of"),
            score=float(source.get("score") or 0.0),
            why=tuple(source.get("why") or ()),
        )
    return signals, assignment


def load_neighbourhood(
    client: Elasticsearch,
    index: str,
    batch: Sequence[ArticleSignals],
    options: DedupOptions,
    *,
    max_articles: int = 2000,
) -> Neighbourhood:
    """Held articles linked to ``batch`` by a key, plus every member of their stories."""
    query = key_query(batch, options)
    found: dict[str, tuple[ArticleSignals, StoryAssignment | None]] = {}
    if query is not None:
        response = client.search(index=index, query=query, size=max_articles, source_includes=_SOURCE_FIELDS)
        for hit in response["hits"]["hits"]:
            records = _hit_to_records(hit)
            if records is not None:
                found[records[0].id] = records
    stories = sorted({a.story_id for _, a in found.values() if a is not None})
    for chunk in _chunks(stories, 500):
        room = max_articles - len(found)
        if room <= 0:
            log.warning("dedup neighbourhood capped at %s articles; stories may be partial", max_articles)
            break
        response = client.search(
            index=index, query={"terms": {"story_id": list(chunk)}}, size=room, source_includes=_SOURCE_FIELDS
        )
        for hit in response["hits"]["hits"]:
            records = _hit_to_records(hit)
            if records is not None:
                found.setdefault(records[0].id, records)
    signals = tuple(sorted((s for s, _ in found.values()), key=lambda s: s.id))
    assignments = {s.id: a for s, a in found.values() if a is not None}
    log.info("dedup neighbourhood: %s held articles in %s stories", len(signals), len(stories))
    return Neighbourhood(signals=signals, assignments=assignments)
