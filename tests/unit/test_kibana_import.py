"""The Kibana import client speaks Kibana's protocol: multipart, headers, retries until ready,
errors reported, bad credentials refused at once (against a stub server on 127.0.0.1)."""

from __future__ import annotations

import base64
import json
import threading
from collections.abc import Iterator
from email.parser import BytesParser
from email.policy import HTTP
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from newsflow.jsontypes import JsonObject

KIBANA_DIR = Path(__file__).resolve().parents[2] / "seeds" / "kibana"


def _objects() -> list[JsonObject]:
    from newsflow.kibana import saved_object_files
    from newsflow.kibana_files import load_saved_objects

    return [o for path in saved_object_files(KIBANA_DIR) for o in load_saved_objects(path)]


class _Stub(BaseHTTPRequestHandler):
    requests: list[dict[str, Any]]
    replies: list[tuple[int, dict[str, Any]]]

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.requests.append({"path": self.path, "headers": dict(self.headers), "body": body})
        status, payload = self.replies.pop(0) if self.replies else (200, {"success": True, "successCount": 0})
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def stub() -> Iterator[type[_Stub]]:
    handler = type("Handler", (_Stub,), {"requests": [], "replies": []})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    handler.url = f"http://127.0.0.1:{server.server_address[1]}"  # type: ignore[attr-defined]  # set per test
    yield handler
    server.shutdown()
    server.server_close()


def test_import_posts_multipart_with_headers_and_retries_until_ready(
    stub: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from newsflow.kibana import ImportOptions, KibanaConnection, import_saved_objects

    monkeypatch.setenv("NEWSFLOW_KIBANA_USERNAME", "elastic")
    monkeypatch.setenv("NEWSFLOW_KIBANA_PASSWORD", "s3cret-test")
    monkeypatch.delenv("NEWSFLOW_KIBANA_API_KEY", raising=False)
    count = len(_objects())
    stub.replies.extend(
        [
            (503, {"message": "Kibana server is not ready yet"}),
            (200, {"success": True, "successCount": count}),
        ]
    )
    conn = KibanaConnection.from_env(stub.url)
    assert "s3cret" not in repr(conn)
    reports = import_saved_objects(conn=conn, options=ImportOptions(timeout_s=10, retry_interval_s=0.05))
    assert [(r.success, r.success_count) for r in reports] == [(True, count)]
    assert len(stub.requests) == 2  # one 503 while starting, then the import
    request = stub.requests[-1]
    url = urlsplit(request["path"])
    assert url.path == "/api/saved_objects/_import"
    assert parse_qs(url.query) == {"overwrite": ["true"]}
    headers = {k.lower(): v for k, v in request["headers"].items()}
    assert headers["kbn-xsrf"]
    assert headers["authorization"] == "Basic " + base64.b64encode(b"elastic:s3cret-test").decode()
    assert headers["content-type"].startswith("multipart/form-data; boundary=")
    message = BytesParser(policy=HTTP).parsebytes(
        f"Content-Type: {headers['content-type']}\r\n\r\n".encode() + request["body"]
    )
    (part,) = list(message.iter_parts())
    assert part.get_param("name", header="content-disposition") == "file"
    assert part.get_filename() == "newsflow.ndjson"
    payload = part.get_payload(decode=True)
    assert payload == (KIBANA_DIR / "newsflow.ndjson").read_bytes()


def test_import_reports_errors_and_cli_exit_code(
    stub: Any, monkeypatch: pytest.MonkeyPatch, capsys: Any
) -> None:
    from newsflow.cli import main

    monkeypatch.delenv("NEWSFLOW_KIBANA_USERNAME", raising=False)
    monkeypatch.setenv("NEWSFLOW_KIBANA_API_KEY", "key-abc")
    error = {"id": "newsflow-dashboard", "type": "dashboard", "error": {"type": "missing_references"}}
    stub.replies.append((200, {"success": False, "successCount": 3, "errors": [error]}))
    assert main(["kibana", "import", "--url", stub.url, "--json", "--timeout", "5"]) == 1
    out = json.loads(capsys.readouterr().out)
    assert out[0]["errors"] == [error]
    assert stub.requests[0]["headers"].get("Authorization") == "ApiKey key-abc"

    stub.replies.append((200, {"success": True, "successCount": 11}))
    assert main(["kibana", "import", "--url", stub.url, "--timeout", "5"]) == 0


def test_an_odd_import_answer_reads_as_missing_or_fails_clearly(stub: Any) -> None:
    from newsflow.errors import ServiceError
    from newsflow.kibana import ImportOptions, KibanaConnection, import_saved_objects

    error = {"id": "newsflow-dashboard", "type": "dashboard", "error": {"type": "conflict"}}
    stub.replies.append((200, {"success": "yes", "successCount": "3", "errors": ["odd", error]}))
    conn, options = KibanaConnection(stub.url), ImportOptions(timeout_s=5)
    (report,) = import_saved_objects([KIBANA_DIR / "newsflow.ndjson"], conn, options)
    assert (report.success, report.success_count, report.errors) == (False, 0, (error,))
    stub.replies.append((200, ["not", "an", "object"]))
    with pytest.raises(ServiceError, match="no JSON object"):
        import_saved_objects([KIBANA_DIR / "newsflow.ndjson"], conn, options)


def test_import_refuses_bad_credentials_without_retrying(stub: Any) -> None:
    from newsflow.errors import ServiceError
    from newsflow.kibana import ImportOptions, KibanaConnection, import_saved_objects

    stub.replies.append((401, {"message": "unauthorized"}))
    with pytest.raises(ServiceError, match="credentials"):
        import_saved_objects(conn=KibanaConnection(url=stub.url), options=ImportOptions(timeout_s=5))
    assert len(stub.requests) == 1


def test_import_gives_up_when_kibana_never_answers() -> None:
    from newsflow.errors import ServiceError
    from newsflow.kibana import ImportOptions, KibanaConnection, import_saved_objects

    with pytest.raises(ServiceError, match="cannot reach Kibana"):
        import_saved_objects(
            conn=KibanaConnection(url="http://127.0.0.1:9"),
            options=ImportOptions(timeout_s=0.3, retry_interval_s=0.1, request_timeout_s=1),
        )
