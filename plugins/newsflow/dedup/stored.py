"""A held article as the index stores it, and back: its signals, story fields and edges.

The pipeline's look-up (``neighbourhood``) and the backfill check (``unchanged``) both read
held articles from the index; the batch's own documents are written in the same form.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any

from newsflow.dedup.signals import ArticleSignals
from newsflow.dedup.similarity import Edge
from newsflow.records import StoryAssignment

log = logging.getLogger(__name__)

# What a look-up reads of each held article.
SOURCE_FIELDS = ["dedup_signals", "story_id", "relation", "duplicate_of", "score", "why"]


def edges_to_stored(owner: str, edges: Iterable[Edge]) -> list[list[Any]]:
    """The edges ``owner`` keeps: those it was scored for (``owner`` is their ``a``).

    Each edge is stored once, with the article whose arrival found it, in the compact form
    ``[b, kind, score, why]``; the other end needs no copy, as an edge is only used when
    both of its articles are loaded. This halves what every neighbourhood load reads and
    parses. Inside ``dedup_signals`` (an unindexed object), so no mapping change.
    """
    return [[e.b, e.kind, round(e.score, 6), list(e.why)] for e in edges if e.a == owner]


def edges_from_stored(owner: str, raw: Any) -> list[Edge]:
    """Edges of ``owner`` as stored: the compact form, or ``[a, b, kind, score, why]`` as
    articles indexed before it kept them (both ends then hold a copy)."""
    out = []
    for item in raw or ():
        try:
            if len(item) == 4:
                b, kind, score, why = item
                a = owner
            else:
                a, b, kind, score, why = item
            # ``why`` is for display only: kept as stored rather than checked string by string.
            out.append(Edge(str(a), str(b), kind, float(score), tuple(why)))
        except (TypeError, ValueError):
            log.warning("dedup: ignoring a malformed stored edge %r of %s", item, owner)
    return out


def hit_to_records(hit: dict[str, Any]) -> tuple[ArticleSignals, StoryAssignment | None, list[Edge]] | None:
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
    return signals, assignment, edges_from_stored(signals.id, stored.get("edges"))
