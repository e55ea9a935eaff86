"""An archive batch owns its naming, files, notes, markers and window; older archives still replay."""

from __future__ import annotations

import json
from dataclasses import asdict
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from newsflow.archive import (
    ArchiveBatch,
    ArchiveOptions,
    ArchiveWriter,
    FolderListing,
    PageNote,
    SeenIndex,
    batches_in_window,
    batches_of_files,
    page_counts,
    read_day,
)
from newsflow.archive.dayindex import COMPACT_AFTER, DAY_INDEX
from newsflow.archive.storage import Storage
from newsflow.errors import InputError
from newsflow.feeds import FeedEntry
from newsflow.fetch import FetchResult
from tests.responses import html_response

WHEN = datetime(2026, 3, 2, 18, 0, tzinfo=UTC)
FEED = b"""<?xml version="1.0"?><rss version="2.0"><channel><title>T</title>
<item><title>Bridge</title><link>https://news.example/bridge?utm_source=x</link>
<description>Bridge vote</description></item>
<item><title>Gone</title><link>https://news.example/gone</link><description>Was here</description></item>
<item><title>Slow</title><link>https://news.example/slow</link><description>Timed out</description></item>
</channel></rss>"""


def _result(url: str, body: bytes, status: int = 200, content_type: str = "text/html") -> FetchResult:
    return html_response(
        url, fetched_at=WHEN + timedelta(seconds=3), body=body, status=status, content_type=content_type
    )


def _entry(path: str, title: str) -> FeedEntry:
    url = f"https://news.example/{path}"
    return FeedEntry(feed="news", url=url, canonical_url=url, title=title, summary=f"{title} summary")


def _count_listings(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The folders every storage listing is asked for from now on, in order."""
    folders: list[str] = []
    real_listdir = Storage.listdir
    real_glob = Storage.glob

    def counted(self: Storage, folder: str, pattern: str = "*") -> list[str]:
        folders.append(folder)
        return real_listdir(self, folder, pattern)

    def globbed(self: Storage, pattern: str) -> list[str]:
        folders.append(pattern)  # a glob lists what its pattern spans
        return real_glob(self, pattern)

    monkeypatch.setattr(Storage, "listdir", counted)
    monkeypatch.setattr(Storage, "glob", globbed)
    return folders


def _write_batch(root: str, when: datetime = WHEN) -> ArchiveBatch:
    """One poll batch as the poll flow writes it: feed, pages, then a note per page."""
    batch = ArchiveBatch.for_poll(root, when, ["news", "other"])
    bridge, gone, slow = _entry("bridge", "Bridge"), _entry("gone", "Gone"), _entry("slow", "Slow")
    with batch.writer(ArchiveOptions(root)) as writer:
        writer.write(
            _result("https://news.example/feed.xml", FEED, content_type="application/rss+xml"), kind="feed"
        )
        ok = writer.write(_result(bridge.url, b"<html>bridge</html>"), kind="page", canonical_url=bridge.url)
        missing = writer.write(_result(gone.url, b"not here", 404), kind="page", canonical_url=gone.url)
        writer.note(PageNote(bridge, ref=ok))
        writer.note(PageNote(gone, failure="http_4xx", detail="HTTP 404", status=404, ref=missing))
        writer.note(PageNote(slow, failure="timeout", detail="read timeout"))
    return batch


def test_naming_is_owned_by_the_batch(tmp_path: Path) -> None:
    root = str(tmp_path / "archive")
    batch = ArchiveBatch.for_poll(root, WHEN, ["b", "a"])
    assert batch == ArchiveBatch.for_poll(root, WHEN, ["a", "b"]), "a rerun names the same batch"
    assert batch.stamp == "20260302T180000Z" and len(batch.key) == 8
    assert batch.folder == f"{root}/warc/2026/03/02"
    assert ArchiveBatch.at(batch.ref) == batch and batch.logical == WHEN
    for name in (
        f"poll-{batch.stamp}-{batch.key}-00001.warc.gz",
        f"pages-{batch.stamp}-{batch.key}.failed.jsonl",
    ):
        assert ArchiveBatch.of_file(f"{batch.folder}/{name}") == batch
    assert ArchiveBatch.of_file(f"{batch.folder}/notes.txt") is None
    with pytest.raises(InputError, match="batch reference"):
        ArchiveBatch.at("no-batch-here")


def test_one_pass_read_gives_pages_with_entries_and_failures(tmp_path: Path) -> None:
    batch = _write_batch(str(tmp_path / "archive"))
    warcs, sidecars = batch.files()
    assert len(warcs) == 1 and sidecars == []
    contents = batch.read()
    assert [(p.response.url, p.response.status) for p in contents.pages] == [
        ("https://news.example/bridge", 200),
        ("https://news.example/gone", 404),
    ]
    assert [p.entry.title if p.entry else None for p in contents.pages] == ["Bridge", "Gone"]
    assert [(n.entry.title, n.failure, n.ref is not None) for n in contents.failures] == [
        ("Gone", "http_4xx", True),
        ("Slow", "timeout", False),
    ]
    assert contents.failures[0].ref == contents.pages[1].response.ref


def test_a_rerun_adds_files_and_reopens_a_processed_batch(tmp_path: Path) -> None:
    root = str(tmp_path / "archive")
    batch = _write_batch(root)
    first = batch.read()
    assert not batch.is_processed("v1")
    batch.mark_processed("v1", "run-1", first.files)
    assert batch.is_processed("v1") and not batch.is_processed("v2")
    again = _write_batch(root)  # the same logical time and feeds: the same batch, a second file
    assert again == batch
    warcs, _ = batch.files()
    assert [w.rsplit("-", 1)[1] for w in warcs] == ["00001.warc.gz", "00002.warc.gz"]
    assert not batch.is_processed("v1"), "the rerun's file is not processed yet"
    assert len(batch.read().pages) == 4


def test_many_batches_of_a_day_folder_are_listed_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = str(tmp_path / "archive")
    batches = [_write_batch(root, WHEN + timedelta(minutes=n)) for n in range(4)]
    _write_batch(root, WHEN + timedelta(minutes=2))  # a rerun: a second WARC for one batch
    legacy = _legacy_batch(root)
    alone = [(b.files(), b.is_processed("v1"), len(b.read().pages)) for b in [*batches, legacy]]
    globs = _count_listings(monkeypatch)
    listing = FolderListing()
    shared = [
        (b.files(listing), b.is_processed("v1", listing), len(b.read(listing).pages))
        for b in [*batches, legacy]
    ]
    assert shared == alone, "the same files, markers and pages as each batch listing its own"
    assert len(globs) == 1, "one listing of the day folder for every batch in it"
    counts = page_counts([*batches, legacy])
    assert list(counts.values()) == [2, 2, 4, 2, 1], (
        "pages (a 404 page too) from the indexes; feeds are not pages"
    )


def _legacy_batch(root: str) -> ArchiveBatch:
    """A batch as written before page notes: feeds-/pages- WARCs with manifests, a failure sidecar."""
    stamp, key = "20260302T180000Z", "0a1b2c3d"
    with ArchiveWriter(ArchiveOptions(root), batch_id=f"feeds-{stamp}-{key}", day=WHEN.date()) as writer:
        writer.write(
            _result("https://news.example/feed.xml", FEED, content_type="application/rss+xml"), kind="feed"
        )
    with ArchiveWriter(ArchiveOptions(root), batch_id=f"pages-{stamp}-{key}", day=WHEN.date()) as writer:
        bridge = "https://news.example/bridge"
        writer.write(_result(bridge, b"<html>bridge</html>"), kind="page", canonical_url=bridge)
    folder = Path(root) / "warc" / "2026" / "03" / "02"
    for index in folder.glob("*.cdxj"):  # older archives listed each WARC in a JSON-lines manifest
        lines = [line.split(" ", 2)[2] for line in index.read_text().splitlines()]  # the same fields
        index.with_name(index.name.removesuffix(".cdxj") + ".manifest.jsonl").write_text(
            "\n".join(lines) + "\n"
        )
        index.unlink()
    slow = _entry("slow", "Slow")
    sidecar = {
        "canonical_url": slow.canonical_url,
        "reason": "timeout",
        "detail": "",
        "status": None,
        "ref": None,
    }
    (folder / f"pages-{stamp}-{key}.failed.jsonl").write_text(
        json.dumps({**sidecar, "entry": slow.to_dict()}) + "\n{not json\n"
    )
    return ArchiveBatch(stamp, key, str(folder))


def test_older_archives_still_replay(tmp_path: Path) -> None:
    root = str(tmp_path / "archive")
    batch = _legacy_batch(root)
    warcs, sidecars = batch.files()
    assert [w.rsplit("/", 1)[1][:5] for w in warcs] == ["feeds", "pages"] and len(sidecars) == 1
    contents = batch.read()
    (page,) = contents.pages
    assert page.entry is not None and page.entry.title == "Bridge", (
        "the entry comes from the feed, parsed again"
    )
    assert [(n.entry.title, n.failure) for n in contents.failures] == [("Slow", "timeout")]
    assert batches_in_window(root, WHEN, WHEN + timedelta(hours=1)) == [batch]
    # Per-file markers of the older processing count as processed.
    for path in [*warcs, *sidecars]:
        marker = path.removesuffix(".warc.gz").removesuffix(".failed.jsonl") + ".processed.json"
        Path(marker).write_text(json.dumps({"extractor_version": "v1", "run_id": "old"}))
    assert batch.is_processed("v1") and not batch.is_processed("v2")
    seen = SeenIndex.load(root, WHEN.date(), lookback_days=0)
    assert "https://news.example/bridge" in seen and len(seen) == 1, "older manifests are read"


def test_window_selection_by_logical_time(tmp_path: Path) -> None:
    root = str(tmp_path / "archive")
    late = _write_batch(root, datetime(2026, 3, 2, 23, 59, 59, tzinfo=UTC))
    early = _write_batch(root, datetime(2026, 3, 3, 0, 0, tzinfo=UTC))
    outside = _write_batch(root, datetime(2026, 3, 3, 1, 0, tzinfo=UTC))
    span = (datetime(2026, 3, 2, 23, tzinfo=UTC), datetime(2026, 3, 3, 1, tzinfo=UTC))
    assert batches_in_window(root, *span) == [late, early], "end is exclusive, and days are crossed"
    files = [*late.files()[0], *outside.files()[0], "/elsewhere/readme.txt"]
    assert batches_of_files(files) == ([late, outside], ["/elsewhere/readme.txt"])
    # A WARC without its index was cut short: it selects nothing.
    Path(outside.files()[0][0].removesuffix(".warc.gz") + ".cdxj").unlink()
    assert (
        batches_in_window(root, datetime(2026, 3, 3, 1, tzinfo=UTC), datetime(2026, 3, 3, 2, tzinfo=UTC))
        == []
    )


def test_seen_index_reads_a_bounded_window_and_folds_days(tmp_path: Path) -> None:
    root = str(tmp_path / "archive")
    for n in range(COMPACT_AFTER + 1):
        day = WHEN.date() - timedelta(days=3)
        with ArchiveWriter(ArchiveOptions(root), batch_id=f"poll-b{n}", day=day) as writer:
            url = f"https://news.example/{n}"
            writer.write(
                _result(url, b"x"), kind="page", canonical_url=url, entry_updated="2026-02-27T00:00:00Z"
            )
    assert len(SeenIndex.load(root, WHEN.date(), lookback_days=2)) == 0, "older days are not read"
    storage = Storage(root)
    before = read_day(storage, WHEN.date() - timedelta(days=3))
    index = SeenIndex.load(root, WHEN.date(), lookback_days=3)
    assert len(index) == COMPACT_AFTER + 1 and "https://news.example/0" in index
    folder = Path(root) / "warc" / "2026" / "02" / "27"
    assert (folder / DAY_INDEX).is_file(), "past COMPACT_AFTER loose files the day is folded"
    assert sorted(read_day(storage, WHEN.date() - timedelta(days=3)), key=str) == sorted(before, key=str)
    assert index.is_current("https://news.example/0", "2026-02-27T00:00:00Z")
    assert not index.is_current("https://news.example/0", "2026-02-28T00:00:00Z"), "the feed says it changed"


def test_seen_index_lists_each_day_folder_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A day folder holds every batch of its day, so a poll's look-back pays one listing per day."""
    root = str(tmp_path / "archive")
    _write_batch(root)
    folder = Path(root) / "warc" / "2026" / "03" / "02"
    page = next(e for e in read_day(Storage(root), WHEN.date()) if e.kind == "page")
    old = "https://news.example/old"
    older = {**asdict(page), "url": old, "final_url": old, "canonical_url": old}
    (folder / "poll-old-00000.manifest.jsonl").write_text(json.dumps(older) + "\n")
    listed = _count_listings(monkeypatch)
    seen = SeenIndex.load(root, WHEN.date(), lookback_days=3)
    assert len(listed) == 4, f"one listing for each of the 4 days: {listed}"
    assert "https://news.example/bridge" in seen, "this version's CDXJ is read"
    assert old in seen, "an older manifest is read from the same listing"


def test_a_bad_index_line_costs_only_itself(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """The look-back reads each line's JSON itself: a torn, mis-encoded or mistyped line is
    skipped with a warning, and every other entry of the day, before and after it, still counts."""
    root = str(tmp_path / "archive")
    _write_batch(root)
    folder = Path(root) / "warc" / "2026" / "03" / "02"
    page = next(e for e in read_day(Storage(root), WHEN.date()) if e.kind == "page" and e.status == 200)

    def line(url: str, **changes: object) -> bytes:
        fields = {**asdict(page), "url": url, "final_url": url, "canonical_url": url, **changes}
        return f"news,example)/x 20260302180000 {json.dumps(fields)}\n".encode()

    before, after = "https://news.example/before", "https://news.example/after"
    hostile = [
        line(before),
        b'news,example)/torn 20260302180000 {"kind": "page", "canonical_url\n',  # cut mid-write
        b'news,example)/bytes 20260302180000 {"kind": "\xff\xfe"}\n',  # not UTF-8
        b"no-payload-here\n",
        b"news,example)/list 20260302180000 [1, 2]\n",  # JSON, but not an object
        line("https://news.example/status-text", status="200"),  # a status that is not a number
        line("https://news.example/odd-date", entry_updated=20260302),  # a date that is not text
        line(after),
    ]
    (folder / "poll-hostile-00001.cdxj").write_bytes(b"".join(hostile))
    with caplog.at_level("WARNING", logger="newsflow.archive.cdxj"):
        seen = SeenIndex.load(root, WHEN.date(), lookback_days=0, compact=False)
    assert before in seen and after in seen and "https://news.example/bridge" in seen
    assert "https://news.example/status-text" not in seen, "a 2xx answer is a number"
    assert "https://news.example/odd-date" in seen
    assert seen.is_current("https://news.example/odd-date", None), "an unreadable date is no date"
    skipped = [r for r in caplog.records if "skipping line" in r.getMessage()]
    assert len(skipped) == 4, [r.getMessage() for r in skipped]
    assert all("poll-hostile-00001.cdxj" in r.getMessage() for r in skipped)
    # The same lines read as entries: the day's other entries are all there too.
    urls = {e.canonical_url for e in read_day(Storage(root), WHEN.date())}
    assert {before, after, "https://news.example/bridge"} <= urls
