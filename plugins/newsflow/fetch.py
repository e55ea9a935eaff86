"""The one HTTP fetcher for feeds, pages and robots.txt.

Everything we download comes from the open web, so every limit is ours, not
the library's: timeouts per attempt and overall, a byte cap enforced while
streaming, decompression done by hand so a gzip bomb is caught after a few
megabytes, redirects followed by hand so each hop is checked against the
private-address rules, and retries that back off and honour ``Retry-After``.
feedparser and robotparser never touch the network: they parse our bytes.
"""

from __future__ import annotations

import logging
import time
import zlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from urllib.parse import urljoin, urlsplit

import httpx

from newsflow import fetch_policy
from newsflow.backoff import jittered
from newsflow.content_encoding import ContentDecoder
from newsflow.errors import FetchError
from newsflow.fetch_deadline import bounded_transport, deadline_scope, pinned_addresses
from newsflow.fetch_options import FetchOptions
from newsflow.fetch_policy import METADATA_ADDRESSES, PolicyRefusal, Resolver
from newsflow.fetch_retry import parse_retry_after
from newsflow.politeness import HostThrottle, RobotsCache
from newsflow.timestamps import now_utc
from newsflow.urls import host_of

logger = logging.getLogger(__name__)

__all__ = ["METADATA_ADDRESSES", "AddressPolicy", "FetchFailure", "FetchOptions", "FetchResult", "Fetcher"]

REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
_DECOMPRESSION_RATIO_FLOOR = 1 << 20  # ratios are only judged past 1 MiB of output
_CHUNK = 64 * 1024


@dataclass(frozen=True, slots=True)
class FetchResult:
    """One HTTP response as received (body already decoded from gzip/deflate)."""

    url: str
    final_url: str
    status: int
    headers: tuple[tuple[str, str], ...]
    body: bytes
    fetched_at: datetime
    elapsed: float
    redirects: tuple[str, ...] = ()
    reason_phrase: str = ""
    http_version: str = "HTTP/1.1"
    request_headers: tuple[tuple[str, str], ...] = ()

    def header(self, name: str) -> str | None:
        lowered = name.lower()
        for key, value in self.headers:
            if key.lower() == lowered:
                return value
        return None

    @property
    def content_type(self) -> str:
        return (self.header("content-type") or "").split(";", 1)[0].strip().lower()


class FetchFailure(FetchError):
    """A fetch that ended without a usable response; ``reason`` is a short counted code.

    ``response`` carries the final response when there was one (4xx/5xx with a
    body), so it can still be archived.
    """

    def __init__(
        self,
        url: str,
        reason: str,
        detail: str = "",
        *,
        response: FetchResult | None = None,
    ) -> None:
        message = f"{url}: {reason}" + (f" ({detail})" if detail else "")
        super().__init__(message)
        self.url = url
        self.reason = reason
        self.detail = detail
        self.response = response

    @property
    def status(self) -> int | None:
        return self.response.status if self.response is not None else None


class _Retryable(Exception):
    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(detail)
        self.reason = reason
        self.detail = detail


class AddressPolicy(fetch_policy.AddressPolicy):
    """``fetch_policy.AddressPolicy`` whose refusals are counted fetch failures."""

    def check(self, url: str) -> tuple[str, ...]:
        try:
            return super().check(url)
        except PolicyRefusal as exc:
            raise FetchFailure(url, exc.reason, exc.detail) from exc


class _Budget:
    """One fetch's wall-clock deadline: redirects, attempts, backoffs, connects, headers and body.

    The clock starts when the first request is sent, after any politeness wait for the
    host's turn (queueing behind other requests to a slow host is not this fetch's fault).
    """

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.started: float | None = None
        self.at = float("inf")

    def start(self) -> None:
        if self.started is None:
            self.started = time.monotonic()
            self.at = self.started + self.seconds

    def left(self) -> float:
        return self.at - time.monotonic()

    def failure(self, url: str, doing: str, last: str = "") -> FetchFailure:
        elapsed = time.monotonic() - (self.started or time.monotonic())
        detail = f"gave up after {elapsed:.1f}s {doing}: the {self.seconds:g}s fetch deadline passed"
        return FetchFailure(url, "deadline", detail + (f" (last error: {last})" if last else ""))


@dataclass(slots=True)
class _Raw:
    status: int
    headers: list[tuple[str, str]]
    body: bytes
    reason_phrase: str
    http_version: str
    request_headers: list[tuple[str, str]] = field(default_factory=list)


class Fetcher:
    """Fetches URLs under our limits; one per batch, shared by its worker threads."""

    def __init__(
        self,
        options: FetchOptions,
        *,
        resolver: Resolver | None = None,
        transport: httpx.BaseTransport | None = None,
        clock: Callable[[], datetime] = now_utc,  # WARC-Date: when the bytes arrived
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.options = options
        self._clock = clock
        self._sleep = sleep
        self._policy = AddressPolicy(options.allow_private_hosts, resolver)
        timeout = httpx.Timeout(
            connect=options.connect_timeout,
            read=options.read_timeout,
            write=options.read_timeout,
            pool=options.deadline,
        )
        self._client = httpx.Client(
            follow_redirects=False,
            timeout=timeout,
            headers={
                "User-Agent": options.user_agent,
                "Accept-Encoding": "gzip, deflate",
            },
            # Ours: every socket wait obeys the deadline, connections go to the checked addresses.
            transport=transport or bounded_transport(),
            trust_env=False,  # proxies from the environment would bypass the address checks
        )
        self.throttle = HostThrottle(options.per_host_concurrency, options.per_host_delay, sleep=sleep)
        self.robots = RobotsCache(self._fetch_robots, options.robots_agent, ttl=options.robots_ttl)

    def __enter__(self) -> Fetcher:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._client.close()

    def fetch(self, url: str, *, headers: Mapping[str, str] | None = None) -> FetchResult:
        """GET ``url`` following redirects; 2xx and 304 return, anything else raises FetchFailure."""
        result = self._fetch(url, headers=headers, check_robots=self.options.respect_robots)
        if 200 <= result.status < 300 or result.status == 304:
            return result
        klass = f"http_{result.status // 100}xx"
        raise FetchFailure(url, klass, f"HTTP {result.status}", response=result)

    def _fetch_robots(self, robots_url: str) -> tuple[int, bytes] | None:
        try:
            result = self._fetch(robots_url, headers=None, check_robots=False)
        except FetchFailure as exc:
            logger.debug("robots.txt fetch failed: %s", exc)
            return None
        return result.status, result.body

    def _fetch(self, url: str, *, headers: Mapping[str, str] | None, check_robots: bool) -> FetchResult:
        started = time.monotonic()
        budget = _Budget(self.options.deadline)
        current = url
        visited = {url}
        hops: list[str] = []
        while True:
            scheme = urlsplit(current).scheme.lower()
            if scheme not in ("http", "https"):
                raise FetchFailure(current, "bad_scheme", f"scheme {scheme!r} is not http(s)")
            addresses = self._policy.check(current)
            delay: float | None = None
            if check_robots:
                if not self.robots.allowed(current):
                    raise FetchFailure(current, "robots_disallowed", "robots.txt disallows this URL")
                crawl_delay = self.robots.crawl_delay(current)
                if crawl_delay is not None:
                    delay = min(crawl_delay, self.options.max_crawl_delay)
            raw = self._with_retries(current, headers, delay, budget, addresses)
            location = _header(raw.headers, "location")
            if raw.status in REDIRECT_STATUSES and location:
                target = urljoin(current, location.strip())
                hops.append(current)
                if target in visited:
                    raise FetchFailure(url, "redirect_loop", f"{current} -> {target} was already visited")
                if len(hops) > self.options.max_redirects:
                    raise FetchFailure(url, "too_many_redirects", f"more than {self.options.max_redirects}")
                visited.add(target)
                current = target
                continue
            return FetchResult(
                url=url,
                final_url=current,
                status=raw.status,
                headers=tuple(raw.headers),
                body=raw.body,
                fetched_at=self._clock(),
                elapsed=time.monotonic() - started,
                redirects=tuple(hops),
                reason_phrase=raw.reason_phrase,
                http_version=raw.http_version,
                request_headers=tuple(raw.request_headers),
            )

    def _with_retries(
        self,
        url: str,
        headers: Mapping[str, str] | None,
        delay: float | None,
        budget: _Budget,
        addresses: tuple[str, ...],
    ) -> _Raw:
        options = self.options
        host = host_of(url)  # www.example.com and example.com are one site to be polite to
        attempt = 0
        while True:
            try:
                with self.throttle.slot(host, delay):
                    budget.start()
                    raw = self._once(url, headers, budget, addresses)
            except _Retryable as exc:
                if attempt >= options.retries:
                    raise FetchFailure(url, exc.reason, exc.detail) from exc
                wait = jittered(attempt, options.backoff_base, options.backoff_max)
                if wait >= budget.left():
                    last = f"{exc.reason}: {exc.detail}"
                    raise budget.failure(url, f"after {attempt + 1} attempt(s)", last) from exc
                logger.info("retrying %s after %s in %.2fs", url, exc.reason, wait)
                self._sleep(wait)
                attempt += 1
                continue
            if raw.status in (429, 503) or raw.status >= 500:
                if attempt >= options.retries:
                    return raw
                wait = jittered(attempt, options.backoff_base, options.backoff_max)
                if raw.status in (429, 503):
                    asked = parse_retry_after(_header(raw.headers, "retry-after"), self._clock())
                    if asked is not None:
                        wait = min(asked, options.max_retry_after)
                if wait >= budget.left():
                    logger.info("not retrying %s (HTTP %s): the deadline leaves no time", url, raw.status)
                    return raw
                logger.info("retrying %s after HTTP %s in %.2fs", url, raw.status, wait)
                self._sleep(wait)
                attempt += 1
                continue
            return raw

    def _once(
        self, url: str, headers: Mapping[str, str] | None, budget: _Budget, addresses: tuple[str, ...]
    ) -> _Raw:
        started = time.monotonic()
        target = httpx.URL(url)
        port = target.port or (443 if target.scheme == "https" else 80)
        try:
            with (
                deadline_scope(budget.at),
                pinned_addresses(target.raw_host.decode("ascii"), port, addresses),
                self._client.stream("GET", url, headers=dict(headers or {})) as response,
            ):
                request_headers = [(k, v) for k, v in response.request.headers.items()]
                status = response.status_code
                if status in REDIRECT_STATUSES and response.headers.get("location"):
                    body = b""
                else:
                    body = self._read_body(url, response, budget)
                return _Raw(
                    status=status,
                    headers=[(k, v) for k, v in response.headers.multi_items()],
                    body=body,
                    reason_phrase=response.reason_phrase,
                    http_version=response.http_version,
                    request_headers=request_headers,
                )
        except httpx.TimeoutException as exc:
            if budget.left() <= 0:
                raise budget.failure(url, _stage(started), f"{type(exc).__name__}: {exc}") from exc
            raise _Retryable("timeout", f"{type(exc).__name__}: {exc}") from exc
        except httpx.RemoteProtocolError as exc:
            # httpx builds the next request of every redirect even when not following it, and
            # refuses a Location holding control characters: the server's answer, not a network fault.
            if "location header" in str(exc).lower():
                raise FetchFailure(url, "bad_redirect", f"{type(exc).__name__}: {exc}") from exc
            if budget.left() <= 0:
                raise budget.failure(url, _stage(started), f"{type(exc).__name__}: {exc}") from exc
            raise _Retryable("connection_error", f"{type(exc).__name__}: {exc}") from exc
        except (httpx.ConnectError, httpx.ReadError, httpx.WriteError) as exc:
            if budget.left() <= 0:
                raise budget.failure(url, _stage(started), f"{type(exc).__name__}: {exc}") from exc
            raise _Retryable("connection_error", f"{type(exc).__name__}: {exc}") from exc
        except httpx.HTTPError as exc:
            raise FetchFailure(url, "http_error", f"{type(exc).__name__}: {exc}") from exc

    def _read_body(self, url: str, response: httpx.Response, budget: _Budget) -> bytes:
        options = self.options
        declared = response.headers.get("content-length")
        if declared and declared.isdigit() and int(declared) > options.max_bytes:
            raise FetchFailure(url, "too_large", f"Content-Length {declared} > {options.max_bytes}")
        encoding = response.headers.get("content-encoding", "").strip().lower()
        try:
            decoder = ContentDecoder(encoding)
        except ValueError as exc:
            raise FetchFailure(url, "unsupported_encoding", f"Content-Encoding {encoding!r}") from exc
        out = bytearray()
        raw_total = 0
        for chunk in response.iter_raw(_CHUNK):
            raw_total += len(chunk)
            if raw_total > options.max_bytes:
                raise FetchFailure(url, "too_large", f"body exceeds {options.max_bytes} bytes")
            try:
                piece = decoder.feed(chunk, options.max_bytes - len(out))
            except zlib.error as exc:
                raise FetchFailure(url, "bad_encoding", f"{encoding} stream is corrupt: {exc}") from exc
            out += piece
            if len(out) > options.max_bytes:
                reason = "decompression_bomb" if encoding not in ("", "identity") else "too_large"
                raise FetchFailure(url, reason, f"decoded body exceeds {options.max_bytes} bytes")
            if (
                len(out) > _DECOMPRESSION_RATIO_FLOOR
                and len(out) / max(raw_total, 1) > options.max_decompression_ratio
            ):
                raise FetchFailure(
                    url, "decompression_bomb", f"ratio {len(out) / raw_total:.0f} after {raw_total} bytes"
                )
            if budget.left() <= 0:  # the sockets stop at the deadline; this covers other transports
                raise budget.failure(url, f"reading the body ({raw_total} bytes so far)")
        return bytes(out)


def _stage(started: float) -> str:
    return f"waiting on the server (this attempt {time.monotonic() - started:.1f}s)"


def _header(headers: Sequence[tuple[str, str]], name: str) -> str | None:
    for key, value in headers:
        if key.lower() == name:
            return value
    return None
