"""``newsflow feeds status`` and ``newsflow status`` against the real Elasticsearch node.

The documents are written the way the pipeline writes them (``record_run_metrics``,
``index_articles``; feed health in its first, smallest shape through ``record_feed_health``)
under index names of the test's own; Airflow is
pointed at a port nothing listens on, so the status screen must say it is unreachable and
still show everything Elasticsearch and the archive hold.
"""

from __future__ import annotations

import json
import re
import socket
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.articles import make_article

pytestmark = pytest.mark.integration

NOW = datetime.now(UTC)
HOSTILE_FEED = "evil-[bold]feed[/]"


@pytest.fixture
def names(own_aliases: Any) -> Any:
    return own_aliases


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _feeds(es_client: Any, names: Any) -> None:
    """Feed-health documents as the first poll flow wrote them (no ``in_error``, ``polls``,
    ``next_due``...): the fields every later version keeps, so the readers' fallbacks are
    what is tested, whichever version of the writer is installed."""
    from newsflow.index.feed_health import feed_health_id

    def older(feed: str, status: str, streak: int, **fields: Any) -> dict[str, Any]:
        dates = {
            k: v.isoformat().replace("+00:00", "Z") for k, v in fields.items() if isinstance(v, datetime)
        }
        return {
            "feed": feed,
            "status": status,
            "error_streak": streak,
            "last_success": None,
            "last_error": None,
            "checked_at": (NOW - timedelta(minutes=5)).isoformat().replace("+00:00", "Z"),
            **fields,
            **dates,
        }

    # Written as such, not through ``record_feed_health``: it writes this version's shape.
    for document in (
        older("demo-northern-herald", "success", 0, last_success=NOW - timedelta(minutes=5)),
        older(HOSTILE_FEED, "failed", 3, last_success=NOW - timedelta(hours=2), last_error="http_404"),
        older("flaky", "partial", 1, last_error="timeout"),
    ):
        es_client.index(index=names.feed_health, id=feed_health_id(document["feed"]), document=document)
    es_client.indices.refresh(index=names.feed_health)


def _runs(es_client: Any, names: Any) -> None:
    from newsflow.index import record_run_metrics

    for n in range(4):  # poll runs, the newest first
        at = NOW - timedelta(minutes=5 * n + 1)
        record_run_metrics(
            es_client,
            f"newsflow_poll/scheduled__{at:%Y-%m-%dT%H:%M}",
            "poll",
            {"feeds_polled": 3, "feeds_failed": {"http_404": 1}},
            at - timedelta(seconds=20),
            at,
            dag_id="newsflow_poll",
            status="partial",
            names=names,
        )
    record_run_metrics(
        es_client,
        "newsflow_process/asset_triggered__1",
        "process",
        {"pages_read": 2, "index_created": 2, "rejected": {"paywall": 1}},
        NOW - timedelta(minutes=3),
        NOW - timedelta(minutes=2),
        dag_id="newsflow_process",
        names=names,
        refresh=True,
    )


def test_feeds_status_lists_each_feed_with_errors_first(
    es_client: Any,
    names: Any,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    from newsflow.cli import main

    _feeds(es_client, names)
    registry = tmp_path / "feeds.yaml"
    registry.write_text(
        "feeds:\n"
        + "".join(
            f"  - name: {name}\n    url: https://{name}.example/feed\n    language: en\n"
            "    poll_interval: 15m\n    tags: [t]\n"
            for name in ("demo-northern-herald", "flaky", "never-polled")
        )
    )
    monkeypatch.setenv("COLUMNS", "250")
    assert main(["feeds", "status", "--registry", str(registry)]) == 0
    out = capsys.readouterr().out
    assert "feeds: 4, in error: 2" in out
    lines = [
        line.split()[0]
        for line in out.splitlines()
        if line.strip().startswith(("evil", "flaky", "demo", "never"))
    ]
    assert lines == [HOSTILE_FEED, "flaky", "never-polled", "demo-northern-herald"]
    assert "(not in the registry)" in out and "never polled" in out
    # NOW is taken at import, and a whole suite may run before this test: the age shown is
    # checked against the time that really passed since the feed's last success.
    ago_min = (datetime.now(UTC) - (NOW - timedelta(hours=2))).total_seconds() / 60
    shown = re.search(r"\((\d+)h(\d\d)m ago\)", out)
    assert "http_404" in out and shown, out
    assert abs(int(shown[1]) * 60 + int(shown[2]) - ago_min) <= 2, (shown[0], ago_min)

    assert main(["feeds", "status", "--json", "--errors"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [(r["feed"], r["error_streak"], r["last_error"]) for r in rows] == [
        (HOSTILE_FEED, 3, "http_404"),
        ("flaky", 1, "timeout"),
    ]
    assert all(r["polls"] is None and r["next_due"] is None for r in rows), "fields never written stay null"


def test_feeds_status_without_the_index_says_how_to_create_it(
    es_client: Any, es_prefix: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from newsflow.cli import main

    monkeypatch.setenv("NEWSFLOW_FEED_HEALTH_ALIAS", f"{es_prefix}-nothing-here")
    assert main(["feeds", "status"]) == 2
    assert "newsflow index setup" in capsys.readouterr().err


def test_status_shows_everything_it_can_read(
    es_client: Any,
    names: Any,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    from newsflow.cli import main
    from newsflow.index import index_articles

    _feeds(es_client, names)
    _runs(es_client, names)
    articles = [
        make_article(
            f"https://outlet.example/{n}", f"Report {n}", f"Text of report {n}. " * 20, published, "Outlet"
        )
        for n, published in enumerate(["2022-08-30T07:15:00Z", "2022-08-31T09:40:00Z"])
    ]
    index_articles(es_client, articles, names=names, run_id="test-run")
    es_client.indices.refresh(index=names.articles)
    archive = tmp_path / "archive"
    letters = archive / "dead-letter" / f"{NOW:%Y/%m/%d}"
    letters.mkdir(parents=True)
    (letters / "newsflow_process_run.jsonl").write_text(
        '{"id": "a", "reason": "mapper_parsing_exception", "document": {}}\n'
        '{"id": "b", "reason": "unavailable", "document": {}}\n'
    )
    (letters / "newsflow_process_run.jsonl.done").write_text('{"line": 2, "id": "b", "outcome": "created"}\n')
    monkeypatch.setenv("NEWSFLOW_ARCHIVE", str(archive))
    monkeypatch.setenv("NEWSFLOW_AIRFLOW_URL", f"http://127.0.0.1:{_closed_port()}")
    monkeypatch.setenv("NEWSFLOW_AIRFLOW_PASSWORD", "not-used")
    monkeypatch.setenv("COLUMNS", "250")

    assert main(["status", "--json"]) == 1, "Airflow is unreachable: exit 1"
    report = json.loads(capsys.readouterr().out)
    es, airflow = report["services"]
    assert es["up"] and not airflow["up"] and "ConnectError" in airflow["detail"]
    assert report["dags"] is None
    assert report["indices"][names.articles] == 2 and report["indices"][names.runs] == 5
    assert report["indices"][names.feed_health] == 3
    fresh = report["freshness"]
    assert fresh["newest_published"] == "2022-08-31T09:40:00Z"
    indexed = datetime.fromisoformat(fresh["newest_indexed"].replace("Z", "+00:00"))
    assert abs((indexed - datetime.now(UTC)).total_seconds()) < 600
    assert fresh["lag_sample"] == 2 and fresh["median_lag_s"] > 3 * 365 * 86400
    poll = report["runs"]["newsflow_poll"]
    assert len(poll) == 3 and poll[0]["finished"] > poll[1]["finished"] > poll[2]["finished"]
    assert {r["status"] for r in poll} == {"partial"}
    process = report["runs"]["newsflow_process"]
    assert [(r["run_id"], r["counts"]["rejected"]) for r in process] == [
        ("newsflow_process/asset_triggered__1", 1)
    ]
    assert report["dead_letters"]["lines"] == 2 and report["dead_letters"]["waiting"] == 1
    assert report["feeds_in_error"]["count"] == 2
    assert [r["feed"] for r in report["feeds_in_error"]["worst"]] == [HOSTILE_FEED, "flaky"]
    assert report["errors"] == {}

    assert main(["status"]) == 1
    screen = capsys.readouterr().out
    for expected in (
        "Elasticsearch up",
        "Airflow       unreachable",
        "newest published 2022-08-31 09:40",
        "last runs (run records)",
        "feeds 3, feeds failed 1 (http_404 1)",
        "read 2, rejected 1 (paywall 1), created 2",
        "1 waiting of 2",
        "feeds in error or failing  2",
        f"{HOSTILE_FEED}: 3 failed in a row",
    ):
        assert expected in screen, expected
    assert "not-used" not in screen


def test_status_with_elasticsearch_down_still_answers(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from newsflow.cli import main

    monkeypatch.setenv("NEWSFLOW_ES_URL", f"http://elastic:s3cret@127.0.0.1:{_closed_port()}")
    monkeypatch.setenv("NEWSFLOW_AIRFLOW_URL", f"http://127.0.0.1:{_closed_port()}")
    monkeypatch.setenv("NEWSFLOW_ARCHIVE", str(tmp_path))
    assert main(["status", "--json"]) == 1
    report = json.loads(capsys.readouterr().out)
    assert [s["up"] for s in report["services"]] == [False, False]
    assert "s3cret" not in json.dumps(report) and "elastic:***@" in report["services"][0]["detail"]
    assert report["indices"] is None and report["dead_letters"]["lines"] == 0
