"""A real webhook receiver on 127.0.0.1 for alert tests; it stops by itself.

It records every POST (path and JSON body) and answers from a queue of statuses
(200 once the queue is empty). A watchdog shuts it down after ``lifetime_s`` even if
a test never gets to its cleanup.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class Receiver:
    def __init__(self, lifetime_s: float = 300.0) -> None:
        self.posts: list[dict[str, Any]] = []
        self.statuses: list[int] = []
        self._lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                with receiver._lock:
                    status = receiver.statuses.pop(0) if receiver.statuses else 200
                    receiver.posts.append(
                        {"path": self.path, "status": status, "json": json.loads(body or b"null")}
                    )
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.watchdog = threading.Timer(lifetime_s, self.stop)
        self.watchdog.daemon = True

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/hooks/T0KEN-secret"

    def delivered(self) -> list[dict[str, Any]]:
        """Bodies of the POSTs answered 2xx."""
        with self._lock:
            return [p["json"] for p in self.posts if 200 <= p["status"] < 300]

    def wait_for(self, count: int, timeout_s: float = 30.0) -> list[dict[str, Any]]:
        """Poll until ``count`` POSTs were answered 2xx (deliveries are synchronous; this is a bound)."""
        deadline = time.monotonic() + timeout_s
        while len(self.delivered()) < count and time.monotonic() < deadline:
            time.sleep(0.05)
        return self.delivered()

    def start(self) -> Receiver:
        self.thread.start()
        self.watchdog.start()
        return self

    def stop(self) -> None:
        self.watchdog.cancel()
        self.server.shutdown()
        self.server.server_close()


@contextmanager
def receiver(lifetime_s: float = 300.0) -> Iterator[Receiver]:
    running = Receiver(lifetime_s).start()
    try:
        yield running
    finally:
        running.stop()
