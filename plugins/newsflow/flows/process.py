"""The process flow: plan which archive batches a run owns, then archive -> extract -> stories -> index.

plan_process  -> archive batches: those an asset event names, or those written for a
                 logical time in the run's data interval (scheduled runs, backfills); a
                 run with neither fails and says what to pass
process_batch -> one unit of batches, filled to a number of pages: pages read once with
                 their feed entries, extracted (or kept as the feed's summary when
                 unusable), grouped into stories and indexed through ``StoryIndex``, then
                 the batch's story alerts raised; returns counts only
replay        -> dead letters of earlier runs written again (``replay_dead_letters``)
record        -> ``flows.runs.record_run``

Replay needs no network: everything comes from the archive. A batch processed by the
current extractor is skipped, unless the run reprocesses (its conf asks, or it is a backfill).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace
from datetime import datetime
from typing import TYPE_CHECKING

from newsflow.alerts import AlertReport, raise_alerts
from newsflow.archive import (
    ArchiveBatch,
    BatchContents,
    FolderListing,
    PageNote,
    batches_in_window,
    batches_of_files,
    page_counts,
)
from newsflow.counts import Counts
from newsflow.dedup.es_stories import ElasticStories
from newsflow.dedup.options import DedupOptions
from newsflow.dedup.story_index import StoryIndex
from newsflow.errors import ConfigError, ExtractionError
from newsflow.extract import FeedHints, extract_article, extractor_version, fallback_article
from newsflow.feeds import FeedEntry, FeedRegistry, FeedSpec, load_registry
from newsflow.flows.options import FlowOptions
from newsflow.flows.plan import Plan, pack
from newsflow.flows.runs import BatchResult, RunInfo
from newsflow.index import IndexNames, IndexReport
from newsflow.index.dead_letter import mark_replayed, replay_lock, scan_dead_letters
from newsflow.index.replay import replay_dead_letters as replay_documents
from newsflow.records import Article

if TYPE_CHECKING:
    from elasticsearch import Elasticsearch

log = logging.getLogger(__name__)


NO_SCOPE_HINT = (
    "trigger it with a data interval: POST /api/v2/dags/newsflow_process/dagRuns with "
    '{"logical_date": END, "data_interval_start": START, "data_interval_end": END, '
    '"conf": {"reprocess": true}} (or `newsflow backfill --from START --to END`, '
    "or `--last 2h`); a logical date alone reprocesses the complete hour before it"
)


def plan_process(
    options: FlowOptions,
    *,
    batch_refs: Iterable[str] = (),
    files: Iterable[str] = (),
    window: tuple[datetime, datetime] | None = None,
    events: int = 0,
    reprocess: bool = False,
) -> Plan:
    """The batches this run is responsible for, packed into units of about ``pages_per_task``
    pages and at most ``batches_per_task`` batches (a batch is never split).

    An asset-triggered run processes exactly the batches its ``events`` name (events from
    before batch references name files; their batches are found from the names). A
    scheduled or backfill run processes the batches written for its data interval. A run
    with neither (a manual run triggered without a logical date) would do nothing while
    showing green, so it fails and says what to pass.
    """
    if not events and window is None:
        what = "reprocess" if reprocess else "process"
        raise ConfigError(f"this run has neither asset events nor a data interval to {what}: {NO_SCOPE_HINT}")
    batches = {ArchiveBatch.at(ref) for ref in batch_refs}
    named, unknown = batches_of_files(files)
    batches.update(named)
    for path in unknown:
        log.warning("asset event names %s, which is no archive batch file: ignored", path)
    if not batches and window is not None:
        batches.update(batches_in_window(options.archive_root, *window))
    ordered = sorted(batches)
    # An empty batch (every page failed) still costs a task its reads: it weighs one page.
    pages = {ref: max(1, n) for ref, n in page_counts(ordered).items()}
    plan = pack(
        [[batch.ref] for batch in ordered],
        options.pages_per_task,
        options.max_tasks,
        weigh=pages.__getitem__,
        most=options.batches_per_task,
    )
    log.info("%s archive batches of %s pages in %s units", plan.items, sum(pages.values()), len(plan.units))
    return plan


def process_batch(
    options: FlowOptions, batch_refs: Sequence[str], *, run: RunInfo, client: Elasticsearch
) -> BatchResult:
    """Extract -> stories -> index for these archive batches; returns counts only."""
    started = time.monotonic()
    counts = Counts()
    version = extractor_version()
    batches = [ArchiveBatch.at(ref) for ref in batch_refs]
    listing = FolderListing()
    todo = [b for b in batches if run.reprocesses or not b.is_processed(version, listing)]
    counts.add_reason("batches_skipped", "already_processed", len(batches) - len(todo))
    contents = [batch.read(listing) for batch in todo]
    files = tuple(f for c in contents for f in c.files)
    if todo:
        names = IndexNames.from_env()
        story_options = DedupOptions.from_env()  # a refitted model named but unreadable: stop here
        articles = extract_batches(contents, load_registry(options.registry), counts)
        stories = StoryIndex(ElasticStories(client, names), story_options).add(
            articles, run_id=run.run_id, keep_stored=run.reprocesses
        )
        counts.update(stories.counts)
        if stories.index is not None:
            count_index(counts, stories.index)
        count_alerts(counts, raise_alerts(client, names, list(stories.assignments), run.run_id))
        for batch, read in zip(todo, contents, strict=True):
            batch.mark_processed(version, run.run_id, read.files)
    counts.add("archive_batches", len(todo))
    return BatchResult(tuple(batch_refs), files, counts, time.monotonic() - started)


def count_index(counts: Counts, report: IndexReport) -> None:
    """How the batch's documents were written, as ``index_*`` counts (failures by reason)."""
    counts.update({"index_created": report.created, "index_updated": report.updated})
    counts.add("index_unchanged", report.unchanged)
    for reason, n in report.failed_by_reason.items():
        counts.add_reason("index_failed", reason, n)
    if report.dead_letter_path:
        counts.add("dead_lettered", report.failed)


def count_alerts(counts: Counts, report: AlertReport) -> None:
    for name, value in report.counts().items():
        if isinstance(value, Mapping):
            for reason, n in value.items():
                counts.add_reason(name, reason, n)
        else:
            counts.add(name, value)


def replay_dead_letters(
    options: FlowOptions, client: Elasticsearch, *, by_run: str, only_run: str | None = None
) -> BatchResult:
    """Dead letters written again, their lines marked done, the story alerts they call for raised.

    ``by_run`` is who replays (a run id, or the command); ``only_run`` limits the replay to
    one run's dead letters. One replay at a time (``dead_letter.replay_lock``): a replay that
    finds another one running counts ``dead_letters_busy`` and leaves the lines to it. Counts:
    ``dead_letters_replayed``, ``_superseded`` (a later write had the article), ``_failed:<reason>``
    (still waiting), ``_waiting`` (left after this replay), ``_unreadable``.
    """
    started = time.monotonic()
    counts = Counts()
    root = options.archive_root
    with replay_lock(root) as held:
        if not held:
            counts.add("dead_letters_busy")
            return BatchResult((), (), counts, time.monotonic() - started)
        scan = scan_dead_letters(root, run=only_run)
        counts.add("dead_letters_unreadable", scan.unreadable)
        if scan.waiting:
            names = IndexNames.from_env()
            report = replay_documents(client, scan.waiting, names=names)
            mark_replayed(report.done, by_run=by_run)
            counts.add("dead_letters_replayed", report.replayed)
            counts.add("dead_letters_superseded", report.superseded)
            for reason, n in report.failed_by_reason.items():
                counts.add_reason("dead_letters_failed", reason, n)
            counts.add("dead_letters_waiting", len(scan.waiting) - len(report.done))
            if report.written:
                count_alerts(counts, raise_alerts(client, names, list(report.written), by_run))
            log.info(
                "dead letters: %s replayed, %s superseded, %s left waiting",
                report.replayed,
                report.superseded,
                len(scan.waiting) - len(report.done),
            )
    return BatchResult((), (), counts, time.monotonic() - started)


def _hints(entry: FeedEntry, specs: Mapping[str, FeedSpec]) -> FeedHints:
    """What the feed said about the entry, with the outlet and language the registry gives its feed."""
    spec = specs.get(entry.feed)
    return FeedHints(
        feed=entry.feed,
        title=entry.title or None,
        summary=entry.summary or None,
        published=entry.published,
        source=spec.outlet if spec else None,
        tags=entry.tags,
        language=spec.language if spec else None,
    )


def extract_batches(
    contents: Sequence[BatchContents], registry: FeedRegistry, counts: Counts
) -> list[Article]:
    """Articles from archived pages alone (no network): replay and backfill run this.

    Every page is extracted with its feed entry as hints; a page that cannot be used
    (HTTP error, not an article) and every page the poll could not fetch is kept as the
    feed's summary (``fallback``). Pages of all batches come first, then their failures.
    Pages that share a canonical URL become one article, counted as ``pages_skipped``.
    """
    specs = {spec.name: spec for spec in registry}
    outlets = {spec.name: spec.outlet for spec in registry}
    articles: dict[str, Article] = {}

    def keep(article: Article) -> None:
        # Pages at different URLs that name one canonical URL are one article (its _id): the
        # later page is the one kept, and the fold is counted rather than lost from the tally.
        if article.id in articles:
            counts.add_reason("pages_skipped", "same_canonical_url")
        outlet = outlets.get(article.feed or "")
        articles[article.id] = replace(article, source=outlet) if outlet else article

    def fall_back(url: str, entry: FeedEntry | None, fetched_at: str | None) -> None:
        if entry is not None:
            keep(fallback_article(url, _hints(entry, specs), fetched_at=fetched_at))
            counts.add("fallback")

    for page in (p for c in contents for p in c.pages):
        response = page.response
        counts.add("pages_read")
        hints = _hints(page.entry, specs) if page.entry is not None else None
        if response.status != 200:
            counts.add_reason("rejected", f"http_{response.status}")
            fall_back(response.requested_url, page.entry, response.fetched_at)
            continue
        try:
            article = extract_article(
                response.body,
                url=response.url,
                feed=hints,
                fetched_at=response.fetched_at,
                content_type=response.header("content-type"),
                last_modified=response.header("last-modified"),
            )
        except ExtractionError as exc:
            counts.add_reason("rejected", exc.reason)
            fall_back(response.requested_url, page.entry, response.fetched_at)
            continue
        except Exception:  # a bug met on one hostile page must not stop the batch: logged, counted
            log.exception("extraction crashed on %s (%s)", response.url, response.ref)
            counts.add_reason("rejected", "extract_crash")
            fall_back(response.requested_url, page.entry, response.fetched_at)
            continue
        keep(replace(article, archive_ref=response.ref))
        counts.add("extracted")
    failures: list[PageNote] = [n for c in contents for n in c.failures]
    for note in failures:
        counts.add_reason("rejected", note.failure or "fetch_failed")
        fall_back(note.entry.url, note.entry, None)
    return list(articles.values())
