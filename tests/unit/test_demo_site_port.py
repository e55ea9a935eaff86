"""The demo polls its fixture site only: another program on the site's port is named, not polled
as if it were the site (the demo would then report "nothing new" and process nothing)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from newsflow.devstack import demo, demo_site
from newsflow.errors import ServiceError


class _Foreign(BaseHTTPRequestHandler):
    server_version = "nginx/1.25"

    def do_GET(self) -> None:
        status = 200 if self.path == "/robots.txt" else 404
        self.send_response(status)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def foreign_port() -> Iterator[int]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Foreign)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield int(server.server_address[1])
    server.shutdown()
    server.server_close()


def test_another_program_on_the_port_is_named_not_polled(
    foreign_port: int, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NEWSFLOW_STATE_DIR", str(tmp_path))
    named = rf"port {foreign_port} is held by another program \('nginx/1\.25 "
    with pytest.raises(ServiceError, match=named):
        demo.site_up(foreign_port)
    assert not (tmp_path / "demo-site.pid").exists()  # nothing was started in its place


def test_the_fixture_site_already_running_is_reused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NEWSFLOW_STATE_DIR", str(tmp_path))
    (tmp_path / "robots.txt").write_text("User-agent: *\n")
    site = demo_site.start(tmp_path, 0, host="127.0.0.1")
    port = int(site.server.server_address[1])
    try:
        assert demo.site_up(port) == f"http://127.0.0.1:{port}"
    finally:
        site.stop()
    assert not (tmp_path / "demo-site.pid").exists()  # reused: no second site was started
