"""The poll flow: plan which feeds are due, poll one batch of them into the archive, announce it.

plan_poll  -> feed names due at the run's logical time (or with pages waiting), host-sharded
              into units; a ping polls its known feeds alone (unknown names are counted)
poll_batch -> one unit: feeds (conditional GETs) -> new entries, queued (``waiting``) ->
              at most ``pages_per_batch`` pages, all into one archive batch with a note per
              page; then each feed's health document; returns references and counts
announce   -> once the units are done: the run's day index folded (``fold_run_day``), then
              what the run archived for processing, for the raw-archive asset event (paths,
              never bodies), or None when there is nothing: no event, no processing run

Time always comes from the caller (the run's logical date), so a rerun decides as the
first run did, and writes the same archive batch (its name comes from the logical time and
the feed names). One feed's failure never fails the others: each feed and each page is
counted with its outcome, and the task fails only on what stops the whole batch.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import TYPE_CHECKING

from newsflow.archive import ArchiveBatch, FolderListing, SeenIndex, Storage
from newsflow.archive.dayindex import fold_day
from newsflow.counts import Counts
from newsflow.feedpoll import FeedOutcome, poll_feeds
from newsflow.feeds import FeedEntry, FeedRegistry, FeedSpec, load_registry
from newsflow.feedstate import FeedState, JsonFeedStateStore, UnitFeedStates
from newsflow.fetch import Fetcher
from newsflow.flows.options import FlowOptions
from newsflow.flows.plan import Plan, pack
from newsflow.flows.runs import BatchResult, XComValue
from newsflow.index.feed_health import FeedHealth, FeedStatus, record_feed_health
from newsflow.pagefetch import fetch_pages
from newsflow.timestamps import as_utc, iso_z
from newsflow.urls import host_of
from newsflow.waiting import WaitingPages

if TYPE_CHECKING:
    from elasticsearch import Elasticsearch

log = logging.getLogger(__name__)


def pages_archived(counts: Counts) -> int:
    """Pages a poll archived for processing: fetched, or failed with a note (their feed summary)."""
    return counts["pages_fetched"] + sum(counts.group("pages_failed").values())


@dataclass(frozen=True, slots=True)
class Pinged:
    """A ping's feed names, sorted out against the registry."""

    known: tuple[str, ...]  # enabled feeds of the registry: polled now
    unknown: tuple[str, ...]  # not in the registry: counted and listed in the run record
    disabled: tuple[str, ...] = ()  # in the registry but disabled: counted, not polled


def sort_ping(registry: FeedRegistry, pinged: Iterable[str]) -> Pinged:
    specs = {spec.name: spec for spec in registry}
    names = sorted(set(pinged))
    unknown = tuple(n for n in names if n not in specs)
    if unknown:
        log.warning("a ping named feeds not in the registry %s: %s", registry.path, list(unknown))
    return Pinged(
        known=tuple(n for n in names if n in specs and specs[n].enabled),
        unknown=unknown,
        disabled=tuple(n for n in names if n in specs and not specs[n].enabled),
    )


def ping_counts(options: FlowOptions, pinged: Sequence[str]) -> tuple[Counts, dict[str, list[str]]]:
    """What a ping asked that was not polled: counts and the names, for the run record."""
    if not pinged:
        return Counts(), {}
    ping = sort_ping(load_registry(options.registry), pinged)
    counts = Counts({"feeds_unknown": len(ping.unknown), "feeds_disabled": len(ping.disabled)})
    return counts, {"feeds_unknown": list(ping.unknown), "feeds_disabled": list(ping.disabled)}


def plan_poll(options: FlowOptions, when: datetime, *, pinged: Sequence[str] = ()) -> Plan:
    """Feeds due at ``when`` or with pages waiting, one host never split over two units; a ping
    polls its known feeds alone (an empty plan when it named none: nothing runs, nothing fails).

    Keeping a host inside one unit is what keeps per-host politeness true when Airflow
    runs units in parallel on different workers.
    """
    registry = load_registry(options.registry)
    if pinged:
        names = sort_ping(registry, pinged).known
        log.info("feeds pinged from outside: %s", names)
        return Plan((names,) if names else (), len(names), len(names))
    when = as_utc(when)
    store = JsonFeedStateStore.under_archive(options.archive_root)
    by_host: dict[str, list[str]] = {}
    for spec in registry.enabled():
        state = store.get(spec.name)
        if state is None or state.is_due(spec.poll_seconds, when) or state.pages_waiting > 0:
            by_host.setdefault(host_of(spec.url), []).append(spec.name)
    plan = pack([by_host[h] for h in sorted(by_host)], options.feeds_per_batch, options.max_tasks)
    log.info("%s feeds due in %s units at %s", plan.items, len(plan.units), iso_z(when))
    return plan


def poll_batch(
    options: FlowOptions,
    feed_names: Sequence[str],
    when: datetime,
    *,
    pinged: bool = False,
    client: Elasticsearch | None = None,
) -> BatchResult:
    """Poll these feeds and fetch their new pages into one archive batch.

    One fetcher serves the feeds and the pages, so robots.txt rules and per-host pacing
    are shared by both. ``pinged``: a publisher said there is something new now, so feeds
    are polled within their interval too. The result names every complete file of the
    batch, those of an earlier failed attempt of the same run included, so a retry
    announces them. ``client``: where feed health goes (none: not written).
    """
    started = time.monotonic()
    when = as_utc(when)
    registry = load_registry(options.registry)
    known = {spec.name: spec for spec in registry}
    specs = [known[name] for name in feed_names if name in known]
    counts = Counts({"feeds_unknown": sum(1 for name in feed_names if name not in known)})
    root = options.archive_root
    batch = ArchiveBatch.for_poll(root, when, feed_names)
    store = UnitFeedStates(JsonFeedStateStore.under_archive(root))
    waiting = WaitingPages.under_archive(root)
    # The look-back is read for the hosts of this unit's feeds (units are planned by host) and
    # those their pages were on last time; a page on yet another host has that host read when
    # it is first asked about. Units never fold the index: the run does, once they are done.
    hosts = [spec.url for spec in specs]
    hosts += [site for spec in specs if (state := store.get(spec.name)) for site in state.page_sites]
    seen = SeenIndex.load(root, when.date(), lookback_days=options.seen_days, compact=False, hosts=hosts)
    with Fetcher(options.fetch_options()) as fetcher, batch.writer(options.archive_options()) as writer:
        polled = poll_feeds(
            specs,
            fetcher=fetcher,
            writer=writer,
            store=store,
            seen=seen,
            now=when,
            respect_interval=not pinged,
            waiting=waiting,
        )
        queued = [entry for spec in specs for entry in waiting.get(spec.name)]
        fetched = fetch_pages(
            queued, fetcher=fetcher, writer=writer, seen=seen, budget=options.pages_per_batch
        )
    left = _by_feed(fetched.left_over)
    counts.update(polled.counts())
    counts.update(fetched.counts())
    counts.add("archive_files_written", len(writer.files))
    counts.add("seen_hosts_read_late", seen.hosts_read_late)
    outcomes = {o.feed: o for o in polled.feeds}
    page_failures = Counts()
    for note in fetched.failed:
        page_failures.add(note.entry.feed)
    states: dict[str, FeedState] = {}
    for spec in specs:
        waits = left.get(spec.name, [])
        waiting.put(spec.name, waits)
        state = store.get(spec.name) or FeedState(name=spec.name)
        if state.pages_waiting != len(waits):
            state = replace(state, pages_waiting=len(waits))
            store.put(state)
        states[spec.name] = state
    in_error = tuple(n for n, s in states.items() if s.error_streak >= options.failing_after)
    if in_error:
        log.warning(
            "feeds failing %s or more polls in a row: %s",
            options.failing_after,
            ", ".join(f"{n} ({states[n].last_reason})" for n in in_error),
        )
    if client is not None:
        documents = [
            _health(
                known[name],
                state,
                outcomes.get(name),
                pages_failed=page_failures[name],
                when=when,
                options=options,
            )
            for name, state in states.items()
        ]
        counts.add("feed_health_unwritten", _write_health(client, documents))
    files = tuple(batch.files()[0])
    return BatchResult(
        batches=(batch.ref,) if files else (),
        files=files,
        counts=counts,
        seconds=time.monotonic() - started,
        feeds_in_error=in_error,
    )


def _by_feed(entries: Iterable[FeedEntry]) -> dict[str, list[FeedEntry]]:
    grouped: dict[str, list[FeedEntry]] = {}
    for entry in entries:
        grouped.setdefault(entry.feed, []).append(entry)
    return grouped


def _health(
    spec: FeedSpec,
    state: FeedState,
    outcome: FeedOutcome | None,
    *,
    pages_failed: int,
    when: datetime,
    options: FlowOptions,
) -> FeedHealth:
    """A feed's health after this batch: this poll's outcome, else the last one."""
    last = outcome.outcome if outcome is not None and outcome.outcome != "not_due" else state.last_outcome
    status: FeedStatus = "success"
    if last in ("error", "parse_error"):
        status = "failed"
    elif pages_failed:
        status = "partial"
    failing = status == "failed" or state.error_streak > 0
    return FeedHealth(
        state.name,
        status,
        error_streak=state.error_streak,
        in_error=state.error_streak >= options.failing_after,
        checked_at=iso_z(when),
        last_success=state.last_success,
        last_error=state.last_reason if failing else None,
        last_error_message=state.last_error if failing else None,
        polls=state.polls,
        not_modified=state.not_modified,
        newest_item=state.newest_item,
        next_due=state.next_due(spec.poll_seconds),
        pages_waiting=state.pages_waiting,
    )


def _write_health(client: Elasticsearch, documents: Sequence[FeedHealth]) -> int:
    """Write the batch's feed health; returns how many documents could not be written.

    The poll's real work (the archive, feed state) is done by now, and health is rebuilt
    from the feed state by the next batch, so an unavailable cluster is logged and counted
    here rather than failing the batch.
    """
    from elasticsearch import ApiError, TransportError
    from elasticsearch.helpers import BulkIndexError

    try:
        written = record_feed_health(client, documents)
    except (ApiError, TransportError, BulkIndexError) as exc:
        log.warning("feed health of %s feeds not written: %s", len(documents), exc)
        return len(documents)
    return len(documents) - written


def announce(
    options: FlowOptions,
    units: Sequence[Sequence[str]],
    when: datetime,
    results: Sequence[BatchResult],
    run_id: str,
) -> dict[str, XComValue] | None:
    """The raw-archive asset event of a poll run, or None when it archived nothing to process.

    A batch is announced when it holds pages or page notes this run wrote, or files of an
    earlier attempt not processed yet (a task that failed after archiving: its retry, or
    the run's end, announces them). Batches come from the plan, not only from the results,
    so a unit whose task failed for good is announced too. An empty poll (every feed 304,
    unchanged, or without new entries) announces nothing, so no processing run starts.
    """
    fold_run_day(options.archive_root, when)
    by_ref = {ref: r for r in results for ref in r.batches}
    batches: list[str] = []
    files: list[str] = []
    listing = FolderListing()  # the run's units share one day folder: listed once
    for unit in units:
        batch = ArchiveBatch.for_poll(options.archive_root, when, unit)
        found = batch.files(listing)[0]
        if not found:
            continue
        result = by_ref.get(batch.ref)
        wrote_pages = result is not None and pages_archived(result.counts) > 0
        earlier = result is None or len(found) > result.counts["archive_files_written"]
        if wrote_pages or (earlier and not _processed(batch, listing)):
            batches.append(batch.ref)
            files.extend(found)
    if not batches:
        log.info("run %s archived nothing to process: no asset event", run_id)
        return None
    return {
        "batches": sorted(batches),
        "files": sorted(files),
        "counts": Counts.merged(r.counts for r in results).to_dict(),
        "run_id": run_id,
    }


def fold_run_day(root: str, when: datetime) -> int:
    """Fold the index files the run's units wrote into their day's index (``dayindex.fold_day``);
    how many were folded.

    Once per run, after every unit: each unit used to fold whatever day it read once it found
    more than 16 loose index files, so at scale hundreds of units rewrote the same day index
    at once (docs/scaling.md). A failed fold costs nothing but time: the files stay loose and
    are read as they are, and the next run folds them.
    """
    try:
        return fold_day(Storage(root), as_utc(when).date())
    except Exception:  # storage trouble: the batches must still be announced
        log.warning("folding the index of %s failed; its index files stay loose", iso_z(when), exc_info=True)
        return 0


def _processed(batch: ArchiveBatch, listing: FolderListing) -> bool:
    from newsflow.extract import extractor_version  # trafilatura: only on this rare path

    return batch.is_processed(extractor_version(), listing)
