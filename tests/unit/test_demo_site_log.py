"""The demo site logs each request at arrival with the address it was served on (per-host politeness
checks in the Celery drill read it)."""

from __future__ import annotations

import logging
import urllib.request
from pathlib import Path

import pytest

from newsflow.devstack import demo_site


def test_each_request_is_logged_with_its_serving_address(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    (tmp_path / "index.html").write_text("<html></html>")
    first = demo_site.start(tmp_path, 0, host="127.0.0.1")
    port = int(first.server.server_address[1])
    second = demo_site.start(tmp_path, port, host="127.0.0.2")
    try:
        with caplog.at_level(logging.DEBUG, logger="newsflow.devstack.demo_site"):
            for host in ("127.0.0.1", "127.0.0.2", "127.0.0.2"):
                with urllib.request.urlopen(f"http://{host}:{port}/index.html", timeout=10) as answer:
                    assert answer.status == 200
    finally:
        first.stop()
        second.stop()
    hits = [r.args for r in caplog.records if r.msg == "demo site %s: GET %s"]
    assert hits == [("127.0.0.1", "/index.html"), ("127.0.0.2", "/index.html"), ("127.0.0.2", "/index.html")]
