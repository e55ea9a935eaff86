"""The raw WARC archive: every response we fetched, partitioned by day, on any fsspec URL.

The archive is the source of truth: extraction, replay and backfill read it
with no network at all, so every response (feeds, pages, error pages with a
body) is kept as WARC request/response records. Files are built aside and
moved into place whole, so a crash never leaves a half file that looks done;
a manifest beside each WARC lists what it holds, so "is this URL archived?"
never rescans WARC files.
"""

from __future__ import annotations

import hashlib
import io
import json
import logging
import os
import tempfile
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import fsspec

from newsflow.errors import ConfigError, InputError

if TYPE_CHECKING:
    from newsflow.fetch import FetchResult

logger = logging.getLogger(__name__)

FEED_HEADER = "WARC-Newsflow-Feed"
KIND_HEADER = "WARC-Newsflow-Kind"
REQUESTED_HEADER = "WARC-Newsflow-Requested-URI"
_DROPPED_HEADERS = frozenset({"content-encoding", "transfer-encoding", "content-length"})


class Storage:
    """A directory on any fsspec filesystem, with whole-file atomic writes."""

    def __init__(self, url: str) -> None:
        self.url = url.rstrip("/") or "/"
        self.fs, self.root = fsspec.core.url_to_fs(self.url)
        self.is_local = "file" in _protocols(self.fs)

    def join(self, *parts: str) -> str:
        return "/".join([self.root.rstrip("/"), *parts])

    def display(self, path: str) -> str:
        """The string a reference should carry: a plain path locally, a URL elsewhere."""
        if self.is_local and "://" not in self.url:
            return path
        return str(self.fs.unstrip_protocol(path))

    def read_bytes(self, path: str) -> bytes | None:
        try:
            with self.fs.open(path, "rb") as handle:
                return bytes(handle.read())
        except FileNotFoundError:
            return None

    def write_bytes(self, path: str, data: bytes) -> None:
        parent = path.rsplit("/", 1)[0]
        self.fs.makedirs(parent, exist_ok=True)
        if self.is_local:
            tmp = f"{parent}/.{path.rsplit('/', 1)[1]}.{uuid.uuid4().hex}.tmp"
            with open(tmp, "wb") as handle:  # noqa: PTH123 - fsspec paths are plain strings here
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
            Path(tmp).replace(path)
        else:
            # Object stores publish an object only when the whole upload completes.
            self.fs.pipe_file(path, data)

    def publish_file(self, local_tmp: str, path: str) -> None:
        """Move a finished local temp file to ``path`` atomically."""
        parent = path.rsplit("/", 1)[0]
        self.fs.makedirs(parent, exist_ok=True)
        if self.is_local:
            Path(local_tmp).replace(path)
        else:
            self.fs.put_file(local_tmp, path)
            os.unlink(local_tmp)  # noqa: PTH108 - plain temp path

    def glob(self, pattern: str) -> list[str]:
        return sorted(str(p) for p in self.fs.glob(pattern))


def _protocols(fs: Any) -> tuple[str, ...]:
    protocol = fs.protocol
    return (protocol,) if isinstance(protocol, str) else tuple(protocol)


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


def day_dir(day: date) -> str:
    return f"warc/{day:%Y/%m/%d}"


@dataclass(frozen=True, slots=True)
class ManifestEntry:
    """One archived response as listed in its WARC's manifest."""

    ref: str
    kind: str  # "feed" or "page"
    url: str
    final_url: str
    canonical_url: str | None
    status: int
    feed: str | None
    fetched_at: str
    sha256: str
    length: int
    content_type: str
    entry_updated: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in self.__dataclass_fields__}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ManifestEntry:
        known = set(cls.__dataclass_fields__)
        return cls(**{k: v for k, v in data.items() if k in known})


class ArchiveWriter:
    """Appends request/response pairs to this batch's WARC files; thread-safe.

    Files are ``<root>/warc/YYYY/MM/DD/<batch_id>-<n>.warc.gz`` where the day is
    the run's logical date, so a replay of one run reads one partition.
    """

    def __init__(self, options: ArchiveOptions, *, batch_id: str, day: date) -> None:
        from warcio.warcwriter import WARCWriter

        self._writer_class = WARCWriter
        self.options = options
        self.batch_id = batch_id
        self.day = day
        self.storage = Storage(options.root)
        self._lock = threading.Lock()
        self._n = 0
        self._handle: io.BufferedWriter | None = None
        self._tmp: str | None = None
        self._final: str | None = None
        self._manifest: list[ManifestEntry] = []
        self._warc: Any = None
        self.files: list[str] = []
        self.records = 0

    def __enter__(self) -> ArchiveWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        # Complete records already written stay valuable even if the batch failed.
        self.close()

    def _open(self) -> None:
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
        self._warc = self._writer_class(self._handle, gzip=True)
        self._manifest = []

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
        from warcio.statusandheaders import StatusAndHeaders
        from warcio.timeutils import datetime_to_iso_date

        body = result.body
        headers = [(k, v) for k, v in result.headers if k.lower() not in _DROPPED_HEADERS]
        headers.append(("Content-Length", str(len(body))))
        status_line = f"{result.status} {result.reason_phrase or 'Unknown'}"
        protocol = result.http_version if result.http_version.startswith("HTTP/") else "HTTP/1.1"
        http_headers = StatusAndHeaders(status_line, headers, protocol=protocol)
        warc_date = datetime_to_iso_date(
            result.fetched_at.astimezone(UTC).replace(tzinfo=None), use_micros=True
        )
        extra = {"WARC-Date": warc_date, KIND_HEADER: kind, REQUESTED_HEADER: result.url}
        if feed:
            extra[FEED_HEADER] = feed
        sha = hashlib.sha256(body).hexdigest()
        with self._lock:
            if self._handle is None:
                self._open()
            assert self._handle is not None and self._final is not None
            response = self._warc.create_warc_record(
                result.final_url,
                "response",
                payload=io.BytesIO(body),
                length=len(body),
                warc_headers_dict=extra,
                http_headers=http_headers,
            )
            parts = urlsplit(result.final_url)
            target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
            request_headers = list(result.request_headers) or [("Host", parts.netloc)]
            request = self._warc.create_warc_record(
                result.final_url,
                "request",
                payload=io.BytesIO(b""),
                length=0,
                warc_headers_dict={
                    "WARC-Date": warc_date,
                    "WARC-Concurrent-To": response.rec_headers.get_header("WARC-Record-ID"),
                },
                http_headers=StatusAndHeaders(
                    f"GET {target} HTTP/1.1", request_headers, protocol="", is_http_request=True
                ),
            )
            offset = self._handle.tell()
            self._warc.write_record(response)
            self._warc.write_record(request)
            ref = f"{self.storage.display(self._final)}#{offset}"
            self._manifest.append(
                ManifestEntry(
                    ref=ref,
                    kind=kind,
                    url=result.url,
                    final_url=result.final_url,
                    canonical_url=canonical_url,
                    status=result.status,
                    feed=feed,
                    fetched_at=warc_date,
                    sha256=sha,
                    length=len(body),
                    content_type=result.content_type,
                    entry_updated=entry_updated,
                )
            )
            self.records += 1
            if self._handle.tell() >= self.options.max_file_bytes:
                self._finish()
        return ref

    def _finish(self) -> None:
        if self._handle is None or self._tmp is None or self._final is None:
            return
        self._handle.flush()
        os.fsync(self._handle.fileno())
        self._handle.close()
        self._handle = None
        self.storage.publish_file(self._tmp, self._final)
        # The manifest goes last: a WARC without one was cut short and is not counted as indexed.
        manifest = "".join(json.dumps(m.to_dict(), sort_keys=True) + "\n" for m in self._manifest)
        self.storage.write_bytes(_manifest_path(self._final), manifest.encode("utf-8"))
        self.files.append(self.storage.display(self._final))
        logger.info("archived %s records into %s", len(self._manifest), self._final)
        self._tmp = None
        self._final = None

    def close(self) -> list[str]:
        with self._lock:
            self._finish()
        return list(self.files)


def _manifest_path(warc_path: str) -> str:
    return warc_path.removesuffix(".warc.gz") + ".manifest.jsonl"


@dataclass(frozen=True, slots=True)
class ArchivedResponse:
    """A response read back from the archive (what extraction consumes)."""

    ref: str
    url: str  # the URL the bytes came from (after redirects)
    requested_url: str
    status: int
    headers: tuple[tuple[str, str], ...]
    body: bytes
    fetched_at: str
    kind: str
    feed: str | None

    def header(self, name: str) -> str | None:
        lowered = name.lower()
        for key, value in self.headers:
            if key.lower() == lowered:
                return value
        return None


def _split_ref(ref: str) -> tuple[str, int]:
    location, sep, offset = ref.rpartition("#")
    if not sep or not offset.isdigit() or not location:
        raise InputError(f"archive reference {ref!r} must look like '<warc path>#<offset>'")
    return location, int(offset)


def _to_response(record: Any, ref: str) -> ArchivedResponse:
    rec = record.rec_headers
    http = record.http_headers
    status = int(http.get_statuscode()) if http is not None else 0
    headers = tuple((str(k), str(v)) for k, v in http.headers) if http is not None else ()
    return ArchivedResponse(
        ref=ref,
        url=str(rec.get_header("WARC-Target-URI")),
        requested_url=str(rec.get_header(REQUESTED_HEADER) or rec.get_header("WARC-Target-URI")),
        status=status,
        headers=headers,
        body=record.content_stream().read(),
        fetched_at=str(rec.get_header("WARC-Date")),
        kind=str(rec.get_header(KIND_HEADER) or "page"),
        feed=rec.get_header(FEED_HEADER),
    )


def read_record(ref: str) -> ArchivedResponse:
    """Read the response a reference points at, without scanning the file."""
    from warcio.archiveiterator import ArchiveIterator

    location, offset = _split_ref(ref)
    try:
        with fsspec.open(location, "rb") as handle:
            handle.seek(offset)
            for record in ArchiveIterator(handle):
                if record.rec_type != "response":
                    break
                return _to_response(record, ref)
    except FileNotFoundError as exc:
        raise InputError(f"archive reference {ref!r}: WARC file not found") from exc
    raise InputError(f"archive reference {ref!r}: no response record at offset {offset}")


def _days(start: date, end: date) -> Iterator[date]:
    day = start
    while day <= end:
        yield day
        day += timedelta(days=1)


def _as_date(value: date | datetime) -> date:
    return value.astimezone(UTC).date() if isinstance(value, datetime) else value


def warc_files(root: str, start: date | datetime, end: date | datetime) -> list[str]:
    """Complete WARC files (those with a manifest) in day partitions ``start``..``end`` inclusive."""
    storage = Storage(root)
    files: list[str] = []
    for day in _days(_as_date(start), _as_date(end)):
        for path in storage.glob(storage.join(day_dir(day), "*.warc.gz")):
            if storage.fs.exists(_manifest_path(path)):
                files.append(storage.display(path))
    return files


def iter_responses(
    root: str, start: date | datetime, end: date | datetime, *, kind: str | None = None
) -> Iterator[ArchivedResponse]:
    """Every archived response in the day partitions ``start``..``end`` (inclusive), in write order."""
    from warcio.archiveiterator import ArchiveIterator

    for location in warc_files(root, start, end):
        with fsspec.open(location, "rb") as handle:
            iterator = ArchiveIterator(handle)
            for record in iterator:
                if record.rec_type != "response":
                    continue
                if kind is not None and (record.rec_headers.get_header(KIND_HEADER) or "page") != kind:
                    continue
                # Read the body before asking for the offset: warcio skips to the record's end for it.
                response = _to_response(record, "")
                yield replace(response, ref=f"{location}#{iterator.get_record_offset()}")


class ArchiveIndex:
    """Canonical URLs of pages already archived with a 2xx answer (from the manifests).

    Loaded once per batch; pages archived during the batch are added as they
    go, so the same article linked by two feeds is fetched once.
    """

    def __init__(self) -> None:
        self._updated: dict[str, str | None] = {}
        self._lock = threading.Lock()

    @classmethod
    def load(cls, root: str) -> ArchiveIndex:
        index = cls()
        storage = Storage(root)
        for path in storage.glob(storage.join("warc", "*", "*", "*", "*.manifest.jsonl")):
            data = storage.read_bytes(path) or b""
            for line in data.decode("utf-8").splitlines():
                if not line.strip():
                    continue
                try:
                    entry = ManifestEntry.from_dict(json.loads(line))
                except (ValueError, TypeError) as exc:
                    logger.warning("skipping bad manifest line in %s: %s", path, exc)
                    continue
                index.add(entry)
        return index

    def add(self, entry: ManifestEntry) -> None:
        if entry.kind != "page" or not entry.canonical_url or not 200 <= entry.status < 300:
            return
        self.mark(entry.canonical_url, entry.entry_updated)

    def mark(self, canonical_url: str, updated: str | None) -> None:
        with self._lock:
            previous = self._updated.get(canonical_url)
            if canonical_url not in self._updated or (updated and (previous is None or updated > previous)):
                self._updated[canonical_url] = updated

    def __len__(self) -> int:
        return len(self._updated)

    def __contains__(self, canonical_url: object) -> bool:
        return canonical_url in self._updated

    def is_current(self, canonical_url: str, updated: str | None) -> bool:
        """True if archived and the feed does not say the article changed since."""
        with self._lock:
            if canonical_url not in self._updated:
                return False
            recorded = self._updated[canonical_url]
        if updated is None:
            return True
        return recorded is not None and updated <= recorded
