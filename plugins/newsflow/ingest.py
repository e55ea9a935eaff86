"""The front half of ingestion as plain functions the DAGs call: poll feeds, fetch new pages.

Each call is one batch: it writes its own WARC files, updates feed state and
returns a small frozen report (counts, references, entries) that fits through
Airflow XCom. Time comes from the caller (the run's logical date), never from
the clock inside the pipeline, so reruns and backfills decide the same way.
Every fault ends as a counted reason in the report; nothing raises per URL.
"""

from __future__ import annotations

import hashlib
import logging
import uuid
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from newsflow.archive import ArchiveIndex, ArchiveOptions, ArchiveWriter
from newsflow.errors import ConfigError
from newsflow.feeds import FeedEntry, FeedSpec, parse_feed
from newsflow.feedstate import FeedState, FeedStateStore, JsonFeedStateStore
from newsflow.fetch import Fetcher, FetchFailure, FetchOptions, FetchResult

logger = logging.getLogger(__name__)

# Says whether an entry is already known elsewhere (e.g. indexed in Elasticsearch)
# and needs no fetch; the archive index is always consulted as well.
SeenCheck = Callable[[FeedEntry], bool]

HTML_TYPES = frozenset({"text/html", "application/xhtml+xml", ""})


def _iso(when: datetime) -> str:
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _check_now(now: datetime) -> None:
    if now.tzinfo is None or now.utcoffset() is None:
        raise ConfigError(f"now={now!r} must be timezone-aware (pass the run's logical date in UTC)")


def _batch_id(prefix: str, now: datetime) -> str:
    return f"{prefix}-{now.astimezone(UTC):%Y%m%dT%H%M%SZ}-{uuid.uuid4().hex[:8]}"


@dataclass(frozen=True, slots=True)
class FeedOutcome:
    """What happened to one feed in one poll."""

    feed: str
    url: str
    outcome: str  # changed, not_modified, unchanged, not_due, parse_error, error
    status: int | None = None
    entries: int = 0
    new_entries: int = 0
    reason: str | None = None  # fetch failure or parse error code
    detail: str | None = None
    ref: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in self.__dataclass_fields__}


@dataclass(frozen=True, slots=True)
class PollReport:
    batch_id: str
    now: str
    feeds: tuple[FeedOutcome, ...]
    entries: tuple[FeedEntry, ...]  # new entries, deduplicated, not yet archived
    files: tuple[str, ...]

    def counts(self) -> dict[str, int]:
        return dict(Counter(f.outcome for f in self.feeds))

    def reasons(self) -> dict[str, int]:
        return dict(Counter(f.reason for f in self.feeds if f.reason))

    def to_dict(self, *, include_entries: bool = True) -> dict[str, Any]:
        data: dict[str, Any] = {
            "batch_id": self.batch_id,
            "now": self.now,
            "counts": self.counts(),
            "reasons": self.reasons(),
            "new_entries": len(self.entries),
            "feeds": [f.to_dict() for f in self.feeds],
            "files": list(self.files),
        }
        if include_entries:
            data["entries"] = [e.to_dict() for e in self.entries]
        return data


@dataclass(frozen=True, slots=True)
class FetchedPage:
    canonical_url: str
    url: str
    final_url: str
    status: int
    ref: str
    feed: str
    content_type: str

    def to_dict(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in self.__dataclass_fields__}


@dataclass(frozen=True, slots=True)
class FailedPage:
    """A page we could not use; ``entry`` keeps the feed summary (and its ``feed_ref``) for a fallback."""

    entry: FeedEntry
    reason: str
    detail: str = ""
    status: int | None = None
    ref: str | None = None  # archived error response, when there was a body

    def to_dict(self) -> dict[str, Any]:
        return {
            "canonical_url": self.entry.canonical_url,
            "reason": self.reason,
            "detail": self.detail,
            "status": self.status,
            "ref": self.ref,
            "entry": self.entry.to_dict(),
        }


@dataclass(frozen=True, slots=True)
class FetchReport:
    batch_id: str
    now: str
    fetched: tuple[FetchedPage, ...]
    failed: tuple[FailedPage, ...]
    skipped: tuple[tuple[str, int], ...]  # (reason, count): already_archived, seen, duplicate
    files: tuple[str, ...]

    def counts(self) -> dict[str, Any]:
        return {
            "fetched": len(self.fetched),
            "failed": dict(Counter(f.reason for f in self.failed)),
            "skipped": dict(self.skipped),
        }

    def to_dict(self) -> dict[str, Any]:
        return {
            "batch_id": self.batch_id,
            "now": self.now,
            "counts": self.counts(),
            "fetched": [p.to_dict() for p in self.fetched],
            "failed": [p.to_dict() for p in self.failed],
            "files": list(self.files),
        }


def _due(spec: FeedSpec, state: FeedState | None, now: datetime) -> bool:
    if state is None or not state.last_fetch:
        return True
    try:
        last = datetime.fromisoformat(state.last_fetch.replace("Z", "+00:00"))
    except ValueError:
        return True
    # A rerun of the same (or an earlier) logical date is a task retry or backfill: poll again,
    # conditional GETs make it cheap. Otherwise wait for the feed's interval.
    return now <= last or now >= last + timedelta(seconds=spec.poll_seconds)


def poll_feeds(
    specs: Iterable[FeedSpec],
    *,
    fetch_options: FetchOptions,
    archive_options: ArchiveOptions,
    now: datetime,
    state_store: FeedStateStore | None = None,
    fetcher: Fetcher | None = None,
    index: ArchiveIndex | None = None,
    batch_id: str | None = None,
    respect_interval: bool = True,
) -> PollReport:
    """Fetch every due feed (conditionally), archive changed bodies and list their new entries."""
    _check_now(now)
    specs = [s for s in specs if s.enabled]
    store: FeedStateStore = state_store or JsonFeedStateStore.under_archive(archive_options.root)
    batch = batch_id or _batch_id("feeds", now)
    index = index if index is not None else ArchiveIndex.load(archive_options.root)
    own_fetcher = fetcher is None
    active = fetcher or Fetcher(fetch_options)
    try:
        with ArchiveWriter(archive_options, batch_id=batch, day=now.astimezone(UTC).date()) as writer:

            def one(spec: FeedSpec) -> tuple[FeedOutcome, list[FeedEntry]]:
                return _poll_one(
                    spec,
                    fetcher=active,
                    writer=writer,
                    store=store,
                    index=index,
                    now=now,
                    respect_interval=respect_interval,
                )

            with ThreadPoolExecutor(max_workers=fetch_options.max_workers) as pool:
                results = list(pool.map(one, specs))
        files = tuple(writer.files)
    finally:
        if own_fetcher:
            active.close()
    outcomes = tuple(r[0] for r in results)
    entries: list[FeedEntry] = []
    seen_urls: set[str] = set()
    for _outcome, feed_entries in results:
        for entry in feed_entries:
            if entry.canonical_url not in seen_urls:
                seen_urls.add(entry.canonical_url)
                entries.append(entry)
    report = PollReport(batch, _iso(now), outcomes, tuple(entries), files)
    logger.info("polled %s feeds: %s, %s new entries", len(outcomes), report.counts(), len(entries))
    return report


def _poll_one(
    spec: FeedSpec,
    *,
    fetcher: Fetcher,
    writer: ArchiveWriter,
    store: FeedStateStore,
    index: ArchiveIndex,
    now: datetime,
    respect_interval: bool,
) -> tuple[FeedOutcome, list[FeedEntry]]:
    state = store.get(spec.name) or FeedState(name=spec.name)
    if respect_interval and not _due(spec, state, now):
        return FeedOutcome(spec.name, spec.url, "not_due"), []
    stamp = _iso(now)
    state = state.updated(polls=state.polls + 1, last_fetch=stamp)
    try:
        result = fetcher.fetch(spec.url, headers=state.conditional_headers())
    except FetchFailure as exc:
        ref = None
        if exc.response is not None and exc.response.body:
            ref = writer.write(exc.response, kind="feed", feed=spec.name)
        store.put(
            state.updated(
                last_status=exc.status,
                last_outcome="error",
                errors=state.errors + 1,
                error_streak=state.error_streak + 1,
                last_error=f"{exc.reason}: {exc.detail}"[:500],
            )
        )
        logger.warning("feed %s failed: %s", spec.name, exc)
        return FeedOutcome(
            spec.name, spec.url, "error", exc.status, reason=exc.reason, detail=exc.detail, ref=ref
        ), []
    except Exception as exc:  # one broken feed must never stop the poll of the others
        logger.exception("feed %s: unexpected error", spec.name)
        store.put(
            state.updated(
                last_outcome="error",
                errors=state.errors + 1,
                error_streak=state.error_streak + 1,
                last_error=f"internal: {exc}"[:500],
            )
        )
        return FeedOutcome(spec.name, spec.url, "error", reason="internal", detail=str(exc)[:300]), []
    validators = {
        "etag": result.header("etag") or state.etag,
        "last_modified": result.header("last-modified") or state.last_modified,
    }
    if result.status == 304:
        store.put(
            state.updated(
                last_status=304,
                last_outcome="not_modified",
                last_success=stamp,
                not_modified=state.not_modified + 1,
                error_streak=0,
                **validators,
            )
        )
        return FeedOutcome(spec.name, spec.url, "not_modified", 304), []
    digest = hashlib.sha256(result.body).hexdigest()
    validators = {"etag": result.header("etag"), "last_modified": result.header("last-modified")}
    if digest == state.body_sha256:
        # Same bytes as last time, whatever the ETag claims: no new work, nothing new to archive.
        store.put(
            state.updated(
                last_status=result.status,
                last_outcome="unchanged",
                last_success=stamp,
                unchanged=state.unchanged + 1,
                error_streak=0,
                **validators,
            )
        )
        return FeedOutcome(spec.name, spec.url, "unchanged", result.status), []
    ref = writer.write(result, kind="feed", feed=spec.name)
    parsed = parse_feed(
        result.body, feed=spec.name, base_url=result.final_url, content_type=result.content_type
    )
    fresh = [
        replace(e, feed_ref=ref)
        for e in parsed.entries
        if not index.is_current(e.canonical_url, e.updated or e.published)
    ]
    failed_parse = parsed.bozo and not parsed.entries
    store.put(
        state.updated(
            last_status=result.status,
            last_outcome="parse_error" if failed_parse else "changed",
            last_success=None if failed_parse else stamp,
            body_sha256=digest,
            entries_seen=state.entries_seen + len(parsed.entries),
            errors=state.errors + (1 if failed_parse else 0),
            error_streak=state.error_streak + 1 if failed_parse else 0,
            last_error=f"{parsed.error}: {parsed.error_detail}"[:500] if parsed.bozo else state.last_error,
            **validators,
        )
    )
    outcome = "parse_error" if failed_parse else "changed"
    return (
        FeedOutcome(
            spec.name,
            spec.url,
            outcome,
            result.status,
            entries=len(parsed.entries),
            new_entries=len(fresh),
            reason=parsed.error,
            detail=parsed.error_detail,
            ref=ref,
        ),
        fresh,
    )


def _looks_like_html(result: FetchResult) -> bool:
    if result.content_type in HTML_TYPES:
        return True
    head = result.body[:1024].lstrip().lower()
    return head.startswith((b"<!doctype html", b"<html"))


def fetch_articles(
    entries: Sequence[FeedEntry],
    *,
    fetch_options: FetchOptions,
    archive_options: ArchiveOptions,
    now: datetime,
    seen: SeenCheck | None = None,
    fetcher: Fetcher | None = None,
    index: ArchiveIndex | None = None,
    batch_id: str | None = None,
) -> FetchReport:
    """Fetch and archive the pages of entries not archived (or seen) yet."""
    _check_now(now)
    batch = batch_id or _batch_id("pages", now)
    index = index if index is not None else ArchiveIndex.load(archive_options.root)
    skipped: Counter[str] = Counter()
    todo: list[FeedEntry] = []
    planned: set[str] = set()
    for entry in entries:
        if entry.canonical_url in planned:
            skipped["duplicate"] += 1
        elif index.is_current(entry.canonical_url, entry.updated or entry.published):
            skipped["already_archived"] += 1
        elif seen is not None and _seen(seen, entry):
            skipped["seen"] += 1
        else:
            planned.add(entry.canonical_url)
            todo.append(entry)
    own_fetcher = fetcher is None
    active = fetcher or Fetcher(fetch_options)
    try:
        with ArchiveWriter(archive_options, batch_id=batch, day=now.astimezone(UTC).date()) as writer:

            def one(entry: FeedEntry) -> FetchedPage | FailedPage:
                return _fetch_one(entry, active, writer, index)

            with ThreadPoolExecutor(max_workers=fetch_options.max_workers) as pool:
                results = list(pool.map(one, _round_robin_by_host(todo)))
        files = tuple(writer.files)
    finally:
        if own_fetcher:
            active.close()
    fetched = tuple(r for r in results if isinstance(r, FetchedPage))
    failed = tuple(r for r in results if isinstance(r, FailedPage))
    report = FetchReport(batch, _iso(now), fetched, failed, tuple(sorted(skipped.items())), files)
    logger.info("fetched pages: %s", report.counts())
    return report


def _round_robin_by_host(entries: Sequence[FeedEntry]) -> list[FeedEntry]:
    """Interleave hosts so the pool's workers wait on different hosts' politeness delays.

    Entries arrive grouped by feed (so by host); mapped in that order, every worker
    queues on the first host's throttle and a batch fetches one host at a time.
    """
    from itertools import chain, zip_longest

    from newsflow.urls import host_of

    by_host: dict[str, list[FeedEntry]] = {}
    for entry in entries:
        by_host.setdefault(host_of(entry.url), []).append(entry)
    interleaved = chain.from_iterable(zip_longest(*by_host.values()))
    return [entry for entry in interleaved if entry is not None]


def _seen(seen: SeenCheck, entry: FeedEntry) -> bool:
    try:
        return seen(entry)
    except Exception:  # an unavailable seen-store costs a refetch, never the batch
        logger.warning("seen check failed for %s; fetching it", entry.canonical_url, exc_info=True)
        return False


def _fetch_one(
    entry: FeedEntry, fetcher: Fetcher, writer: ArchiveWriter, index: ArchiveIndex
) -> FetchedPage | FailedPage:
    updated = entry.updated or entry.published
    try:
        result = fetcher.fetch(entry.url)
    except FetchFailure as exc:
        ref = None
        if exc.response is not None and exc.response.body:
            ref = writer.write(
                exc.response,
                kind="page",
                feed=entry.feed,
                canonical_url=entry.canonical_url,
                entry_updated=updated,
            )
        return FailedPage(entry, exc.reason, exc.detail, exc.status, ref)
    except Exception as exc:  # one bad page must never stop the batch
        logger.exception("page %s: unexpected error", entry.url)
        return FailedPage(entry, "internal", str(exc)[:300])
    ref = writer.write(
        result, kind="page", feed=entry.feed, canonical_url=entry.canonical_url, entry_updated=updated
    )
    index.mark(entry.canonical_url, updated)
    if not _looks_like_html(result):
        return FailedPage(entry, "not_html", f"Content-Type {result.content_type!r}", result.status, ref)
    return FetchedPage(
        canonical_url=entry.canonical_url,
        url=entry.url,
        final_url=result.final_url,
        status=result.status,
        ref=ref,
        feed=entry.feed,
        content_type=result.content_type,
    )
