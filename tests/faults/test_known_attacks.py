"""Drills that already passed when issue 15 was filed, kept here so they stay passing.

Bombs (gzip, XML entities, endless bodies), redirect loops and chains, rate limits and
server errors, and a robots.txt that denies everything, each against a real server on
127.0.0.1. SSRF to metadata and private ranges is in ``test_ssrf``; ``kill -9`` of
Elasticsearch mid-bulk in ``test_es_kill_mid_bulk``; hostile queries in ``test_hostile_queries``.
"""

from __future__ import annotations

import gzip
import time
from collections.abc import Callable, Iterator

import pytest

from newsflow.feeds import parse_feed
from newsflow.fetch import Fetcher, FetchFailure, FetchOptions, FetchResult
from tests.faults.hostile import HostileServer, Request, drill, serving
from tests.site.server import BOMB_FEED

MAX_BYTES = 1 << 20


def _options(port: int, **overrides: object) -> FetchOptions:
    base: dict[str, object] = {
        "allow_private_hosts": frozenset({f"127.0.0.1:{port}"}),
        "respect_robots": False,
        "per_host_delay": 0.0,
        "backoff_base": 0.1,
        "max_bytes": MAX_BYTES,
        "deadline": 20.0,
    }
    base.update(overrides)
    return FetchOptions(**base)  # type: ignore[arg-type]  # test helper forwards keyword overrides


def _bomb(request: Request) -> None:
    body = gzip.compress(b"\0" * (64 << 20), compresslevel=9)
    request.respond(200, body, "text/html", Content_Encoding="gzip")


def _endless(request: Request) -> None:
    request.write(b"HTTP/1.0 200 OK\r\nContent-Type: text/html\r\n\r\n")
    while not request.server.stopping.is_set():
        request.write(b"<p>" + b"x" * 65536 + b"</p>")


def _loop_a(request: Request) -> None:
    request.respond(302, b"", "text/plain", Location="/loop-b")


def _loop_b(request: Request) -> None:
    request.respond(302, b"", "text/plain", Location="/loop-a")


def _chain(request: Request) -> None:
    step = int(request.path.rsplit("/", 1)[1])
    request.respond(302, b"", "text/plain", Location=f"/chain/{step + 1}")


def _flaky(request: Request) -> None:
    if request.server.hits[request.path] <= 2:
        request.respond(500, b"temporary failure")
    else:
        request.respond(200, b"<html><p>third time lucky</p></html>")


def _broken(request: Request) -> None:
    request.respond(503, b"down for maintenance")


def _rate_limited(request: Request) -> None:
    if request.server.hits[request.path] == 1:
        request.respond(429, b"slow down", "text/plain", Retry_After="1")
    else:
        request.respond(200, b"<html><p>thanks for waiting</p></html>")


ROUTES = {
    "/bomb": _bomb,
    "/endless": _endless,
    "/loop-a": _loop_a,
    "/loop-b": _loop_b,
    **{f"/chain/{n}": _chain for n in range(20)},
    "/flaky": _flaky,
    "/broken": _broken,
    "/ratelimit": _rate_limited,
    "/feed.xml": lambda r: r.respond(200, BOMB_FEED, "application/rss+xml"),
}

FAILURES = [  # name, path, what the server does, expected reason, requests it should see
    ("gzip bomb", "/bomb", "64 MiB of zeros gzipped (65 kB) as Content-Encoding", "decompression_bomb", 1),
    ("endless body", "/endless", "a body without Content-Length that never ends", "too_large", 1),
    ("redirect loop", "/loop-a", "/loop-a -> /loop-b -> /loop-a", "redirect_loop", 1),
    ("redirect chain", "/chain/0", "a redirect chain of 20 hops (max 5)", "too_many_redirects", 1),
    ("persistent 503", "/broken", "503 on every attempt", "http_5xx", 3),
]


@pytest.fixture(scope="module")
def server() -> Iterator[HostileServer]:
    with serving(ROUTES, lifetime=300) as running:
        yield running


@pytest.mark.parametrize("case", FAILURES, ids=[f[0] for f in FAILURES])
def test_hostile_responses_fail_with_their_reason(
    server: HostileServer, case: tuple[str, str, str, str, int]
) -> None:
    name, path, what, reason, attempts = case
    before = server.hits[path]
    with (
        Fetcher(_options(server.port)) as fetcher,
        drill(
            name, tried=what, expected=f"FetchFailure '{reason}' after {attempts} request(s)", bound=20
        ) as report,
    ):
        with pytest.raises(FetchFailure) as info:
            fetcher.fetch(f"{server.base_url}{path}")
        report.found = f"'{info.value.reason}' after {server.hits[path] - before} request(s)"
        report.error = str(info.value)
        assert info.value.reason == reason
        assert server.hits[path] - before == attempts


RECOVERIES: list[tuple[str, str, str, Callable[[FetchResult, float], bool]]] = [
    ("flaky 500", "/flaky", "500, 500, then 200", lambda r, s: r.status == 200),
    ("429 Retry-After", "/ratelimit", "429 with Retry-After: 1, then 200", lambda r, s: s >= 1.0),
]


@pytest.mark.parametrize(("name", "path", "what", "check"), RECOVERIES, ids=[r[0] for r in RECOVERIES])
def test_transient_errors_are_retried_then_succeed(
    server: HostileServer, name: str, path: str, what: str, check: Callable[[FetchResult, float], bool]
) -> None:
    with (
        Fetcher(_options(server.port)) as fetcher,
        drill(
            name, tried=what, expected="HTTP 200 after retrying (Retry-After honoured)", bound=20
        ) as report,
    ):
        started = time.monotonic()
        result = fetcher.fetch(f"{server.base_url}{path}")
        waited = time.monotonic() - started
        report.found = f"HTTP {result.status} after {server.hits[path]} requests, {waited:.1f}s"
        assert result.status == 200 and check(result, waited)


def test_xml_entity_bomb_feed_is_refused_unexpanded(server: HostileServer) -> None:
    with (
        Fetcher(_options(server.port)) as fetcher,
        drill(
            "XML entity bomb",
            tried="an RSS feed declaring 10 nested entities (a billion laughs)",
            expected="parse error 'entity_declarations', nothing expanded, in well under a second",
        ) as report,
    ):
        result = fetcher.fetch(f"{server.base_url}/feed.xml")
        started = time.monotonic()
        parsed = parse_feed(result.body, feed="bomb", base_url=result.final_url)
        report.found = (
            f"{parsed.error}, {len(parsed.entries)} entries, parsed in {time.monotonic() - started:.3f}s"
        )
        assert parsed.error == "entity_declarations" and not parsed.entries


def test_robots_deny_all_keeps_us_off_the_site() -> None:
    routes = {
        "/robots.txt": lambda r: r.respond(200, b"User-agent: *\nDisallow: /\n", "text/plain"),
        "*": lambda r: r.respond(200, b"<html>must never be fetched</html>"),
    }
    with (
        serving(routes, lifetime=120) as site,
        Fetcher(_options(site.port, respect_robots=True)) as fetcher,
        drill(
            "robots.txt deny-all",
            tried="robots.txt 'User-agent: * / Disallow: /', then fetch 3 pages",
            expected="robots_disallowed for each, 0 page requests, robots.txt fetched once",
        ) as report,
    ):
        reasons = []
        for n in range(3):
            with pytest.raises(FetchFailure) as info:
                fetcher.fetch(f"{site.base_url}/articles/{n}.html")
            reasons.append(info.value.reason)
        pages = sum(n for path, n in site.hits.items() if path != "/robots.txt")
        report.found = f"{reasons}, {pages} page request(s), robots.txt {site.hits['/robots.txt']}x"
        assert reasons == ["robots_disallowed"] * 3
        assert pages == 0 and site.hits["/robots.txt"] == 1
