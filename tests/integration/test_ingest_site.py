"""Poll and fetch against the local fixture news site: every fault is counted and explained,
everything fetched is archived, and a second run does no new work."""

from __future__ import annotations

import json
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

from newsflow.archive import ArchiveIndex, ArchiveOptions, iter_responses, read_record
from newsflow.feeds import FeedSpec
from newsflow.feedstate import JsonFeedStateStore
from newsflow.fetch import FetchOptions
from newsflow.ingest import fetch_articles, poll_feeds
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


def _archived(root: str) -> list[tuple[str, str, int]]:
    day = NOW.date()
    return [(r.kind, r.url, r.status) for r in iter_responses(root, day, day + timedelta(days=1))]


def test_ingest_fixture_site_end_to_end(news_site: NewsSite, tmp_path: Path) -> None:
    base = news_site.base_url
    root = str(tmp_path / "archive")
    archive = ArchiveOptions(root=root)
    store = JsonFeedStateStore.under_archive(root)
    options = _options()

    # --- first run: everything is new --------------------------------------------------------
    poll = poll_feeds(
        _specs(base), fetch_options=options, archive_options=archive, state_store=store, now=NOW
    )
    by_feed = {f.feed: f for f in poll.feeds}
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

    urls = {e.canonical_url for e in poll.entries}
    assert len(urls) == len(poll.entries), "entries are deduplicated by canonical URL"
    assert f"{base}/articles/0.html" in urls  # the utm_ duplicate collapsed onto it
    assert "http://10.0.0.1/internal.html" in urls
    assert all(e.feed_ref for e in poll.entries), "every entry points at its archived feed response"

    report = fetch_articles(poll.entries, fetch_options=options, archive_options=archive, now=NOW)
    reasons = {
        f.entry.url.removeprefix(base) if f.entry.url.startswith(base) else f.entry.url: f.reason
        for f in report.failed
    }
    assert reasons == FAULT_REASONS
    fetched = {p.url.removeprefix(base) for p in report.fetched}
    for path in RECOVERED:
        assert path in fetched, f"{path} should succeed after its fault was handled"
    assert len(report.fetched) + len(report.failed) + sum(n for _, n in report.skipped) == len(poll.entries)
    # Retries and Retry-After: the flaky page was asked three times, the rate-limited one twice.
    assert news_site.hits["/fault/flaky"] == 3
    assert news_site.hits["/fault/ratelimit"] == 2
    assert news_site.hits["/private/secret.html"] == 0, "robots.txt disallow must be honoured"
    redirected = next(p for p in report.fetched if p.url.endswith("/go/seed-0"))
    assert redirected.final_url == f"{base}/seeds/0.html"
    # Failed pages keep the feed entry (summary + feed_ref) for a fallback.
    timeout = next(f for f in report.failed if f.reason == "timeout")
    assert timeout.entry.summary and timeout.entry.feed_ref
    assert read_record(timeout.entry.feed_ref).kind == "feed"

    # Nothing lost: every response with a body is in the archive, and each ref reads back.
    archived = _archived(root)
    pages = [a for a in archived if a[0] == "page"]
    feeds = [a for a in archived if a[0] == "feed"]
    assert len(feeds) == 6  # all feeds but the bodyless 410
    bodies_expected = len(report.fetched) + sum(1 for f in report.failed if f.ref)
    assert len(pages) == bodies_expected
    assert {f.reason for f in report.failed if f.ref} == {"http_4xx", "not_html"}
    for page in report.fetched:
        record = read_record(page.ref)
        assert record.status == 200 and record.url == page.final_url and record.body
    article = read_record(next(p.ref for p in report.fetched if p.url.endswith("/articles/1.html")))
    assert b"<html" in article.body.lower()[:5000], "gzip-encoded page archived decoded"
    to_dict = report.to_dict()
    assert to_dict["counts"]["failed"] == dict(Counter(FAULT_REASONS.values()))
    # Reports travel through XCom: JSON, small, never page bodies.
    for payload in (json.dumps(poll.to_dict()), json.dumps(to_dict)):
        assert len(payload) < 64 * 1024
        assert "<html" not in payload.lower()

    # --- second run an hour later: conditional GETs, nothing new -------------------------------
    page_hits = news_site.page_hits()
    index_size = len(ArchiveIndex.load(root))
    later = NOW + timedelta(hours=1)
    poll2 = poll_feeds(
        _specs(base), fetch_options=options, archive_options=archive, state_store=store, now=later
    )
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
    report2 = fetch_articles(poll2.entries, fetch_options=options, archive_options=archive, now=later)
    assert report2.fetched == () and report2.failed == ()
    assert news_site.page_hits() == page_hits, "second run fetched pages"
    assert _archived(root) == archived, "second run wrote duplicates"
    assert len(ArchiveIndex.load(root)) == index_size
    gone_state = store.get("gone")
    assert gone_state is not None and gone_state.error_streak == 2
    main_state = store.get("main")
    assert main_state is not None and main_state.not_modified == 1 and main_state.polls == 2

    # --- the lying feed changes its body but not its ETag: only the new entry is fetched -------
    news_site.liar_version = 2
    third = later + timedelta(hours=1)
    poll3 = poll_feeds(
        _specs(base), fetch_options=options, archive_options=archive, state_store=store, now=third
    )
    assert {f.feed: f.outcome for f in poll3.feeds}["liar"] == "changed"
    assert [e.url.removeprefix(base) for e in poll3.entries] == ["/liar/3.html"]
    report3 = fetch_articles(poll3.entries, fetch_options=options, archive_options=archive, now=third)
    assert [p.url.removeprefix(base) for p in report3.fetched] == ["/liar/3.html"]

    # An entry re-offered by another path is skipped: already archived, or known to the caller.
    again = fetch_articles(
        poll.entries[:3], fetch_options=options, archive_options=archive, now=third, seen=lambda e: True
    )
    assert dict(again.skipped) == {"already_archived": 3}


def test_poll_respects_interval_and_seen_callback(news_site: NewsSite, tmp_path: Path) -> None:
    root = str(tmp_path / "archive")
    archive = ArchiveOptions(root=root)
    options = _options()
    specs = [s for s in _specs(news_site.base_url) if s.name == "atom"]
    first = poll_feeds(specs, fetch_options=options, archive_options=archive, now=NOW)
    assert first.feeds[0].outcome == "changed"
    soon = poll_feeds(specs, fetch_options=options, archive_options=archive, now=NOW + timedelta(minutes=5))
    assert soon.feeds[0].outcome == "not_due"
    assert news_site.hits["/feeds/atom.xml"] == 1
    known = {first.entries[0].canonical_url}
    report = fetch_articles(
        first.entries,
        fetch_options=options,
        archive_options=archive,
        now=NOW,
        seen=lambda entry: entry.canonical_url in known,
    )
    assert dict(report.skipped) == {"seen": 1}
    assert len(report.fetched) == len(first.entries) - 1
