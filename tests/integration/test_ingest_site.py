"""Poll and fetch against the local fixture news site: every fault is counted and explained,
everything fetched is archived with a note, a second run does no new work, and the poll
flow's batch reads back into articles (and fallbacks) with no network."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

from newsflow.archive import (
    ArchiveBatch,
    ArchiveOptions,
    ArchiveWriter,
    SeenIndex,
    iter_responses,
    read_record,
)
from newsflow.counts import Counts
from newsflow.feedpoll import PollReport, poll_feeds
from newsflow.feeds import FeedSpec, load_registry
from newsflow.feedstate import FeedStateStore, JsonFeedStateStore, MemoryFeedStateStore
from newsflow.fetch import Fetcher, FetchOptions
from newsflow.flows import poll
from newsflow.flows.options import FlowOptions
from newsflow.flows.process import extract_batches
from newsflow.pagefetch import FetchReport, SeenCheck, fetch_pages
from tests.site.server import FAULT_REASONS, RECOVERED, NewsSite

pytest_plugins = ["tests.site.conftest_plugin"]

NOW = datetime(2026, 11, 22, 6, 0, tzinfo=UTC)
FEEDS = {
    "main": "/feeds/main.xml",
    "liar": "/feeds/liar.xml",
    "bomb": "/feeds/bomb.xml",
    "atom": "/feeds/atom.xml",
    "json": "/feeds/feed.json",
    "broken": "/feeds/broken.xml",
    "gone": "/feeds/gone.xml",
}


def _options() -> FetchOptions:
    return FetchOptions(
        contact_url="https://example.org/newsflow-tests",
        connect_timeout=0.5,
        read_timeout=0.5,
        deadline=5.0,
        retries=2,
        backoff_base=0.05,
        backoff_max=0.2,
        max_retry_after=1.5,
        max_bytes=1024 * 1024,
        per_host_concurrency=4,
        per_host_delay=0.0,
        max_workers=4,
        allow_private_hosts=frozenset({"127.0.0.1"}),
    )


def _specs(base: str) -> list[FeedSpec]:
    return [
        FeedSpec(name=name, url=base + path, language="en", poll_interval="15m", tags=("fixture",))
        for name, path in FEEDS.items()
    ]


@contextmanager
def _batch(root: str, now: datetime) -> Iterator[tuple[Fetcher, ArchiveWriter, SeenIndex]]:
    """What a poll task holds: one fetcher, the writer of its archive batch, the archive index."""
    batch = ArchiveBatch.for_poll(root, now, [now.isoformat()])
    seen = SeenIndex.load(root, now.date(), lookback_days=14)
    with Fetcher(_options()) as fetcher, batch.writer(ArchiveOptions(root)) as writer:
        yield fetcher, writer, seen


def _poll(specs: Sequence[FeedSpec], root: str, store: FeedStateStore, now: datetime) -> PollReport:
    with _batch(root, now) as (fetcher, writer, seen):
        return poll_feeds(specs, fetcher=fetcher, writer=writer, store=store, seen=seen, now=now)


def _fetch(
    report: PollReport, root: str, now: datetime, seen_elsewhere: SeenCheck | None = None
) -> FetchReport:
    with _batch(root, now) as (fetcher, writer, seen):
        return fetch_pages(
            report.entries, fetcher=fetcher, writer=writer, seen=seen, seen_elsewhere=seen_elsewhere
        )


def _archived(root: str) -> list[tuple[str, str, int]]:
    day = NOW.date()
    return [(r.kind, r.url, r.status) for r in iter_responses(root, day, day + timedelta(days=1))]


def test_ingest_fixture_site_end_to_end(news_site: NewsSite, tmp_path: Path) -> None:
    base = news_site.base_url
    root = str(tmp_path / "archive")
    store = JsonFeedStateStore.under_archive(root)

    # --- first run: everything is new --------------------------------------------------------
    polled = _poll(_specs(base), root, store, NOW)
    by_feed = {f.feed: f for f in polled.feeds}
    assert by_feed["main"].outcome == "changed"
    assert by_feed["liar"].outcome == "changed"
    assert by_feed["atom"].outcome == "changed"
    assert by_feed["json"].outcome == "changed"
    assert (by_feed["bomb"].outcome, by_feed["bomb"].reason) == ("parse_error", "entity_declarations")
    assert by_feed["broken"].outcome == "changed"
    assert by_feed["broken"].reason == "malformed"
    assert by_feed["broken"].entries >= 1  # recoverable entries kept despite the parse error
    assert (by_feed["gone"].outcome, by_feed["gone"].reason, by_feed["gone"].status) == (
        "error",
        "http_4xx",
        410,
    )

    urls = {e.canonical_url for e in polled.entries}
    assert len(urls) == len(polled.entries), "entries are deduplicated by canonical URL"
    assert f"{base}/articles/0.html" in urls  # the utm_ duplicate collapsed onto it
    assert "http://10.0.0.1/internal.html" in urls
    assert all(e.feed_ref for e in polled.entries), "every entry points at its archived feed response"

    report = _fetch(polled, root, NOW)
    reasons = {
        f.entry.url.removeprefix(base) if f.entry.url.startswith(base) else f.entry.url: f.failure
        for f in report.failed
    }
    assert reasons == FAULT_REASONS
    fetched = {p.entry.url.removeprefix(base) for p in report.fetched}
    for path in RECOVERED:
        assert path in fetched, f"{path} should succeed after its fault was handled"
    assert len(report.fetched) + len(report.failed) + sum(report.skipped.values()) == len(polled.entries)
    # Retries and Retry-After: the flaky page was asked three times, the rate-limited one twice.
    assert news_site.hits["/fault/flaky"] == 3
    assert news_site.hits["/fault/ratelimit"] == 2
    assert news_site.hits["/private/secret.html"] == 0, "robots.txt disallow must be honoured"
    redirected = next(p for p in report.fetched if p.entry.url.endswith("/go/seed-0"))
    assert redirected.final_url == f"{base}/seeds/0.html"
    # Failed pages keep the feed entry (summary + feed_ref) for a fallback.
    timeout = next(f for f in report.failed if f.failure == "timeout")
    assert timeout.entry.summary and timeout.entry.feed_ref
    assert read_record(timeout.entry.feed_ref).kind == "feed"

    # Nothing lost: every response with a body is in the archive, and each ref reads back.
    archived = _archived(root)
    pages = [a for a in archived if a[0] == "page"]
    feeds = [a for a in archived if a[0] == "feed"]
    assert len(feeds) == 6  # all feeds but the bodyless 410
    bodies_expected = len(report.fetched) + sum(1 for f in report.failed if f.ref)
    assert len(pages) == bodies_expected
    assert {f.failure for f in report.failed if f.ref} == {"http_4xx", "not_html"}
    for page in report.fetched:
        record = read_record(page.ref)
        assert record.status == 200 and record.url == page.final_url and record.body
    article = read_record(next(p.ref for p in report.fetched if p.entry.url.endswith("/articles/1.html")))
    assert b"<html" in article.body.lower()[:5000], "gzip-encoded page archived decoded"
    assert report.counts().group("pages_failed") == dict(Counter(FAULT_REASONS.values()))

    # --- second run an hour later: conditional GETs, nothing new -------------------------------
    page_hits = news_site.page_hits()
    index_size = len(SeenIndex.load(root, NOW.date(), lookback_days=1))
    later = NOW + timedelta(hours=1)
    poll2 = _poll(_specs(base), root, store, later)
    outcomes2 = {f.feed: f.outcome for f in poll2.feeds}
    assert outcomes2 == {
        "main": "not_modified",
        "liar": "unchanged",  # same ETag, same body: caught by the body hash
        "bomb": "not_modified",
        "atom": "not_modified",
        "json": "not_modified",
        "broken": "not_modified",
        "gone": "error",
    }
    assert poll2.entries == ()
    report2 = _fetch(poll2, root, later)
    assert report2.fetched == () and report2.failed == ()
    assert news_site.page_hits() == page_hits, "second run fetched pages"
    assert _archived(root) == archived, "second run wrote duplicates"
    assert len(SeenIndex.load(root, NOW.date(), lookback_days=1)) == index_size
    gone_state = store.get("gone")
    assert gone_state is not None and gone_state.error_streak == 2
    main_state = store.get("main")
    assert main_state is not None and main_state.not_modified == 1 and main_state.polls == 2

    # --- the lying feed changes its body but not its ETag: only the new entry is fetched -------
    news_site.liar_version = 2
    third = later + timedelta(hours=1)
    poll3 = _poll(_specs(base), root, store, third)
    assert {f.feed: f.outcome for f in poll3.feeds}["liar"] == "changed"
    assert [e.url.removeprefix(base) for e in poll3.entries] == ["/liar/3.html"]
    report3 = _fetch(poll3, root, third)
    assert [p.entry.url.removeprefix(base) for p in report3.fetched] == ["/liar/3.html"]

    # An entry re-offered by another path is skipped: already archived, or known to the caller.
    again = _fetch(replace(polled, entries=polled.entries[:3]), root, third, seen_elsewhere=lambda e: True)
    assert again.skipped == {"already_archived": 3}


def test_poll_respects_interval_and_seen_callback(news_site: NewsSite, tmp_path: Path) -> None:
    root = str(tmp_path / "archive")
    store = MemoryFeedStateStore()
    specs = [s for s in _specs(news_site.base_url) if s.name == "atom"]
    first = _poll(specs, root, store, NOW)
    assert first.feeds[0].outcome == "changed"
    soon = _poll(specs, root, store, NOW + timedelta(minutes=5))
    assert soon.feeds[0].outcome == "not_due"
    again = _poll(specs, root, store, NOW)  # a retry of the same run: due again (conditional GET)
    assert again.feeds[0].outcome == "not_modified"
    earlier = _poll(specs, root, store, NOW - timedelta(hours=1))  # a run dated before the last poll
    assert earlier.feeds[0].outcome == "not_due"
    assert news_site.hits["/feeds/atom.xml"] == 2
    known = {first.entries[0].canonical_url}
    report = _fetch(first, root, NOW, seen_elsewhere=lambda entry: entry.canonical_url in known)
    assert report.skipped == {"seen": 1}
    assert len(report.fetched) == len(first.entries) - 1


def test_the_poll_flow_archives_one_batch_that_reads_back_into_articles(
    news_site: NewsSite, tmp_path: Path
) -> None:
    """poll_batch -> the batch its result names -> extract_batches: no feed is parsed again."""
    base = news_site.base_url
    registry = tmp_path / "feeds.yaml"
    registry.write_text(
        "feeds:\n"
        + "".join(
            f"  - name: {name}\n    url: {base}{FEEDS[name]}\n    language: en\n    outlet: Fixture {name}\n"
            "    poll_interval: 15m\n    tags: [fixture]\n"
            for name in ("atom", "json")
        )
    )
    options = FlowOptions(
        registry=str(registry),
        archive_root=str(tmp_path / "archive"),
        allow_private_hosts=frozenset({"127.0.0.1"}),
        polite_delay_s=0.0,
    )
    plan = poll.plan_poll(options, NOW)
    assert plan.for_xcom() == [["atom", "json"]], "one host: one unit"
    result = poll.poll_batch(options, plan.units[0], NOW)
    payload = json.dumps(result.to_xcom())
    assert len(payload) < 64 * 1024 and "<html" not in payload.lower(), "XCom carries references and counts"
    (ref,) = result.batches
    contents = ArchiveBatch.at(ref).read()
    assert result.counts["pages_fetched"] == len(contents.pages) > 0
    assert all(page.entry is not None for page in contents.pages), "every page has its note"
    counts = Counts()
    articles = extract_batches([contents], load_registry(options.registry), counts)
    assert counts["pages_read"] == len(contents.pages)
    assert {a.feed for a in articles} == {"atom", "json"}
    assert {a.source for a in articles} == {"Fixture atom", "Fixture json"}, "outlets come from the registry"
    assert poll.plan_poll(options, NOW + timedelta(minutes=5)).units == (), "nothing due within the interval"
