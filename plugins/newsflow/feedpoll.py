"""Polling feeds: conditional GETs, feed state, and the entries not archived yet.

Polling every feed every few minutes is only polite with ``If-None-Match`` /
``If-Modified-Since`` and a body hash (some servers change the ETag on every answer),
so each poll reads and writes the feed's durable state. A changed body is archived and
parsed; its entries the archive already holds (``SeenIndex``) are dropped. Every fault
ends as a counted outcome with its reason; one broken feed never stops the others.
"""

from __future__ import annotations

import hashlib
import logging
from collections import Counter
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from datetime import datetime

from newsflow.archive import ArchiveWriter, SeenIndex
from newsflow.counts import Counts
from newsflow.errors import ConfigError
from newsflow.feeds import FeedEntry, FeedSpec, parse_feed
from newsflow.feedstate import FeedState, FeedStateStore
from newsflow.fetch import Fetcher, FetchFailure
from newsflow.textsafe import clean_surrogates
from newsflow.timestamps import iso_z
from newsflow.urls import site_of
from newsflow.waiting import WaitingPages

logger = logging.getLogger(__name__)

FAILED_OUTCOMES = frozenset({"error", "parse_error"})


@dataclass(frozen=True, slots=True)
class FeedOutcome:
    """What happened to one feed in one poll."""

    feed: str
    url: str
    outcome: str  # changed, not_modified, unchanged, not_due, parse_error, error
    status: int | None = None
    entries: int = 0
    new_entries: int = 0
    skipped: int = 0  # items the parser dropped: no usable http(s) link (e.g. a lone surrogate in it)
    reason: str | None = None  # fetch failure or parse error code
    detail: str | None = None
    ref: str | None = None

    @property
    def failed(self) -> bool:
        return self.outcome in FAILED_OUTCOMES


@dataclass(frozen=True, slots=True)
class PollReport:
    feeds: tuple[FeedOutcome, ...]
    entries: tuple[FeedEntry, ...]  # new entries, deduplicated by canonical URL, pages not fetched yet

    def counts(self) -> Counts:
        counts = Counts()
        for feed in self.feeds:
            counts.add_reason("feeds", feed.outcome)
            if feed.outcome != "not_due":
                counts.add("feeds_polled")
            if feed.failed:
                counts.add_reason("feeds_failed", feed.reason or feed.outcome)
            elif feed.reason:  # parsed, with a warning (a bozo feed that still had entries)
                counts.add_reason("feed_warnings", feed.reason)
            counts.add_reason("entries_skipped", "no_usable_link", feed.skipped)
        counts.add("new_entries", len(self.entries))
        return counts


def poll_feeds(
    specs: Iterable[FeedSpec],
    *,
    fetcher: Fetcher,
    writer: ArchiveWriter,
    store: FeedStateStore,
    seen: SeenIndex,
    now: datetime,
    respect_interval: bool = True,
    waiting: WaitingPages | None = None,
) -> PollReport:
    """Fetch every due feed (conditionally), archive changed bodies and list their new entries.

    ``respect_interval=False`` polls even a feed polled within its interval: a publisher's
    ping says there is something new now, so waiting out the interval would defeat it.
    ``waiting``: new entries are queued there before the feed's state moves on (see ``waiting``).
    """
    if now.tzinfo is None or now.utcoffset() is None:
        raise ConfigError(f"now={now!r} must be timezone-aware (pass the run's logical date in UTC)")
    enabled = [s for s in specs if s.enabled]

    def one(spec: FeedSpec) -> tuple[FeedOutcome, list[FeedEntry]]:
        return _poll_one(
            spec,
            fetcher=fetcher,
            writer=writer,
            store=store,
            seen=seen,
            now=now,
            respect_interval=respect_interval,
            waiting=waiting,
        )

    with ThreadPoolExecutor(max_workers=fetcher.options.max_workers) as pool:
        results = list(pool.map(one, enabled))
    entries: dict[str, FeedEntry] = {}
    for _outcome, feed_entries in results:
        for entry in feed_entries:
            entries.setdefault(entry.canonical_url, entry)
    report = PollReport(tuple(r[0] for r in results), tuple(entries.values()))
    logger.info("polled %s feeds: %s", len(results), report.counts().to_dict())
    return report


def _poll_one(
    spec: FeedSpec,
    *,
    fetcher: Fetcher,
    writer: ArchiveWriter,
    store: FeedStateStore,
    seen: SeenIndex,
    now: datetime,
    respect_interval: bool,
    waiting: WaitingPages | None,
) -> tuple[FeedOutcome, list[FeedEntry]]:
    state = store.get(spec.name) or FeedState(name=spec.name)
    if respect_interval and not state.is_due(spec.poll_seconds, now):
        return FeedOutcome(spec.name, spec.url, "not_due"), []
    stamp = iso_z(now)
    state = replace(state, polls=state.polls + 1, last_fetch=stamp)
    try:
        return _poll_fetch(
            spec, state, fetcher=fetcher, writer=writer, store=store, seen=seen, waiting=waiting
        )
    except (
        Exception
    ) as exc:  # one broken feed (its parse, its archive write, its state) never stops the others
        logger.exception("feed %s: unexpected error", spec.name)
        detail = clean_surrogates(str(exc))[:300]
        try:
            store.put(_failed(state, "internal", detail))
        except Exception:  # the state store itself is failing: the outcome below still counts it
            logger.exception("feed %s: its state could not be written", spec.name)
        return FeedOutcome(spec.name, spec.url, "error", reason="internal", detail=detail), []


def _failed(state: FeedState, reason: str, detail: str, status: int | None = None) -> FeedState:
    return replace(
        state,
        last_status=status if status is not None else state.last_status,
        last_outcome="error",
        errors=state.errors + 1,
        error_streak=state.error_streak + 1,
        last_error=f"{reason}: {detail}"[:500],
        last_reason=reason,
    )


PAGE_SITES = 8  # sites a feed's state remembers its pages on


def _page_sites(entries: Iterable[FeedEntry]) -> tuple[str, ...]:
    """Where the entries' pages live (scheme and host), most linked first (``FeedState.page_sites``)."""
    counted = Counter(site_of(e.canonical_url) for e in entries)
    return tuple(site for site, _ in counted.most_common(PAGE_SITES) if site)


def _newest(state: FeedState, entries: Iterable[FeedEntry]) -> str | None:
    dates = [d for e in entries if (d := e.updated or e.published)]
    if state.newest_item:
        dates.append(state.newest_item)
    return max(dates) if dates else None


def _poll_fetch(
    spec: FeedSpec,
    state: FeedState,
    *,
    fetcher: Fetcher,
    writer: ArchiveWriter,
    store: FeedStateStore,
    seen: SeenIndex,
    waiting: WaitingPages | None,
) -> tuple[FeedOutcome, list[FeedEntry]]:
    stamp = state.last_fetch
    try:
        result = fetcher.fetch(spec.url, headers=state.conditional_headers())
    except FetchFailure as exc:
        ref = None
        if exc.response is not None and exc.response.body:
            ref = writer.write(exc.response, kind="feed", feed=spec.name)
        store.put(_failed(state, exc.reason, exc.detail, exc.status))
        logger.warning("feed %s failed: %s", spec.name, exc)
        outcome = FeedOutcome(spec.name, spec.url, "error", exc.status, reason=exc.reason, detail=exc.detail)
        return replace(outcome, ref=ref), []
    if result.status == 304:
        store.put(
            replace(
                state,
                last_status=304,
                last_outcome="not_modified",
                last_success=stamp,
                not_modified=state.not_modified + 1,
                error_streak=0,
                etag=result.header("etag") or state.etag,
                last_modified=result.header("last-modified") or state.last_modified,
            )
        )
        return FeedOutcome(spec.name, spec.url, "not_modified", 304), []
    digest = hashlib.sha256(result.body).hexdigest()
    etag, last_modified = result.header("etag"), result.header("last-modified")
    if digest == state.body_sha256:
        # Same bytes as last time, whatever the ETag claims: no new work, nothing new to archive.
        store.put(
            replace(
                state,
                last_status=result.status,
                last_outcome="unchanged",
                last_success=stamp,
                unchanged=state.unchanged + 1,
                error_streak=0,
                etag=etag,
                last_modified=last_modified,
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
        if not seen.is_current(e.canonical_url, e.updated or e.published)
    ]
    if waiting is not None and fresh:
        # Before the state records this body: once it does, the feed will not hand these out again.
        waiting.add(spec.name, fresh)
    failed_parse = parsed.bozo and not parsed.entries
    error = f"{parsed.error}: {parsed.error_detail}"[:500] if parsed.bozo else state.last_error
    store.put(
        replace(
            state,
            last_status=result.status,
            last_outcome="parse_error" if failed_parse else "changed",
            last_success=None if failed_parse else stamp,
            body_sha256=digest,
            entries_seen=state.entries_seen + len(parsed.entries),
            errors=state.errors + (1 if failed_parse else 0),
            error_streak=state.error_streak + 1 if failed_parse else 0,
            last_error=error,
            last_reason=parsed.error if failed_parse else state.last_reason,
            newest_item=_newest(state, parsed.entries),
            page_sites=_page_sites(parsed.entries) or state.page_sites,
            etag=etag,
            last_modified=last_modified,
        )
    )
    return (
        FeedOutcome(
            spec.name,
            spec.url,
            "parse_error" if failed_parse else "changed",
            result.status,
            entries=len(parsed.entries),
            new_entries=len(fresh),
            skipped=parsed.skipped,
            reason=parsed.error,
            detail=parsed.error_detail,
            ref=ref,
        ),
        fresh,
    )
