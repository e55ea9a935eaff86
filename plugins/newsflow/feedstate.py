"""Durable per-feed state: conditional-GET validators, body hash and health counters.

Polling every feed every few minutes is only polite if we send ``If-None-Match``
/ ``If-Modified-Since`` and skip bodies we have already seen, so this state
must survive between Airflow runs and workers. The store is a protocol so the
JSON-on-fsspec default can be swapped for a shared database.
"""

from __future__ import annotations

import json
import logging
import re
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from typing import Protocol

from newsflow.archive.storage import Storage
from newsflow.jsontypes import JsonObject, JsonValue, as_list
from newsflow.stored_fields import string, whole
from newsflow.timestamps import iso_z, parse_utc_or_none

logger = logging.getLogger(__name__)

_UNSAFE = re.compile(r"[^A-Za-z0-9_.-]")


@dataclass(frozen=True, slots=True)
class FeedState:
    """What we remember about one feed between polls."""

    name: str
    etag: str | None = None
    last_modified: str | None = None
    body_sha256: str | None = None
    last_status: int | None = None
    last_outcome: str | None = None
    last_fetch: str | None = None  # logical time of the last poll (ISO UTC)
    last_success: str | None = None
    polls: int = 0
    not_modified: int = 0  # 304 answers
    unchanged: int = 0  # 200 answers whose body hash matched (ETag-that-lies included)
    error_streak: int = 0
    errors: int = 0
    entries_seen: int = 0
    last_error: str | None = None  # reason and detail, as the failure said it
    last_reason: str | None = None  # the short counted reason of the last failure (``http_404``)
    newest_item: str | None = None  # the newest entry date the feed has shown (ISO UTC)
    pages_waiting: int = 0  # pages found but left for a later run by the page budget
    # Where its entries' pages live ("https://www.example.com"), most linked first, from its last
    # changed body: a poll unit reads the look-back for these hosts with its feeds' own
    # (``archive.SeenIndex``), rather than again when a feed on ``feeds.example.com`` links there.
    page_sites: tuple[str, ...] = ()

    @property
    def not_modified_ratio(self) -> float:
        return self.not_modified / self.polls if self.polls else 0.0

    def conditional_headers(self) -> dict[str, str]:
        headers: dict[str, str] = {}
        if self.etag:
            headers["If-None-Match"] = self.etag
        if self.last_modified:
            headers["If-Modified-Since"] = self.last_modified
        return headers

    def to_dict(self) -> dict[str, JsonValue]:
        data: dict[str, JsonValue] = asdict(self)
        data["not_modified_ratio"] = round(self.not_modified_ratio, 4)
        return data

    @classmethod
    def from_dict(cls, data: JsonObject) -> FeedState:
        """The state as stored, each field read for its type: a field of another type (a hand
        edit, an older writer) reads as unknown rather than failing the poll that adds to it.
        Only a missing name is refused (``ValueError``): the state is no feed's then."""
        name = data.get("name")
        if not isinstance(name, str) or not name:
            raise ValueError("feed state without a name")

        def text(key: str) -> str | None:
            return string(data.get(key))

        def count(key: str) -> int:
            return whole(data.get(key)) or 0

        return cls(
            name=name,
            etag=text("etag"),
            last_modified=text("last_modified"),
            body_sha256=text("body_sha256"),
            last_status=whole(data.get("last_status")),
            last_outcome=text("last_outcome"),
            last_fetch=text("last_fetch"),
            last_success=text("last_success"),
            polls=count("polls"),
            not_modified=count("not_modified"),
            unchanged=count("unchanged"),
            error_streak=count("error_streak"),
            errors=count("errors"),
            entries_seen=count("entries_seen"),
            last_error=text("last_error"),
            last_reason=text("last_reason"),
            newest_item=text("newest_item"),
            pages_waiting=count("pages_waiting"),
            page_sites=tuple(site for site in as_list(data.get("page_sites")) if isinstance(site, str)),
        )

    def next_due(self, interval_s: int) -> str | None:
        """When the interval after the last poll ends (ISO UTC); None before the first poll."""
        last = parse_utc_or_none(self.last_fetch)
        return iso_z(last + timedelta(seconds=interval_s)) if last is not None else None

    def is_due(self, interval_s: int, when: datetime) -> bool:
        """The one rule for "poll this feed at logical time ``when``?" (planning and polling ask it).

        Due when never polled, when its interval has passed since the last poll, or when
        ``when`` is the last poll's own logical time: a retried task or a cleared run polls
        again (conditional GETs make that cheap). A run dated before the last poll is not due:
        a feed shows only its current items, so polling it cannot bring back the past.
        """
        last = parse_utc_or_none(self.last_fetch)
        if last is None:
            return True
        stamp = iso_z(when)  # last_fetch is kept to the second
        return stamp == iso_z(last) or when >= last + timedelta(seconds=interval_s)


class FeedStateStore(Protocol):
    """Where feed state lives; implementations must make ``put`` atomic per feed."""

    def get(self, name: str) -> FeedState | None: ...

    def put(self, state: FeedState) -> None: ...


class JsonFeedStateStore:
    """One JSON file per feed under any fsspec URL (default: ``<archive root>/state/feeds``).

    One file per feed keeps concurrent polls of different feeds from
    overwriting each other; each write replaces the whole file atomically.
    """

    def __init__(self, url: str) -> None:
        self.url = url.rstrip("/")
        self._storage = Storage(self.url)

    @classmethod
    def under_archive(cls, archive_root: str) -> JsonFeedStateStore:
        return cls(archive_root.rstrip("/") + "/state/feeds")

    def _path(self, name: str) -> str:
        return self._storage.join(_UNSAFE.sub("_", name) + ".json")

    def get(self, name: str) -> FeedState | None:
        path = self._path(name)
        data = self._storage.read_bytes(path)
        if data is None:
            return None
        try:
            return FeedState.from_dict(json.loads(data))
        except (ValueError, TypeError) as exc:
            # A corrupt state file only costs one unconditional fetch; do not stop polling.
            logger.warning("ignoring unreadable feed state %s: %s", path, exc)
            return None

    def put(self, state: FeedState) -> None:
        payload = json.dumps(state.to_dict(), sort_keys=True, indent=1).encode("utf-8")
        self._storage.write_bytes(self._path(state.name), payload)


class UnitFeedStates:
    """A store's feed states kept for one poll unit, each read from the store once.

    A unit reads a feed's state three times: for the hosts its pages were on (the look-back),
    to poll it, and to count the pages left waiting. On an object store each read is a request,
    25 feeds a unit. A feed is polled by one unit at a time (one poll run at a time, and each
    feed in one of its units), so the state a unit wrote is the one it would read back.
    """

    def __init__(self, store: FeedStateStore) -> None:
        self._store = store
        self._kept: dict[str, FeedState | None] = {}

    def get(self, name: str) -> FeedState | None:
        if name not in self._kept:
            self._kept[name] = self._store.get(name)
        return self._kept[name]

    def put(self, state: FeedState) -> None:
        self._store.put(state)
        self._kept[state.name] = state


class MemoryFeedStateStore:
    """In-process store for tests and one-off CLI runs."""

    def __init__(self) -> None:
        self._states: dict[str, FeedState] = {}

    def get(self, name: str) -> FeedState | None:
        return self._states.get(name)

    def put(self, state: FeedState) -> None:
        self._states[state.name] = state
