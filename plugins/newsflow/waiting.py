"""Pages a poll found but has not fetched yet: the page budget's queue, one file per feed.

A poll task fetches at most ``pages_per_batch`` pages; the rest must be found again by a
later run, and the feed itself cannot say so: its next answer is a 304, or the same body,
or the entries have scrolled out of it. So a feed's new entries are written here *before*
its state records the body they came from (write-ahead), and a page leaves the queue only
once it was fetched (or failed with a note). A crash between polling a feed and fetching
its pages therefore loses nothing either: the retry sees the feed unchanged and finds the
entries here. "Already fetched?" stays the archive's question (``SeenIndex``); this queue
never marks anything fetched.

Files are ``<archive>/state/waiting/<feed>.json`` (on any fsspec URL), written whole.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterable, Sequence

from newsflow.archive.storage import Storage
from newsflow.feeds import FeedEntry

logger = logging.getLogger(__name__)

_UNSAFE = re.compile(r"[^A-Za-z0-9_.-]")


class WaitingPages:
    """Entries waiting for their page, per feed, oldest first."""

    def __init__(self, url: str) -> None:
        self._storage = Storage(url.rstrip("/"))

    @classmethod
    def under_archive(cls, archive_root: str) -> WaitingPages:
        return cls(archive_root.rstrip("/") + "/state/waiting")

    def _path(self, feed: str) -> str:
        return self._storage.join(_UNSAFE.sub("_", feed) + ".json")

    def get(self, feed: str) -> list[FeedEntry]:
        path = self._path(feed)
        raw = self._storage.read_bytes(path)
        if not raw:
            return []
        try:
            return [FeedEntry.from_dict(item) for item in json.loads(raw)["entries"]]
        except (ValueError, TypeError, KeyError) as exc:
            # Losing the queue costs pages only if the feed no longer lists them; say so loudly.
            logger.error("waiting pages of feed %s unreadable (%s): %s", feed, exc, path)
            return []

    def put(self, feed: str, entries: Sequence[FeedEntry]) -> None:
        """Replace the feed's queue (an empty queue is written too: the file says "none left")."""
        payload = {"feed": feed, "entries": [e.to_dict() for e in entries]}
        # ensure_ascii: whatever a parser let through, the file can always be written.
        self._storage.write_bytes(self._path(feed), json.dumps(payload, ensure_ascii=True).encode("ascii"))

    def add(self, feed: str, entries: Iterable[FeedEntry]) -> list[FeedEntry]:
        """Append entries not queued yet (by canonical URL; a newer entry replaces its older self)."""
        queued = {e.canonical_url: e for e in self.get(feed)}
        for entry in entries:
            queued[entry.canonical_url] = entry
        merged = list(queued.values())
        self.put(feed, merged)
        return merged
