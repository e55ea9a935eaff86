"""The fetcher's manners on their own: the robots.txt cache and its TTL, per-host pacing, the
backoff between retries and the server's Retry-After."""

from __future__ import annotations

import random
from collections import Counter
from datetime import UTC, datetime

from newsflow.backoff import jittered
from newsflow.fetch_retry import parse_retry_after
from newsflow.politeness import HostThrottle, RobotsCache


def test_robots_cache_rules_and_ttl() -> None:
    now = [0.0]
    answers: dict[str, tuple[int, bytes] | None] = {
        "https://a.example/robots.txt": (404, b""),
        "https://b.example/robots.txt": None,
        "https://c.example/robots.txt": (200, b"User-agent: *\nDisallow: /\n"),
    }
    fetched: Counter[str] = Counter()

    def fetch(url: str) -> tuple[int, bytes] | None:
        fetched[url] += 1
        return answers[url]

    cache = RobotsCache(fetch, "newsflow", ttl=10, clock=lambda: now[0])
    assert cache.allowed("https://a.example/x")
    assert not cache.allowed("https://b.example/x")
    assert not cache.allowed("https://c.example/x")
    cache.allowed("https://c.example/y")
    assert fetched["https://c.example/robots.txt"] == 1
    now[0] = 11
    answers["https://c.example/robots.txt"] = (200, b"User-agent: *\nAllow: /\n")
    assert cache.allowed("https://c.example/x")
    assert fetched["https://c.example/robots.txt"] == 2


def test_host_throttle_spaces_requests_per_host() -> None:
    clock = [100.0]
    sleeps: list[float] = []
    throttle = HostThrottle(2, 1.5, clock=lambda: clock[0], sleep=sleeps.append)
    for _ in range(3):
        with throttle.slot("a.example"):
            pass
    with throttle.slot("b.example"):
        pass
    assert sleeps == [1.5, 3.0], "same host waits its turn; another host does not"
    with throttle.slot("a.example", delay=10.0):
        pass
    assert sleeps[-1] == 4.5


def test_backoff_and_retry_after_parsing() -> None:
    rng = random.Random(7)
    delays = [jittered(attempt, 0.5, 4.0, rng) for attempt in range(8)]
    assert all(0 <= d <= min(4.0, 0.5 * 2**i) for i, d in enumerate(delays))
    now = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
    assert parse_retry_after("120", now) == 120.0
    assert parse_retry_after("Sun, 22 Nov 2026 12:00:30 GMT", now) == 30.0
    assert parse_retry_after("Sun, 22 Nov 2026 11:00:00 GMT", now) == 0.0
    assert parse_retry_after("soon", now) is None
    assert parse_retry_after(None, now) is None
