"""The poll's look-back (``SeenIndex.load``) against reading the same days as index entries.

    .venv/bin/python bench/bench_lookback.py [--pages 20000] [--days 3] [--loose 8] [--unit-hosts 10]

Every poll unit reads the archive's index of the last 15 days before it polls, so the cost
of an entry is paid 15 times the daily volume by every unit (docs/scaling.md, "The archive
on object storage"). This writes ``--days`` day folders of ``--pages`` page entries each (news-like
URLs on 300 hosts, a folded day index naming a folded batch for every six pages, plus ``--loose``
WARC indexes not folded yet, and a feed entry for every ten pages), then times, in the same run:

- the baseline: ``read_day`` of each day, every entry built as a ``CdxjEntry`` and filtered
  as the look-back did until 2026-12-07;
- ``SeenIndex.load`` of every host: each entry's JSON object read for the fields it keeps;
- ``SeenIndex.load`` for one unit, whose feeds are on ``--unit-hosts`` of the 300 hosts:
  other hosts' lines are skipped by their key, unparsed (since 2026-12-07);
- a host the unit reads late (a feed linking off its own hosts): as it was read until
  2026-12-07, learning each day folder again (a look-back of that host alone), against the
  read that reuses what the unit's first read learnt (``DayLayout``): folders listed and MB
  read, the listing being a request per 1,000 files on an object store.

Prints µs per entry of the look-back (every host's entries, whichever a form keeps) and the
ratio to the baseline, the peak memory each allocates (``tracemalloc``, a pass of its own),
and what a unit would pay at 10,000 to 1,000,000 pages a day.
"""

from __future__ import annotations

import argparse
import gc
import random
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from newsflow.archive import SeenIndex, read_day
from newsflow.archive.cdxj import CdxjEntry, format_cdxj
from newsflow.archive.dayindex import DAY_INDEX
from newsflow.archive.storage import Storage, day_dir, days

LOOKBACK_DAYS = 14  # FlowOptions.seen_days: 15 days read in all
HOSTS = 300
LAST_DAY = date(2026, 12, 6)


def _entry(rng: random.Random, day: date, n: int) -> CdxjEntry:
    host = f"news{n % HOSTS}.example.com"
    slug = "-".join(rng.choice(("vote", "budget", "storm", "court", "strike", "summit")) for _ in range(6))
    url = f"https://www.{host}/{day:%Y/%m/%d}/politics/{slug}-{n}.html?utm_source=rss&utm_medium=feed"
    canonical = url.split("?", maxsplit=1)[0]
    feed = n % 10 == 0
    return CdxjEntry(
        ref=f"poll-{day:%Y%m%d}T120000-{n % 600:06x}-00001.warc.gz#{n * 4096}",
        kind="feed" if feed else "page",
        url=url,
        final_url=canonical,
        canonical_url=None if feed else canonical,
        status=200 if n % 50 else 404,
        feed=f"feed-{n % 900}",
        fetched_at=f"{day}T12:00:03Z",
        sha256=f"{rng.getrandbits(256):064x}",
        length=rng.randrange(10**5),
        content_type="text/html; charset=utf-8",
        entry_updated=f"{day}T11:58:00Z",
    )


def write_days(root: str, pages: int, n_days: int, loose: int) -> int:
    """Day folders of ``pages`` entries each, most folded into the day index; entries written."""
    storage = Storage(root)
    rng = random.Random(7)
    written = 0
    for day in days(LAST_DAY - timedelta(days=n_days - 1), LAST_DAY):
        folder = storage.join(day_dir(day))
        entries = [_entry(rng, day, n) for n in range(pages + pages // 10)]
        cut = len(entries) - len(entries) // 20 if loose else len(entries)
        names = [f"poll-{day:%Y%m%d}-{k:05d}.cdxj" for k in range(loose)]
        # The files it folded: a five-minute run's unit writes a batch of some six pages.
        covers = [f"poll-{day:%Y%m%d}-run-{k:06d}.cdxj" for k in range(pages // 6)]
        storage.write_bytes(f"{folder}/{DAY_INDEX}", format_cdxj(entries[:cut], covers=covers))
        for k, name in enumerate(names):
            storage.write_bytes(f"{folder}/{name}", format_cdxj(entries[cut + k :: loose]))
        written += len(entries)
    return written


def entries_then_filter(root: str) -> int:
    """The look-back before 2026-12-07: every entry built, then filtered."""
    storage = Storage(root)
    kept: dict[str, str | None] = {}
    for day in days(LAST_DAY - timedelta(days=LOOKBACK_DAYS), LAST_DAY):
        for entry in read_day(storage, day):
            if entry.kind == "page" and entry.canonical_url and 200 <= entry.status < 300:
                kept[entry.canonical_url] = entry.entry_updated
    return len(kept)


def lookback(root: str) -> int:
    return len(SeenIndex.load(root, LAST_DAY, lookback_days=LOOKBACK_DAYS, compact=False))


def unit_hosts(count: int) -> list[str]:
    """The feed URLs of a unit polling ``count`` of the hosts."""
    return [f"https://www.news{n}.example.com/feed.xml" for n in range(count)]


def unit_lookback(count: int) -> Callable[[str], int]:
    def run(root: str) -> int:
        hosts = unit_hosts(count)
        return len(SeenIndex.load(root, LAST_DAY, lookback_days=LOOKBACK_DAYS, compact=False, hosts=hosts))

    return run


def pages_on(root: str, count: int) -> int:
    """The baseline's pages on the unit's hosts, to check the unit keeps exactly those."""
    wanted = {f"news{n}.example.com" for n in range(count)}
    storage = Storage(root)
    urls = {
        entry.canonical_url
        for day in days(LAST_DAY - timedelta(days=LOOKBACK_DAYS), LAST_DAY)
        for entry in read_day(storage, day)
        if entry.kind == "page" and entry.canonical_url and 200 <= entry.status < 300
    }
    return sum(1 for url in urls if url.split("/")[2].removeprefix("www.") in wanted)


def best_of(runs: int, function: Callable[[str], int], root: str) -> tuple[float, int]:
    best, found = float("inf"), 0
    for _ in range(runs):
        gc.collect()
        started = time.perf_counter()
        found = function(root)
        best = min(best, time.perf_counter() - started)
    return best, found


def peak_mb(function: Callable[[str], int], root: str) -> float:
    gc.collect()
    tracemalloc.start()
    try:
        function(root)
        return tracemalloc.get_traced_memory()[1] / 2**20
    finally:
        tracemalloc.stop()


def mb_read(function: Callable[[str], int], root: str) -> float:
    """MB of index files a look-back reads (whole files and byte ranges), counted for one pass."""
    return reads(function, root)[1]


def reads(function: Callable[[str], int], root: str) -> tuple[int, float]:
    """Folders listed and MB of index files read (whole files and byte ranges) in one pass."""
    read: list[int] = []
    listed: list[str] = []
    whole, part, listdir = Storage.read_bytes, Storage.read_range, Storage.listdir

    def listing(self: Storage, folder: str, pattern: str = "*") -> list[str]:
        listed.append(folder)
        return listdir(self, folder, pattern)

    def read_bytes(self: Storage, path: str) -> bytes | None:
        data = whole(self, path)
        read.append(len(data or b""))
        return data

    def read_range(self: Storage, path: str, start: int, end: int | None) -> bytes | None:
        data = part(self, path, start, end)
        read.append(len(data or b""))
        return data

    # counted for this pass only, and put back after it
    Storage.read_bytes, Storage.read_range, Storage.listdir = read_bytes, read_range, listing  # type: ignore[method-assign]  # counted
    try:
        function(root)
    finally:
        Storage.read_bytes, Storage.read_range, Storage.listdir = whole, part, listdir  # type: ignore[method-assign]  # put back
    return len(listed), sum(read) / 2**20


LATE_URL = "https://www.news299.example.com/late"  # on a host none of a unit's feeds is on


def late_as_before(root: str) -> int:
    """A host read late as before 2026-12-07: the look-back of that host, learnt afresh."""
    late = SeenIndex.load(root, LAST_DAY, lookback_days=LOOKBACK_DAYS, compact=False, hosts=[LATE_URL])
    return len(late)


def late_reads(root: str, unit_hosts_count: int) -> tuple[float, int, float]:
    """Seconds, folders listed and MB read by a unit asking about a page on a host it has not read."""
    unit = SeenIndex.load(
        root, LAST_DAY, lookback_days=LOOKBACK_DAYS, compact=False, hosts=unit_hosts(unit_hosts_count)
    )
    started = time.perf_counter()
    listed, read = reads(lambda _root: int(LATE_URL in unit), root)
    return time.perf_counter() - started, listed, read


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--pages", type=int, default=20_000, help="page entries a day")
    parser.add_argument("--days", type=int, default=3, help="day folders written (of the 15 read)")
    parser.add_argument("--loose", type=int, default=8, help="WARC indexes a day not folded yet")
    parser.add_argument("--runs", type=int, default=3, help="timed runs of each (the best counts)")
    parser.add_argument("--unit-hosts", type=int, default=10, help=f"hosts of one unit's feeds (of {HOSTS})")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="newsflow-bench-lookback-") as tmp:
        root = str(Path(tmp) / "archive")
        entries = write_days(root, args.pages, args.days, args.loose)
        print(f"{args.days} day folders, {entries} index entries ({args.pages} pages a day), read as 15 days")
        unit = unit_lookback(args.unit_hosts)
        forms = (
            ("baseline (entries built, then filtered)", entries_then_filter),
            ("SeenIndex.load, every host", lookback),
            (f"SeenIndex.load, one unit's {args.unit_hosts} hosts", unit),
        )
        # Interleaved, so a change of the machine's load falls on every form.
        best = {label: float("inf") for label, _ in forms}
        found: dict[str, int] = {}
        for _ in range(args.runs):
            for label, function in forms:
                seconds, found[label] = best_of(1, function, root)
                best[label] = min(best[label], seconds)
        expected = (found[forms[0][0]], found[forms[0][0]], pages_on(root, args.unit_hosts))
        for (label, _), want in zip(forms, expected, strict=True):
            if found[label] != want:
                print(f"MISMATCH: {label} kept {found[label]} pages, the baseline {want}")
                return 1
        base_us = best[forms[0][0]] / entries * 1e6
        print(
            f"{'look-back':<42} {'µs/entry':>8} {'ratio':>6} {'pages kept':>11} {'peak MB':>8} {'MB read':>8}"
        )
        for label, function in forms:
            us = best[label] / entries * 1e6
            peak, read = peak_mb(function, root), mb_read(function, root)
            print(f"{label:<42} {us:>8.2f} {us / base_us:>6.2f} {found[label]:>11} {peak:>8.0f} {read:>8.1f}")
        print("what a poll unit pays to read 15 days of index (parse only; listing apart), seconds:")
        for daily in (10_000, 100_000, 1_000_000):
            n = 15 * daily * 1.1  # a feed entry for every ten pages
            cost = ", ".join(f"{n * best[label] / entries:.1f}" for label, _ in forms)
            print(f"  {daily:>9,} pages a day: {cost} (the look-backs above, in order)")
        started = time.perf_counter()
        listed, read = reads(late_as_before, root)
        before = time.perf_counter() - started
        after, listed_now, read_now = late_reads(root, args.unit_hosts)
        print(f"{'a host read late':<42} {'ms':>8} {'folders listed':>15} {'MB read':>8}")
        print(
            f"{'learning the day folders again (before)':<42} {before * 1e3:>8.1f} {listed:>15} {read:>8.2f}"
        )
        print(
            f"{'with what the unit learnt (now)':<42} {after * 1e3:>8.1f} {listed_now:>15} {read_now:>8.2f}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
