"""The demo's fixture news site, served over real HTTP on 127.0.0.1.

A static directory (``seeds/site``) with ``{{BASE}}`` replaced by the server's
base URL, strong ETags and ``304 Not Modified``, so the demo exercises the
same conditional-GET path as a real publisher.
"""

from __future__ import annotations

import hashlib
import logging
import mimetypes
import threading
from dataclasses import dataclass
from email.utils import formatdate
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import unquote, urlsplit

from newsflow import settings

log = logging.getLogger(__name__)

DEFAULT_PORT = 8765
SERVER = "newsflow-demo-site/"  # how the site names itself, so the demo knows it is ours
LAST_MODIFIED = formatdate(1661846400, usegmt=True)  # 2022-08-30, when the seed reports ran


def _content_type(path: Path) -> str:
    if path.name.endswith(".xml"):
        return "application/rss+xml; charset=utf-8"
    guessed = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    return f"{guessed}; charset=utf-8" if guessed.startswith("text/") else guessed


def make_handler(root: Path) -> type[BaseHTTPRequestHandler]:
    root = root.resolve()

    class Handler(BaseHTTPRequestHandler):
        server_version = f"{SERVER}1"

        def log_message(self, format: str, *args: object) -> None:
            log.debug("demo site: " + format, *args)

        def do_GET(self) -> None:
            path = unquote(urlsplit(self.path).path)
            # Access log at arrival, per serving address: tests check per-host politeness with it.
            log.debug("demo site %s: GET %s", self.connection.getsockname()[0], path)
            target = (root / path.lstrip("/")).resolve()
            if target.is_dir():
                target = target / "index.html"
            if root not in target.parents or not target.is_file():
                self.send_error(HTTPStatus.NOT_FOUND)
                return
            host = self.headers.get("Host") or "127.0.0.1"
            body = target.read_bytes().replace(b"{{BASE}}", f"http://{host}".encode())
            etag = '"' + hashlib.sha256(body).hexdigest()[:20] + '"'
            if self.headers.get("If-None-Match") == etag:
                self.send_response(HTTPStatus.NOT_MODIFIED)
                self.send_header("ETag", etag)
                self.end_headers()
                return
            self.send_response(HTTPStatus.OK)
            self.send_header("Content-Type", _content_type(target))
            self.send_header("Content-Length", str(len(body)))
            self.send_header("ETag", etag)
            self.send_header("Last-Modified", LAST_MODIFIED)
            self.end_headers()
            self.wfile.write(body)

    return Handler


@dataclass
class RunningSite:
    server: ThreadingHTTPServer
    thread: threading.Thread

    @property
    def base_url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host!s}:{port}"

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)


def start(root: Path | None = None, port: int = 0, host: str = "127.0.0.1") -> RunningSite:
    """Serve ``root`` (default ``seeds/site``) in a daemon thread; port 0 picks a free one."""
    root = root or settings.seeds_dir() / "site"
    server = ThreadingHTTPServer((host, port), make_handler(root))
    thread = threading.Thread(target=server.serve_forever, name="demo-site", daemon=True)
    thread.start()
    return RunningSite(server=server, thread=thread)
