"""A held article as the index stores it, and back: its signals, story fields and edges.

The pipeline's look-up (``neighbourhood``) and the backfill check (``unchanged``) both read
held articles from the index; the batch's own documents are written in the same form.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import cast

from newsflow.dedup.signals import ArticleSignals
from newsflow.dedup.similarity import EDGE_KINDS, Edge
from newsflow.jsontypes import JsonObject, JsonValue, array, as_list, as_object
from newsflow.records import RELATIONS, StoryAssignment
from newsflow.stored_fields import number, string, texts

log = logging.getLogger(__name__)

# What a look-up reads of each held article.
SOURCE_FIELDS = ["dedup_signals", "story_id", "relation", "duplicate_of", "score", "why"]


def edges_to_stored(owner: str, edges: Iterable[Edge]) -> list[JsonValue]:
    """The edges ``owner`` keeps: those it was scored for (``owner`` is their ``a``).

    Each edge is stored once, with the article whose arrival found it, in the compact form
    ``[b, kind, score, why]``; the other end needs no copy, as an edge is only used when
    both of its articles are loaded. This halves what every neighbourhood load reads and
    parses. Inside ``dedup_signals`` (an unindexed object), so no mapping change. An
    analyst's together pair is not an edge the model found: it is read from the corrections.
    """
    return [
        [e.b, e.kind, round(e.score, 6), list(e.why)] for e in edges if e.a == owner and e.kind != "analyst"
    ]


def edges_from_stored(owner: str, raw: JsonValue) -> list[Edge]:
    """Edges of ``owner`` as stored: the compact form, or ``[a, b, kind, score, why]`` as
    articles indexed before it kept them (both ends then hold a copy)."""
    out = []
    for item in as_list(raw):
        try:
            fields = as_list(item)
            if len(fields) == 4:
                b, kind, score, why = fields
                a: JsonValue = owner
            else:
                a, b, kind, score, why = fields
            weight = number(score)
            if weight is None:
                raise TypeError(f"score is {type(score).__name__}")
            # ``why`` is for display only: kept as stored rather than checked string by string
            # (a neighbourhood holds tens of thousands of edges; a str() of each cost 2 % of dedup).
            shown = cast("tuple[str, ...]", tuple(array(why, "why")))
            out.append(Edge(str(a), str(b), EDGE_KINDS[str(kind)], weight, shown))
        except (KeyError, TypeError, ValueError):
            log.warning("dedup: ignoring a malformed stored edge %r of %s", item, owner)
    return out


def hit_to_records(hit: JsonObject) -> tuple[ArticleSignals, StoryAssignment | None, list[Edge]] | None:
    """A held article from a search hit or an ``mget`` answer; None when it holds no signals.

    The story fields are read for their types: the mapping takes any field as a list, and an
    odd one reads as missing rather than reaching a story id.
    """
    source = as_object(hit.get("_source"))
    stored = as_object(source.get("dedup_signals"))
    if not stored:
        return None
    signals = ArticleSignals.from_dict(stored)
    assignment = None
    story_id = string(source.get("story_id"))
    if story_id:
        assignment = StoryAssignment(
            id=signals.id,
            story_id=story_id,
            relation=RELATIONS.get(str(source.get("relation")), "original"),
            duplicate_of=string(source.get("duplicate_of")),
            score=number(source.get("score")) or 0.0,
            why=texts(source.get("why")),
        )
    return signals, assignment, edges_from_stored(signals.id, stored.get("edges"))
