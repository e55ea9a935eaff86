"""Story merges and splits as records: where an old story id went, which articles caused
it, and where reports that left a story went.

Story ids are derived from a story's representative, so when a late article links
two stories, or an earlier report becomes the representative, the old ids stop
existing in the article index. Analysts who bookmarked one (and Kibana links) need
to find where it went; operators need to see how often stories move. One document
per merge keeps that history where the articles are.

A split (reports parted from a story that keeps its id) moves no id, so it is no redirect:
its document names the story left in ``split_from`` and leaves ``merged`` empty, so every
reader that follows ``merged`` passes it by, and the history lists it.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from newsflow.errors import IndexingError
from newsflow.index.names import IndexNames
from newsflow.jsontypes import JsonObject, JsonValue, as_object
from newsflow.records import stable_id
from newsflow.timestamps import iso_z, now_utc

if TYPE_CHECKING:
    from elasticsearch import Elasticsearch

    from newsflow.dedup import MergeEvent, SplitEvent

_MAX_BY = 100  # articles listed per merge; a huge merge is described by ``members`` instead


def merge_id(story_id: str, merged: Iterable[str]) -> str:
    """Stable per (surviving story, stories merged into it): a retried run writes the same document."""
    return stable_id(story_id, *sorted(merged))


def merge_document(
    event: MergeEvent, *, run_id: str, members: int, recorded_at: datetime | None = None
) -> dict[str, JsonValue]:
    kind = "merge" if len(event.merged) > 1 else "rename"
    return _document(
        event.story_id,
        kind,
        event.by,
        run_id=run_id,
        members=members,
        recorded_at=recorded_at,
        merged=list(event.merged),
    )


def split_id(event: SplitEvent) -> str:
    """Stable per (story, story left, reports): a retried run writes the same document."""
    return stable_id("split", event.story_id, event.split_from, *event.moved)


def split_document(
    event: SplitEvent, *, run_id: str, members: int, recorded_at: datetime | None = None
) -> dict[str, JsonValue]:
    # ``merged`` stays empty: readers that follow it as a redirect pass a split by.
    return _document(
        event.story_id,
        "split",
        event.moved,
        run_id=run_id,
        members=members,
        recorded_at=recorded_at,
        merged=[],
        split_from=event.split_from,
    )


def _document(
    story_id: str,
    kind: str,
    by: Sequence[str],
    *,
    run_id: str,
    members: int,
    recorded_at: datetime | None,
    **fields: JsonValue,
) -> dict[str, JsonValue]:
    when = recorded_at or now_utc()  # bookkeeping only; no pipeline decision reads it
    return {
        "story_id": story_id,
        **fields,
        "kind": kind,
        "by": list(by[:_MAX_BY]),
        "members": members,
        "run_id": run_id,
        "recorded_at": iso_z(when, "milliseconds"),
    }


def require_merges_alias(client: Elasticsearch, names: IndexNames) -> None:
    """Fail before any work when the merges alias is missing, or its mapping predates splits (a
    deployment set up before they existed): its strict mapping would refuse them mid-batch."""
    from newsflow.index.templates import write_index

    writer = write_index(client, names.merges)
    fields: JsonObject = {}
    if writer is not None:
        mapping = as_object(as_object(client.indices.get_mapping(index=writer).body).get(writer))
        fields = as_object(as_object(mapping.get("mappings")).get("properties"))
    if "split_from" not in fields:
        missing = "does not exist" if writer is None else f"has no split_from field (in {writer!r})"
        raise IndexingError(
            f"alias {names.merges!r} {missing}; run `newsflow index setup` (safe to repeat) so story "
            "merges and splits can be recorded"
        )


def record_history(
    client: Elasticsearch,
    merges: Iterable[MergeEvent],
    splits: Iterable[SplitEvent] = (),
    *,
    run_id: str,
    members: Mapping[str, int] | None = None,
    names: IndexNames | None = None,
) -> Counter[str]:
    """Write one document per merge and per split (idempotent by id); returns how many of each
    were written, as ``stories:merged`` and ``stories:split``."""
    alias = (names or IndexNames.from_env()).merges
    sizes = members or {}

    def action(doc_id: str, source: dict[str, JsonValue]) -> dict[str, Any]:
        return {"_op_type": "index", "_index": alias, "_id": doc_id, "_source": source}

    merged = [
        action(
            merge_id(e.story_id, e.merged), merge_document(e, run_id=run_id, members=sizes.get(e.story_id, 0))
        )
        for e in merges
    ]
    split = [
        action(split_id(e), split_document(e, run_id=run_id, members=sizes.get(e.story_id, 0)))
        for e in splits
    ]
    return Counter({"stories:merged": _write(client, merged), "stories:split": _write(client, split)})


def _write(client: Elasticsearch, actions: Sequence[dict[str, Any]]) -> int:
    from elasticsearch.helpers import bulk

    if not actions:
        return 0
    done, _ = bulk(client, actions, max_retries=3)
    return int(done)


def find_merges(client: Elasticsearch, story_id: str, *, names: IndexNames | None = None) -> list[JsonObject]:
    """Merges that moved ``story_id`` (as an old id) or built it (as the surviving id), and splits
    that parted reports from it or into it, newest first.

    As stored: readers read each field for its type (``stored_fields``).
    """
    from newsflow.es_client import hits, search_alias

    names = names or IndexNames.from_env()
    response = search_alias(
        client,
        names.merges,
        "reading story merges",
        query={
            "bool": {
                "should": [
                    {"term": {"merged": story_id}},
                    {"term": {"story_id": story_id}},
                    {"term": {"split_from": story_id}},
                ]
            }
        },
        sort=[{"recorded_at": "desc"}],
        size=100,
    )
    return [as_object(hit.get("_source")) for hit in hits(response)]
