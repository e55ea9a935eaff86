"""Idempotent, conflict-safe bulk indexing of articles.

The integ-test node has no scripting, so "update only when changed and bump a
counter" cannot be a scripted upsert. Instead each chunk is: ``mget`` the stored
fingerprints -> ``create`` new documents (``op_type=create``), skip unchanged
ones, ``index`` changed ones with ``version + 1`` guarded by
``if_seq_no``/``if_primary_term``. A 409 means another writer got there first:
re-read and decide again. Re-running a batch therefore never duplicates, and two
writers never clobber each other. Documents Elasticsearch refuses go to a
dead-letter file in the archive, with the reason, so nothing is lost; when the cluster
stays unreachable, the failed chunk and every chunk after it go there too (reason
``unavailable`` / ``not_attempted``) before the call raises. ``index.replay`` writes
dead-lettered documents again through the same ``write_chunk``.
"""

from __future__ import annotations

import itertools
import logging
import time
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from newsflow.errors import IndexingError
from newsflow.index.dead_letter import dead_letter_path, write_dead_letters
from newsflow.index.documents import ArticleDoc, as_doc, build_document
from newsflow.index.generations import locate, settle_created
from newsflow.index.names import IndexNames
from newsflow.index.outcome import BulkIndexingError, IndexFailure, IndexOptions, IndexReport, WriteTally
from newsflow.jsontypes import JsonValue, as_object
from newsflow.records import Article
from newsflow.stored_fields import whole
from newsflow.timestamps import iso_z, now_utc

if TYPE_CHECKING:
    from elasticsearch import Elasticsearch

log = logging.getLogger(__name__)

RETRY_STATUSES = (429, 502, 503, 504)
MAX_REPORTED_FAILURES = 50
_LOOKUP_FIELDS = ["doc_fingerprint", "version"]


@dataclass(frozen=True, slots=True)
class _Planned:
    action: dict[str, Any] | None  # None: unchanged
    document: dict[str, Any]
    is_new: bool


# How a pending document is built once its stored version is known: (version, indexed_at) -> _source.
Builder = Callable[[int, str], dict[str, Any]]


def _batched(items: Iterable[Article | ArticleDoc], size: int) -> Iterator[list[ArticleDoc]]:
    iterator = iter(items)
    while chunk := list(itertools.islice(iterator, size)):
        yield [as_doc(item) for item in chunk]


def from_item(item: ArticleDoc) -> Builder:
    return lambda version, indexed_at: build_document(item, version=version, indexed_at=indexed_at)


def _now() -> str:
    return iso_z(now_utc(), "milliseconds")


def _plan(
    client: Elasticsearch, alias: str, pending: Mapping[str, Builder], indexed_at: str
) -> dict[str, _Planned]:
    """Decide create / update / skip for each pending document from its stored fingerprint."""
    stored = locate(client, alias, list(pending), source_includes=_LOOKUP_FIELDS)  # every generation
    plans: dict[str, _Planned] = {}
    for doc_id, build in pending.items():
        old = stored.get(doc_id)
        if old is None:
            document = build(1, indexed_at)
            action: dict[str, JsonValue] = {
                "_op_type": "create",
                "_index": alias,
                "_id": doc_id,
                "_source": document,
            }
            plans[doc_id] = _Planned(action=action, document=document, is_new=True)
            continue
        source = as_object(old.get("_source"))
        version = (whole(source.get("version")) or 1) + 1
        document = build(version, indexed_at)
        if document["doc_fingerprint"] == source.get("doc_fingerprint"):
            plans[doc_id] = _Planned(action=None, document=document, is_new=False)
            continue
        action = {
            "_op_type": "index",
            "_index": old["_index"],
            "_id": doc_id,
            "if_seq_no": old["_seq_no"],
            "if_primary_term": old["_primary_term"],
            "_source": document,
        }
        plans[doc_id] = _Planned(action=action, document=document, is_new=False)
    return plans


def _error_text(info: dict[str, Any]) -> tuple[str, str]:
    error = info.get("error")
    if isinstance(error, dict):
        reason = str(error.get("type") or "rejected")
        caused = error.get("caused_by", {})
        detail = str(error.get("reason") or "")
        if isinstance(caused, dict) and caused.get("reason"):
            detail = f"{detail}: {caused.get('reason')}"
        return reason, detail
    if "exception" in info:
        return "request_failed", str(info.get("exception"))
    return "rejected", str(error or info)


def _send(
    client: Elasticsearch,
    plans: dict[str, _Planned],
    options: IndexOptions,
    tally: WriteTally,
    rejects: list[tuple[IndexFailure, dict[str, Any]]],
    *,
    alias: str,
) -> dict[str, ArticleDoc | None]:
    """Bulk-write the planned actions; returns the ids that hit a version conflict."""
    from elasticsearch.helpers import streaming_bulk

    actions = [p.action for p in plans.values() if p.action is not None]
    tally.counts.add("unchanged", sum(1 for p in plans.values() if p.action is None))
    conflicts: dict[str, ArticleDoc | None] = {}
    created: dict[str, str] = {}  # id -> the index the new document went to
    if not actions:
        return conflicts
    results = streaming_bulk(
        client,
        actions,
        chunk_size=len(actions),
        max_chunk_bytes=options.max_chunk_bytes,
        raise_on_error=False,
        raise_on_exception=False,
        max_retries=options.max_retries,
        initial_backoff=options.initial_backoff_s,
        max_backoff=options.max_backoff_s,
        retry_on_status=RETRY_STATUSES,
    )
    for ok, item in results:
        op_type, info = next(iter(item.items()))
        doc_id = str(info.get("_id"))
        if ok:
            if info.get("result") == "created" or op_type == "create":
                created[doc_id] = str(info.get("_index"))
            else:
                tally.counts.add("updated")
            continue
        status = info.get("status")
        if status == 409:
            conflicts[doc_id] = None
            continue
        reason, detail = _error_text(info)
        failure = IndexFailure(
            id=doc_id, reason=reason, status=status if isinstance(status, int) else None, error=detail
        )
        plan = plans.get(doc_id)
        rejects.append((failure, plan.document if plan else {}))
    # A create that raced a rollover may have made a second copy in another generation: the
    # oldest copy is kept, and an id whose new copy was removed is decided again like a conflict.
    raced = settle_created(client, alias, created)
    tally.counts.add("created", len(created) - len(raced))
    conflicts.update(dict.fromkeys(raced))
    return conflicts


def _record(
    tally: WriteTally,
    rejects: list[tuple[IndexFailure, dict[str, Any]]],
    *,
    run_id: str,
    alias: str,
    options: IndexOptions,
) -> None:
    if not rejects:
        return
    path = tally.dead_letter or dead_letter_path(run_id, root=options.dead_letter_root)
    failed_at = _now()
    write_dead_letters(
        path,
        (
            {**failure.to_dict(), "run_id": run_id, "alias": alias, "failed_at": failed_at, "document": doc}
            for failure, doc in rejects
        ),
    )
    tally.dead_letter = path
    for failure, _ in rejects:
        tally.counts.add_reason("failed", failure.reason)
        if len(tally.failures) < MAX_REPORTED_FAILURES:
            tally.failures.append(failure)
        log.warning(
            "document %s not indexed into %s: %s (%s)", failure.id, alias, failure.reason, failure.error
        )
    rejects.clear()


def _report(tally: WriteTally, run_id: str, alias: str, started: float) -> IndexReport:
    return IndexReport(
        run_id=run_id,
        alias=alias,
        created=tally.counts["created"],
        updated=tally.counts["updated"],
        unchanged=tally.counts["unchanged"],
        failed_by_reason=tally.counts.group("failed"),
        failures=tuple(tally.failures),
        dead_letter_path=tally.dead_letter,
        took_s=time.monotonic() - started,
    )


def write_chunk(
    client: Elasticsearch,
    pending: Mapping[str, Builder],
    *,
    alias: str,
    options: IndexOptions,
    tally: WriteTally,
    rejects: list[tuple[IndexFailure, dict[str, Any]]],
) -> bool:
    """Write one chunk (id -> how to build its document) with the retry policy; refused documents
    are appended to ``rejects`` (the caller dead-letters them or not). False when the cluster
    stayed unreachable (every pending document is then in ``rejects``)."""
    from elasticsearch import ApiError, TransportError

    indexed_at = _now()
    attempts = 0
    conflict_rounds = 0
    while pending:
        try:
            plans = _plan(client, alias, pending, indexed_at)
            conflicts = _send(client, plans, options, tally, rejects, alias=alias)
        except (TransportError, ApiError) as exc:
            status = getattr(exc, "status_code", None) if isinstance(exc, ApiError) else None
            if isinstance(exc, ApiError) and status not in RETRY_STATUSES:
                hint = {
                    401: " Check NEWSFLOW_ES_USERNAME/PASSWORD or NEWSFLOW_ES_API_KEY.",
                    403: " The user needs write and read privileges on the alias.",
                    404: " Run `newsflow index setup`.",
                }.get(status or 0, "")
                raise IndexingError(
                    f"Elasticsearch refused the request for {alias!r} (HTTP {status}): {exc}.{hint}"
                ) from exc
            attempts += 1
            if attempts > options.max_retries:
                for doc_id, build in pending.items():
                    failure = IndexFailure(id=doc_id, reason="unavailable", status=status, error=str(exc))
                    rejects.append((failure, build(1, indexed_at)))
                return False
            delay = options.backoff(attempts)
            log.warning("Elasticsearch unavailable (%s); retrying the chunk in %.1fs", exc, delay)
            time.sleep(delay)
            continue
        if conflicts:
            conflict_rounds += 1
            if conflict_rounds > options.conflict_retries:
                for doc_id in conflicts:
                    failure = IndexFailure(
                        id=doc_id,
                        reason="version_conflict",
                        status=409,
                        error="another writer kept changing this document; retried "
                        f"{options.conflict_retries} times",
                    )
                    rejects.append((failure, plans[doc_id].document))
                return True
            log.info("%s version conflicts; re-reading and retrying", len(conflicts))
        pending = {doc_id: pending[doc_id] for doc_id in conflicts}
    return True


def _not_attempted(chunks: Iterator[list[ArticleDoc]]) -> list[tuple[IndexFailure, dict[str, Any]]]:
    """The chunks after one that found the cluster unreachable: dead-lettered, never dropped."""
    indexed_at = _now()
    return [
        (
            IndexFailure(
                id=item.id,
                reason="not_attempted",
                status=None,
                error="not sent: Elasticsearch stayed unreachable for an earlier chunk of this batch",
            ),
            build_document(item, version=1, indexed_at=indexed_at),
        )
        for chunk in chunks
        for item in chunk
    ]


def index_articles(
    client: Elasticsearch,
    items: Iterable[Article | ArticleDoc],
    *,
    names: IndexNames | None = None,
    options: IndexOptions | None = None,
    run_id: str | None = None,
    on_progress: Callable[[int], None] | None = None,
) -> IndexReport:
    """Create-or-update ``items`` under the articles alias; see the module docstring for why.

    Raises ``BulkIndexingError`` (with the report) when the cluster stays unreachable after the
    retries or the failed share passes ``options.max_failure_ratio``; rejected documents are in
    the dead-letter file either way.
    """
    from newsflow.index.templates import write_index

    names = names or IndexNames.from_env()
    options = options or IndexOptions()
    run_id = run_id or f"index-{now_utc():%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:8]}"
    alias = names.articles
    if write_index(client, alias) is None:
        raise IndexingError(
            f"alias {alias!r} does not exist; run `newsflow index setup` before indexing "
            "(writing to a missing alias would create an unmapped index)"
        )
    started = time.monotonic()
    tally = WriteTally()
    rejects: list[tuple[IndexFailure, dict[str, Any]]] = []
    done = 0
    chunks = _batched(items, options.chunk_size)
    for chunk in chunks:
        pending = {item.id: from_item(item) for item in chunk}  # the last version of a repeated article wins
        tally.counts.add("unchanged", len(chunk) - len(pending))
        reachable = write_chunk(client, pending, alias=alias, options=options, tally=tally, rejects=rejects)
        if not reachable:
            rejects.extend(_not_attempted(chunks))
        _record(tally, rejects, run_id=run_id, alias=alias, options=options)
        done += len(chunk)
        if on_progress is not None:
            on_progress(done)
        if not reachable:
            report = _report(tally, run_id, alias, started)
            raise BulkIndexingError(
                f"Elasticsearch stayed unreachable after {options.max_retries} retries while indexing "
                f"into {alias!r}; {report.created + report.updated} documents were written, the failed "
                f"chunk and the {report.failed_by_reason.get('not_attempted', 0)} documents after it are "
                f"in {report.dead_letter_path}. Check the cluster, then re-run (indexing is idempotent) "
                "or replay them: `newsflow index replay-dead-letters`.",
                report,
            )
    if options.refresh:
        client.indices.refresh(index=alias)
    report = _report(tally, run_id, alias, started)
    log.info(
        "indexed into %s: %s created, %s updated, %s unchanged, %s failed",
        alias,
        report.created,
        report.updated,
        report.unchanged,
        report.failed,
    )
    if report.total and report.failed / report.total > options.max_failure_ratio:
        raise BulkIndexingError(
            f"{report.failed} of {report.total} documents could not be indexed into {alias!r} "
            f"({dict(report.failed_by_reason)}), more than max_failure_ratio={options.max_failure_ratio}; "
            f"they are in {report.dead_letter_path}",
            report,
        )
    return report
