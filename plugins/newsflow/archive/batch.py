"""One poll batch in the archive: its name, its files, its processing marker, its time window.

A batch is what one poll task wrote: ``poll-<stamp>-<key>-<n>.warc.gz`` (and each WARC's
``.cdxj``) in the folder of the run's logical day, where ``<stamp>`` is that logical time
and ``<key>`` a hash of the batch's feed names. The naming lives here and nowhere else:
the flows pass batch references (``<day folder>/<stamp>-<key>``) and ask a batch for its
files, its contents (read once, with each page's feed entry) and whether the current
extractor has processed it. Because names carry the logical time, a backfill selects
exactly what the original runs archived, whatever the clock says.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from newsflow.archive.cdxj import index_entries, index_of
from newsflow.archive.legacy import (
    FAILED_SUFFIX,
    LEGACY_KINDS,
    entries_from_feeds,
    entry_of,
    failed_notes,
    file_marker,
)
from newsflow.archive.records import ArchivedResponse, PageNote, read_warc
from newsflow.archive.storage import Storage, day_dir, days
from newsflow.archive.writer import ArchiveOptions, ArchiveWriter
from newsflow.errors import InputError
from newsflow.feeds import FeedEntry
from newsflow.timestamps import as_utc

logger = logging.getLogger(__name__)

BATCH_KIND = "poll"
MARKER_SUFFIX = ".processed.json"
_STAMP = "%Y%m%dT%H%M%SZ"
_FILE = re.compile(
    r"^(?P<kind>poll|feeds|pages)-(?P<stamp>\d{8}T\d{6}Z)-(?P<key>[0-9a-f]{8})"
    r"(?P<rest>-\d{5}\.warc\.gz|-\d{5}\.cdxj|-\d{5}\.manifest\.jsonl|\.failed\.jsonl)$"
)
_REF = re.compile(r"^(?P<folder>.+)/(?P<stamp>\d{8}T\d{6}Z)-(?P<key>[0-9a-f]{8})$")


@dataclass(frozen=True, slots=True)
class ArchivedPage:
    """A page response with the feed entry that led to it (None when the batch does not say)."""

    response: ArchivedResponse
    entry: FeedEntry | None


@dataclass(frozen=True, slots=True)
class BatchContents:
    """What processing reads from a batch: its pages in write order and the pages that failed."""

    pages: tuple[ArchivedPage, ...]
    failures: tuple[PageNote, ...]  # every page the poll could not use, in the poll's order
    files: tuple[str, ...]


@dataclass(frozen=True, slots=True, order=True)
class ArchiveBatch:
    """A poll batch: the logical time it was written for, its key, and its day folder."""

    stamp: str  # logical time, ``YYYYMMDDTHHMMSSZ``
    key: str  # 8 hex digits of the hash of the batch's feed names
    folder: str  # the day folder, as references carry it (a local path or a URL)

    @classmethod
    def for_poll(cls, root: str, when: datetime, feed_names: Iterable[str]) -> ArchiveBatch:
        """The batch a poll of ``feed_names`` at logical time ``when`` writes (the same on a rerun)."""
        when = as_utc(when)
        key = hashlib.sha256("\n".join(sorted(feed_names)).encode()).hexdigest()[:8]
        storage = Storage(root)
        return cls(f"{when:{_STAMP}}", key, storage.display(storage.join(day_dir(when.date()))))

    @classmethod
    def at(cls, ref: str) -> ArchiveBatch:
        """The batch a reference (``ArchiveBatch.ref``) names."""
        match = _REF.match(ref)
        if match is None:
            raise InputError(f"{ref!r} is not an archive batch reference ('<day folder>/<stamp>-<key>')")
        return cls(match["stamp"], match["key"], match["folder"])

    @classmethod
    def of_file(cls, path: str) -> ArchiveBatch | None:
        """The batch an archived file belongs to (this version's names or older ones), else None."""
        folder, _, name = path.rpartition("/")
        match = _FILE.match(name)
        return cls(match["stamp"], match["key"], folder) if match and folder else None

    @property
    def ref(self) -> str:
        return f"{self.folder}/{self.stamp}-{self.key}"

    @property
    def logical(self) -> datetime:
        return as_utc(datetime.strptime(self.stamp, _STAMP))

    @property
    def day(self) -> date:
        return self.logical.date()

    def writer(self, options: ArchiveOptions) -> ArchiveWriter:
        return ArchiveWriter(options, batch_id=f"{BATCH_KIND}-{self.stamp}-{self.key}", day=self.day)

    def _storage(self) -> Storage:
        return Storage(self.folder)

    def _complete(self, listing: FolderListing | None) -> tuple[Storage, list[tuple[str, str]], list[str]]:
        """(storage, [(complete WARC, its index)], older failure sidecars) as storage paths.

        A WARC is complete once its index is beside it (this version's CDXJ, else an older
        manifest): a WARC without one was cut short and is not part of the batch.
        """
        if listing is not None:
            storage, listed = listing.files_of(self)
        else:
            storage = self._storage()
            listed = storage.listdir(storage.root, f"*-{self.stamp}-{self.key}*")
        names = {path.rsplit("/", 1)[1] for path in listed}
        warcs: list[tuple[str, str]] = []
        sidecars: list[str] = []
        for path in listed:
            name = path.rsplit("/", 1)[1]
            if not _FILE.match(name):
                continue
            if name.endswith(".warc.gz"):
                index = next((i for i in index_of(path) if i.rsplit("/", 1)[1] in names), None)
                if index is not None:
                    warcs.append((path, index))
            elif name.endswith(FAILED_SUFFIX):
                sidecars.append(path)
        return storage, warcs, sidecars

    def files(self, listing: FolderListing | None = None) -> tuple[list[str], list[str]]:
        """(complete WARCs, older failure sidecars) of this batch, in name order; ``listing``
        when many batches are asked in one call."""
        storage, warcs, sidecars = self._complete(listing)
        return [storage.display(w) for w, _ in warcs], [storage.display(p) for p in sidecars]

    def pages(self, listing: FolderListing | None = None) -> int:
        """Pages the batch's complete WARCs hold, counted in their indexes (no WARC is opened).
        Pages the poll could not fetch are not counted: they cost no extraction."""
        storage, warcs, _ = self._complete(listing)
        return sum(e.kind == "page" for _, index in warcs for e in index_entries(storage, index))

    def read(self, listing: FolderListing | None = None) -> BatchContents:
        """Pages and failures of the batch, each WARC read once, front to back."""
        warcs, sidecars = self.files(listing)
        contents = [read_warc(path) for path in warcs]
        responses = [r for c in contents for r in c.responses]
        pages = [r for r in responses if r.kind != "feed"]
        legacy = any(p.rsplit("/", 1)[1].startswith(LEGACY_KINDS) for p in [*warcs, *sidecars])
        if legacy:
            entries = entries_from_feeds(responses)
            storage = self._storage()
            return BatchContents(
                pages=tuple(ArchivedPage(r, entry_of(r, entries)) for r in pages),
                failures=tuple(n for path in sidecars for n in failed_notes(storage, path)),
                files=(*warcs, *sidecars),
            )
        notes = [n for c in contents for n in c.notes]
        by_ref = {n.ref: n.entry for n in notes if n.ref}
        return BatchContents(
            pages=tuple(ArchivedPage(r, by_ref.get(r.ref)) for r in pages),
            failures=tuple(n for n in notes if n.failure),
            files=tuple(warcs),
        )

    def _marker(self) -> str:
        storage = self._storage()
        return storage.join(f"{self.stamp}-{self.key}{MARKER_SUFFIX}")

    def is_processed(self, version: str, listing: FolderListing | None = None) -> bool:
        """Whether ``version`` of the extractor has processed every file the batch holds now.

        A rerun of the poll adds files to its batch; then the batch is processed again
        (idempotent: unchanged articles are left as they are). Older per-file markers count.
        """
        storage = self._storage()
        warcs, sidecars = self.files(listing)
        names = {path.rsplit("/", 1)[1] for path in [*warcs, *sidecars]}
        marker = _read_marker(storage, self._marker())
        done = marker.get("files")
        if marker.get("extractor_version") == version and isinstance(done, list) and names <= set(done):
            return True
        olds = [storage.join(name) for name in sorted(names)]
        return bool(olds) and all(
            _read_marker(storage, file_marker(path)).get("extractor_version") == version for path in olds
        )

    def mark_processed(self, version: str, run_id: str, files: Iterable[str]) -> None:
        """Record that ``version`` processed these files of the batch (``BatchContents.files``)."""
        names = sorted({path.rsplit("/", 1)[1] for path in files})
        payload = json.dumps({"extractor_version": version, "run_id": run_id, "files": names}, sort_keys=True)
        self._storage().write_bytes(self._marker(), payload.encode("utf-8"))


class FolderListing:
    """Day folders listed once each, their files grouped by batch.

    A day folder holds every batch of its day, hundreds of thousands of files at scale, and
    a listing costs about a microsecond a file on a local disk (docs/scaling.md). A call that asks many
    batches for their files passes one of these, so each folder is listed once, not once per
    batch. It sees the folders as they were when first asked: for one call, not to keep.
    """

    def __init__(self) -> None:
        self._folders: dict[str, tuple[Storage, dict[tuple[str, str], list[str]]]] = {}

    def files_of(self, batch: ArchiveBatch) -> tuple[Storage, list[str]]:
        """The batch's storage and the paths of its files, in name order."""
        if batch.folder not in self._folders:
            storage = Storage(batch.folder)
            grouped: dict[tuple[str, str], list[str]] = {}
            for path in storage.listdir(storage.root):
                match = _FILE.match(path.rsplit("/", 1)[1])
                if match:
                    grouped.setdefault((match["stamp"], match["key"]), []).append(path)
            self._folders[batch.folder] = (storage, grouped)
        storage, grouped = self._folders[batch.folder]
        return storage, grouped.get((batch.stamp, batch.key), [])


def _read_marker(storage: Storage, path: str) -> dict[str, object]:
    raw = storage.read_bytes(path)
    if raw is None:
        return {}
    try:
        data = json.loads(raw)
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


def _as_day(value: date | datetime) -> date:
    return as_utc(value).date() if isinstance(value, datetime) else value


def warc_files(root: str, start: date | datetime, end: date | datetime) -> list[str]:
    """Complete WARC files (those with an index) in the day folders ``start`` .. ``end`` inclusive."""
    storage = Storage(root)
    files: list[str] = []
    for day in days(_as_day(start), _as_day(end)):
        listed = storage.listdir(storage.join(day_dir(day)))
        names = {path.rsplit("/", 1)[1] for path in listed}
        files.extend(
            storage.display(path)
            for path in listed
            if path.endswith(".warc.gz") and any(i.rsplit("/", 1)[1] in names for i in index_of(path))
        )
    return files


def iter_responses(
    root: str, start: date | datetime, end: date | datetime, *, kind: str | None = None
) -> Iterator[ArchivedResponse]:
    """Every archived response in the day folders ``start`` .. ``end`` (inclusive), in write order."""
    for location in warc_files(root, start, end):
        for response in read_warc(location).responses:
            if kind is None or response.kind == kind:
                yield response


def batches_in_window(root: str, start: datetime, end: datetime) -> list[ArchiveBatch]:
    """Batches written for a logical time in ``[start, end)`` that hold a complete WARC or a sidecar."""
    lo, hi = as_utc(start), as_utc(end)
    storage = Storage(root)
    found: set[ArchiveBatch] = set()
    for day in days(lo.date(), (hi - timedelta(microseconds=1)).date()):
        listed = storage.listdir(storage.join(day_dir(day)))
        names = {path.rsplit("/", 1)[1] for path in listed}
        for path in listed:
            batch = ArchiveBatch.of_file(storage.display(path))
            name = path.rsplit("/", 1)[1]
            if batch is None or not lo <= batch.logical < hi:
                continue
            complete = name.endswith(FAILED_SUFFIX) or (
                name.endswith(".warc.gz") and any(i.rsplit("/", 1)[1] in names for i in index_of(path))
            )
            if complete:
                found.add(batch)
    return sorted(found)


def page_counts(batches: Iterable[ArchiveBatch]) -> dict[str, int]:
    """Pages of each batch by reference, what a process unit is filled by (``flows.plan``):
    one listing per day folder and one index read per WARC."""
    listing = FolderListing()
    return {batch.ref: batch.pages(listing) for batch in batches}


def batches_of_files(paths: Iterable[str]) -> tuple[list[ArchiveBatch], list[str]]:
    """The batches these archived files belong to, and the paths that name no batch."""
    found: set[ArchiveBatch] = set()
    unknown: list[str] = []
    for path in paths:
        batch = ArchiveBatch.of_file(path)
        if batch is None:
            unknown.append(path)
        else:
            found.add(batch)
    return sorted(found), unknown
