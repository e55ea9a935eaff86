"""A day folder's index files as a reader finds them, and the fold that keeps them few.

Each WARC has its own CDXJ index (``cdxj``). Once a day holds more than ``COMPACT_AFTER``
loose index files, the poll run folds them into the day's ``index.cdxj`` (``fold_day``), whose
first line lists the files it covers and where each block of lines starts. Lines are sorted
by key, and a key starts with its host, so a reader of a few hosts (a poll unit's look-back,
``SeenIndex``) reads the first line, then only its hosts' blocks, by byte range, and only
their lines. What it learnt of the folder (``DayLayout``) is kept for a host it reads later.
"""

from __future__ import annotations

import bisect
import itertools
import logging
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from datetime import date
from typing import Any

import orjson

from newsflow.archive.cdxj import (
    CDXJ_SUFFIX,
    MANIFEST_SUFFIX,
    META_BYTES,
    CdxjEntry,
    entries_of,
    format_cdxj,
    index_entries,
    on_hosts,
    payloads,
)
from newsflow.archive.storage import Storage, day_dir

logger = logging.getLogger(__name__)

DAY_INDEX = "index.cdxj"
COMPACT_AFTER = 16  # loose index files a day may hold before the run folds them into its index
HEAD_BYTES = 1 << 16  # the first read of a day index, to find its ``!meta`` line


def read_day(storage: Storage, day: date, *, compact: bool = False) -> list[CdxjEntry]:
    """Every entry of one day: its ``index.cdxj`` plus the WARC indexes it does not cover yet."""
    return entries_of(day_payloads(storage, day, compact=compact), day_dir(day))


@dataclass
class _Day:
    """One day folder's index files as a reader finds them."""

    day_index: str
    data: bytes  # the day index's bytes, or those of the blocks a reader of some hosts needs
    first: list[dict[str, Any]]  # its first entry, read to learn what it covers
    indexed: Iterator[dict[str, Any]]  # the rest of its entries, parsed as they are used
    covered: set[str]
    loose: list[str]  # index files it does not cover
    whole: bool = True  # ``data`` is the whole day index


@dataclass(frozen=True, slots=True)
class _Blocks:
    """Where a day index's lines start, and the host key and offset of each block's first line."""

    start: int
    keys: list[bytes]
    offsets: list[int]
    head: bytes | None  # the index's first bytes, to its digest (None: an index without one)


@dataclass(frozen=True, slots=True)
class DayLayout:
    """What a reader of some hosts learns of a day folder before it reads any line: the index
    files it holds, and the files its day index covers with where each block starts.

    Learning it costs a listing of the folder and the day index's first line, whose list of
    covered files grows with the day (megabytes late in a busy one). A ``SeenIndex`` keeps the
    layouts of its look-back, so a host it reads late pays for its own blocks only.
    """

    day_index: str
    listed: tuple[str, ...]
    covered: frozenset[str]
    blocks: _Blocks | None  # None: no day index, or one that lists no blocks (read it whole)


def day_layout(storage: Storage, day: date, *, head: bool = True) -> DayLayout:
    """The layout of one day folder (``DayLayout``); ``head=False``: the listing only, for a
    reader of every line, to whom the day index's lines give its covers anyway."""
    folder = storage.join(day_dir(day))
    # One listing of the folder: a pattern per suffix would each read the whole folder, which
    # holds every batch of the day (docs/scaling.md), once for every day a poll looks back.
    listed = tuple(p for p in storage.listdir(folder) if p.endswith((CDXJ_SUFFIX, MANIFEST_SUFFIX)))
    day_index = f"{folder}/{DAY_INDEX}"
    covered: set[str] = set()
    blocks = _read_head(storage, day_index, covered) if head and day_index in listed else None
    return DayLayout(day_index, listed, frozenset(covered), blocks)


def _read_day_files(
    storage: Storage, day: date, hosts: frozenset[bytes] | None, layout: DayLayout | None = None
) -> tuple[_Day, DayLayout | None]:
    """The day's index files as a reader of ``hosts`` (None: every host) finds them, and the
    layout they were read by (``layout`` while its day index is unchanged, else learnt now);
    None when the day index was folded again while it was read."""
    if layout is not None and layout.blocks is not None:
        head = layout.blocks.head
        if head is None or storage.read_range(layout.day_index, 0, len(head)) != head:
            logger.info(
                "%s was folded again since it was first read; reading its layout again", layout.day_index
            )
            layout = None
    if layout is None:
        layout = day_layout(storage, day, head=hosts is not None)
    day_index = layout.day_index
    covered = set(layout.covered)
    indexed: Iterator[dict[str, Any]] = iter(())
    first: list[dict[str, Any]] = []
    data, whole, held = b"", True, True
    if day_index in layout.listed:
        blocks = None
        if hosts is not None and layout.blocks is not None:
            blocks = _read_blocks(storage, day_index, layout.blocks, hosts)
            held = blocks is not None
        if blocks is not None:
            data, whole = blocks, False
            indexed = payloads(data, day_index, hosts=hosts)
        else:
            covered = set()
            data = storage.read_bytes(day_index) or b""
            indexed = payloads(data, day_index, covers=covered, hosts=hosts)
            # Its ``!meta`` line comes first (``format_cdxj``): once the first entry is read, the
            # files it covers are known, and the rest of it is parsed only as it is used.
            first = list(itertools.islice(indexed, 1))
    loose = [p for p in layout.listed if p != day_index and p.rsplit("/", 1)[1] not in covered]
    return _Day(day_index, data, first, indexed, covered, loose, whole), layout if held else None


def _read_head(storage: Storage, path: str, covered: set[str]) -> _Blocks | None:
    """The files a day index covers, into ``covered``, and where its blocks start; None when
    it lists no blocks (an older or damaged first line: it is read whole)."""
    size = HEAD_BYTES
    while True:  # the ``!meta`` line: its covers list grows with the day
        head = storage.read_range(path, 0, size)
        if head is None:
            return None
        end = head.find(b"\n")
        if end >= 0 or len(head) < size:
            break
        size *= 4
    if not head.startswith(META_BYTES):
        return None
    try:
        meta = orjson.loads(head[: end if end >= 0 else len(head)].split(b" ", 2)[2])
        names, blocks = meta.get("covers"), meta.get("blocks")
        keys = [str(key).encode() for key, _ in blocks]
        offsets = [int(offset) for _, offset in blocks]
    except (ValueError, TypeError, IndexError, AttributeError):  # an older or damaged line
        return None
    if not isinstance(names, list) or not keys:
        return None
    covered.update(str(name) for name in names)
    digest = meta.get("digest")
    found = head.find(digest.encode()) if isinstance(digest, str) and digest else -1
    return _Blocks(end + 1, keys, offsets, head[: found + len(digest)] if found > 0 else None)


def _read_blocks(storage: Storage, path: str, blocks: _Blocks, hosts: frozenset[bytes]) -> bytes | None:
    """The blocks of a day index that hold the lines of ``hosts``, read by byte range; None when
    the index was folded again since ``blocks`` were read (then it is read whole).

    A host's lines are one run (lines are sorted by key, keys start with the host), inside the
    blocks from the last one starting before the host's key to the last one starting at it.
    """
    keys, offsets, start = blocks.keys, blocks.offsets, blocks.start
    spans: list[tuple[int, int | None, bytes]] = []  # byte ranges (end exclusive, None: to EOF)
    for host in sorted(hosts):
        first = max(0, bisect.bisect_left(keys, host) - 1)
        after = bisect.bisect_right(keys, host)
        begin, stop = start + offsets[first], start + offsets[after] if after < len(keys) else None
        if spans and (spans[-1][1] is None or begin <= spans[-1][1]):
            spans[-1] = (spans[-1][0], None if spans[-1][1] is None else stop, spans[-1][2])  # one read
        else:
            spans.append((begin, stop, keys[first]))
    read = []
    for begin, stop, key in spans:
        data = storage.read_range(path, begin, stop) or b""
        # A block starts with a line of the host its entry names, unless the index was folded
        # again since its first line was read: then the offsets are another file's.
        if not data.startswith(key + b")"):
            logger.info("%s changed while it was read; reading it whole", path)
            return None
        read.append(data)
    return b"".join(read)


def _fold(storage: Storage, found: _Day) -> list[CdxjEntry]:
    """Every entry of the day, written as its day index covering every index file read."""
    data = found.data if found.whole else storage.read_bytes(found.day_index) or b""
    entries = entries_of(payloads(data, found.day_index), found.day_index)
    for path in found.loose:
        entries.extend(index_entries(storage, path))
    # Concurrent folds are safe: each keeps what the index it read covered, and a file a lost
    # write failed to cover stays loose, so it is read directly next time.
    names = found.covered | {p.rsplit("/", 1)[1] for p in found.loose}
    storage.write_bytes(found.day_index, format_cdxj(entries, covers=names))
    logger.info("folded %s index files into %s", len(found.loose), found.day_index)
    return entries


def fold_day(storage: Storage, day: date) -> int:
    """Fold a day's loose index files into its day index once there are more than
    ``COMPACT_AFTER``; how many were folded (0: none yet)."""
    found, _ = _read_day_files(storage, day, frozenset())  # no entry is parsed to learn the covers
    if len(found.loose) <= COMPACT_AFTER:
        return 0
    _fold(storage, found)
    return len(found.loose)


def day_payloads(
    storage: Storage,
    day: date,
    *,
    compact: bool = False,
    hosts: frozenset[bytes] | None = None,
    layouts: dict[date, DayLayout] | None = None,
) -> Iterator[dict[str, Any]]:
    """``read_day`` as the JSON object of each entry, one file at a time (see ``payloads``);
    ``hosts``: only the entries on these ``host_key``s (UTF-8). ``compact``: fold the day first
    when it has more than ``COMPACT_AFTER`` loose index files (``fold_day``). ``layouts``: the
    day's ``DayLayout`` is taken from it, or learnt and kept in it, for a reader of ``hosts``
    that will read the day again for other hosts; a layout that no longer holds is dropped."""
    kept = layouts is not None and hosts is not None
    found, used = _read_day_files(storage, day, hosts, layouts.get(day) if layouts and kept else None)
    folding = compact and len(found.loose) > COMPACT_AFTER
    if layouts is not None and kept:
        if used is not None and not folding and (used.blocks is None or used.blocks.head is not None):
            layouts[day] = used
        else:  # folded again by another, or about to be by this reader
            layouts.pop(day, None)
    if folding:
        folded = (asdict(entry) for entry in _fold(storage, found))  # every host's entries
        yield from folded if hosts is None else (p for p in folded if on_hosts(p, hosts))
        return
    yield from found.first
    yield from found.indexed
    for path in found.loose:
        data = storage.read_bytes(path) or b""
        yield from payloads(data, path, manifest=path.endswith(MANIFEST_SUFFIX), hosts=hosts)
