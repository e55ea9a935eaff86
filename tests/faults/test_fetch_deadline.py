"""Slow servers cannot hold a fetch past its deadline: body, headers and silence, one byte a second.

Issue 15, item 1: a server dripping one byte a second held ``newsflow fetch-feed`` for
605 s (three attempts), and a never-ending drip hung a poll task forever, because the
deadline was only checked after 64 KiB of body. Each drill here runs such a server on
127.0.0.1 and checks the fetch gives up at its deadline, with the reason ``deadline``.
"""

from __future__ import annotations

import time

import pytest

from newsflow.cli import main
from newsflow.fetch import Fetcher, FetchFailure, FetchOptions
from tests.faults.hostile import Request, drill, serving

DEADLINE = 4.0
SLACK = 6.0  # a loaded 2-core machine may start the fetch late; the deadline itself is exact


def _drip_body(request: Request) -> None:
    request.write(b"HTTP/1.0 200 OK\r\nContent-Type: text/html\r\nContent-Length: 100000\r\n\r\n<html>")
    request.drip(b"x" * 1000)


def _drip_forever(request: Request) -> None:
    request.write(b"HTTP/1.0 200 OK\r\nContent-Type: text/html\r\n\r\n<html>")
    request.drip(b"<p>still here</p>", forever=True)


def _drip_headers(request: Request) -> None:
    request.drip(b"HTTP/1.0 200 OK\r\nContent-Type: application/rss+xml\r\nX-Padding: " + b"x" * 200)


def _silent(request: Request) -> None:
    request.server.stopping.wait(120)


def _options(port: int, **overrides: object) -> FetchOptions:
    base: dict[str, object] = {
        "deadline": DEADLINE,
        "read_timeout": 20.0,
        "allow_private_hosts": frozenset({f"127.0.0.1:{port}"}),
        "respect_robots": False,
        "per_host_delay": 0.0,
        "backoff_base": 0.2,
    }
    base.update(overrides)
    return FetchOptions(**base)  # type: ignore[arg-type]  # test helper forwards keyword overrides


@pytest.mark.parametrize(
    ("name", "route", "what"),
    [
        ("slow body drip", _drip_body, "headers at once, then a 100 kB body at 1 byte/s"),
        ("never-ending drip", _drip_forever, "headers at once, then a body at 1 byte/s that never ends"),
        ("slow header drip", _drip_headers, "status line and headers at 1 byte/s"),
    ],
)
def test_drip_gives_up_at_the_deadline_after_one_attempt(name: str, route: object, what: str) -> None:
    with (
        serving({"/page": route}, lifetime=120) as server,  # type: ignore[dict-item]  # routes are Route callables
        Fetcher(_options(server.port)) as fetcher,
        drill(
            name,
            tried=f"fetch {what}; deadline {DEADLINE:g}s, read timeout 20s, 2 retries allowed",
            expected=f"FetchFailure 'deadline' after about {DEADLINE:g}s, 1 attempt (no retry past it)",
            bound=DEADLINE + SLACK,
        ) as report,
    ):
        started = time.monotonic()
        with pytest.raises(FetchFailure) as info:
            fetcher.fetch(f"{server.base_url}/page")
        report.elapsed = time.monotonic() - started
        report.found = (
            f"gave up after {report.elapsed:.1f}s, {server.hits['/page']} attempt(s), {info.value.reason}"
        )
        report.error = str(info.value)
        assert info.value.reason == "deadline"
        assert DEADLINE - 0.5 <= report.elapsed <= DEADLINE + SLACK
        assert server.hits["/page"] == 1


def test_silent_server_is_retried_only_within_the_deadline() -> None:
    with (
        serving({"/page": _silent}, lifetime=120) as server,
        Fetcher(_options(server.port, read_timeout=1.0, retries=5)) as fetcher,
        drill(
            "silent server",
            tried="fetch from a server that accepts and never answers; read timeout 1s, 5 retries, "
            f"deadline {DEADLINE:g}s",
            expected="retries after each read timeout stop at the deadline: 'deadline', < 6 attempts",
            bound=DEADLINE + SLACK,
        ) as report,
    ):
        started = time.monotonic()
        with pytest.raises(FetchFailure) as info:
            fetcher.fetch(f"{server.base_url}/page")
        report.elapsed = time.monotonic() - started
        report.found = (
            f"gave up after {report.elapsed:.1f}s, {server.hits['/page']} attempts, {info.value.reason}"
        )
        report.error = str(info.value)
        assert info.value.reason == "deadline"
        assert report.elapsed <= DEADLINE + SLACK
        assert 2 <= server.hits["/page"] < 6


def test_fetch_feed_with_timeout_5_gives_up_on_dripped_headers(capsys: pytest.CaptureFixture[str]) -> None:
    routes = {"/feed.xml": _drip_headers, "/robots.txt": lambda r: r.respond(404, b"", "text/plain")}
    with (
        serving(routes, lifetime=120) as server,
        drill(
            "fetch-feed header drip",
            tried="newsflow fetch-feed URL --allow-private --timeout 5 against headers sent at 1 byte/s",
            expected="rc 2 within about 5s, error names the 'deadline', no traceback",
            bound=5 + SLACK,
        ) as report,
    ):
        started = time.monotonic()
        code = main(["fetch-feed", f"{server.base_url}/feed.xml", "--allow-private", "--timeout", "5"])
        report.elapsed = time.monotonic() - started
        err = capsys.readouterr().err
        report.found = f"rc {code} after {report.elapsed:.1f}s, {server.hits['/feed.xml']} attempt(s)"
        report.error = " ".join(err.split())
        assert code == 2
        assert "deadline" in err and "Traceback" not in err
        assert report.elapsed <= 5 + SLACK
        assert server.hits["/feed.xml"] == 1
