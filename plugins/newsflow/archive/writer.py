"""Writing the archive: request/response pairs, page notes, and each WARC's CDXJ index.

Files are built aside and moved into place whole, so a crash never leaves a half file
that looks done; the index goes last, so a WARC without one was cut short.
"""

from __future__ import annotations

import hashlib
import io
import logging
import os
import re
import tempfile
import threading
import uuid
from dataclasses import dataclass
from datetime import date, datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from warcio.statusandheaders import StatusAndHeaders
from warcio.timeutils import datetime_to_iso_date
from warcio.warcwriter import WARCWriter

from newsflow.archive.cdxj import CdxjEntry, format_cdxj, index_of
from newsflow.archive.records import FEED_HEADER, KIND_HEADER, NOTE_KIND, REQUESTED_HEADER, PageNote
from newsflow.archive.storage import Storage, day_dir
from newsflow.errors import ConfigError
from newsflow.timestamps import as_utc, now_utc

if TYPE_CHECKING:
    from newsflow.fetch import FetchResult

logger = logging.getLogger(__name__)

_NUMBER = re.compile(r"-(\d{5})\.warc\.gz$")
_DROPPED_HEADERS = frozenset({"content-encoding", "transfer-encoding", "content-length"})


@dataclass(frozen=True, slots=True)
class ArchiveOptions:
    """Where the archive lives (local path or fsspec URL) and how big a WARC file may grow."""

    root: str
    max_file_bytes: int = 256 * 1024 * 1024

    def __post_init__(self) -> None:
        if not self.root or not self.root.strip():
            raise ConfigError(
                "ArchiveOptions.root must be a directory path or fsspec URL (e.g. s3://bucket/x)"
            )
        if self.max_file_bytes < 1024:
            raise ConfigError(f"ArchiveOptions.max_file_bytes must be >= 1024, got {self.max_file_bytes}")


def _warc_date(when: datetime) -> str:
    return str(datetime_to_iso_date(as_utc(when).replace(tzinfo=None), use_micros=True))


class ArchiveWriter:
    """Appends records to this batch's WARC files; thread-safe.

    Files are ``<root>/warc/YYYY/MM/DD/<batch_id>-<n>.warc.gz`` where the day is the
    run's logical date, so a replay of one run reads one partition.
    """

    def __init__(self, options: ArchiveOptions, *, batch_id: str, day: date) -> None:
        self.options = options
        self.batch_id = batch_id
        self.day = day
        self.storage = Storage(options.root)
        self._lock = threading.Lock()
        self._n = 0
        self._handle: io.BufferedWriter | None = None
        self._tmp: str | None = None
        self._final: str | None = None
        self._index: list[CdxjEntry] = []
        self._record_ids: dict[str, str] = {}  # ref -> WARC-Record-ID, for notes that refer to it
        self._warc: Any = None
        self.files: list[str] = []
        self.records = 0

    def __enter__(self) -> ArchiveWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        # Complete records already written stay valuable even if the batch failed.
        self.close()

    def _open(self) -> None:
        if self._n == 0:
            # A rerun of the batch adds files after the ones an earlier run left, never over them.
            existing = self.storage.listdir(
                self.storage.join(day_dir(self.day)), f"{self.batch_id}-*.warc.gz"
            )
            numbers = [int(m[1]) for p in existing if (m := _NUMBER.search(p))]
            self._n = max(numbers, default=0)
        self._n += 1
        name = f"{self.batch_id}-{self._n:05d}.warc.gz"
        self._final = self.storage.join(day_dir(self.day), name)
        if self.storage.is_local:
            parent = self._final.rsplit("/", 1)[0]
            self.storage.fs.makedirs(parent, exist_ok=True)
            self._tmp = f"{parent}/.{name}.{uuid.uuid4().hex}.tmp"
        else:
            handle, self._tmp = tempfile.mkstemp(prefix="newsflow-", suffix=".warc.gz")
            os.close(handle)
        self._handle = open(self._tmp, "wb")  # noqa: PTH123, SIM115 - closed in _finish
        self._warc = WARCWriter(self._handle, gzip=True)
        self._index = []

    def _current(self) -> tuple[io.BufferedWriter, str]:
        if self._handle is None:
            self._open()
        assert self._handle is not None and self._final is not None
        return self._handle, self._final

    def write(
        self,
        result: FetchResult,
        *,
        kind: str,
        feed: str | None = None,
        canonical_url: str | None = None,
        entry_updated: str | None = None,
    ) -> str:
        """Archive one response (and the request that produced it); returns its reference."""
        body = result.body
        headers = [(k, v) for k, v in result.headers if k.lower() not in _DROPPED_HEADERS]
        headers.append(("Content-Length", str(len(body))))
        status_line = f"{result.status} {result.reason_phrase or 'Unknown'}"
        protocol = result.http_version if result.http_version.startswith("HTTP/") else "HTTP/1.1"
        warc_date = _warc_date(result.fetched_at)
        extra = {"WARC-Date": warc_date, KIND_HEADER: kind, REQUESTED_HEADER: result.url}
        if feed:
            extra[FEED_HEADER] = feed
        parts = urlsplit(result.final_url)
        target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        request_headers = list(result.request_headers) or [("Host", parts.netloc)]
        with self._lock:
            handle, final = self._current()
            response = self._warc.create_warc_record(
                result.final_url,
                "response",
                payload=io.BytesIO(body),
                length=len(body),
                warc_headers_dict=extra,
                http_headers=StatusAndHeaders(status_line, headers, protocol=protocol),
            )
            record_id = str(response.rec_headers.get_header("WARC-Record-ID"))
            request = self._warc.create_warc_record(
                result.final_url,
                "request",
                payload=io.BytesIO(b""),
                length=0,
                warc_headers_dict={"WARC-Date": warc_date, "WARC-Concurrent-To": record_id},
                http_headers=StatusAndHeaders(
                    f"GET {target} HTTP/1.1", request_headers, protocol="", is_http_request=True
                ),
            )
            offset = handle.tell()
            self._warc.write_record(response)
            self._warc.write_record(request)
            ref = f"{self.storage.display(final)}#{offset}"
            self._record_ids[ref] = record_id
            self._index.append(
                CdxjEntry(
                    ref=ref,
                    kind=kind,
                    url=result.url,
                    final_url=result.final_url,
                    canonical_url=canonical_url,
                    status=result.status,
                    feed=feed,
                    fetched_at=warc_date,
                    sha256=hashlib.sha256(body).hexdigest(),
                    length=len(body),
                    content_type=result.content_type,
                    entry_updated=entry_updated,
                )
            )
            self._after_write(handle)
        return ref

    def note(self, note: PageNote) -> None:
        """Write what the poll knew about a page as a ``metadata`` record (refers to its response)."""
        payload = note.to_json()
        headers = {"WARC-Date": _warc_date(now_utc()), KIND_HEADER: NOTE_KIND}
        with self._lock:
            handle, _final = self._current()
            record_id = self._record_ids.get(note.ref or "")
            if record_id:
                headers["WARC-Refers-To"] = record_id
            record = self._warc.create_warc_record(
                note.entry.url,
                "metadata",
                payload=io.BytesIO(payload),
                length=len(payload),
                warc_content_type="application/json",
                warc_headers_dict=headers,
            )
            self._warc.write_record(record)
            self._after_write(handle)

    def _after_write(self, handle: io.BufferedWriter) -> None:
        self.records += 1
        if handle.tell() >= self.options.max_file_bytes:
            self._finish()

    def _finish(self) -> None:
        if self._handle is None or self._tmp is None or self._final is None:
            return
        self._handle.flush()
        os.fsync(self._handle.fileno())
        self._handle.close()
        self._handle = None
        self.storage.publish_file(self._tmp, self._final)
        # The index goes last: a WARC without one was cut short and is not counted as archived.
        cdxj, _legacy = index_of(self._final)
        self.storage.write_bytes(cdxj, format_cdxj(self._index))
        self.files.append(self.storage.display(self._final))
        logger.info("archived %s responses into %s", len(self._index), self._final)
        self._tmp = None
        self._final = None

    def close(self) -> list[str]:
        with self._lock:
            self._finish()
        return list(self.files)
