"""The poll's look-back (``SeenIndex.load``) against reading the same days as index entries.

    .venv/bin/python bench/bench_lookback.py [--pages 20000] [--days 3] [--loose 8]

Every poll unit reads the archive's index of the last 15 days before it polls, so the cost
of an entry is paid 15 times the daily volume by every unit (docs/scaling.md, "The archive
on object storage"). This writes ``--days`` day folders of ``--pages`` page entries each (news-like
URLs, a folded day index plus ``--loose`` WARC indexes not folded yet, and a feed entry for
every ten pages), then times, in the same run:

- the baseline: ``read_day`` of each day, every entry built as a ``CdxjEntry`` and filtered
  as the look-back did until 2026-12-07;
- ``SeenIndex.load``: each entry's JSON object read for the two fields the look-back keeps.

Prints µs per entry of both and their ratio, the peak memory each allocates for a day
(``tracemalloc``, a pass of its own), and what a unit would pay at 10,000 to 1,000,000
pages a day.
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
from newsflow.archive.cdxj import DAY_INDEX, CdxjEntry, format_cdxj
from newsflow.archive.storage import Storage, day_dir, days

LOOKBACK_DAYS = 14  # FlowOptions.seen_days: 15 days read in all
LAST_DAY = date(2026, 12, 6)


def _entry(rng: random.Random, day: date, n: int) -> CdxjEntry:
    host = f"news{n % 300}.example.com"
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
        storage.write_bytes(f"{folder}/{DAY_INDEX}", format_cdxj(entries[:cut], covers=[]))
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


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--pages", type=int, default=20_000, help="page entries a day")
    parser.add_argument("--days", type=int, default=3, help="day folders written (of the 15 read)")
    parser.add_argument("--loose", type=int, default=8, help="WARC indexes a day not folded yet")
    parser.add_argument("--runs", type=int, default=3, help="timed runs of each (the best counts)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="newsflow-bench-lookback-") as tmp:
        root = str(Path(tmp) / "archive")
        entries = write_days(root, args.pages, args.days, args.loose)
        print(f"{args.days} day folders, {entries} index entries ({args.pages} pages a day), read as 15 days")
        # Interleaved, so a change of the machine's load falls on both.
        base_s, base_found = best_of(args.runs, entries_then_filter, root)
        new_s, new_found = best_of(args.runs, lookback, root)
        if new_found != base_found:
            print(f"MISMATCH: the look-back kept {new_found} pages, the baseline {base_found}")
            return 1
        base_us, new_us = base_s / entries * 1e6, new_s / entries * 1e6
        print(f"baseline (entries built, then filtered): {base_us:.2f} µs an entry")
        ratio = new_us / base_us
        print(f"SeenIndex.load: {new_us:.2f} µs an entry ({ratio:.2f} of the baseline)")
        print(f"pages kept: {new_found} (both)")
        base_mb, new_mb = peak_mb(entries_then_filter, root), peak_mb(lookback, root)
        print(f"peak memory allocated: baseline {base_mb:.0f} MB, SeenIndex.load {new_mb:.0f} MB")
        print("what a poll unit pays to read 15 days of index (parse only; listing apart):")
        for daily in (10_000, 100_000, 1_000_000):
            n = 15 * daily * 1.1  # a feed entry for every ten pages
            print(
                f"  {daily:>9,} pages a day: {n * base_us / 1e6:7.1f} s before, {n * new_us / 1e6:7.1f} s now"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
