"""Pausing Python's cyclic garbage collector while a batch is decided.

A batch builds hundreds of thousands of small acyclic containers (stored signals parsed
from Elasticsearch, prepared weights, edges). Each burst of allocations triggers the
cyclic collector, which walks every live container again, so collection grew to a quarter
of a batch's time. Reference counting still frees everything as usual; only the search
for reference cycles (which dedup does not create) waits until the batch is done.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def collector_paused() -> Iterator[None]:
    """Disable the cyclic collector for the block (nesting and a caller's own pause are kept)."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()
