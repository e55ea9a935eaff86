"""Kibana saved objects are structurally valid, and the import client speaks Kibana's protocol."""

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

REPO = Path(__file__).resolve().parents[2]
KIBANA_DIR = REPO / "seeds" / "kibana"
ES_DIR = REPO / "seeds" / "elasticsearch"


def _objects() -> list[dict[str, Any]]:
    objs = []
    for path in sorted(KIBANA_DIR.glob("*.ndjson")):
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip():
                objs.append(json.loads(line))  # every line must be valid JSON
    assert objs, "seeds/kibana holds no saved objects"
    return objs


def _declared(kind: str) -> set[str]:
    mapping = json.loads((ES_DIR / f"{kind}.mappings.json").read_text())["mappings"]

    def walk(props: dict[str, Any], prefix: str) -> Iterator[str]:
        for name, spec in props.items():
            yield prefix + name
            for sub in spec.get("fields", {}):
                yield f"{prefix}{name}.{sub}"
            yield from walk(spec.get("properties", {}), f"{prefix}{name}.")

    return set(walk(mapping["properties"], ""))


def _index_fields() -> dict[str, set[str]]:
    kinds = ("news-articles", "newsflow-runs", "newsflow-story-merges")
    return {kind: _declared(kind) for kind in kinds}


def test_ids_unique_and_references_resolve() -> None:
    objs = _objects()
    keys = [(o["type"], o["id"]) for o in objs]
    assert len(keys) == len(set(keys))
    assert len({o["id"] for o in objs}) == len(objs)
    for obj in objs:
        for ref in obj.get("references", []):
            assert (ref["type"], ref["id"]) in keys, f"{obj['id']} -> {ref}"


def test_data_views_match_aliases_and_time_fields() -> None:
    views = {o["attributes"]["title"]: o["attributes"] for o in _objects() if o["type"] == "index-pattern"}
    assert views["news-articles"]["timeFieldName"] == "published"
    assert views["newsflow-runs"]["timeFieldName"] == "finished"
    assert views["newsflow-story-merges"]["timeFieldName"] == "recorded_at"
    fields = _index_fields()
    for title, attrs in views.items():
        assert attrs["timeFieldName"] in fields[title]


def test_every_field_used_is_mapped() -> None:
    from newsflow.kibana import check_saved_objects, fields_used

    objs = _objects()
    assert check_saved_objects(objs, _index_fields()) == []
    used = set().union(*(fields_used(o) for o in objs))
    assert {"published", "source", "relation", "story_id", "title.raw", "counts.indexed", "stage"} <= used


def test_checker_catches_unmapped_fields_and_dangling_references() -> None:
    from newsflow.kibana import check_saved_objects

    objs = _objects()
    broken = json.loads(json.dumps(objs))
    vis = next(o for o in broken if o["type"] == "visualization")
    state = json.loads(vis["attributes"]["visState"])
    state["aggs"][-1]["params"]["field"] = "no_such_field"
    vis["attributes"]["visState"] = json.dumps(state)
    dash = next(o for o in broken if o["type"] == "dashboard")
    dash["references"].append({"id": "gone", "name": "panel_x", "type": "visualization"})
    problems = check_saved_objects(broken, _index_fields())
    assert any("no_such_field" in p for p in problems)
    assert any("'gone'" in p for p in problems)
    assert check_saved_objects([*objs, objs[0]], _index_fields())  # duplicate id


def test_expected_searches_and_dashboard_panels() -> None:
    objs = _objects()
    searches = {o["attributes"]["title"]: o for o in objs if o["type"] == "search"}
    assert {"Stories (one report per story)", "All reports", "Story merges and renames"} <= set(searches)
    stories_query = json.loads(
        searches["Stories (one report per story)"]["attributes"]["kibanaSavedObjectMeta"]["searchSourceJSON"]
    )["query"]["query"]
    assert "relation" in stories_query and "original" in stories_query
    (dashboard,) = [o for o in objs if o["type"] == "dashboard"]
    panels = json.loads(dashboard["attributes"]["panelsJSON"])
    refs = {r["name"]: r["id"] for r in dashboard["references"]}
    shown = {refs[p["panelRefName"]] for p in panels}
    by_id = {o["id"]: o for o in objs}
    titles = {by_id[i]["attributes"]["title"].lower() for i in shown}
    for needle in ("over time", "per source", "duplicates", "biggest stories", "run health"):
        assert any(needle in t for t in titles), needle
    run_views = {r["id"] for i in shown for r in by_id[i]["references"]}
    assert {"newsflow-articles", "newsflow-runs"} <= run_views
    for i in shown:
        state = json.loads(by_id[i]["attributes"]["visState"])
        assert state["type"] and state["aggs"]


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


def test_cli_check_passes_on_the_repository_objects() -> None:
    from newsflow.cli import main

    assert main(["kibana", "check"]) == 0
