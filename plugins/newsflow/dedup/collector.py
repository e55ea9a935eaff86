"""Python's cyclic garbage collector, paused while one batch's neighbourhood is decided.

A pipeline batch of 1,000 articles reads some 5,000 held articles from the index: tens of
megabytes of JSON, parsed into about a million small lists and dicts, then turned into
signals, edges and candidates that live only until the batch is decided. While they are
built the collector keeps scanning them, and whenever the survivors since its last full
pass outnumber a quarter of what that pass kept, it scans everything the process holds.
``bench/bench_dedup.py --es --spaced --sizes 10000 --batch 1000`` counted 66 full
collections and 15 s in the collector over dedup phases of 82 to 86 s (docs/scaling.md,
"The collector"). Reference counting frees all of it when the batch is decided, and any
cycle the span leaves is collected after it, so the pause loses nothing. Held state in
``newsflow cluster`` lives on, so the in-memory path is not paused: a pause there would only
put its scans off (docs/stories.md, "Cost").
"""

from __future__ import annotations

import contextlib
import gc
from collections.abc import Iterator


@contextlib.contextmanager
def collector_paused() -> Iterator[None]:
    """No cyclic collection inside the block; the collector's state is restored after it.

    Only the caller that turned the collector off turns it on again: a collector the process
    had turned off stays off, and an inner pause does not end the outer one. A pause in
    another thread may end this one early, which costs speed, never correctness.
    """
    if not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()
