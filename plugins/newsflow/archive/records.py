"""What the archive holds, read back: responses, and the poll's notes about each page.

A WARC of ours holds, per fetch, a ``response`` and its ``request``; per page the poll
also writes a ``metadata`` record (a ``PageNote``: the feed entry that led to the page
and, when the page could not be used, why). Processing reads a WARC once, front to
back, and gets both, so it never parses a feed again nor looks for a sidecar file.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

import fsspec
from warcio.archiveiterator import ArchiveIterator

from newsflow.errors import InputError
from newsflow.feeds import FeedEntry
from newsflow.textsafe import without_lone_surrogates

logger = logging.getLogger(__name__)

FEED_HEADER = "WARC-Newsflow-Feed"
KIND_HEADER = "WARC-Newsflow-Kind"  # "feed" or "page" on responses, NOTE_KIND on our metadata records
REQUESTED_HEADER = "WARC-Newsflow-Requested-URI"
NOTE_KIND = "page-note"


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
    record_id: str = ""  # WARC-Record-ID, what a page note refers to

    def header(self, name: str) -> str | None:
        lowered = name.lower()
        for key, value in self.headers:
            if key.lower() == lowered:
                return value
        return None


@dataclass(frozen=True, slots=True)
class PageNote:
    """What the poll knew about one page: its feed entry and, if the page is unusable, why.

    ``failure`` is a counted reason code (``timeout``, ``http_4xx``, ``not_html``, ...);
    ``ref`` is the archived response, when one was written (``refers_to`` its record id).
    """

    entry: FeedEntry
    failure: str | None = None
    detail: str = ""
    status: int | None = None
    ref: str | None = None
    refers_to: str | None = field(default=None, compare=False)

    def to_json(self) -> bytes:
        data = {
            "entry": self.entry.to_dict(),
            "failure": self.failure,
            "detail": self.detail,
            "status": self.status,
        }
        # A note must always be writable: it is what keeps a failed page's feed summary.
        cleaned, _ = without_lone_surrogates(data)
        return json.dumps(cleaned, ensure_ascii=False, sort_keys=True).encode("utf-8")

    @classmethod
    def from_json(cls, payload: bytes, refers_to: str | None) -> PageNote:
        data: Mapping[str, Any] = json.loads(payload.decode("utf-8"))
        status = data.get("status")
        return cls(
            entry=FeedEntry.from_dict(data["entry"]),
            failure=data.get("failure") or None,
            detail=str(data.get("detail") or ""),
            status=status if isinstance(status, int) else None,
            refers_to=refers_to,
        )


@dataclass(frozen=True, slots=True)
class WarcContents:
    """One WARC file, read in one pass: responses in write order and the page notes."""

    responses: tuple[ArchivedResponse, ...]
    notes: tuple[PageNote, ...]


def split_ref(ref: str) -> tuple[str, int]:
    """``(warc location, byte offset)`` of a ``<warc path>#<offset>`` reference."""
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
        record_id=str(rec.get_header("WARC-Record-ID") or ""),
    )


def read_record(ref: str) -> ArchivedResponse:
    """Read the response a reference points at, without scanning the file."""
    location, offset = split_ref(ref)
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


def read_warc(location: str) -> WarcContents:
    """Every response and page note of one WARC, in one pass (notes get their response's ref)."""
    responses: list[ArchivedResponse] = []
    notes: list[PageNote] = []
    with fsspec.open(location, "rb") as handle:
        iterator = ArchiveIterator(handle)
        for record in iterator:
            if record.rec_type == "response":
                # Read the body before asking for the offset: warcio skips to the record's end for it.
                response = _to_response(record, "")
                responses.append(replace(response, ref=f"{location}#{iterator.get_record_offset()}"))
            elif record.rec_type == "metadata" and record.rec_headers.get_header(KIND_HEADER) == NOTE_KIND:
                payload = record.content_stream().read()
                try:
                    notes.append(PageNote.from_json(payload, record.rec_headers.get_header("WARC-Refers-To")))
                except (ValueError, KeyError, TypeError) as exc:
                    logger.warning("skipping an unreadable page note in %s: %s", location, exc)
    by_id = {r.record_id: r.ref for r in responses if r.record_id}
    linked = tuple(replace(n, ref=by_id.get(n.refers_to or "")) for n in notes)
    return WarcContents(tuple(responses), linked)
