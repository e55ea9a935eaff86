"""Fetching the pages of new feed entries into the archive, with a note beside each.

Each page's response is archived as it arrives; after the batch, one ``PageNote`` per
page records the feed entry that led to it and, for a page we could not use, why. The
notes are what processing reads instead of parsing the feeds again, and a page that
failed keeps its entry there, so processing can still index the feed's summary of it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from itertools import chain, zip_longest

from newsflow.archive import ArchiveWriter, PageNote, SeenIndex
from newsflow.counts import Counts
from newsflow.feeds import FeedEntry
from newsflow.fetch import Fetcher, FetchFailure, FetchResult
from newsflow.textsafe import clean_surrogates
from newsflow.urls import host_of

logger = logging.getLogger(__name__)

# Says whether an entry is already known elsewhere (e.g. indexed in Elasticsearch) and
# needs no fetch; the archive's SeenIndex is always consulted first.
SeenCheck = Callable[[FeedEntry], bool]

HTML_TYPES = frozenset({"text/html", "application/xhtml+xml", ""})


@dataclass(frozen=True, slots=True)
class FetchedPage:
    entry: FeedEntry
    final_url: str
    status: int
    ref: str
    content_type: str


@dataclass(frozen=True, slots=True)
class FetchReport:
    fetched: tuple[FetchedPage, ...]
    failed: tuple[PageNote, ...]  # ``failure`` says why; ``ref`` is the archived response, if any
    skipped: Counts  # already_archived, seen, duplicate
    deferred: tuple[FeedEntry, ...] = ()  # past the page budget: for a later run
    unnoted: tuple[FeedEntry, ...] = ()  # pages whose note could not be written: for a later run

    def counts(self) -> Counts:
        counts = Counts()
        counts.add("pages_fetched", len(self.fetched))
        for note in self.failed:
            counts.add_reason("pages_failed", note.failure or "unknown")
        for reason, n in self.skipped.items():
            counts.add_reason("pages_skipped", reason, n)
        counts.add("pages_deferred", len(self.deferred))
        counts.add("pages_unnoted", len(self.unnoted))
        return counts

    @property
    def left_over(self) -> tuple[FeedEntry, ...]:
        """Entries a later run must fetch again."""
        return (*self.deferred, *self.unnoted)


def fetch_pages(
    entries: Sequence[FeedEntry],
    *,
    fetcher: Fetcher,
    writer: ArchiveWriter,
    seen: SeenIndex,
    seen_elsewhere: SeenCheck | None = None,
    budget: int | None = None,
) -> FetchReport:
    """Fetch and archive the pages of entries not archived (or seen) yet; one note per page.

    ``budget`` caps the pages fetched; the feeds share it in turn (one page of each, then the
    next of each), so one huge feed cannot starve the others, and the rest is ``deferred``.
    """
    skipped = Counts()
    todo: list[FeedEntry] = []
    planned: set[str] = set()
    for entry in entries:
        if entry.canonical_url in planned:
            skipped.add("duplicate")
        elif seen.is_current(entry.canonical_url, entry.updated or entry.published):
            skipped.add("already_archived")
        elif seen_elsewhere is not None and _seen(seen_elsewhere, entry):
            skipped.add("seen")
        else:
            planned.add(entry.canonical_url)
            todo.append(entry)
    deferred: list[FeedEntry] = []
    if budget is not None and len(todo) > budget:
        shared = round_robin(todo, key=lambda e: e.feed)
        todo, deferred = shared[:budget], shared[budget:]
        logger.info("page budget %s: %s pages wait for a later run", budget, len(deferred))

    def one(entry: FeedEntry) -> FetchedPage | PageNote:
        try:
            return _fetch_one(entry, fetcher, writer, seen)
        except Exception as exc:  # one bad page (its fetch, its archive write) never stops the batch
            logger.exception("page %s: unexpected error", entry.url)
            return PageNote(entry, failure="internal", detail=clean_surrogates(str(exc))[:300])

    with ThreadPoolExecutor(max_workers=fetcher.options.max_workers) as pool:
        results = list(pool.map(one, round_robin_by_host(todo)))
    # Notes go in the order the pages were planned, whatever order the threads finished in.
    unnoted: list[FeedEntry] = []
    for result in results:
        note = PageNote(result.entry, ref=result.ref) if isinstance(result, FetchedPage) else result
        try:
            writer.note(note)
        except Exception:  # the page stays queued (see ``left_over``), so its summary is never lost
            logger.exception(
                "page %s: its note could not be archived; a later run tries again", note.entry.url
            )
            unnoted.append(note.entry)
    report = FetchReport(
        fetched=tuple(r for r in results if isinstance(r, FetchedPage)),
        failed=tuple(r for r in results if isinstance(r, PageNote)),
        skipped=skipped,
        deferred=tuple(deferred),
        unnoted=tuple(unnoted),
    )
    logger.info("fetched pages: %s", report.counts().to_dict())
    return report


def round_robin(entries: Sequence[FeedEntry], key: Callable[[FeedEntry], str | None]) -> list[FeedEntry]:
    """Interleave entries by ``key`` (each group keeps its order): one of each, then the next."""
    groups: dict[str | None, list[FeedEntry]] = {}
    for entry in entries:
        groups.setdefault(key(entry), []).append(entry)
    interleaved = chain.from_iterable(zip_longest(*groups.values()))
    return [entry for entry in interleaved if entry is not None]


def round_robin_by_host(entries: Sequence[FeedEntry]) -> list[FeedEntry]:
    """Interleave hosts so the pool's workers wait on different hosts' politeness delays.

    Entries arrive grouped by feed (so by host); mapped in that order, every worker
    queues on the first host's throttle and a batch fetches one host at a time.
    """
    return round_robin(entries, key=lambda entry: host_of(entry.url))


def _seen(seen: SeenCheck, entry: FeedEntry) -> bool:
    try:
        return seen(entry)
    except Exception:  # an unavailable seen-store costs a refetch, never the batch
        logger.warning("seen check failed for %s; fetching it", entry.canonical_url, exc_info=True)
        return False


def _looks_like_html(result: FetchResult) -> bool:
    if result.content_type in HTML_TYPES:
        return True
    head = result.body[:1024].lstrip().lower()
    return head.startswith((b"<!doctype html", b"<html"))


def _fetch_one(
    entry: FeedEntry, fetcher: Fetcher, writer: ArchiveWriter, seen: SeenIndex
) -> FetchedPage | PageNote:
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
        return PageNote(entry, failure=exc.reason, detail=exc.detail, status=exc.status, ref=ref)
    ref = writer.write(
        result, kind="page", feed=entry.feed, canonical_url=entry.canonical_url, entry_updated=updated
    )
    seen.mark(entry.canonical_url, updated)
    if not _looks_like_html(result):
        detail = f"Content-Type {result.content_type!r}"
        return PageNote(entry, failure="not_html", detail=detail, status=result.status, ref=ref)
    return FetchedPage(entry, result.final_url, result.status, ref, result.content_type)
