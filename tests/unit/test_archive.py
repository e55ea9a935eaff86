"""WARC archive writing/reading on local disk and memory://, the CDXJ index, and feed state stores."""

from __future__ import annotations

import json
import uuid
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import fsspec
import pytest
from fsspec.implementations.memory import MemoryFileSystem

from newsflow.archive import (
    ArchiveOptions,
    ArchiveWriter,
    CdxjEntry,
    SeenIndex,
    Storage,
    iter_responses,
    read_record,
    warc_files,
)
from newsflow.errors import ConfigError, InputError
from newsflow.feedstate import FeedState, JsonFeedStateStore, MemoryFeedStateStore
from newsflow.fetch import FetchResult

DAY = date(2026, 11, 22)


def _result(url: str, body: bytes, status: int = 200, when: datetime | None = None) -> FetchResult:
    return FetchResult(
        url=url,
        final_url=url,
        status=status,
        headers=(("Content-Type", "text/html; charset=utf-8"), ("Content-Encoding", "gzip"), ("X-Test", "1")),
        body=body,
        fetched_at=when or datetime(2026, 11, 22, 8, 15, 30, 123456, tzinfo=UTC),
        elapsed=0.2,
        reason_phrase="OK" if status == 200 else "Not Found",
        request_headers=(("Host", "news.example"), ("User-Agent", "newsflow/test")),
    )


@pytest.fixture(params=["local", "memory"])
def root(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "local":
        return str(tmp_path / "archive")
    return f"memory://newsflow-test-{uuid.uuid4().hex}/archive"


def test_write_then_read_back(root: str) -> None:
    with ArchiveWriter(ArchiveOptions(root), batch_id="b1", day=DAY) as writer:
        page = writer.write(
            _result("https://news.example/a", b"<html>A</html>"),
            kind="page",
            feed="f1",
            canonical_url="https://news.example/a",
            entry_updated="2026-11-22T08:00:00Z",
        )
        feed = writer.write(_result("https://news.example/feed", b"<rss/>"), kind="feed", feed="f1")
        error = writer.write(_result("https://news.example/gone", b"missing", 404), kind="page", feed="f1")
    assert len(writer.files) == 1
    assert writer.files[0].endswith("/warc/2026/11/22/b1-00001.warc.gz")
    assert page.startswith(writer.files[0] + "#")

    record = read_record(page)
    assert (record.url, record.status, record.body, record.kind, record.feed) == (
        "https://news.example/a",
        200,
        b"<html>A</html>",
        "page",
        "f1",
    )
    assert record.fetched_at == "2026-11-22T08:15:30.123456Z"
    assert record.header("X-Test") == "1"
    assert record.header("Content-Encoding") is None, "body is stored decoded, so the header must go"
    assert record.header("Content-Length") == str(len(b"<html>A</html>"))
    assert read_record(feed).kind == "feed"
    assert read_record(error).status == 404

    listed = list(iter_responses(root, DAY, DAY))
    assert [(r.ref, r.body) for r in listed] == [
        (page, b"<html>A</html>"),
        (feed, b"<rss/>"),
        (error, b"missing"),
    ]
    assert [r.ref for r in iter_responses(root, DAY, DAY, kind="feed")] == [feed]
    assert list(iter_responses(root, DAY + timedelta(days=1), DAY + timedelta(days=3))) == []


def test_warc_has_request_records_linked_to_responses(tmp_path: Path) -> None:
    from warcio.archiveiterator import ArchiveIterator

    root = str(tmp_path / "a")
    with ArchiveWriter(ArchiveOptions(root), batch_id="b", day=DAY) as writer:
        writer.write(_result("https://news.example/a", b"x"), kind="page", feed="feed-name")
    with Path(writer.files[0]).open("rb") as handle:
        records = [(r.rec_type, dict(r.rec_headers.headers)) for r in ArchiveIterator(handle)]
    assert [t for t, _ in records] == ["response", "request"]
    response, request = records[0][1], records[1][1]
    assert request["WARC-Concurrent-To"] == response["WARC-Record-ID"]
    assert response["WARC-Target-URI"] == "https://news.example/a"
    assert response["WARC-Newsflow-Feed"] == "feed-name"
    assert response["WARC-Date"].startswith("2026-11-22T08:15:30")


def test_rollover_and_day_partitions(tmp_path: Path) -> None:
    root = str(tmp_path / "a")
    options = ArchiveOptions(root, max_file_bytes=2048)
    with ArchiveWriter(options, batch_id="run", day=DAY) as writer:
        refs = [
            writer.write(_result(f"https://news.example/{i}", bytes(range(256)) * 8), kind="page")
            for i in range(5)
        ]
    assert len(writer.files) >= 3
    assert [read_record(r).url for r in refs] == [f"https://news.example/{i}" for i in range(5)]
    with ArchiveWriter(options, batch_id="run", day=DAY + timedelta(days=1)) as writer:
        writer.write(_result("https://news.example/next", b"next"), kind="page")
    both = list(iter_responses(root, datetime(2026, 11, 22, 23, tzinfo=UTC), DAY + timedelta(days=1)))
    assert len(both) == 6
    assert "/2026/11/23/" in both[-1].ref


def test_crash_leftovers_are_not_counted(tmp_path: Path) -> None:
    root = tmp_path / "a"
    with ArchiveWriter(ArchiveOptions(str(root)), batch_id="ok", day=DAY) as writer:
        writer.write(
            _result("https://news.example/a", b"a"), kind="page", canonical_url="https://news.example/a"
        )
    folder = root / "warc" / "2026" / "11" / "22"
    # A temp file from a crashed writer, and a WARC whose index never got written.
    (folder / ".crashed-00001.warc.gz.1234.tmp").write_bytes(b"partial")
    Path(writer.files[0]).with_name("nomanifest-00001.warc.gz").write_bytes(
        Path(writer.files[0]).read_bytes()
    )
    assert warc_files(str(root), DAY, DAY) == writer.files
    assert len(list(iter_responses(str(root), DAY, DAY))) == 1


def test_writer_open_file_is_invisible_until_closed(tmp_path: Path) -> None:
    root = str(tmp_path / "a")
    writer = ArchiveWriter(ArchiveOptions(root), batch_id="b", day=DAY)
    writer.write(_result("https://news.example/a", b"a"), kind="page")
    assert warc_files(root, DAY, DAY) == []
    writer.close()
    assert len(warc_files(root, DAY, DAY)) == 1


def test_archive_index(root: str) -> None:
    with ArchiveWriter(ArchiveOptions(root), batch_id="b", day=DAY) as writer:
        writer.write(
            _result("https://news.example/a", b"a"),
            kind="page",
            canonical_url="https://news.example/a",
            entry_updated="2026-11-22T08:00:00Z",
        )
        writer.write(
            _result("https://news.example/b", b"b"), kind="page", canonical_url="https://news.example/b"
        )
        writer.write(
            _result("https://news.example/c", b"c", 404), kind="page", canonical_url="https://news.example/c"
        )
        writer.write(
            _result("https://news.example/f", b"f"), kind="feed", canonical_url="https://news.example/f"
        )
    index = SeenIndex.load(root, DAY, lookback_days=0)
    assert len(index) == 2
    assert "https://news.example/a" in index and "https://news.example/c" not in index
    assert index.is_current("https://news.example/a", None)
    assert index.is_current("https://news.example/a", "2026-11-22T08:00:00Z")
    assert not index.is_current("https://news.example/a", "2026-11-22T09:00:00Z"), "feed says it was updated"
    assert index.is_current("https://news.example/b", None)
    assert not index.is_current("https://news.example/b", "2026-11-22T09:00:00Z")
    assert not index.is_current("https://news.example/f", None), "feeds are not articles"
    index.mark("https://news.example/a", "2026-11-22T09:00:00Z")
    assert index.is_current("https://news.example/a", "2026-11-22T09:00:00Z")


def test_cdxj_index_lists_every_response(tmp_path: Path) -> None:
    root = tmp_path / "a"
    with ArchiveWriter(ArchiveOptions(str(root)), batch_id="b", day=DAY) as writer:
        ref = writer.write(_result("https://news.example/a?x=1", b"abc"), kind="page", feed="f")
    index = Path(writer.files[0].removesuffix(".warc.gz") + ".cdxj")
    (line,) = index.read_text().splitlines()
    key, stamp, payload = line.split(" ", 2)
    assert (key, stamp) == ("example,news)/a?x=1", "20261122081530")
    entry = CdxjEntry.from_line(line)
    assert entry == CdxjEntry.from_dict(json.loads(payload))
    assert (entry.ref, entry.status, entry.length, entry.feed, entry.content_type) == (
        ref,
        200,
        3,
        "f",
        "text/html",
    )


def test_bad_refs_and_options() -> None:
    for bad in ("no-offset", "file.warc.gz#x", "#12"):
        with pytest.raises(InputError, match="archive reference"):
            read_record(bad)
    with pytest.raises(InputError, match="not found"):
        read_record("/nonexistent/x.warc.gz#0")
    with pytest.raises(ConfigError):
        ArchiveOptions("")
    with pytest.raises(ConfigError):
        ArchiveOptions("/tmp/x", max_file_bytes=10)


def test_feed_state_json_store(root: str) -> None:
    store = JsonFeedStateStore.under_archive(root)
    assert store.get("bbc/world") is None
    state = FeedState(
        name="bbc/world",
        etag='"abc"',
        last_modified="Sun, 01 Nov 2026 12:00:00 GMT",
        polls=4,
        page_sites=("https://www.bbc.co.uk", "https://www.bbc.com"),  # a list in JSON, a tuple again
    )
    store.put(replace(state, not_modified=1))
    loaded = store.get("bbc/world")
    assert loaded == replace(state, not_modified=1)
    assert loaded is not None and loaded.not_modified_ratio == 0.25
    assert loaded.conditional_headers() == {
        "If-None-Match": '"abc"',
        "If-Modified-Since": "Sun, 01 Nov 2026 12:00:00 GMT",
    }
    store.put(FeedState(name="broken"))
    storage = Storage(store.url)
    storage.write_bytes(storage.join("broken.json"), b"{not json")  # simulate a corrupt file
    assert store.get("broken") is None
    memory = MemoryFeedStateStore()
    memory.put(state)
    assert memory.get("bbc/world") == state and memory.get("x") is None


def test_a_feed_state_field_of_another_type_reads_as_unknown_and_the_poll_can_add_to_it(root: str) -> None:
    """A hand-edited or older state file must not fail the poll that counts on its numbers."""
    store = JsonFeedStateStore.under_archive(root)
    storage = Storage(store.url)
    odd = {"name": "odd", "etag": ["a"], "polls": "4", "errors": 2.0, "last_status": True, "page_sites": "x"}
    storage.write_bytes(storage.join("odd.json"), json.dumps(odd).encode())
    loaded = store.get("odd")
    assert loaded == FeedState(name="odd", errors=2)
    assert loaded.conditional_headers() == {}
    assert replace(loaded, polls=loaded.polls + 1).polls == 1
    storage.write_bytes(storage.join("nameless.json"), b'{"name": 7, "polls": 1}')
    assert store.get("nameless") is None  # no feed's state: ignored (one unconditional fetch)


def test_a_folder_is_listed_by_name_as_glob_listed_it(root: str) -> None:
    """``Storage.listdir`` names what ``glob`` named, on a local disk and an fsspec store alike."""
    storage = Storage(root)
    folder = storage.join("warc", "2026", "11", "22")
    for name in ("poll-a-00001.warc.gz", "poll-a-00001.cdxj", "poll-b-00001.warc.gz", "notes.txt"):
        storage.write_bytes(f"{folder}/{name}", b"x")
    storage.write_bytes(f"{folder}/deeper/poll-c-00001.warc.gz", b"x")
    assert storage.listdir(folder) == storage.glob(f"{folder}/*")
    assert storage.listdir(folder, "poll-*.warc.gz") == storage.glob(f"{folder}/poll-*.warc.gz")
    assert [p.rsplit("/", 1)[1] for p in storage.listdir(folder, "poll-*.warc.gz")] == [
        "poll-a-00001.warc.gz",
        "poll-b-00001.warc.gz",
    ], "not below the folder"
    assert storage.listdir(storage.join("warc", "1999")) == [], "no folder, nothing listed"


class _ListingsKept(MemoryFileSystem):  # type: ignore[misc]  # fsspec ships no type hints
    """An object store's filesystem as s3fs and gcsfs are: it keeps the listings it made."""

    protocol = "listingskept"

    def ls(self, path: str, detail: bool = True, **kwargs: Any) -> Any:
        key = self._strip_protocol(path)
        if key not in self.dircache:
            self.dircache[key] = super().ls(path, detail=True, **kwargs)
        listed = self.dircache[key]
        return listed if detail else [entry["name"] for entry in listed]

    def invalidate_cache(self, path: str | None = None) -> None:
        if path is None:
            self.dircache.clear()
        else:
            self.dircache.pop(self._strip_protocol(path), None)


def test_a_folder_listed_again_shows_what_was_written_since() -> None:
    """A poll task lists its day folder, writes its batch, then names its files from a listing:
    on a store that keeps listings, the second must not be the first one again."""
    fsspec.register_implementation("listingskept", _ListingsKept, clobber=True)
    storage = Storage(f"listingskept://newsflow-test-{uuid.uuid4().hex}/archive")
    folder = storage.join("warc", "2026", "11", "22")
    storage.write_bytes(f"{folder}/poll-a-00001.warc.gz", b"x")
    assert [p.rsplit("/", 1)[1] for p in storage.listdir(folder)] == ["poll-a-00001.warc.gz"]
    storage.write_bytes(f"{folder}/poll-a-00001.cdxj", b"x")
    names = [p.rsplit("/", 1)[1] for p in storage.listdir(folder)]
    assert names == ["poll-a-00001.cdxj", "poll-a-00001.warc.gz"]
