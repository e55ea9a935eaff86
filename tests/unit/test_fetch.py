"""The fetcher's limits and manners, against an in-process mock transport (no sockets)."""

from __future__ import annotations

import gzip
import zlib
from collections import Counter
from collections.abc import Callable

import httpx
import pytest

from newsflow.errors import ConfigError, FetchError
from newsflow.fetch import (
    AddressPolicy,
    Fetcher,
    FetchFailure,
    FetchOptions,
)

PUBLIC = {"news.example": ["93.184.216.34"], "other.example": ["93.184.216.35"]}


def _resp(status: int, *, content: bytes = b"", headers: dict[str, str] | None = None) -> httpx.Response:
    """A response whose body streams like a network one (content= would be pre-read)."""
    return httpx.Response(status, headers=headers, stream=httpx.ByteStream(content))


def _resolver(host: str, port: int) -> list[str]:
    mapping = {**PUBLIC, "sneaky.example": ["10.1.2.3"], "meta.example": ["169.254.169.254"]}
    if host not in mapping:
        raise OSError(f"no such host {host}")
    return mapping[host]


def _options(**overrides: object) -> FetchOptions:
    base: dict[str, object] = {
        "retries": 2,
        "backoff_base": 0.01,
        "backoff_max": 0.02,
        "max_retry_after": 5.0,
        "max_bytes": 64 * 1024,
        "per_host_delay": 0.0,
        "respect_robots": False,
    }
    base.update(overrides)
    return FetchOptions(**base)  # type: ignore[arg-type]  # test helper forwards keyword overrides


class Recorder:
    def __init__(self) -> None:
        self.sleeps: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.sleeps.append(seconds)


def _fetcher(
    handler: Callable[[httpx.Request], httpx.Response], sleep: Recorder | None = None, **overrides: object
) -> Fetcher:
    return Fetcher(
        _options(**overrides),
        resolver=_resolver,
        transport=httpx.MockTransport(handler),
        sleep=sleep or Recorder(),
    )


def test_ok_fetch_sends_user_agent_and_decodes_gzip() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return _resp(
            200,
            content=gzip.compress(b"<html>hello</html>"),
            headers={"Content-Encoding": "gzip", "Content-Type": "text/html; charset=utf-8"},
        )

    with _fetcher(handler, contact_url="https://example.org/bot") as fetcher:
        result = fetcher.fetch("https://news.example/a")
    assert result.body == b"<html>hello</html>"
    assert result.status == 200 and result.content_type == "text/html"
    assert result.fetched_at.tzinfo is not None
    agent = seen[0].headers["user-agent"]
    assert agent.startswith("newsflow/") and "(+https://example.org/bot)" in agent
    assert "br" not in seen[0].headers["accept-encoding"]  # we cannot bound what we cannot decode
    assert ("User-Agent", agent) in [(k.title(), v) for k, v in result.request_headers]


def test_deflate_with_and_without_zlib_header() -> None:
    raw = zlib.compressobj(wbits=-zlib.MAX_WBITS)
    raw_deflate = raw.compress(b"<html>raw</html>") + raw.flush()
    bodies = {"/zlib": zlib.compress(b"<html>zlib</html>"), "/raw": raw_deflate}

    def handler(request: httpx.Request) -> httpx.Response:
        return _resp(200, content=bodies[request.url.path], headers={"Content-Encoding": "deflate"})

    with _fetcher(handler) as fetcher:
        assert fetcher.fetch("https://news.example/zlib").body == b"<html>zlib</html>"
        assert fetcher.fetch("https://news.example/raw").body == b"<html>raw</html>"


@pytest.mark.parametrize(
    ("headers", "body", "reason"),
    [
        ({"Content-Encoding": "gzip"}, gzip.compress(b"\0" * (4 * 1024 * 1024)), "decompression_bomb"),
        ({}, b"x" * (65 * 1024), "too_large"),
        ({"Content-Length": str(10**9)}, b"short", "too_large"),
        ({"Content-Encoding": "br"}, b"whatever", "unsupported_encoding"),
        ({"Content-Encoding": "gzip"}, b"not gzip at all", "bad_encoding"),
    ],
)
def test_size_and_encoding_limits(headers: dict[str, str], body: bytes, reason: str) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        response = _resp(200, content=body, headers=headers)
        if "Content-Length" in headers:
            response.headers["Content-Length"] = headers["Content-Length"]
        return response

    with _fetcher(handler) as fetcher, pytest.raises(FetchFailure) as info:
        fetcher.fetch("https://news.example/x")
    assert info.value.reason == reason
    assert isinstance(info.value, FetchError)


def test_decompression_ratio_caught_before_the_byte_cap() -> None:
    bomb = gzip.compress(b"\0" * (8 * 1024 * 1024))

    def handler(request: httpx.Request) -> httpx.Response:
        return _resp(200, content=bomb, headers={"Content-Encoding": "gzip"})

    with (
        _fetcher(handler, max_bytes=32 * 1024 * 1024, max_decompression_ratio=50) as fetcher,
        pytest.raises(FetchFailure) as info,
    ):
        fetcher.fetch("https://news.example/bomb")
    assert info.value.reason == "decompression_bomb" and "ratio" in info.value.detail


def test_redirects_followed_and_loops_detected() -> None:
    routes = {
        "/start": "/middle",
        "/middle": "https://other.example/end",
        "/loop-a": "/loop-b",
        "/loop-b": "/loop-a",
        "/to-private": "https://sneaky.example/x",
        "/to-file": "file:///etc/passwd",
    }
    routes.update({f"/chain{i}": f"/chain{i + 1}" for i in range(10)})

    def handler(request: httpx.Request) -> httpx.Response:
        target = routes.get(request.url.path)
        if target:
            return _resp(302, headers={"Location": target})
        return _resp(200, content=b"<html>end</html>")

    with _fetcher(handler, max_redirects=5) as fetcher:
        result = fetcher.fetch("https://news.example/start")
        assert result.final_url == "https://other.example/end"
        assert result.redirects == ("https://news.example/start", "https://news.example/middle")
        for path, reason in [
            ("/loop-a", "redirect_loop"),
            ("/chain0", "too_many_redirects"),
            ("/to-private", "refused_private_address"),
            ("/to-file", "bad_scheme"),
        ]:
            with pytest.raises(FetchFailure) as info:
                fetcher.fetch(f"https://news.example{path}")
            assert info.value.reason == reason, path


def test_retries_5xx_then_succeeds_with_backoff() -> None:
    calls: Counter[str] = Counter()

    def handler(request: httpx.Request) -> httpx.Response:
        calls[request.url.path] += 1
        if request.url.path == "/flaky" and calls["/flaky"] < 3:
            return _resp(502, content=b"bad gateway")
        if request.url.path == "/down":
            return _resp(500, content=b"<html>still down</html>")
        return _resp(200, content=b"ok")

    sleep = Recorder()
    with _fetcher(handler, sleep) as fetcher:
        assert fetcher.fetch("https://news.example/flaky").body == b"ok"
        assert calls["/flaky"] == 3
        assert len(sleep.sleeps) == 2 and all(0 <= s <= 0.02 for s in sleep.sleeps)
        with pytest.raises(FetchFailure) as info:
            fetcher.fetch("https://news.example/down")
    assert info.value.reason == "http_5xx" and info.value.status == 500
    assert info.value.response is not None and info.value.response.body == b"<html>still down</html>"
    assert calls["/down"] == 3


def test_retry_after_is_honoured_and_capped() -> None:
    calls: Counter[str] = Counter()

    def handler(request: httpx.Request) -> httpx.Response:
        calls[request.url.path] += 1
        if calls[request.url.path] == 1:
            wait = "3" if request.url.path == "/polite" else "86400"
            return _resp(429 if request.url.path == "/polite" else 503, headers={"Retry-After": wait})
        return _resp(200, content=b"ok")

    sleep = Recorder()
    with _fetcher(handler, sleep, max_retry_after=5.0) as fetcher:
        fetcher.fetch("https://news.example/polite")
        fetcher.fetch("https://news.example/greedy")
    assert sleep.sleeps == [3.0, 5.0]


def test_timeouts_and_connection_errors_are_retried_then_reported() -> None:
    calls: Counter[str] = Counter()

    def handler(request: httpx.Request) -> httpx.Response:
        calls[request.url.path] += 1
        if request.url.path == "/slow":
            raise httpx.ReadTimeout("timed out", request=request)
        raise httpx.ConnectError("refused", request=request)

    with _fetcher(handler, retries=1) as fetcher:
        for path, reason in [("/slow", "timeout"), ("/refused", "connection_error")]:
            with pytest.raises(FetchFailure) as info:
                fetcher.fetch(f"https://news.example{path}")
            assert info.value.reason == reason
            assert calls[path] == 2


def test_4xx_is_not_retried_and_carries_response() -> None:
    calls: Counter[str] = Counter()

    def handler(request: httpx.Request) -> httpx.Response:
        calls[request.url.path] += 1
        return _resp(404, content=b"<html>gone</html>")

    with _fetcher(handler) as fetcher, pytest.raises(FetchFailure) as info:
        fetcher.fetch("https://news.example/missing")
    assert (info.value.reason, info.value.status, calls["/missing"]) == ("http_4xx", 404, 1)


def test_304_is_a_result_not_an_error() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.headers.get("if-none-match") == '"v1"':
            return _resp(304)
        return _resp(200, content=b"body", headers={"ETag": '"v1"'})

    with _fetcher(handler) as fetcher:
        first = fetcher.fetch("https://news.example/feed")
        second = fetcher.fetch(
            "https://news.example/feed", headers={"If-None-Match": first.header("etag") or ""}
        )
    assert (first.status, second.status, second.body) == (200, 304, b"")


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1/x",
        "http://10.0.0.1/x",
        "http://192.168.1.1/x",
        "http://169.254.169.254/latest/meta-data/",
        "http://[::1]/x",
        "http://[fd00:ec2::254]/x",
        "http://[::ffff:127.0.0.1]/x",
        "http://0.0.0.0/x",
        "http://100.64.0.1/x",
        "https://sneaky.example/x",
        "https://meta.example/x",
    ],
)
def test_private_addresses_refused_before_connecting(url: str) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise AssertionError(f"must not connect to {request.url}")

    with _fetcher(handler) as fetcher, pytest.raises(FetchFailure) as info:
        fetcher.fetch(url)
    assert info.value.reason == "refused_private_address"


def test_allow_list_by_name_ip_and_cidr() -> None:
    policy = AddressPolicy(frozenset({"127.0.0.1", "10.1.0.0/16", "intranet.local"}), resolver=_resolver)
    policy.check("http://127.0.0.1:8080/x")
    policy.check("https://sneaky.example/x")  # resolves to 10.1.2.3, inside the allowed CIDR
    policy.check("http://intranet.local/x")  # allowed by name, never resolved
    with pytest.raises(FetchFailure, match="refused_private_address"):
        policy.check("http://127.0.0.2/x")
    with pytest.raises(FetchFailure, match="refused_private_address"):
        policy.check("https://meta.example/")
    with pytest.raises(FetchFailure, match="dns_error"):
        policy.check("https://unknown.example/")


def test_allow_list_entries_with_ports() -> None:
    policy = AddressPolicy(
        frozenset(
            {"127.0.0.1:8765", "10.1.0.0/16:8080", "[::1]:9000", "intranet.local:8443", "169.254.0.0/16"}
        ),
        resolver=_resolver,
    )
    assert policy.check("http://127.0.0.1:8765/x") == ("127.0.0.1",)
    assert policy.check("https://sneaky.example:8080/x") == ("10.1.2.3",)  # checked address, to pin
    assert policy.check("http://[::1]:9000/x") == ("::1",)
    assert policy.check("https://intranet.local:8443/x") == ()  # by name: never resolved
    for refused in (
        "http://127.0.0.1:9200/news-articles/_search",
        "http://127.0.0.1/x",
        "https://sneaky.example/x",
        "http://[::1]:9200/x",
        "http://169.254.169.254/latest/meta-data/",  # metadata: only an entry naming it exactly
    ):
        with pytest.raises(FetchFailure, match="refused_private_address"):
            policy.check(refused)
    with pytest.raises(FetchFailure, match="dns_error"):
        policy.check("https://intranet.local/x")  # the name is allowed on 8443 only: resolved, unknown
    assert AddressPolicy(frozenset({"169.254.169.254"})).check("http://169.254.169.254/") == (
        "169.254.169.254",
    )


def test_bad_scheme_and_options_validation() -> None:
    with _fetcher(lambda r: _resp(200)) as fetcher, pytest.raises(FetchFailure) as info:
        fetcher.fetch("ftp://news.example/x")
    assert info.value.reason == "bad_scheme"
    with pytest.raises(ConfigError, match="read_timeout"):
        FetchOptions(read_timeout=0)
    with pytest.raises(ConfigError, match="retries"):
        FetchOptions(retries=-1)
    with pytest.raises(ConfigError, match="CIDR"):
        FetchOptions(allow_private_hosts=frozenset({"10.0.0.0/99"}))
    with pytest.raises(ConfigError, match="contact_url"):
        FetchOptions(contact_url="nobody")


def test_robots_disallow_and_crawl_delay_through_fetcher() -> None:
    calls: Counter[str] = Counter()

    def handler(request: httpx.Request) -> httpx.Response:
        calls[f"{request.url.host}{request.url.path}"] += 1
        if request.url.path == "/robots.txt":
            if request.url.host == "news.example":
                return _resp(200, content=b"User-agent: newsflow\nDisallow: /private/\nCrawl-delay: 7\n")
            return _resp(503)
        return _resp(200, content=b"page")

    sleep = Recorder()
    with _fetcher(handler, sleep, respect_robots=True, retries=0) as fetcher:
        fetcher.fetch("https://news.example/public/1")
        fetcher.fetch("https://news.example/public/2")
        with pytest.raises(FetchFailure) as info:
            fetcher.fetch("https://news.example/private/x")
        assert info.value.reason == "robots_disallowed"
        with pytest.raises(FetchFailure) as info:
            fetcher.fetch("https://other.example/anything")  # robots.txt 5xx: assume disallowed
        assert info.value.reason == "robots_disallowed"
    assert calls["news.example/robots.txt"] == 1, "robots.txt is cached per origin"
    assert calls["news.example/private/x"] == 0
    assert any(6.9 < s <= 7.0 for s in sleep.sleeps), "Crawl-delay spaces requests to the host"
