"""Politeness towards the sites we crawl: robots.txt rules and per-host pacing.

Publishers tolerate crawlers that ask first (robots.txt), never hammer a host
(a few connections at most, a pause between requests) and honour the
``Crawl-delay`` they ask for. Both pieces are thread-safe because the batch
fetcher works on several hosts at once from a small thread pool.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from protego import Protego

from newsflow.urls import site_of

logger = logging.getLogger(__name__)

# Fetches ``robots.txt`` for an origin: returns (status, body) or None when the
# server could not be reached at all (timeouts, refused connections, ...).
RobotsFetch = Callable[[str], "tuple[int, bytes] | None"]


@dataclass(frozen=True, slots=True)
class RobotsRules:
    """The parsed robots.txt of one origin, with how it was obtained (for reports)."""

    origin: str
    status: str  # "ok", "missing" (4xx: allow all) or "unreachable" (5xx/network: disallow all)
    parser: Protego | None

    def allowed(self, url: str, agent: str) -> bool:
        if self.status == "missing":
            return True
        if self.status == "unreachable" or self.parser is None:
            return False
        return self.parser.can_fetch(url, agent)

    def crawl_delay(self, agent: str) -> float | None:
        if self.parser is None:
            return None
        delay = self.parser.crawl_delay(agent)
        return float(delay) if delay is not None else None


class RobotsCache:
    """robots.txt per origin, fetched once and kept for ``ttl`` seconds.

    Follows RFC 9309: rules are matched by protego (the most specific rule wins,
    ``*`` and ``$`` wildcards, ``allow`` beats ``disallow`` on a tie); a 4xx
    robots.txt means "no rules" (allow everything); a 5xx or an unreachable server
    means "assume complete disallow" until the entry expires, because a broken
    server is no licence to crawl it.
    """

    def __init__(
        self,
        fetch: RobotsFetch,
        agent: str,
        *,
        ttl: float = 3600.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._fetch = fetch
        self._agent = agent
        self._ttl = ttl
        self._clock = clock
        self._cache: dict[str, tuple[float, RobotsRules]] = {}
        self._lock = threading.Lock()
        self._origin_locks: dict[str, threading.Lock] = {}

    def rules(self, url: str) -> RobotsRules:
        origin = site_of(url)  # robots.txt is the site's: asked for without a user or password
        with self._lock:
            cached = self._cache.get(origin)
            if cached is not None and cached[0] > self._clock():
                return cached[1]
            origin_lock = self._origin_locks.setdefault(origin, threading.Lock())
        # One fetch per origin even when many threads ask at once.
        with origin_lock:
            with self._lock:
                cached = self._cache.get(origin)
                if cached is not None and cached[0] > self._clock():
                    return cached[1]
            rules = self._load(origin)
            with self._lock:
                self._cache[origin] = (self._clock() + self._ttl, rules)
            return rules

    def allowed(self, url: str) -> bool:
        return self.rules(url).allowed(url, self._agent)

    def crawl_delay(self, url: str) -> float | None:
        return self.rules(url).crawl_delay(self._agent)

    def _load(self, origin: str) -> RobotsRules:
        robots_url = f"{origin}/robots.txt"
        got = self._fetch(robots_url)
        if got is None:
            logger.info("robots.txt unreachable for %s: treating host as disallowed", origin)
            return RobotsRules(origin, "unreachable", None)
        status, body = got
        if 400 <= status < 500:
            return RobotsRules(origin, "missing", None)
        if status >= 500 or status < 200 or status >= 300:
            logger.info("robots.txt for %s answered %s: treating host as disallowed", origin, status)
            return RobotsRules(origin, "unreachable", None)
        return RobotsRules(origin, "ok", Protego.parse(body.decode("utf-8", errors="replace")))


class HostThrottle:
    """At most ``concurrency`` requests per host at once, ``delay`` seconds apart.

    Start times are reserved under a lock, so threads queue fairly and the
    spacing holds even when several threads wait on the same host.
    """

    def __init__(
        self,
        concurrency: int,
        delay: float,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._concurrency = concurrency
        self._delay = delay
        self._clock = clock
        self._sleep = sleep
        self._lock = threading.Lock()
        self._semaphores: dict[str, threading.BoundedSemaphore] = {}
        self._next_start: dict[str, float] = {}

    @contextmanager
    def slot(self, host: str, delay: float | None = None) -> Iterator[None]:
        spacing = self._delay if delay is None else max(self._delay, delay)
        with self._lock:
            semaphore = self._semaphores.setdefault(host, threading.BoundedSemaphore(self._concurrency))
        with semaphore:
            with self._lock:
                now = self._clock()
                start = max(now, self._next_start.get(host, now))
                self._next_start[host] = start + spacing
            wait = start - now
            if wait > 0:
                self._sleep(wait)
            yield
