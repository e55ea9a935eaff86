"""The poll flow: plan which feeds are due, poll one batch of them into the archive, announce it.

plan_poll  -> feed names due at the run's logical time, host-sharded into units
poll_batch -> one unit: feeds (conditional GETs) -> new entries -> pages, all into one
              archive batch, with a note per page; returns references and counts
announce   -> what the run archived, for the raw-archive asset event (paths, never bodies)

Time always comes from the caller (the run's logical date), so a rerun decides as the
first run did, and writes the same archive batch (its name comes from the logical time and
the feed names).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from datetime import datetime

from newsflow.archive import ArchiveBatch, SeenIndex
from newsflow.counts import Counts
from newsflow.feedpoll import poll_feeds
from newsflow.feeds import load_registry
from newsflow.feedstate import JsonFeedStateStore
from newsflow.fetch import Fetcher
from newsflow.flows.options import FlowOptions
from newsflow.flows.plan import Plan, pack
from newsflow.flows.runs import BatchResult, XComValue
from newsflow.pagefetch import fetch_pages
from newsflow.timestamps import as_utc, iso_z
from newsflow.urls import host_of

log = logging.getLogger(__name__)


def plan_poll(options: FlowOptions, when: datetime, *, pinged: Sequence[str] = ()) -> Plan:
    """Feeds due at ``when``, one host never split over two units; a ping polls its feeds alone.

    Keeping a host inside one unit is what keeps per-host politeness true when Airflow
    runs units in parallel on different workers.
    """
    if pinged:
        names = tuple(sorted(set(pinged)))
        log.info("feeds pinged from outside: %s", names)
        return Plan((names,), len(names), len(names))
    when = as_utc(when)
    registry = load_registry(options.registry)
    store = JsonFeedStateStore.under_archive(options.archive_root)
    by_host: dict[str, list[str]] = {}
    for spec in registry.enabled():
        state = store.get(spec.name)
        if state is None or state.is_due(spec.poll_seconds, when):
            by_host.setdefault(host_of(spec.url), []).append(spec.name)
    plan = pack([by_host[h] for h in sorted(by_host)], options.feeds_per_batch, options.max_tasks)
    log.info("%s feeds due in %s units at %s", plan.items, len(plan.units), iso_z(when))
    return plan


def poll_batch(
    options: FlowOptions, feed_names: Sequence[str], when: datetime, *, pinged: bool = False
) -> BatchResult:
    """Poll these feeds and fetch their new pages into one archive batch.

    One fetcher serves the feeds and the pages, so robots.txt rules and per-host pacing
    are shared by both. ``pinged``: a publisher said there is something new now, so feeds
    are polled within their interval too.
    """
    started = time.monotonic()
    when = as_utc(when)
    registry = load_registry(options.registry)
    specs = [registry.get(name) for name in feed_names]
    batch = ArchiveBatch.for_poll(options.archive_root, when, feed_names)
    seen = SeenIndex.load(options.archive_root, when.date(), lookback_days=options.seen_days)
    store = JsonFeedStateStore.under_archive(options.archive_root)
    with Fetcher(options.fetch_options()) as fetcher, batch.writer(options.archive_options()) as writer:
        polled = poll_feeds(
            specs,
            fetcher=fetcher,
            writer=writer,
            store=store,
            seen=seen,
            now=when,
            respect_interval=not pinged,
        )
        fetched = fetch_pages(polled.entries, fetcher=fetcher, writer=writer, seen=seen)
    counts = polled.counts()
    counts.update(fetched.counts())
    files = tuple(writer.files)
    return BatchResult(
        batches=(batch.ref,) if files else (),
        files=files,
        counts=counts,
        seconds=time.monotonic() - started,
    )


def announce(results: Sequence[BatchResult], run_id: str) -> dict[str, XComValue]:
    """The raw-archive asset event of a poll run: the batches and files it wrote, its counts."""
    return {
        "batches": sorted({b for r in results for b in r.batches}),
        "files": sorted({f for r in results for f in r.files}),
        "counts": Counts.merged(r.counts for r in results).to_dict(),
        "run_id": run_id,
    }
