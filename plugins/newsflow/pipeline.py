"""The pipeline's steps as plain functions, one per DAG task.

Airflow tasks call exactly one of these and pass only what they return: small
JSON-able dicts of counts and archive references, never article bodies. Time
always comes from the caller (the run's logical date or data interval), so a
rerun or a backfill makes the same decisions as the first run.

poll:    plan_poll_batches -> poll_batch (feeds, pages -> WARC archive)
process: plan_process_batches -> process_batch (archive -> extract -> stories -> index)
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import time
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING, Any

from newsflow import settings
from newsflow.errors import ConfigError, ExtractionError, InputError

if TYPE_CHECKING:
    from elasticsearch import Elasticsearch

    from newsflow.archive import ArchivedResponse
    from newsflow.feeds import FeedEntry, FeedRegistry
    from newsflow.records import Article

log = logging.getLogger(__name__)

_BATCH_TIME = re.compile(r"(\d{8}T\d{6}Z)")


def _split_env_list(value: str | None) -> frozenset[str]:
    return frozenset(item.strip() for item in (value or "").split(",") if item.strip())


@dataclass(frozen=True, slots=True)
class PipelineOptions:
    """What a deployment decides once: which registry, which archive, how big a batch is."""

    registry: str = field(default_factory=lambda: str(settings.seeds_dir() / "feeds.yaml"))
    archive_root: str = field(default_factory=settings.archive_root)
    feeds_per_batch: int = 25
    max_batches: int = 64  # well below Airflow's max_map_length (1024)
    pages_per_batch: int = 200
    allow_private_hosts: frozenset[str] = frozenset()
    polite_delay_s: float = 1.0

    def __post_init__(self) -> None:
        if self.feeds_per_batch < 1 or self.pages_per_batch < 1:
            raise ConfigError("feeds_per_batch and pages_per_batch must be at least 1")
        if not 1 <= self.max_batches <= 1024:
            raise ConfigError(f"max_batches={self.max_batches} must be within 1..1024 (Airflow's map limit)")

    @classmethod
    def from_env(cls) -> PipelineOptions:
        """``NEWSFLOW_FEEDS`` (registry path), ``NEWSFLOW_ARCHIVE``, ``NEWSFLOW_ALLOW_PRIVATE_HOSTS``."""
        registry = os.environ.get("NEWSFLOW_FEEDS") or str(settings.seeds_dir() / "feeds.yaml")
        delay = os.environ.get("NEWSFLOW_POLITE_DELAY_S")
        return cls(
            registry=registry,
            archive_root=settings.archive_root(),
            allow_private_hosts=_split_env_list(os.environ.get("NEWSFLOW_ALLOW_PRIVATE_HOSTS")),
            polite_delay_s=float(delay) if delay else 1.0,
        )

    def fetch_options(self) -> Any:
        from newsflow.fetch import FetchOptions

        options = FetchOptions(
            allow_private_hosts=self.allow_private_hosts, per_host_delay=self.polite_delay_s
        )
        contact = os.environ.get("NEWSFLOW_CONTACT_URL")
        return replace(options, contact_url=contact) if contact else options

    def archive_options(self) -> Any:
        from newsflow.archive import ArchiveOptions

        return ArchiveOptions(root=self.archive_root)


def parse_when(value: str | datetime) -> datetime:
    """A timezone-aware UTC datetime from the ISO strings Airflow templates give us."""
    if isinstance(value, datetime):
        when = value
    else:
        try:
            when = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            raise InputError(f"{value!r} is not an ISO 8601 date-time; pass the run's logical date") from None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return when.astimezone(UTC)


def load_registry(options: PipelineOptions) -> FeedRegistry:
    from newsflow.feeds import load_registry as load

    return load(options.registry)


# ---------------------------------------------------------------------------- polling


def plan_poll_batches(options: PipelineOptions, logical_date: str | datetime) -> list[list[str]]:
    """Feed names due at ``logical_date``, sharded by host so one host never spans two batches.

    Keeping a host inside one batch is what keeps per-host politeness true when
    Airflow runs batches in parallel on different workers.
    """
    from newsflow.feedstate import JsonFeedStateStore
    from newsflow.urls import host_of

    now = parse_when(logical_date)
    registry = load_registry(options)
    store = JsonFeedStateStore.under_archive(options.archive_root)
    by_host: dict[str, list[str]] = {}
    for spec in registry.enabled():
        state = store.get(spec.name)
        last = state.last_fetch if state else None
        if last:
            due_at = parse_when(last) + timedelta(seconds=spec.poll_seconds)
            if now < due_at:
                continue
        by_host.setdefault(host_of(spec.url), []).append(spec.name)
    batches: list[list[str]] = []
    current: list[str] = []
    for host in sorted(by_host):
        names = by_host[host]
        if current and len(current) + len(names) > options.feeds_per_batch:
            batches.append(current)
            current = []
        current.extend(names)
    if current:
        batches.append(current)
    if len(batches) > options.max_batches:  # merge the tail rather than exceed the map limit
        head, tail = batches[: options.max_batches - 1], batches[options.max_batches - 1 :]
        batches = [*head, [name for batch in tail for name in batch]]
    log.info("%s feeds due in %s batches at %s", sum(map(len, batches)), len(batches), now.isoformat())
    return batches


def _failures_path(archive_root: str, batch_id: str, now: datetime) -> str:
    from newsflow.archive import Storage, day_dir

    storage = Storage(archive_root)
    return storage.join(day_dir(now.date()), f"{batch_id}.failed.jsonl")


def poll_batch(
    options: PipelineOptions,
    feed_names: Sequence[str],
    logical_date: str | datetime,
    *,
    seen: Any = None,
    respect_interval: bool = True,
) -> dict[str, Any]:
    """Poll these feeds and fetch their new pages into the archive; counts and WARC paths only.

    ``respect_interval=False`` polls even a feed polled within its interval: a publisher's
    ping says there is something new now, so waiting out the interval would defeat it.
    """
    from newsflow.archive import Storage
    from newsflow.ingest import fetch_articles, poll_feeds

    now = parse_when(logical_date)
    registry = load_registry(options)
    specs = [registry.get(name) for name in feed_names]
    stamp = f"{now:%Y%m%dT%H%M%SZ}"
    key = hashlib.sha256("\n".join(sorted(feed_names)).encode()).hexdigest()[:8]
    polled = poll_feeds(
        specs,
        fetch_options=options.fetch_options(),
        archive_options=options.archive_options(),
        now=now,
        batch_id=f"feeds-{stamp}-{key}",
        respect_interval=respect_interval,
    )
    fetched = fetch_articles(
        polled.entries,
        fetch_options=options.fetch_options(),
        archive_options=options.archive_options(),
        now=now,
        seen=seen,
        batch_id=f"pages-{stamp}-{key}",
    )
    sidecars: list[str] = []
    if fetched.failed:
        # Pages we could not fetch keep their feed entry, so processing indexes a fallback.
        storage = Storage(options.archive_root)
        path = _failures_path(options.archive_root, fetched.batch_id, now)
        lines = "".join(json.dumps(f.to_dict(), ensure_ascii=False) + "\n" for f in fetched.failed)
        storage.write_bytes(path, lines.encode("utf-8"))
        sidecars.append(storage.display(path))
    counts: dict[str, Any] = {
        "feeds": polled.counts(),
        "feed_errors": polled.reasons(),
        "new_entries": len(polled.entries),
        **{f"pages_{k}": v for k, v in fetched.counts().items()},
    }
    return {
        "logical_date": now.isoformat(),
        "files": [*polled.files, *fetched.files, *sidecars],
        "counts": counts,
    }


# ---------------------------------------------------------------------------- processing


def warc_files_for_interval(
    options: PipelineOptions, start: str | datetime, end: str | datetime
) -> list[str]:
    """WARC files whose batch was written for a logical time in ``[start, end)``.

    Files are named after the logical date of the run that wrote them, so a
    backfill selects exactly what the original runs archived, whatever the clock.
    """
    from newsflow.archive import Storage, day_dir, warc_files

    lo, hi = parse_when(start), parse_when(end)
    last = (hi - timedelta(microseconds=1)).date()
    storage = Storage(options.archive_root)
    candidates = warc_files(options.archive_root, lo.date(), last)
    day = lo.date()
    while day <= last:
        pattern = storage.join(day_dir(day), "*.failed.jsonl")
        candidates.extend(storage.display(p) for p in storage.glob(pattern))
        day += timedelta(days=1)
    selected = []
    for path in candidates:
        match = _BATCH_TIME.search(path.rsplit("/", 1)[-1])
        if match is None:
            continue
        stamp = datetime.strptime(match.group(1), "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
        if lo <= stamp < hi:
            selected.append(path)
    return sorted(selected)


def plan_process_batches(
    options: PipelineOptions,
    *,
    event_files: Iterable[str] = (),
    start: str | datetime | None = None,
    end: str | datetime | None = None,
    files_per_batch: int = 8,
) -> list[list[str]]:
    """The WARC files this run is responsible for, in batches.

    An asset-triggered run processes exactly the files the events reference;
    a scheduled or backfill run processes its data interval.
    """
    files = sorted(set(event_files))
    if not files and start is not None and end is not None:
        files = warc_files_for_interval(options, start, end)
    # Feed and page files of one poll batch share a key: keep them together so
    # pages find their feed entry (title, summary, date) in the same batch.
    groups: dict[str, list[str]] = {}
    for path in files:
        name = path.rsplit("/", 1)[-1]
        key = name.split("-", 1)[1] if "-" in name else name
        key = key.split(".", 1)[0].rsplit("-", 1)[0]
        groups.setdefault(key, []).append(path)
    batches: list[list[str]] = []
    current: list[str] = []
    for key in sorted(groups):
        if current and len(current) + len(groups[key]) > files_per_batch:
            batches.append(current)
            current = []
        current.extend(groups[key])
    if current:
        batches.append(current)
    return batches[:1024]


def _read_warc(path: str) -> list[ArchivedResponse]:
    import fsspec
    from warcio.archiveiterator import ArchiveIterator

    from newsflow.archive import read_record

    refs: list[str] = []
    with fsspec.open(path, "rb") as handle:
        iterator = ArchiveIterator(handle)
        for record in iterator:
            if record.rec_type == "response":
                refs.append(f"{path}#{iterator.get_record_offset()}")
    return [read_record(ref) for ref in refs]


def _feed_entries(responses: Iterable[ArchivedResponse]) -> dict[str, FeedEntry]:
    from newsflow.feeds import parse_feed

    entries: dict[str, FeedEntry] = {}
    for response in responses:
        if response.kind != "feed" or response.status != 200:
            continue
        parsed = parse_feed(
            response.body,
            feed=response.feed or "",
            base_url=response.url,
            content_type=response.header("content-type") or "",
        )
        for entry in parsed.entries:
            entries.setdefault(entry.canonical_url, entry)
    return entries


def _failed_entries(sidecars: Iterable[str]) -> list[tuple[FeedEntry, str]]:
    """Entries whose page could not be fetched, from the poll's ``*.failed.jsonl`` sidecars."""
    from newsflow.archive import Storage
    from newsflow.feeds import FeedEntry

    failed: list[tuple[FeedEntry, str]] = []
    for path in sidecars:
        raw = Storage(path.rsplit("/", 1)[0]).read_bytes(path)
        for number, line in enumerate((raw or b"").decode("utf-8", "replace").splitlines(), 1):
            if not line.strip():
                continue
            try:
                data = json.loads(line)
                failed.append((FeedEntry.from_dict(data["entry"]), str(data.get("reason") or "fetch_failed")))
            except (ValueError, KeyError, TypeError) as exc:
                log.warning("skipping line %s of %s: %s", number, path, exc)
    return failed


def _hints(entry: FeedEntry | None, outlet: str | None, language: str | None = None) -> Any:
    from newsflow.extract import FeedHints

    if entry is None:
        return None
    return FeedHints(
        feed=entry.feed,
        title=entry.title or None,
        summary=entry.summary or None,
        published=entry.published,
        source=outlet,
        tags=entry.tags,
        language=language,
    )


@dataclass
class _Tally:
    counts: Counter[str] = field(default_factory=Counter)

    def add(self, key: str, n: int = 1) -> None:
        self.counts[key] += n


def extract_from_archive(
    options: PipelineOptions, files: Sequence[str], tally: _Tally | None = None
) -> list[Article]:
    """Articles from archived pages alone (no network): replay and backfill run this."""
    from newsflow.extract import extract_article, fallback_article
    from newsflow.urls import canonicalize_url

    tally = tally or _Tally()
    registry = load_registry(options)
    outlets = {spec.name: spec.outlet for spec in registry}
    languages = {spec.name: spec.language for spec in registry}
    warcs = [f for f in files if f.endswith(".warc.gz")]
    sidecars = [f for f in files if f.endswith(".failed.jsonl")]
    responses = [r for path in warcs for r in _read_warc(path)]
    entries = _feed_entries(responses)
    articles: dict[str, Article] = {}

    def keep(article: Article) -> None:
        outlet = outlets.get(article.feed or "")
        if outlet:
            article = replace(article, source=outlet)
        articles[article.id] = article

    for response in responses:
        if response.kind == "feed":
            continue
        tally.add("pages_read")
        canonical = canonicalize_url(response.requested_url)
        entry = entries.get(canonical)
        hints = _hints(entry, outlets.get(entry.feed), languages.get(entry.feed)) if entry else None
        if response.status != 200:
            tally.add(f"rejected:http_{response.status}")
            if hints is not None:
                keep(fallback_article(response.requested_url, hints, fetched_at=response.fetched_at))
                tally.add("fallback")
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
            tally.add(f"rejected:{exc.reason}")
            if hints is not None:
                keep(fallback_article(response.requested_url, hints, fetched_at=response.fetched_at))
                tally.add("fallback")
            continue
        keep(replace(article, archive_ref=response.ref))
        tally.add("extracted")
    for entry, reason in _failed_entries(sidecars):
        tally.add(f"rejected:{reason}")
        hints = _hints(entry, outlets.get(entry.feed), languages.get(entry.feed))
        keep(fallback_article(entry.url, hints, fetched_at=None))
        tally.add("fallback")
    return list(articles.values())


def _marker_path(path: str) -> str:
    return path.removesuffix(".warc.gz").removesuffix(".failed.jsonl") + ".processed.json"


def _already_processed(path: str, version: str) -> bool:
    from newsflow.archive import Storage

    raw = Storage(path.rsplit("/", 1)[0]).read_bytes(_marker_path(path))
    if raw is None:
        return False
    try:
        return bool(json.loads(raw).get("extractor_version") == version)
    except ValueError:
        return False


def _mark_processed(paths: Iterable[str], version: str, run_id: str) -> None:
    from newsflow.archive import Storage

    for path in paths:
        payload = json.dumps({"extractor_version": version, "run_id": run_id}).encode()
        Storage(path.rsplit("/", 1)[0]).write_bytes(_marker_path(path), payload)


def process_batch(
    options: PipelineOptions,
    files: Sequence[str],
    *,
    run_id: str,
    client: Elasticsearch,
    reprocess: bool = False,
) -> dict[str, Any]:
    """Extract -> stories -> index for the archived files; returns counts only.

    Files already processed by the current extractor are skipped unless
    ``reprocess``; a newer extractor version reprocesses them by itself.
    """
    from newsflow.dedup.es_stories import ElasticStories
    from newsflow.dedup.story_index import StoryIndex
    from newsflow.extract import extractor_version
    from newsflow.index import IndexNames

    started = time.monotonic()
    tally = _Tally()
    version = extractor_version()
    todo = [f for f in files if reprocess or not _already_processed(f, version)]
    if len(todo) < len(files):
        tally.add("files_skipped:already_processed", len(files) - len(todo))
    if not todo:
        return {"files": list(files), "counts": dict(tally.counts)}
    articles = extract_from_archive(options, todo, tally)
    stories = StoryIndex(ElasticStories(client, IndexNames.from_env())).add(articles, run_id=run_id)
    counts: dict[str, Any] = dict(tally.counts)
    for key, n in stories.counts.items():
        counts[key] = counts.get(key, 0) + n
    if stories.index is not None:
        counts.update({f"index_{k}": v for k, v in stories.index.to_dict().items() if isinstance(v, int)})
    counts["seconds"] = round(time.monotonic() - started, 3)
    _mark_processed(todo, version, run_id)
    return {"files": list(files), "counts": counts}


def record_run(
    client: Elasticsearch,
    *,
    run_id: str,
    dag_id: str,
    stage: str,
    results: Sequence[Mapping[str, Any]],
    started: datetime | str | None,
) -> dict[str, Any]:
    """One run-metrics document per run and stage (its id is stable, so reruns overwrite it)."""
    from newsflow.index import IndexNames, record_run_metrics

    counts = merge_counts(results)
    # "rejected:paywall"-style keys become {"rejected": {"paywall": n}}; durations go to ``extra``.
    nested: dict[str, Any] = {}
    extra: dict[str, Any] = {"batches": len(results)}
    for key, value in counts.items():
        if isinstance(value, float):
            extra[key] = value
        elif isinstance(value, Mapping):
            for sub, n in value.items():
                nested.setdefault(key, {})[str(sub)] = int(n)
        elif ":" in key:
            group, sub = key.split(":", 1)
            nested.setdefault(group, {})[sub] = int(value)
        else:
            nested[key] = int(value)
    finished = datetime.now(UTC)  # bookkeeping only: the duration, never a pipeline decision
    doc_id = record_run_metrics(
        client,
        run_id,
        stage,
        nested,
        started or finished,
        finished,
        dag_id=dag_id,
        extra=extra,
        names=IndexNames.from_env(),
    )
    return {"metrics_id": doc_id, "counts": counts}


def merge_counts(parts: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    """Sum the numeric counts of mapped task results (nested dicts summed per key)."""
    total: dict[str, Any] = {}
    for part in parts:
        for key, value in dict(part.get("counts", {})).items():
            if isinstance(value, Mapping):
                inner = total.setdefault(key, {})
                for k, v in value.items():
                    inner[k] = inner.get(k, 0) + v
            elif isinstance(value, int | float):
                total[key] = total.get(key, 0) + value
    return total


def today_utc() -> date:
    """Only for the CLI edge (demo/ad-hoc runs); pipeline steps take dates from the caller."""
    return datetime.now(UTC).date()
