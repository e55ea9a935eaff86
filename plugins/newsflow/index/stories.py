"""Writing story decisions about articles that are already indexed.

A late report can merge two stories or become a story's new representative, which moves
held articles to another ``story_id``. Such a rewrite follows the same rules as indexing
an article: the stored fingerprint covers the story fields, so the document is read,
its story fields replaced, its fingerprint recomputed and its ``version`` bumped, and it
is written back guarded by ``if_seq_no``/``if_primary_term`` (a 409 means another writer
got there first: read again and decide again). A rewrite that changes nothing writes
nothing. Every document that could not be written is counted by reason and logged;
its story fields stay as they were until the next batch that touches the story.

The edges stored with an article (``dedup_signals.edges``) are left out of the
fingerprint, so adding edges is a plain partial update, counted the same way.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from newsflow.index.documents import fingerprint
from newsflow.index.generations import index_of, mget_across
from newsflow.jsontypes import JsonValue, as_object
from newsflow.records import StoryAssignment
from newsflow.stored_fields import whole
from newsflow.timestamps import iso_z, now_utc

if TYPE_CHECKING:
    from elasticsearch import Elasticsearch

log = logging.getLogger(__name__)

_CHUNK = 500
_CONFLICT_ROUNDS = 5
RETRY_STATUSES = (429, 502, 503, 504)  # a bulk item refused for these is sent again


@dataclass(frozen=True, slots=True)
class StoryWrites:
    """What a rewrite did: documents changed, already right, and not written (by reason)."""

    updated: int = 0
    unchanged: int = 0
    failed_by_reason: dict[str, int] = field(default_factory=dict)

    @property
    def failed(self) -> int:
        return sum(self.failed_by_reason.values())

    def count_into(self, counts: Counter[str], what: str) -> None:
        """``stories:<what>`` and each failure reason under ``stories:<what>_failed:<reason>``."""
        counts[f"stories:{what}"] += self.updated
        for reason, n in self.failed_by_reason.items():
            counts[f"stories:{what}_failed:{reason}"] += n

    def __add__(self, other: StoryWrites) -> StoryWrites:
        failed = Counter(self.failed_by_reason)
        failed.update(other.failed_by_reason)
        return StoryWrites(self.updated + other.updated, self.unchanged + other.unchanged, dict(failed))


def story_fields(assignment: StoryAssignment) -> dict[str, Any]:
    """The document fields a story assignment decides."""
    return {
        "story_id": assignment.story_id,
        "relation": assignment.relation,
        "duplicate_of": assignment.duplicate_of,
        "score": float(assignment.score),
        "why": list(assignment.why),
    }


def bulk_error_reason(info: Mapping[str, Any]) -> str:
    """The reason a bulk item failed, as write counts name it (``unavailable``, the error type)."""
    if "exception" in info:
        return "unavailable"
    error = info.get("error")
    if isinstance(error, Mapping):
        return str(error.get("type") or "rejected")
    return "rejected"


def rewrite_stories(client: Elasticsearch, alias: str, assignments: Sequence[StoryAssignment]) -> StoryWrites:
    """Give indexed articles their new story fields (see the module docstring)."""
    total = StoryWrites()
    for start in range(0, len(assignments), _CHUNK):
        total = total + _rewrite_chunk(client, alias, {a.id: a for a in assignments[start : start + _CHUNK]})
    if total.failed:
        log.warning(
            "story fields of %s held articles not rewritten: %s", total.failed, total.failed_by_reason
        )
    return total


def _rewrite_chunk(client: Elasticsearch, alias: str, pending: dict[str, StoryAssignment]) -> StoryWrites:
    from elasticsearch.helpers import streaming_bulk

    updated = unchanged = 0
    failed: Counter[str] = Counter()
    for _ in range(_CONFLICT_ROUNDS):
        if not pending:
            break
        docs = mget_across(client, alias, list(pending))  # found docs carry _index, _seq_no, _primary_term
        actions = []
        for doc in docs:
            doc_id = str(doc.get("_id"))
            if not doc.get("found"):
                failed["not_found"] += 1
                pending.pop(doc_id, None)
                continue
            source = as_object(doc.get("_source"))
            fields = story_fields(pending[doc_id])
            changed = {**source, **fields}
            new_fingerprint = fingerprint(changed)
            if new_fingerprint == source.get("doc_fingerprint") and all(
                source.get(k) == v for k, v in fields.items()
            ):
                unchanged += 1
                pending.pop(doc_id)
                continue
            changed["doc_fingerprint"] = new_fingerprint
            changed["version"] = (whole(source.get("version")) or 0) + 1
            changed["indexed_at"] = iso_z(now_utc(), "microseconds")  # bookkeeping, not a decision
            actions.append(
                {
                    "_op_type": "index",
                    "_index": doc["_index"],
                    "_id": doc_id,
                    "_source": changed,
                    "if_seq_no": doc["_seq_no"],
                    "if_primary_term": doc["_primary_term"],
                }
            )
        conflicts: dict[str, StoryAssignment] = {}
        for ok, item in streaming_bulk(
            client, actions, raise_on_error=False, raise_on_exception=False, retry_on_status=RETRY_STATUSES
        ):
            info = next(iter(item.values()))
            doc_id = str(info.get("_id"))
            if ok:
                updated += 1
            elif info.get("status") == 409:
                conflicts[doc_id] = pending[doc_id]
            else:
                failed[bulk_error_reason(info)] += 1
        pending = conflicts
    failed["version_conflict"] += len(pending)
    return StoryWrites(updated, unchanged, {k: v for k, v in failed.items() if v})


def store_edges(client: Elasticsearch, alias: str, edges: Mapping[str, JsonValue]) -> StoryWrites:
    """Replace the stored edges of each article (outside the fingerprint: no version bump)."""
    from elasticsearch.helpers import streaming_bulk

    where = index_of(client, alias, list(edges))  # after a rollover, the generation holding each one
    actions = [
        {
            "_op_type": "update",
            "_index": where[doc_id],
            "_id": doc_id,
            "doc": {"dedup_signals": {"edges": stored}},
        }
        for doc_id, stored in edges.items()
        if doc_id in where
    ]
    updated = 0
    failed: Counter[str] = Counter(
        {"not_found": len(edges) - len(actions)} if len(actions) < len(edges) else {}
    )
    for ok, item in streaming_bulk(
        client, actions, raise_on_error=False, raise_on_exception=False, retry_on_status=RETRY_STATUSES
    ):
        if ok:
            updated += 1
        else:
            failed[bulk_error_reason(next(iter(item.values())))] += 1
    if failed:
        # Not fatal: the articles keep their earlier edges and the next batch that touches
        # their story scores them again.
        log.warning("stored edges of %s articles not updated: %s", sum(failed.values()), dict(failed))
    return StoryWrites(updated=updated, failed_by_reason=dict(failed))
