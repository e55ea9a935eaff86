"""``SeenIndex``: "was this page fetched already?" for one poll unit, from the archive's index.

A unit polls a few hosts' feeds, yet the index of the look-back (15 days) holds every host's
pages, and reading all of them was each unit's fixed cost: 15 times the daily volume
(docs/scaling.md). So the index is read for the hosts a unit polls: a line's key starts with
its host (``cdxj.host_key``), a day index lists where its blocks of lines start, and only the
blocks and lines of those hosts are read and parsed. A feed may link to pages on a host it
does not live on (``feeds.example.com`` to ``www.example.com``): the poll passes the hosts its
feeds' pages were on last time (``FeedState.page_sites``), and a question about yet another
host reads the look-back again for that host alone. That read reuses what the first one learnt
of each day folder (``dayindex.DayLayout``: its index files, and its day index's covers and
blocks), so it lists no folder and reads no day index's first line again: it reads the host's
blocks and the day's loose index files. Files written since the first read are not seen, as
they were not by it; the unit's own pages are marked as they are fetched.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable
from datetime import date, timedelta

from newsflow.archive.cdxj import host_key
from newsflow.archive.dayindex import DayLayout, day_payloads
from newsflow.archive.storage import Storage, days

logger = logging.getLogger(__name__)


def _keep(updated_by_url: dict[str, str | None], canonical_url: str, updated: str | None) -> None:
    """Record a page as archived, keeping the latest entry date it was fetched for."""
    if canonical_url not in updated_by_url:
        updated_by_url[canonical_url] = updated
    elif updated:
        previous = updated_by_url[canonical_url]
        if previous is None or updated > previous:
            updated_by_url[canonical_url] = updated


class SeenIndex:
    """Canonical URLs of pages archived with a 2xx answer, with the entry date they were fetched for.

    Loaded once per poll batch from the days before it; pages archived during the batch are
    added as they go, so the same article linked by two feeds is fetched once.
    """

    def __init__(self) -> None:
        self._updated: dict[str, str | None] = {}
        self._lock = threading.Lock()  # the fetch threads mark and ask at once
        self._loading = threading.Lock()  # one read of the look-back at a time
        self._read: tuple[str, date, int, bool] | None = None  # where the look-back is read from
        self._hosts: set[str] | None = None  # host keys read so far (None: every host)
        self._layouts: dict[date, DayLayout] = {}  # each day's files, learnt by the first read
        self.hosts_read_late = 0  # hosts whose pages were read when first asked about

    @classmethod
    def load(
        cls,
        root: str,
        day: date,
        *,
        lookback_days: int,
        compact: bool = True,
        hosts: Iterable[str] | None = None,
    ) -> SeenIndex:
        """The index of ``day`` and the ``lookback_days`` days before it (bounded, whatever the
        history). ``hosts``: URLs whose hosts to read now (the unit's feeds); a page on another
        host is looked up when first asked about. None: every host, now."""
        index = cls()
        index._read = (root, day, lookback_days, compact)
        if hosts is not None:
            index._hosts = {host_key(url) for url in hosts}
        index._fill(index._updated, index._hosts)  # no other thread holds the index while it loads
        return index

    def _fill(self, kept: dict[str, str | None], hosts: set[str] | None) -> None:
        """Every 2xx page of the look-back on ``hosts`` (None: all) into ``kept``."""
        if self._read is None:
            return
        root, day, lookback_days, compact = self._read
        wanted = None if hosts is None else frozenset(h.encode() for h in hosts)
        storage = Storage(root)
        for each in days(day - timedelta(days=lookback_days), day):
            # Three fields of each entry, read from its JSON object: building every entry of 15
            # days as a ``CdxjEntry`` cost more than parsing it (``bench/bench_lookback.py``).
            for payload in day_payloads(storage, each, compact=compact, hosts=wanted, layouts=self._layouts):
                url, status = payload.get("canonical_url"), payload.get("status")
                if payload.get("kind") == "page" and url and isinstance(status, int) and 200 <= status < 300:
                    updated = payload.get("entry_updated")
                    _keep(kept, str(url), updated if isinstance(updated, str) else None)

    def _read_host_of(self, canonical_url: str) -> None:
        """Read the look-back for the host of ``canonical_url`` unless it has been read."""
        if self._hosts is None:
            return
        key = host_key(canonical_url)
        if key in self._hosts:
            return
        with self._loading:
            if key in self._hosts:  # another thread read it meanwhile
                return
            found: dict[str, str | None] = {}
            self._fill(found, {key})
            with self._lock:
                for url, updated in found.items():
                    _keep(self._updated, url, updated)
                self._hosts.add(key)
                self.hosts_read_late += 1
        logger.info("look-back read again for %s (%s pages): a feed links off its own hosts", key, len(found))

    def mark(self, canonical_url: str, updated: str | None) -> None:
        with self._lock:
            _keep(self._updated, canonical_url, updated)

    def __len__(self) -> int:
        """Pages known so far (of the hosts read)."""
        return len(self._updated)

    def __contains__(self, canonical_url: object) -> bool:
        if not isinstance(canonical_url, str):
            return False
        self._read_host_of(canonical_url)
        return canonical_url in self._updated

    def is_current(self, canonical_url: str, updated: str | None) -> bool:
        """True if archived and the feed does not say the article changed since."""
        self._read_host_of(canonical_url)
        with self._lock:
            if canonical_url not in self._updated:
                return False
            recorded = self._updated[canonical_url]
        if updated is None:
            return True
        return recorded is not None and updated <= recorded
