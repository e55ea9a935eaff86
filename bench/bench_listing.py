"""Listing an archive day folder: ``Storage.listdir`` against the ``glob`` it replaced, same run.

    .venv/bin/python bench/bench_listing.py [--batches 20000] [--runs 3]

A day folder holds every poll batch of its day (a WARC and its CDXJ index each), and every
poll unit lists the 15 folders of its look-back before it polls; a process task lists the
folders of its batches (docs/scaling.md, "The archive on object storage"). This writes one
day folder of ``--batches`` batches (empty files, named as the archive names them) on the
local disk, then times, interleaved: ``Storage.glob(folder + "/*")``, as every listing was
made until 2026-12-07, and ``Storage.listdir(folder)``; both must name the same files. Prints
µs a file, the ratio, and what a unit's look-back pays to list 15 such folders at 1M pages a
day (600 units a five-minute run: 350,000 files a folder by the evening).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.bench_lookback import LAST_DAY
from newsflow.archive.storage import Storage, day_dir

FILES_AT_1M = 350_000  # a day folder's files by the evening at 1M pages a day
LOOKBACK_FOLDERS = 15


def write_folder(root: str, batches: int) -> str:
    folder = Path(root) / day_dir(LAST_DAY)
    folder.mkdir(parents=True)
    for n in range(batches):
        stem = f"poll-{LAST_DAY:%Y%m%d}T{n % 288 * 5 // 60:02d}{n % 12 * 5:02d}00-{n:06x}-00001"
        (folder / f"{stem}.warc.gz").touch()
        (folder / f"{stem}.cdxj").touch()
    return str(folder)


def best_of(runs: int, function: Callable[[], list[str]]) -> tuple[float, list[str]]:
    best, found = float("inf"), []
    for _ in range(runs):
        started = time.perf_counter()
        found = function()
        best = min(best, time.perf_counter() - started)
    return best, found


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--batches", type=int, default=20_000, help="batches in the day folder")
    parser.add_argument("--runs", type=int, default=3, help="timed runs of each (the best counts)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="newsflow-bench-listing-") as tmp:
        folder = write_folder(tmp, args.batches)
        storage = Storage(tmp)
        forms: dict[str, Callable[[], list[str]]] = {
            "baseline: Storage.glob(folder/*)": lambda: storage.glob(f"{folder}/*"),
            "Storage.listdir(folder)": lambda: storage.listdir(folder),
        }
        best = {label: float("inf") for label in forms}
        named: dict[str, list[str]] = {}
        for _ in range(args.runs):  # interleaved, so a change of the machine's load falls on both
            for label, function in forms.items():
                seconds, named[label] = best_of(1, function)
                best[label] = min(best[label], seconds)
        first, second = named.values()
        if first != second:
            print(f"MISMATCH: the listings differ ({len(first)} and {len(second)} paths)")
            return 1
        files = len(first)
        base = best["baseline: Storage.glob(folder/*)"] / files * 1e6
        print(f"one day folder of {args.batches} batches, {files} files (local disk)")
        for label, seconds in best.items():
            us = seconds / files * 1e6
            unit = us * FILES_AT_1M * LOOKBACK_FOLDERS / 1e6
            print(f"{label:<34} {us:6.2f} µs a file ({us / base:.2f}); 15 folders at 1M a day: {unit:5.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
