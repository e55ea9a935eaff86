"""Archives written before page notes: still replayed, read here and nowhere else.

Until page notes, a poll batch wrote ``feeds-<stamp>-<key>-<n>.warc.gz`` and
``pages-<stamp>-<key>-<n>.warc.gz``, a ``.manifest.jsonl`` beside each (read by
``cdxj.parse_manifest``), a ``pages-<stamp>-<key>.failed.jsonl`` sidecar listing the pages
it could not fetch, and processing left a ``.processed.json`` marker per file. Their pages
carry no notes, so the feed entry of a page is found the way processing found it then:
by parsing the batch's feed responses again and matching canonical URLs.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable

from newsflow.archive.records import ArchivedResponse, PageNote
from newsflow.archive.storage import Storage
from newsflow.feeds import FeedEntry, parse_feed
from newsflow.urls import canonicalize_url

logger = logging.getLogger(__name__)

LEGACY_KINDS = ("feeds", "pages")  # file-name prefixes of a batch's WARCs before page notes
FAILED_SUFFIX = ".failed.jsonl"
FILE_MARKER_SUFFIX = ".processed.json"


def failed_notes(storage: Storage, path: str) -> list[PageNote]:
    """The pages a ``.failed.jsonl`` sidecar lists, as failure notes (bad lines skipped, logged)."""
    notes: list[PageNote] = []
    raw = storage.read_bytes(path) or b""
    for number, line in enumerate(raw.decode("utf-8", "replace").splitlines(), 1):
        if not line.strip():
            continue
        try:
            data = json.loads(line)
            status = data.get("status")
            notes.append(
                PageNote(
                    entry=FeedEntry.from_dict(data["entry"]),
                    failure=str(data.get("reason") or "fetch_failed"),
                    detail=str(data.get("detail") or ""),
                    status=status if isinstance(status, int) else None,
                    ref=data.get("ref") or None,
                )
            )
        except (ValueError, KeyError, TypeError) as exc:
            logger.warning("skipping line %s of %s: %s", number, path, exc)
    return notes


def entries_from_feeds(responses: Iterable[ArchivedResponse]) -> dict[str, FeedEntry]:
    """Canonical URL -> entry, from the batch's feed responses parsed again (the first feed wins)."""
    entries: dict[str, FeedEntry] = {}
    for response in responses:
        if response.kind != "feed" or response.status != 200:
            continue
        parsed = parse_feed(
            response.body,
            feed=response.feed or "",
            base_url=response.url,
            content_type=response.header("content-type") or "",
        )
        for entry in parsed.entries:
            entries.setdefault(entry.canonical_url, entry)
    return entries


def entry_of(page: ArchivedResponse, entries: dict[str, FeedEntry]) -> FeedEntry | None:
    return entries.get(canonicalize_url(page.requested_url))


def file_marker(path: str) -> str:
    """The per-file marker processing used to leave beside a WARC or sidecar."""
    return path.removesuffix(".warc.gz").removesuffix(FAILED_SUFFIX) + FILE_MARKER_SUFFIX
