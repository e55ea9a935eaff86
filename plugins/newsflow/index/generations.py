"""Articles by id when the alias spans several generations, and rolling a generation over.

An article's ``_id`` is the hash of its canonical URL, and every write is an upsert decided
by reading the stored document first. Once ``_rollover`` has moved the write index on, the
alias names several indices and the single-index operations stop being safe: ``mget``
through the alias fails, ``update`` through it goes to the new write index (where the
document is missing) and ``create`` through it makes a second copy of an article held in
an older generation. So readers and writers ask here instead:

- ``mget_across`` reads ids in every generation (a real-time ``mget`` naming each index,
  not a search, so a document written a moment ago is seen) and answers like ``mget``,
  with the copy in the oldest generation when there are several;
- ``locate`` is the strict form for writers: a copy it could not read (a shard without a
  live copy while a node is down) raises a retryable error instead of passing for
  "not there", which would make a writer create a duplicate in the write index;
- ``settle_created`` closes the race that remains: a writer that read before a rollover
  and one that read after it can both create the same id, each in its own generation.
  After creating, a writer looks in the other generations; an id held twice keeps the copy
  in the oldest generation, and a writer whose own copy was removed decides again from
  the kept copy (as after a version conflict). Either racer's check sees both copies, so
  the later check always settles it.

With one index behind the alias (no rollover yet) every call is the plain ``mget``.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from elastic_transport import TransportError

from newsflow.errors import ConfigError
from newsflow.index.names import generation_of
from newsflow.jsontypes import JsonObject, JsonValue

if TYPE_CHECKING:
    from elasticsearch import Elasticsearch

log = logging.getLogger(__name__)

_MISSING_INDEX = "index_not_found_exception"  # a generation deleted by retention meanwhile


class GenerationLookupError(TransportError):
    """A stored copy could not be read (no live shard copy); retry the chunk, never assume absence."""


def generations(client: Elasticsearch, alias: str) -> list[str]:
    """The indices behind ``alias``, oldest generation first (unnumbered names sort last)."""
    from elasticsearch import NotFoundError

    try:
        found = client.indices.get_alias(name=alias).body
    except NotFoundError:
        return []

    def order(index: str) -> tuple[int, str]:
        generation = generation_of(alias, index)
        return (generation if generation is not None else 1 << 30, index)

    return sorted(found, key=order)


def _merge(alias: str, ids: Sequence[str], docs: Sequence[JsonObject], strict: bool) -> list[JsonObject]:
    """One ``mget``-style answer per id: its oldest found copy, else an error, else not found."""
    by_id: dict[str, JsonObject] = {}
    for doc in docs:
        doc_id = str(doc.get("_id"))
        kept = by_id.get(doc_id)
        if doc.get("found"):
            if kept is None or not kept.get("found"):
                by_id[doc_id] = doc
            continue
        error = doc.get("error")
        if error is not None:
            kind = error.get("type") if isinstance(error, Mapping) else str(error)
            if kind == _MISSING_INDEX:
                continue
            if strict:
                raise GenerationLookupError(
                    f"{doc.get('_index')}/{doc_id} could not be read behind {alias!r} ({kind}); "
                    "retry once the cluster has a live copy of every shard"
                )
            if kept is None:
                by_id[doc_id] = doc
    return [by_id.get(doc_id) or {"_id": doc_id, "found": False} for doc_id in ids]


def mget_across(
    client: Elasticsearch,
    alias: str,
    ids: Sequence[str],
    *,
    source_includes: Sequence[str] | None = None,
    strict: bool = False,
) -> list[JsonObject]:
    """``mget`` of ``ids`` over every generation behind ``alias`` (see the module docstring)."""
    if not ids:
        return []
    extra: dict[str, Any] = {}
    if source_includes is not None:
        extra["source_includes"] = list(source_includes)
    indices = generations(client, alias)
    if len(indices) <= 1:
        docs = client.mget(index=alias, ids=list(ids), **extra)["docs"]
    else:
        wanted = [{"_index": index, "_id": doc_id} for doc_id in ids for index in indices]
        docs = client.mget(docs=wanted, **extra)["docs"]
    return _merge(alias, ids, docs, strict)


def locate(
    client: Elasticsearch, alias: str, ids: Sequence[str], *, source_includes: Sequence[str] | None = None
) -> dict[str, JsonObject]:
    """The stored copy of each id that exists (``_index``, ``_seq_no``, ``_primary_term``, source);
    raises ``GenerationLookupError`` when a copy could not be read."""
    docs = mget_across(client, alias, ids, source_includes=source_includes, strict=True)
    return {str(doc["_id"]): doc for doc in docs if doc.get("found")}


def index_of(client: Elasticsearch, alias: str, ids: Sequence[str]) -> dict[str, str]:
    """Where each id is held: the alias itself while it names one index (no request), else the
    generation of its oldest copy; ids held nowhere are left out."""
    if len(generations(client, alias)) <= 1:
        return dict.fromkeys(ids, alias)
    docs = mget_across(client, alias, ids, source_includes=[])
    return {str(doc["_id"]): str(doc["_index"]) for doc in docs if doc.get("found")}


def settle_created(client: Elasticsearch, alias: str, created: Mapping[str, str]) -> set[str]:
    """After creating ``created`` (id -> the index it went to), remove copies of those ids held in
    a newer generation than the oldest copy; returns the ids whose copy *we* created was removed,
    so the caller decides them again."""
    if not created or len(generations(client, alias)) <= 1:
        return set()
    indices = generations(client, alias)
    rank = {index: n for n, index in enumerate(indices)}
    wanted = [{"_index": index, "_id": doc_id} for doc_id in created for index in indices]
    docs = client.mget(docs=wanted, source=False)["docs"]
    held: dict[str, list[str]] = {}
    for doc in docs:
        if doc.get("found"):
            held.setdefault(str(doc["_id"]), []).append(str(doc["_index"]))
    removed_ours: set[str] = set()
    for doc_id, where in held.items():
        if len(where) < 2:
            continue
        keep, *extra = sorted(where, key=lambda index: rank.get(index, len(rank)))
        for index in extra:
            client.options(ignore_status=404).delete(index=index, id=doc_id)
            log.warning(
                "%s was held in %s and %s (a write raced a rollover); kept %s", doc_id, keep, index, keep
            )
            if created.get(doc_id) == index:
                removed_ours.add(doc_id)
    return removed_ours


_SIZE = re.compile(r"[0-9]+(\.[0-9]+)?(b|kb|mb|gb|tb|pb)", re.IGNORECASE)
_AGE = re.compile(r"[0-9]+(d|h|m|s|ms)")


@dataclass(frozen=True, slots=True)
class RolloverConditions:
    """When the articles' write index becomes read-mostly and a new generation takes writes.

    Any one condition is enough. Defaults are the production plan of ``docs/scaling.md``: a
    primary shard stops growing near 30 GB (searches and recoveries stay quick), a week at
    most (old weeks can move to cheaper nodes or be dropped whole), and 40 M documents (what
    about 30 GB holds at the measured document size).
    """

    max_primary_shard_size: str | None = "30gb"
    max_age: str | None = "7d"
    max_docs: int | None = 40_000_000

    def __post_init__(self) -> None:
        if self.max_primary_shard_size is None and self.max_age is None and self.max_docs is None:
            raise ConfigError("a rollover needs at least one condition (size, age or document count)")
        if self.max_docs is not None and self.max_docs < 1:
            raise ConfigError(f"max_docs={self.max_docs} must be at least 1")
        # Checked here, as Elasticsearch reads them: its own refusal arrives as a bad request.
        if self.max_primary_shard_size is not None and not _SIZE.fullmatch(self.max_primary_shard_size):
            raise ConfigError(f"max size {self.max_primary_shard_size!r} is not a size like 30gb or 500mb")
        if self.max_age is not None and not _AGE.fullmatch(self.max_age):
            raise ConfigError(f"max age {self.max_age!r} is not a time like 7d, 12h or 30m")

    def body(self) -> dict[str, JsonValue]:
        conditions: dict[str, Any] = {}
        if self.max_primary_shard_size is not None:
            conditions["max_primary_shard_size"] = self.max_primary_shard_size
        if self.max_age is not None:
            conditions["max_age"] = self.max_age
        if self.max_docs is not None:
            conditions["max_docs"] = self.max_docs
        return conditions


@dataclass(frozen=True, slots=True)
class RolloverReport:
    alias: str
    old_index: str
    new_index: str
    rolled_over: bool
    met: dict[str, bool]
    dry_run: bool


def rollover(
    client: Elasticsearch, alias: str, conditions: RolloverConditions | None = None, *, dry_run: bool = False
) -> RolloverReport:
    """Ask Elasticsearch to roll ``alias`` over if a condition is met (the core ``_rollover`` API:
    the integ-test zip has no ILM). The new generation takes its settings from the index
    template; repeating the call is harmless (it rolls only when a condition holds again)."""
    conditions = conditions or RolloverConditions()
    answer = client.indices.rollover(alias=alias, conditions=conditions.body(), dry_run=dry_run)
    report = RolloverReport(
        alias=alias,
        old_index=str(answer["old_index"]),
        new_index=str(answer["new_index"]),
        rolled_over=bool(answer["rolled_over"]),
        met={str(k): bool(v) for k, v in dict(answer.get("conditions") or {}).items()},
        dry_run=dry_run,
    )
    if report.rolled_over:
        log.info("rolled %s over: %s -> %s (%s)", alias, report.old_index, report.new_index, report.met)
    return report
