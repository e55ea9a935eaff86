"""A wall-clock deadline that every socket wait of a fetch obeys, and connections pinned to checked IPs.

httpx's timeouts bound each single socket wait, so a server sending one byte a second
never trips them: the status line, the headers and the body can each take forever.
Here the fetcher's deadline is set for the calling thread (``deadline_scope``) and the
network backend under httpx clamps every connect, TLS handshake, read and write to the
time left, so the operating system's socket timer ends the request at the deadline
wherever it is stuck. A wait that would start after the deadline fails at once.

The backend also connects to the addresses the private-address policy approved for a
host (``pinned_addresses``) instead of resolving the name a second time, so a DNS
answer that changes between the check and the connection cannot reach a refused address.
"""

from __future__ import annotations

import contextlib
import threading
import time
import typing
from collections.abc import Iterator, Sequence

import httpcore
import httpx

_local = threading.local()


class DeadlineExceeded(Exception):
    """The calling thread's deadline passed before a socket wait could start."""


@contextlib.contextmanager
def deadline_scope(at: float) -> Iterator[None]:
    """Bound every socket wait of this thread by ``at`` (``time.monotonic()`` seconds); scopes nest."""
    outer: float | None = getattr(_local, "deadline", None)
    _local.deadline = at if outer is None else min(outer, at)
    try:
        yield
    finally:
        _local.deadline = outer


def remaining() -> float | None:
    """Seconds left before this thread's deadline, or None when no deadline is set."""
    at: float | None = getattr(_local, "deadline", None)
    return None if at is None else at - time.monotonic()


def expired() -> bool:
    left = remaining()
    return left is not None and left <= 0


def _clamp(timeout: float | None) -> float | None:
    left = remaining()
    if left is None:
        return timeout
    if left <= 0:
        raise DeadlineExceeded("the fetch deadline has passed")
    return left if timeout is None else min(timeout, left)


@contextlib.contextmanager
def pinned_addresses(host: str, port: int, addresses: Sequence[str]) -> Iterator[None]:
    """Connections of this thread to ``host:port`` go to ``addresses`` (already checked), in order."""
    pins: dict[tuple[str, int], tuple[str, ...]] = getattr(_local, "pins", None) or {}
    _local.pins = {**pins, (host.lower(), port): tuple(addresses)}
    try:
        yield
    finally:
        _local.pins = pins


def _pins_for(host: str, port: int) -> tuple[str, ...]:
    pins: dict[tuple[str, int], tuple[str, ...]] = getattr(_local, "pins", None) or {}
    return pins.get((host.lower().strip("[]"), port), ())


class _BoundedStream(httpcore.NetworkStream):
    """A socket stream whose every wait ends by the thread's deadline."""

    def __init__(self, inner: httpcore.NetworkStream) -> None:
        self._inner = inner

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        try:
            bounded = _clamp(timeout)
        except DeadlineExceeded as exc:
            raise httpcore.ReadTimeout(str(exc)) from exc
        return self._inner.read(max_bytes, bounded)

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        try:
            bounded = _clamp(timeout)
        except DeadlineExceeded as exc:
            raise httpcore.WriteTimeout(str(exc)) from exc
        self._inner.write(buffer, bounded)

    def close(self) -> None:
        self._inner.close()

    def start_tls(
        self,
        ssl_context: typing.Any,
        server_hostname: str | None = None,
        timeout: float | None = None,
    ) -> httpcore.NetworkStream:
        try:
            bounded = _clamp(timeout)
        except DeadlineExceeded as exc:
            raise httpcore.ConnectTimeout(str(exc)) from exc
        return _BoundedStream(self._inner.start_tls(ssl_context, server_hostname, bounded))

    def get_extra_info(self, info: str) -> typing.Any:
        return self._inner.get_extra_info(info)


class BoundedBackend(httpcore.NetworkBackend):
    """httpcore's blocking backend with deadline-clamped waits and pinned addresses."""

    def __init__(self) -> None:
        self._inner = httpcore.SyncBackend()

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: typing.Iterable[typing.Any] | None = None,
    ) -> httpcore.NetworkStream:
        targets = _pins_for(host, port) or (host,)
        last: Exception | None = None
        for target in targets:
            try:
                bounded = _clamp(timeout)
            except DeadlineExceeded as exc:
                raise httpcore.ConnectTimeout(str(exc)) from exc
            try:
                stream = self._inner.connect_tcp(target, port, bounded, local_address, socket_options)
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                last = exc
                continue
            return _BoundedStream(stream)
        assert last is not None  # at least one target was tried
        raise last

    def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,
        socket_options: typing.Iterable[typing.Any] | None = None,
    ) -> httpcore.NetworkStream:
        raise httpcore.ConnectError("unix sockets are never fetched")

    def sleep(self, seconds: float) -> None:
        time.sleep(seconds)


def bounded_transport() -> httpx.HTTPTransport:
    """httpx's own transport (request mapping, errors) over ``BoundedBackend``.

    httpx 0.28 takes no network backend, so its connection pool is replaced by an
    identical one built with ours; tests/faults fail if a new httpx ignores it.
    """
    transport = httpx.HTTPTransport(trust_env=False)
    transport._pool = httpcore.ConnectionPool(  # private, but the only hook for a backend (see above)
        ssl_context=httpx.create_ssl_context(trust_env=False),
        max_connections=100,
        max_keepalive_connections=20,
        keepalive_expiry=5.0,
        network_backend=BoundedBackend(),
    )
    return transport
