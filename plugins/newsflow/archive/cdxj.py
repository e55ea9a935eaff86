"""The archive's index format: one CDXJ file per WARC, its lines, and the one parser of them.

A line is ``<urlkey> <timestamp> <json>`` (the CDXJ shape web archives use), keyed by a
SURT-like form of the canonical URL and listing what a page look-up needs without opening
the WARC. A WARC's index is written after the WARC itself, so a WARC without one was cut
short and counts as absent. "Was this page fetched already?" reads the index of a bounded
number of days before the poll (``SeenIndex``), never the archive's whole history. A day's
loose index files are folded into one per day (``dayindex``), whose first line lists the
files it covers and where each block of lines starts; lines are sorted by key, and a key
starts with its host, so a reader of a few hosts reads their blocks and lines only
(``payloads(hosts=...)``).
"""

from __future__ import annotations

import hashlib
import io
import json
import logging
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import asdict, dataclass
from typing import Any
from urllib.parse import urlsplit

import orjson

from newsflow.archive.storage import Storage

logger = logging.getLogger(__name__)

CDXJ_SUFFIX = ".cdxj"
MANIFEST_SUFFIX = ".manifest.jsonl"  # before CDXJ, each WARC had a JSON-lines manifest: still read
BLOCK_LINES = 128  # lines of a day index a reader of one host reads at least (about 100 KB)
_META = "!meta"
META_BYTES = _META.encode()


def host_key(url: str) -> str:
    """The host part of ``urlkey`` (``example,news`` or ``1,0,0,127:8080``): what an index line
    starts with, so a look-back for some hosts skips other hosts' lines without parsing them."""
    return urlkey(url).split(")", 1)[0]


def urlkey(url: str) -> str:
    """A SURT-like sort key: ``example,news)/path?query`` (host reversed, lower-cased, no www)."""
    parts = urlsplit(url)
    host = (parts.hostname or "").lower().removeprefix("www.")
    port = f":{parts.port}" if parts.port else ""
    query = f"?{parts.query}" if parts.query else ""
    key = f"{','.join(reversed(host.split('.')))}{port}){parts.path or '/'}{query}"
    return key.replace(" ", "%20")


@dataclass(frozen=True, slots=True)
class CdxjEntry:
    """One archived response as the index lists it (the archive's only entry type)."""

    ref: str
    kind: str  # "feed" or "page"
    url: str  # as requested
    final_url: str
    canonical_url: str | None
    status: int
    feed: str | None
    fetched_at: str  # WARC-Date
    sha256: str
    length: int  # body bytes
    content_type: str
    entry_updated: str | None = None  # the feed entry's updated/published date when fetched

    def to_line(self) -> str:
        stamp = "".join(ch for ch in self.fetched_at if ch.isdigit())[:14]
        payload = json.dumps(asdict(self), sort_keys=True, ensure_ascii=False)
        return f"{urlkey(self.canonical_url or self.final_url)} {stamp} {payload}"

    @classmethod
    def from_line(cls, line: str) -> CdxjEntry:
        _key, _stamp, payload = line.split(" ", 2)
        return cls.from_dict(orjson.loads(payload))

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> CdxjEntry:
        return cls(**{k: v for k, v in data.items() if k in _FIELDS})


_FIELDS = frozenset(CdxjEntry.__dataclass_fields__)


def format_cdxj(entries: Iterable[CdxjEntry], covers: Iterable[str] | None = None) -> bytes:
    """Sorted CDXJ lines; a day index starts with a ``!meta`` line naming the files it covers
    and where each block of ``BLOCK_LINES`` lines starts (``blocks``: the host key of its first
    line and its offset after the ``!meta`` line), so a reader of a few hosts reads a few blocks.
    The line opens with a digest of the lines (``digest``), so a reader that kept the blocks
    tells by the index's first bytes whether they still hold (``DayLayout``)."""
    lines = [f"{line}\n".encode() for line in sorted(entry.to_line() for entry in entries)]
    if covers is None:
        return b"".join(lines)
    blocks: list[tuple[str, int]] = []
    offset = 0
    for number, line in enumerate(lines):
        if number % BLOCK_LINES == 0:
            blocks.append((line[: max(0, line.find(b")"))].decode(), offset))
        offset += len(line)
    digest = hashlib.blake2b(b"".join(lines), digest_size=8).hexdigest()
    meta = json.dumps({"digest": digest, "covers": sorted(covers), "blocks": blocks})
    return f"{_META} 0 {meta}\n".encode() + b"".join(lines)


def payloads(
    data: bytes,
    source: str,
    *,
    manifest: bool = False,
    covers: set[str] | None = None,
    hosts: frozenset[bytes] | None = None,
) -> Iterator[dict[str, Any]]:
    """The JSON object of each entry line of one index file, in file order; bad lines are
    skipped with a warning. ``manifest``: an older ``.manifest.jsonl`` (the object is the
    whole line). ``covers`` collects the files a day index's ``!meta`` line names. ``hosts``:
    only lines whose key starts with one of these ``host_key``s (UTF-8) are parsed (a manifest
    line has no key: it is parsed, and kept if its URL is on one of them).

    The one parser of index lines: ``SeenIndex`` reads the fields it needs straight from
    these, as a look-back reads every entry of 15 days (docs/scaling.md, "The archive on
    object storage").
    """
    lines, where = _every_line(data), "line"  # a bad line is told by its number ...
    if hosts is not None and not manifest:
        lines, where = _lines_on(data, hosts), "the line at byte"  # ... or its offset
    for position, raw in lines:
        line = raw.strip()
        if not line:
            continue
        try:
            payload = orjson.loads(line if manifest else line.split(b" ", 2)[2])
            if not isinstance(payload, dict):
                raise ValueError("not a JSON object")
        except (ValueError, IndexError) as exc:  # orjson.JSONDecodeError (bad UTF-8 too) is a ValueError
            logger.warning("skipping %s %s of %s: %s", where, position, source, exc)
            continue
        if not manifest and line.startswith(META_BYTES):
            names = payload.get("covers")
            if covers is not None and isinstance(names, list):
                covers.update(str(name) for name in names)
            continue
        if manifest and hosts is not None and not on_hosts(payload, hosts):
            continue
        yield payload


def _every_line(data: bytes) -> Iterator[tuple[int, bytes]]:
    # Line by line from the bytes: a day index at scale is hundreds of MB, and a list of its
    # lines as strings would be twice that again.
    return enumerate(io.BytesIO(data), 1)


def _lines_on(data: bytes, hosts: frozenset[bytes]) -> Iterator[tuple[int, bytes]]:
    """The ``!meta`` line and the lines keyed on ``hosts`` of a CDXJ file, found by bisection.

    Lines are sorted by key (``format_cdxj``), and a key starts with its host, so each host's
    lines are one run: a unit reads its own hosts' lines of a day index that holds every host's
    without reading the others (``bench/bench_lookback.py``).
    """
    if data.startswith(META_BYTES):
        yield 0, data[: _line_end(data, 0)]
    for host in sorted(hosts):
        prefix = host + b")"
        at = _first_line_from(data, prefix)
        while at < len(data) and data.startswith(prefix, at):
            end = _line_end(data, at)
            yield at, data[at:end]
            at = end + 1


def _line_end(data: bytes, start: int) -> int:
    end = data.find(b"\n", start)
    return len(data) if end < 0 else end


def _first_line_from(data: bytes, prefix: bytes) -> int:
    """Where the first line that sorts at or after ``prefix`` starts (``len(data)``: none does)."""
    low, high = 0, len(data)
    while low < high:  # every line starting before ``low`` sorts before ``prefix``
        middle = (low + high) // 2
        start = data.rfind(b"\n", 0, middle) + 1  # the line holding byte ``middle``
        if data[start : start + len(prefix)] < prefix:
            low = _line_end(data, middle) + 1
        else:
            high = start
    return min(low, len(data))


def on_hosts(payload: Mapping[str, Any], hosts: frozenset[bytes]) -> bool:
    """Whether an entry read whole (an older manifest's, or one being folded) is on ``hosts``."""
    url = payload.get("canonical_url") or payload.get("final_url")
    return isinstance(url, str) and host_key(url).encode() in hosts


def entries_of(found: Iterable[dict[str, Any]], source: str) -> list[CdxjEntry]:
    entries: list[CdxjEntry] = []
    for payload in found:
        try:
            entries.append(CdxjEntry.from_dict(payload))
        except TypeError as exc:  # a required field is missing
            logger.warning("skipping an entry of %s: %s", source, exc)
    return entries


def parse_cdxj(data: bytes, source: str) -> tuple[list[CdxjEntry], set[str]]:
    """Entries of one CDXJ file and the files its ``!meta`` line covers; bad lines are skipped."""
    covers: set[str] = set()
    return entries_of(payloads(data, source, covers=covers), source), covers


def parse_manifest(data: bytes, source: str) -> list[CdxjEntry]:
    """Entries of an older archive's ``.manifest.jsonl`` (one JSON object a line, same fields)."""
    return entries_of(payloads(data, source, manifest=True), source)


def index_of(warc_path: str) -> tuple[str, str]:
    """The index file a complete WARC has beside it: this version's CDXJ or an older manifest."""
    stem = warc_path.removesuffix(".warc.gz")
    return stem + CDXJ_SUFFIX, stem + MANIFEST_SUFFIX


def index_entries(storage: Storage, path: str) -> list[CdxjEntry]:
    """Entries of one WARC's index file, this version's CDXJ or an older manifest."""
    data = storage.read_bytes(path) or b""
    if path.endswith(MANIFEST_SUFFIX):
        return parse_manifest(data, path)
    return parse_cdxj(data, path)[0]
