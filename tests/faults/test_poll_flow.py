"""The poll flow the DAG's ``poll`` task calls, against feeds served over 127.0.0.1.

Issue 15, item 2: a lone surrogate escape in one JSON feed crashed the whole poll batch,
and the Airflow retry of the same logical date announced ``files: []``, so the first
attempt's WARC files never reached processing. Item 5: nothing capped one poll task's
pages: one task fetched all 3,000 new pages of one feed.
"""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from newsflow.archive import ArchiveBatch, ArchiveOptions, ArchiveWriter, Storage, read_day
from newsflow.archive.dayindex import COMPACT_AFTER, DAY_INDEX
from newsflow.feedstate import FeedState, JsonFeedStateStore
from newsflow.flows import poll
from newsflow.flows.options import PAGES_PER_BATCH, FlowOptions
from newsflow.waiting import WaitingPages
from tests.faults.hostile import HostileServer, Request, Route, drill, serving
from tests.faults.test_hostile_input import SURROGATE_FEED
from tests.responses import html_response

NOW = datetime(2026, 11, 22, 6, 0, tzinfo=UTC)
ROBOTS = b"User-agent: *\nAllow: /\n"


def _page(request: Request) -> None:
    """Any other path: a small article page (each page's hits are counted by the server)."""
    title = request.path.rsplit("/", 1)[-1]
    body = (
        f"<html><head><title>{title}</title></head><body><article><h1>{title}</h1>"
        f"<p>{'The harbour works reopened on Monday after the storm. ' * 8}</p></article></body></html>"
    )
    request.respond(200, body.encode("utf-8"))


def _rss(paths: list[str]) -> bytes:
    items = "".join(
        f"<item><title>Item {n}</title><link>{path}</link><guid>{path}</guid></item>"
        for n, path in enumerate(paths)
    )
    channel = f"<channel><title>T</title>{items}</channel>"
    return f'<?xml version="1.0"?><rss version="2.0">{channel}</rss>'.encode()


def _json_feed(paths: list[str]) -> bytes:
    items = ",".join(f'{{"id": "{p}", "url": "{p}", "title": "Item {p}"}}' for p in paths)
    return f'{{"version": "https://jsonfeed.org/version/1.1", "title": "Fine", "items": [{items}]}}'.encode()


def _serve(body: bytes, content_type: str) -> Route:
    return lambda request: request.respond(200, body, content_type)


def _routes(feeds: dict[str, Route]) -> dict[str, Route]:
    return {"/robots.txt": _serve(ROBOTS, "text/plain"), "*": _page, **feeds}


def _options(
    tmp_path: Path, site: HostileServer, feeds: dict[str, str], pages_per_batch: int = PAGES_PER_BATCH
) -> FlowOptions:
    """A registry of ``feeds`` (name -> path on the site) and fast polite delays, as the other drills."""
    registry = tmp_path / "feeds.yaml"
    registry.write_text(
        "feeds:\n"
        + "".join(
            f"  - name: {name}\n    url: {site.base_url}{path}\n    language: en\n"
            "    poll_interval: 15m\n    tags: [drill]\n"
            for name, path in feeds.items()
        ),
        encoding="utf-8",
    )
    return FlowOptions(
        registry=str(registry),
        archive_root=str(tmp_path / "archive"),
        allow_private_hosts=frozenset({f"127.0.0.1:{site.port}"}),
        polite_delay_s=0.0,
        pages_per_batch=pages_per_batch,
    )


def _page_hits(site: HostileServer) -> dict[str, int]:
    return {path: n for path, n in site.hits.items() if path.startswith("/a/")}


def test_surrogate_feed_in_a_batch_of_healthy_feeds_and_its_retry(tmp_path: Path) -> None:
    good_rss = [f"/a/rss-{n}.html" for n in range(3)]
    good_json = [f"/a/json-{n}.html" for n in range(2)]
    feeds = {"good-rss": "/good.xml", "good-json": "/good.json", "evil-json": "/evil.json"}
    routes = _routes(
        {
            "/good.xml": _serve(_rss(good_rss), "application/rss+xml"),
            "/good.json": _serve(_json_feed(good_json), "application/feed+json"),
            "/evil.json": _serve(SURROGATE_FEED, "application/feed+json"),
            # The page of the entry whose title holds "\ud800" is gone: its note (the failure,
            # with the entry) must be written, as the failed-pages sidecar once was not.
            "/a/1.html": lambda request: request.respond(404, b"gone", "text/plain"),
        }
    )
    # The evil feed lists /a/1.html and /a/3.html usably; its third item's URL holds "\ud800".
    expected_pages = {*good_rss, *good_json, "/a/3.html"}  # fetched: 200
    expected_archived = {*expected_pages, "/a/1.html"}  # the 404 response is archived too
    with serving(routes, lifetime=180) as site:
        options = _options(tmp_path, site, feeds)
        plan = poll.plan_poll(options, NOW)
        (unit,) = plan.units
        with drill(
            "lone surrogate feed in a poll batch (flows.poll.poll_batch)",
            tried="3 feeds in one unit on 127.0.0.1: RSS (3 items), JSON (2 items), and a JSON Feed with "
            '"\\ud800" in titles, a summary, a tag and one item URL',
            expected=f"the batch completes; {len(expected_pages)} pages fetched and archived, the healthy "
            "feeds' 5 among them; the 404 page of the surrogate-titled entry kept as a failure note (its "
            "fallback); the item with a surrogate URL counted 'entries_skipped:no_usable_link'",
            bound=60,
        ) as report:
            first = poll.poll_batch(options, unit, NOW)
            (ref,) = first.batches
            contents = ArchiveBatch.at(ref).read()
            archived = {p.response.url.removeprefix(site.base_url) for p in contents.pages}
            failed = [(n.entry.title, n.failure) for n in contents.failures]
            report.found = (
                f"{first.counts['pages_fetched']} of {len(expected_pages)} pages fetched, "
                f"{len(archived)} of {len(expected_archived)} responses archived "
                f"in {len(first.files)} WARC file(s); failure notes {failed}; "
                f"counts {dict(first.counts.to_dict())}"
            )
            assert archived == expected_archived
            assert first.counts["pages_fetched"] == len(expected_pages)
            assert first.counts["feeds:changed"] == 3
            assert "feeds_failed:internal" not in first.counts.to_dict()
            assert first.counts["entries_skipped:no_usable_link"] == 1
            assert sum(first.counts.group("pages_failed").values()) == 1
            assert [title for title, _ in failed] == ["Broken \ufffd headline"], "the fallback is kept"
            titles = [p.entry.title for p in contents.pages if p.entry is not None]
            titles += [title for title, _ in failed]
            for title in titles:
                title.encode("utf-8")

        with drill(
            "retry of the same logical date announces the first attempt's files",
            tried="the first attempt's result never reaches publish (its task died after archiving); "
            "poll_batch runs again for the same logical date, then announce([retry's result])",
            expected=f"the retry archives nothing new and refetches no page; the asset event names the "
            f"first attempt's {len(first.files)} WARC file(s)",
            bound=60,
        ) as report:
            hits_before = dict(site.hits)
            retry = poll.poll_batch(options, unit, NOW)
            event = poll.announce(options, plan.units, NOW, [retry], "manual__drill")
            named = None if event is None else event["files"]
            report.found = (
                f"retry: {retry.counts['archive_files_written']} files written, "
                f"{retry.counts['pages_fetched']} pages fetched, {len(retry.files)} files named; "
                f"event: {None if event is None else event['batches']}, "
                f"{len(named) if isinstance(named, list) else named} files"
            )
            assert retry.counts["archive_files_written"] == 0 and retry.counts["pages_fetched"] == 0
            assert _page_hits(site) == {p: hits_before[p] for p in _page_hits(site)}
            assert event is not None, "the retry announced nothing: the first attempt's pages are lost"
            assert event["batches"] == [ref] and event["files"] == sorted(first.files)


def test_page_budget_defers_a_3000_item_feed_to_later_runs(tmp_path: Path) -> None:
    items, budget = 3000, 100
    paths = [f"/a/item-{n}.html" for n in range(items)]
    routes = _routes({"/big.xml": _serve(_rss(paths), "application/rss+xml")})
    with serving(routes, lifetime=300) as site:
        options = _options(tmp_path, site, {"big": "/big.xml"}, pages_per_batch=budget)
        store = JsonFeedStateStore.under_archive(options.archive_root)
        with drill(
            "3,000-item feed under a page budget",
            tried=f"one feed listing {items:,} new pages, pages_per_batch={budget}, "
            "two poll runs 5 minutes apart",
            expected=f"run 1 fetches {budget} and counts {items - budget} 'pages_deferred' (waiting); "
            f"run 2 plans the feed for its waiting pages, fetches the next {budget}, refetches none "
            "and does not fetch the feed again",
            bound=120,
        ) as report:
            started = time.monotonic()
            first = poll.poll_batch(options, poll.plan_poll(options, NOW).units[0], NOW)
            waiting_after_first = len(WaitingPages.under_archive(options.archive_root).get("big"))
            later = NOW + timedelta(minutes=5)
            plan = poll.plan_poll(options, later)
            second = poll.poll_batch(options, plan.units[0], later)
            hits = _page_hits(site)
            state = store.get("big")
            report.found = (
                f"run 1: {first.counts['pages_fetched']} fetched, {first.counts['pages_deferred']} deferred, "
                f"{waiting_after_first} waiting; run 2 (planned {plan.for_xcom()}): "
                f"{second.counts['pages_fetched']} fetched, {second.counts['pages_deferred']} deferred; "
                f"{len(hits)} distinct pages requested, most requests of one page {max(hits.values())}; "
                f"feed requested {site.hits['/big.xml']}x; state pages_waiting "
                f"{state.pages_waiting if state else None}"
            )
            assert first.counts["pages_fetched"] == budget
            assert first.counts["pages_deferred"] == items - budget == waiting_after_first
            assert plan.for_xcom() == [["big"]], "a feed with pages waiting is planned within its interval"
            assert second.counts["pages_fetched"] == budget
            assert second.counts["pages_deferred"] == items - 2 * budget
            assert set(hits) == set(paths[: 2 * budget]) and set(hits.values()) == {1}, "no page refetched"
            assert site.hits["/big.xml"] == 1
            assert state is not None and state.pages_waiting == items - 2 * budget
            assert time.monotonic() - started < 120


def test_units_read_their_hosts_and_the_run_folds_the_day(tmp_path: Path) -> None:
    """A unit reads the look-back for its feeds' hosts and never rewrites the day index, however
    many index files the day holds: hundreds of units at once would; the run folds it once."""
    paths = [f"/a/fold-{n}.html" for n in range(3)]
    served = iter(range(1000))

    def feed(request: Request) -> None:  # a new body each time, so its entries are looked up again
        body = _rss(paths) + f"<!-- {next(served)} -->".encode()
        request.respond(200, body, "application/rss+xml")

    routes = _routes({"/f.xml": feed})
    with serving(routes, lifetime=120) as site:
        options = _options(tmp_path, site, {"f": "/f.xml"})
        root = options.archive_root
        elsewhere = [f"https://other-{n}.example/story" for n in range(COMPACT_AFTER + 1)]
        for n, url in enumerate(elsewhere):  # other units' batches of the day, on other hosts
            with ArchiveWriter(ArchiveOptions(root), batch_id=f"poll-other-{n}", day=NOW.date()) as writer:
                writer.write(html_response(url, fetched_at=NOW), kind="page", canonical_url=url)
        day_index = Path(root) / "warc" / f"{NOW:%Y/%m/%d}" / DAY_INDEX
        plan = poll.plan_poll(options, NOW)
        result = poll.poll_batch(options, plan.units[0], NOW)
        assert result.counts["pages_fetched"] == len(paths)
        assert "seen_hosts_read_late" not in result.counts.to_dict(), "the pages are on the feed's host"
        assert not day_index.exists(), "a unit does not fold the day"
        event = poll.announce(options, plan.units, NOW, [result], "manual__fold")
        assert event is not None and day_index.exists(), "the run folds it"
        urls = {e.canonical_url for e in read_day(Storage(root), NOW.date()) if e.kind == "page"}
        assert set(elsewhere) | {f"{site.base_url}{p}" for p in paths} <= urls
        again = poll.poll_batch(options, plan.units[0], NOW + timedelta(minutes=20))
        assert again.counts["feeds:changed"] == 1, "the feed was read again"
        assert again.counts["pages_fetched"] == 0, "the folded day still says its pages were fetched"


def test_a_feed_whose_pages_live_on_another_host_has_it_read_with_its_own(tmp_path: Path) -> None:
    """A feed on one host linking pages on another: the first poll reads that host's look-back
    when first asked about it, the feed's state remembers where its pages live, and the next
    poll reads it with the feed's own host."""
    served = iter(range(1000))
    with serving({}, lifetime=120) as site:
        elsewhere = f"http://localhost:{site.port}"
        paths = [f"/a/away-{n}.html" for n in range(3)]

        def feed(request: Request) -> None:  # a new body each time, so its entries are looked up again
            body = _rss([f"{elsewhere}{p}" for p in paths]) + f"<!-- {next(served)} -->".encode()
            request.respond(200, body, "application/rss+xml")

        site.routes.update(_routes({"/f.xml": feed}))
        options = replace(
            _options(tmp_path, site, {"f": "/f.xml"}),
            allow_private_hosts=frozenset({f"127.0.0.1:{site.port}", f"localhost:{site.port}"}),
        )
        unit = poll.plan_poll(options, NOW).units[0]
        first = poll.poll_batch(options, unit, NOW)
        assert first.counts["pages_fetched"] == len(paths)
        assert first.counts["seen_hosts_read_late"] == 1, "the pages' host, read when first asked about"
        state = JsonFeedStateStore.under_archive(options.archive_root).get("f")
        assert state is not None and state.page_sites == (elsewhere,)
        again = poll.poll_batch(options, unit, NOW + timedelta(minutes=20))
        assert again.counts["feeds:changed"] == 1 and again.counts["pages_fetched"] == 0
        assert "seen_hosts_read_late" not in again.counts.to_dict(), "read with the feed's own host"


def test_a_unit_reads_each_feeds_state_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A unit needs a feed's state for its pages' hosts, to poll it, and for the pages left
    waiting: one read of the store each (a request each on an object store), and what it
    writes is what the next poll reads."""
    reads: Counter[str] = Counter()
    real_get = JsonFeedStateStore.get

    def counted(self: JsonFeedStateStore, name: str) -> FeedState | None:
        reads[name] += 1
        return real_get(self, name)

    with serving(_routes({}), lifetime=120) as site:
        paths = {name: [f"/{name}/p-{n}.html" for n in range(3)] for name in ("a", "b")}
        for name, pages in paths.items():
            site.routes[f"/{name}.xml"] = _serve(_rss(pages), "application/rss+xml")
        options = _options(tmp_path, site, {name: f"/{name}.xml" for name in paths}, pages_per_batch=4)
        unit = poll.plan_poll(options, NOW).units[0]
        monkeypatch.setattr(JsonFeedStateStore, "get", counted)
        first = poll.poll_batch(options, unit, NOW)
        assert first.counts["pages_fetched"] == 4 and first.counts["pages_deferred"] == 2
        assert reads == {"a": 1, "b": 1}
        store = JsonFeedStateStore.under_archive(options.archive_root)
        states = [real_get(store, name) for name in paths]
        assert sum(s.pages_waiting for s in states if s is not None) == 2, "written through"
        reads.clear()
        later = poll.poll_batch(options, unit, NOW + timedelta(minutes=20))
        assert later.counts["pages_fetched"] == 2, "the pages left waiting, fetched by the next poll"
        assert reads == {"a": 1, "b": 1}
