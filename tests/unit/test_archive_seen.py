"""The poll's look-back read for the unit's hosts: the same answers as reading every host."""

from __future__ import annotations

import json
import logging
import random
from dataclasses import asdict
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from newsflow.archive import ArchiveOptions, ArchiveWriter, SeenIndex, cdxj, dayindex, read_day
from newsflow.archive.cdxj import CdxjEntry, format_cdxj, host_key, payloads
from newsflow.archive.dayindex import COMPACT_AFTER, DAY_INDEX, day_payloads
from newsflow.archive.storage import Storage
from newsflow.fetch import FetchResult
from tests.responses import html_response

WHEN = datetime(2026, 3, 2, 18, 0, tzinfo=UTC)
HOSTS = ("https://www.alpha.example", "https://beta.example:8080", "https://gamma.example")


def _result(url: str, status: int = 200) -> FetchResult:
    return html_response(url, fetched_at=WHEN, status=status)


def _archive(root: str, batches: int = 3, tag: str = "story") -> list[str]:
    """Pages of three hosts over two days, some fetched twice for a later entry date; their URLs."""
    urls = []
    for n in range(batches):
        for back in (0, 2):
            day = WHEN.date() - timedelta(days=back)
            with ArchiveWriter(ArchiveOptions(root), batch_id=f"poll-{tag}{n}-{back}", day=day) as writer:
                for host in HOSTS:
                    url = f"{host}/{tag}-{n}"
                    updated = f"2026-02-2{8 - back}T0{n}:00:00Z"
                    writer.write(_result(url), kind="page", canonical_url=url, entry_updated=updated)
                    urls.append(url)
                gone = f"{HOSTS[0]}/gone-{n}"
                writer.write(_result(gone, 404), kind="page", canonical_url=gone)
                urls.append(gone)
    return sorted(set(urls))


def _answers(seen: SeenIndex, urls: list[str]) -> list[tuple[bool, bool, bool, bool]]:
    return [
        (
            url in seen,
            seen.is_current(url, None),
            seen.is_current(url, "2026-02-28T00:30:00Z"),
            seen.is_current(url, "2026-03-01T00:00:00Z"),
        )
        for url in urls
    ]


def test_a_unit_reads_its_hosts_and_others_when_asked(tmp_path: Path) -> None:
    root = str(tmp_path / "archive")
    urls = _archive(root)
    everything = SeenIndex.load(root, WHEN.date(), lookback_days=3)
    unit = SeenIndex.load(root, WHEN.date(), lookback_days=3, hosts=[f"{HOSTS[0]}/feed.xml"])
    assert len(unit) == 3 < len(everything) == 9, "only the feed's host is read up front"
    assert unit.hosts_read_late == 0
    assert _answers(unit, urls) == _answers(everything, urls)
    assert unit.hosts_read_late == 2, "each other host is read once, when first asked about"
    assert len(unit) == len(everything)
    unit.is_current(f"{HOSTS[2]}/story-0", None)
    assert unit.hosts_read_late == 2, "a host read late is not read again"


def test_a_page_marked_before_its_host_is_read_keeps_the_later_date(tmp_path: Path) -> None:
    root = str(tmp_path / "archive")
    _archive(root)
    unit = SeenIndex.load(root, WHEN.date(), lookback_days=3, hosts=[HOSTS[0]])
    fetched_now = f"{HOSTS[1]}/story-0"
    unit.mark(fetched_now, "2026-03-02T17:00:00Z")  # archived earlier with 2026-02-28T00:00:00Z
    assert unit.is_current(fetched_now, "2026-03-02T17:00:00Z"), "this unit's fetch is not undone"
    assert unit.hosts_read_late == 1
    unit.mark(f"{HOSTS[2]}/new", None)
    assert f"{HOSTS[2]}/story-1" in unit and f"{HOSTS[2]}/new" in unit


def test_other_hosts_lines_are_not_parsed(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """A unit pays for its own hosts' lines: another host's line is skipped by its key alone."""
    root = str(tmp_path / "archive")
    _archive(root, batches=1)
    folder = Path(root) / "warc" / "2026" / "03" / "02"
    broken = f"{host_key(HOSTS[1])})/broken 20260302180000 {{not json\n"
    (folder / "poll-broken-00001.cdxj").write_text(broken)
    with caplog.at_level(logging.WARNING, logger="newsflow.archive.cdxj"):
        unit = SeenIndex.load(root, WHEN.date(), lookback_days=0, hosts=[HOSTS[0]])
        assert f"{HOSTS[0]}/story-0" in unit
    assert not [r for r in caplog.records if "skipping" in r.getMessage()]
    with caplog.at_level(logging.WARNING, logger="newsflow.archive.cdxj"):
        assert f"{HOSTS[1]}/story-0" in unit
    assert [r for r in caplog.records if "skipping" in r.getMessage()], "read when its host is"


def test_a_fold_by_a_unit_keeps_every_host(tmp_path: Path) -> None:
    root = str(tmp_path / "archive")
    day_index = Path(root) / "warc" / "2026" / "03" / "02" / DAY_INDEX
    urls = _archive(root, batches=COMPACT_AFTER + 1)  # a loose index file a batch and day
    SeenIndex.load(root, WHEN.date(), lookback_days=0, hosts=[HOSTS[2]])
    assert day_index.is_file(), "past COMPACT_AFTER loose files the day is folded"
    folded = day_index.read_bytes()
    urls += _archive(root, batches=COMPACT_AFTER + 1, tag="later")
    storage = Storage(root)
    day = WHEN.date()
    before = sorted(map(str, read_day(storage, day)))
    unit = SeenIndex.load(root, day, lookback_days=0, hosts=[HOSTS[2]])
    assert day_index.read_bytes() != folded, "the day was folded again"
    assert sorted(map(str, read_day(storage, day))) == before, "with every host's entries, old and new"
    everything = SeenIndex.load(root, day, lookback_days=0)
    assert _answers(unit, urls) == _answers(everything, urls)


def test_an_older_manifest_is_read_for_the_units_hosts(tmp_path: Path) -> None:
    root = str(tmp_path / "archive")
    _archive(root, batches=1)
    folder = Path(root) / "warc" / "2026" / "03" / "02"
    page = next(e for e in read_day(Storage(root), WHEN.date()) if e.kind == "page" and e.status == 200)
    lines = []
    for host in HOSTS[:2]:
        old = f"{host}/old"
        lines.append(json.dumps({**asdict(page), "url": old, "final_url": old, "canonical_url": old}))
    (folder / "poll-old-00000.manifest.jsonl").write_text("\n".join(lines) + "\n")
    unit = SeenIndex.load(root, WHEN.date(), lookback_days=0, hosts=[HOSTS[0]])
    assert len(unit) == 2, "the day's page and the manifest's page on the unit's host"
    assert f"{HOSTS[1]}/old" in unit and unit.hosts_read_late == 1


def _page(n: int, url: str) -> CdxjEntry:
    """The index entry of a page fetched with a 200."""
    return CdxjEntry(
        ref=f"poll-x-00001.warc.gz#{n}",
        kind="page",
        url=url,
        final_url=url,
        canonical_url=url,
        status=200,
        feed="f",
        fetched_at="2026-03-02T18:00:00Z",
        sha256="0" * 64,
        length=1,
        content_type="text/html",
    )


def test_a_hosts_lines_are_found_by_bisection_as_a_scan_finds_them() -> None:
    """Hosts whose keys nest ("example" and "example,news"), ports, one line or many: the lines
    bisection picks out of a sorted index are exactly those a scan of every line keeps."""
    rng = random.Random(5)
    hosts = [
        "https://example.com",
        "https://news.example.com",
        "https://example.com:8443",
        "https://a.example.org",
        "https://www.zeta.example",
        "http://127.0.0.1:8080",
    ]
    entries = [
        _page(n, f"{rng.choice(hosts[: rng.randint(1, len(hosts))])}/p/{rng.randrange(10**6)}")
        for n in range(400)
    ]
    for covers in (None, ["poll-x-00001.cdxj"]):
        data = format_cdxj(entries, covers=covers)
        for size in range(len(hosts) + 1):
            for _ in range(5):
                wanted = frozenset(host_key(h).encode() for h in rng.sample(hosts, size))
                scanned = [
                    p for p in payloads(data, "index") if host_key(p["canonical_url"]).encode() in wanted
                ]
                found = list(payloads(data, "index", hosts=wanted))
                assert sorted(map(str, found)) == sorted(map(str, scanned)), (covers, wanted)
                seen: set[str] = set()
                list(payloads(data, "index", hosts=wanted, covers=seen))
                assert seen == set(covers or ()), "the !meta line is read whatever the hosts"


def test_a_unit_reads_its_hosts_blocks_of_a_day_index_by_range(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A folded day index lists where its blocks start, so a unit reads the blocks its hosts'
    lines are in, and nothing else, and finds every one of them."""
    monkeypatch.setattr(cdxj, "BLOCK_LINES", 7)  # many blocks, a host's run across several
    monkeypatch.setattr(dayindex, "HEAD_BYTES", 64)  # the !meta line needs more than one read
    rng = random.Random(11)
    hosts = [
        f"https://{name}" for name in ("a.example", "ab.example", "b.example", "b.example:81", "c.example")
    ]
    entries = [_page(n, f"{rng.choice(hosts)}/p/{n}") for n in range(300)]
    storage = Storage(str(tmp_path / "archive"))
    path = storage.join("warc", "2026", "03", "02", DAY_INDEX)
    storage.write_bytes(path, format_cdxj(entries, covers=[f"poll-{n}-00001.cdxj" for n in range(40)]))
    read: list[int] = []
    real_range = Storage.read_range

    def counted(self: Storage, name: str, start: int, end: int | None) -> bytes | None:
        data = real_range(self, name, start, end)
        read.append(len(data or b""))
        return data

    monkeypatch.setattr(Storage, "read_range", counted)
    every = list(day_payloads(storage, WHEN.date()))
    assert len(every) == len(entries) and not read, "every host: the file read whole"
    for size in range(1, len(hosts) + 1):
        for wanted_hosts in (rng.sample(hosts, size) for _ in range(4)):
            wanted = frozenset(host_key(h).encode() for h in wanted_hosts)
            read.clear()
            found = list(day_payloads(storage, WHEN.date(), hosts=wanted))
            expected = [p for p in every if host_key(p["canonical_url"]).encode() in wanted]
            assert sorted(map(str, found)) == sorted(map(str, expected)), wanted_hosts
            if size == 1:
                assert sum(read) < Path(path).stat().st_size / 2, "a host reads its blocks only"


def test_a_day_index_folded_again_while_a_unit_reads_it_is_read_whole(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """Block offsets from one fold, bytes from the next: the unit notices and reads the new file whole."""
    monkeypatch.setattr(cdxj, "BLOCK_LINES", 5)
    hosts = [f"https://h{n}.example" for n in range(6)]
    older = [_page(n, f"{hosts[n % 6]}/p/{n}") for n in range(120)]
    newer = [*older, *(_page(n, f"{hosts[0]}/new/{n}") for n in range(60))]  # shifts every block
    storage = Storage(str(tmp_path / "archive"))
    path = storage.join("warc", "2026", "03", "02", DAY_INDEX)
    storage.write_bytes(path, format_cdxj(older, covers=["poll-a-00001.cdxj"]))
    real_range = Storage.read_range
    heads = 0

    def folded_meanwhile(self: Storage, name: str, start: int, end: int | None) -> bytes | None:
        nonlocal heads
        if start > 0 and heads == 1:  # the first block read, right after the first head read
            storage.write_bytes(path, format_cdxj(newer, covers=["poll-a-00001.cdxj", "poll-b-00001.cdxj"]))
        heads += start == 0
        return real_range(self, name, start, end)

    monkeypatch.setattr(Storage, "read_range", folded_meanwhile)
    wanted = frozenset({host_key(hosts[3]).encode(), host_key(hosts[0]).encode()})
    with caplog.at_level(logging.INFO, logger="newsflow.archive.dayindex"):
        found = list(day_payloads(storage, WHEN.date(), hosts=wanted))
    assert "changed while it was read" in caplog.text
    expected = [asdict(e) for e in newer if host_key(e.url).encode() in wanted]
    assert sorted(json.dumps(p, sort_keys=True) for p in found) == sorted(
        json.dumps(p, sort_keys=True) for p in expected
    )


def _two_folded_days(root: str) -> list[str]:
    """Two days of three hosts' pages, each day folded into its index, then loose files beside it."""
    urls = _archive(root, batches=COMPACT_AFTER + 1)
    storage = Storage(root)
    for back in (0, 2):
        dayindex.fold_day(storage, WHEN.date() - timedelta(days=back))
    return sorted({*urls, *_archive(root, batches=2, tag="loose")})


def test_a_host_read_late_lists_no_folder_and_reads_no_first_line_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What the first read learnt of each day folder (its files, the index's covers and blocks)
    serves the hosts read late: they cost their own blocks and the loose files, no listing and
    no first line of a day index, whose covers list is megabytes late in a busy day."""
    monkeypatch.setattr(cdxj, "BLOCK_LINES", 2)  # a host's lines in blocks of their own
    root = str(tmp_path / "archive")
    urls = _two_folded_days(root)
    everything = SeenIndex.load(root, WHEN.date(), lookback_days=3, compact=False)
    listed: list[str] = []
    ranges: list[tuple[int, int | None]] = []
    real_listdir, real_range = Storage.listdir, Storage.read_range

    def listdir(self: Storage, folder: str, pattern: str = "*") -> list[str]:
        listed.append(folder)
        return real_listdir(self, folder, pattern)

    def read_range(self: Storage, path: str, start: int, end: int | None) -> bytes | None:
        ranges.append((start, end))
        return real_range(self, path, start, end)

    monkeypatch.setattr(Storage, "listdir", listdir)
    monkeypatch.setattr(Storage, "read_range", read_range)
    unit = SeenIndex.load(root, WHEN.date(), lookback_days=3, compact=False, hosts=[HOSTS[0]])
    assert len(listed) == 4, "the first read lists each day of the look-back"
    assert (0, dayindex.HEAD_BYTES) in ranges, "and reads each day index's first line"
    listed.clear()
    ranges.clear()
    assert _answers(unit, urls) == _answers(everything, urls)
    assert unit.hosts_read_late == 2
    assert not listed, "a host read late lists no folder again"
    heads = [end for start, end in ranges if start == 0]
    assert len(heads) == 4, "each late host checks each of the two day indexes is unchanged"
    assert all(end is not None and end < 64 for end in heads), "by its first bytes, not its first line"


def test_a_day_index_folded_again_since_the_first_read_is_learnt_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """Another run folds a day while the unit polls: the blocks the unit learnt are another
    file's offsets. A host read late finds that out by the index's first bytes and learns the
    day again, rather than reading a block at a stale offset, finding it wrong and reading the
    whole index (hundreds of MB late in a busy day); and it finds the pages folded since."""
    monkeypatch.setattr(cdxj, "BLOCK_LINES", 2)
    root = str(tmp_path / "archive")
    urls = _two_folded_days(root)
    unit = SeenIndex.load(root, WHEN.date(), lookback_days=3, compact=False, hosts=[HOSTS[0]])
    for n in range(COMPACT_AFTER + 1):
        for back in (0, 2):
            day = WHEN.date() - timedelta(days=back)
            with ArchiveWriter(ArchiveOptions(root), batch_id=f"poll-again{n}-{back}", day=day) as writer:
                url = f"{HOSTS[1]}/zz-{n}"
                writer.write(_result(url), kind="page", canonical_url=url)
                urls.append(url)
    storage = Storage(root)
    for back in (0, 2):
        assert dayindex.fold_day(storage, WHEN.date() - timedelta(days=back))
    everything = SeenIndex.load(root, WHEN.date(), lookback_days=3, compact=False)
    whole: list[str] = []
    real_read = Storage.read_bytes

    def read_bytes(self: Storage, path: str) -> bytes | None:
        whole.append(path)
        return real_read(self, path)

    monkeypatch.setattr(Storage, "read_bytes", read_bytes)
    with caplog.at_level(logging.INFO, logger="newsflow.archive.dayindex"):
        late = [url for url in urls if not url.startswith(HOSTS[0])]
        assert _answers(unit, late) == _answers(everything, late)
    assert caplog.text.count("folded again since it was first read") == 2, "both days, once"
    assert not [path for path in whole if path.endswith(DAY_INDEX)], "no day index is read whole"
