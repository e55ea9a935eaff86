"""What other writers changed after a pass loaded its neighbourhood.

Workers keep nothing between batches, so two writers touching the same stories at once (two
mapped batches, or a batch and an analyst's correction) each decide without the other's
work. Whichever looks here last, after its own writes are visible, sees the other's and
decides again. A look costs a few counts when nothing changed, which is the common case.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from elasticsearch import Elasticsearch

VISIBILITY_MARGIN_S = 10.0  # refresh interval plus clock skew between workers
MAX_RESCORED = 500  # a racing batch's linked articles scored again in a reconcile
_STORY_LOOKUP_CHUNK = 5000  # ids per search (within the index's default result window)


def indexed_since(
    client: Elasticsearch,
    alias: str,
    since: str,
    *,
    known: Sequence[str],
    keys: Collection[str] = (),
    stories: Collection[str] = (),
) -> list[str]:
    """Articles not in ``known``, indexed or rewritten at or after ``since``, that share one of
    ``keys`` or sit in one of ``stories`` (at most ``MAX_RESCORED``, by id)."""
    indexed = {"range": {"indexed_at": {"gte": since}}}
    unknown = {"ids": {"values": list(known)}}
    # Mostly nobody else indexed anything meanwhile: a cheap count says so before the
    # linkage query, which looks up every key it is given, is asked.
    if not client.count(index=alias, query={"bool": {"filter": [indexed], "must_not": [unknown]}})["count"]:
        return []
    linked = [
        {"terms": {field: sorted(values)}}
        for field, values in (("dedup_keys", keys), ("story_id", stories))
        if values
    ]
    if not linked:
        return []
    response = client.search(
        index=alias,
        query={
            "bool": {"filter": [indexed], "should": linked, "minimum_should_match": 1, "must_not": [unknown]}
        },
        size=MAX_RESCORED,
        source=False,
    )
    return sorted(hit["_id"] for hit in response["hits"]["hits"])


def moved_since(client: Elasticsearch, alias: str, left: dict[str, str]) -> bool:
    """Whether any held article's story is no longer the one a pass ``left`` it in."""
    return bool(left) and current_stories(client, alias, list(left)) != left


def current_stories(client: Elasticsearch, alias: str, ids: Sequence[str]) -> dict[str, str | None]:
    """Story id of each of ``ids`` that exists, from doc values (reading thousands of stored
    sources for one field is most of what it would cost). A search sees what the last refresh
    made visible, as every other look-up does."""
    current: dict[str, str | None] = {}
    for start in range(0, len(ids), _STORY_LOOKUP_CHUNK):
        part = ids[start : start + _STORY_LOOKUP_CHUNK]
        response = client.search(
            index=alias,
            query={"ids": {"values": part}},
            size=len(part),
            source=False,
            stored_fields="_none_",
            docvalue_fields=[{"field": "id"}, {"field": "story_id"}],
            track_total_hits=False,
        )
        for hit in response["hits"]["hits"]:
            fields = hit.get("fields") or {}
            doc_id = (fields.get("id") or [hit.get("_id")])[0]
            if doc_id is not None:  # else it reads as moved, and the pass runs again: safe
                current[doc_id] = (fields.get("story_id") or [None])[0]
    return current
