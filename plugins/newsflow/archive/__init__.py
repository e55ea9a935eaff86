"""The raw WARC archive: every response we fetched, partitioned by day, on any fsspec URL.

The archive is the source of truth: extraction, replay and backfill read it with no
network at all, so every response (feeds, pages, error pages with a body) is kept as WARC
request/response records, and beside each page a ``metadata`` record with what the poll
knew about it (``PageNote``). ``ArchiveBatch`` owns a poll batch's naming, files, markers
and time window; each WARC has a CDXJ index, and ``SeenIndex`` answers "fetched already?"
from a bounded number of days. Older archives (sidecars, manifests) are read by ``legacy``.
"""

from newsflow.archive.batch import (
    ArchiveBatch,
    ArchivedPage,
    BatchContents,
    FolderListing,
    batches_in_window,
    batches_of_files,
    iter_responses,
    page_counts,
    warc_files,
)
from newsflow.archive.cdxj import CdxjEntry
from newsflow.archive.dayindex import read_day
from newsflow.archive.records import ArchivedResponse, PageNote, read_record, read_warc
from newsflow.archive.seen import SeenIndex
from newsflow.archive.storage import Storage, day_dir
from newsflow.archive.writer import ArchiveOptions, ArchiveWriter

__all__ = [
    "ArchiveBatch",
    "ArchiveOptions",
    "ArchiveWriter",
    "ArchivedPage",
    "ArchivedResponse",
    "BatchContents",
    "CdxjEntry",
    "FolderListing",
    "PageNote",
    "SeenIndex",
    "Storage",
    "batches_in_window",
    "batches_of_files",
    "day_dir",
    "iter_responses",
    "page_counts",
    "read_day",
    "read_record",
    "read_warc",
    "warc_files",
]
