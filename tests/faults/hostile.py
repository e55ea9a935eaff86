"""A hostile HTTP server on 127.0.0.1 for fault drills, and the drill report every test prints.

Routes are plain functions writing raw bytes to the socket, so a route can do what a
well-behaved server never does: drip the status line, the headers or the body one byte
a second, never finish, lie in its headers. The server stops by itself: every dripping
route checks a stop event, and a watchdog shuts the whole server down after
``lifetime`` seconds even if a test forgets to.
"""

from __future__ import annotations

import contextlib
import json
import os
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

Route = Callable[["Request"], None]


@dataclass
class Request:
    """What a route sees: the path, the request headers and a raw writer."""

    handler: BaseHTTPRequestHandler
    server: HostileServer
    path: str

    @property
    def headers(self) -> Any:
        return self.handler.headers

    def write(self, data: bytes) -> None:
        self.handler.wfile.write(data)
        self.handler.wfile.flush()

    def respond(
        self, status: int, body: bytes = b"", content_type: str = "text/html", **headers: str
    ) -> None:
        """A complete, well-formed response (for the routes that are not the attack)."""
        lines = [f"HTTP/1.0 {status} X", f"Content-Type: {content_type}", f"Content-Length: {len(body)}"]
        lines += [f"{key.replace('_', '-')}: {value}" for key, value in headers.items()]
        self.write(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body)

    def drip(self, data: bytes, *, every: float = 1.0, forever: bool = False) -> None:
        """``data`` one byte every ``every`` seconds (repeated when ``forever``) until stopped."""
        while not self.server.stopping.is_set():
            for byte in data:
                self.write(bytes([byte]))
                if self.server.stopping.wait(every):
                    return
            if not forever:
                return


@dataclass
class HostileServer:
    routes: dict[str, Route]
    lifetime: float = 300.0
    hits: Counter[str] = field(default_factory=Counter)
    connections: int = 0
    stopping: threading.Event = field(default_factory=threading.Event)
    base_url: str = ""
    port: int = 0

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self._watchdog: threading.Timer | None = None

    def start(self) -> HostileServer:
        hostile = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.0"

            def log_message(self, format: str, *args: Any) -> None:
                return

            def setup(self) -> None:
                super().setup()
                with hostile._lock:
                    hostile.connections += 1

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                self.rfile.read(min(length, 1 << 20))
                self.do_GET()

            do_PATCH = do_POST

            def do_GET(self) -> None:
                path = self.path.split("?", 1)[0]
                with hostile._lock:
                    hostile.hits[path] += 1
                route = hostile.routes.get(path) or hostile.routes.get("*")
                # The client hangs up on purpose (deadlines, caps): not an error here.
                with contextlib.suppress(BrokenPipeError, ConnectionResetError, TimeoutError):
                    if route is None:
                        Request(self, hostile, path).respond(404, b"not here", "text/plain")
                    else:
                        route(Request(self, hostile, path))

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.port = int(self._server.server_address[1])
        self.base_url = f"http://127.0.0.1:{self.port}"
        threading.Thread(target=self._server.serve_forever, name="hostile", daemon=True).start()
        self._watchdog = threading.Timer(self.lifetime, self.stop)
        self._watchdog.daemon = True
        self._watchdog.start()
        return self

    def stop(self) -> None:
        self.stopping.set()
        if self._watchdog is not None:
            self._watchdog.cancel()
        server, self._server = self._server, None
        if server is not None:
            server.shutdown()
            server.server_close()


@contextlib.contextmanager
def serving(routes: dict[str, Route], lifetime: float = 300.0) -> Iterator[HostileServer]:
    server = HostileServer(routes, lifetime=lifetime).start()
    try:
        yield server
    finally:
        server.stop()


@dataclass
class Drill:
    """One drill's line in the report: what was tried, what was expected, what was found."""

    name: str
    tried: str
    expected: str
    bound: float | None = None
    found: str = ""
    error: str = ""
    elapsed: float = 0.0
    outcome: str = "passed"
    test: str = field(default_factory=lambda: os.environ.get("PYTEST_CURRENT_TEST", "").rsplit(" ", 1)[0])

    def line(self) -> str:
        bound = f" (bound {self.bound:g} s)" if self.bound is not None else ""
        text = (
            f"DRILL {self.name} [{self.outcome}]\n  test:     {self.test}\n"
            f"  tried:    {self.tried}\n  expected: {self.expected}\n"
            f"  found:    {self.found}\n  time:     {self.elapsed:.1f} s{bound}"
        )
        return text + (f"\n  error:    {self.error}" if self.error else "")


@contextlib.contextmanager
def drill(name: str, *, tried: str, expected: str, bound: float | None = None) -> Iterator[Drill]:
    """Time the block and print its report line (also on failure); NEWSFLOW_FAULTS_REPORT collects them."""
    record = Drill(name, tried, expected, bound)
    started = time.monotonic()
    try:
        yield record
    except BaseException:
        record.outcome = "FAILED"
        raise
    finally:
        if not record.elapsed:
            record.elapsed = time.monotonic() - started
        print("\n" + record.line())
        target = os.environ.get("NEWSFLOW_FAULTS_REPORT")
        if target:
            with open(target, "a", encoding="utf-8") as out:  # noqa: PTH123 - one append per drill
                out.write(json.dumps(record.__dict__) + "\n")
