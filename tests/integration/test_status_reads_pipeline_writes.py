"""What the pipeline writes (run records per attempt, poll records, feed health, dead letters
marked done by a replay) is what the operators' commands read: written by the writers
themselves, read back through ``newsflow status``, ``feeds status`` and ``records_of_runs``."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.integration
NOW = datetime.now(UTC).replace(microsecond=0)


def test_status_reads_what_the_pipeline_writes(  # noqa: PLR0917 - pytest fixtures
    es_client: Any,
    es_prefix: str,
    own_aliases: Any,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
) -> None:
    from newsflow.cli import main
    from newsflow.counts import Counts
    from newsflow.flows.runs import BatchResult, RunInfo, RunKind, open_run, record_run
    from newsflow.index.dead_letter import (
        dead_letter_path,
        mark_replayed,
        scan_dead_letters,
        write_dead_letters,
    )
    from newsflow.index.feed_health import FeedHealth, record_feed_health
    from newsflow.timestamps import iso_z

    names = own_aliases
    monkeypatch.setenv("NEWSFLOW_ARCHIVE", str(tmp_path))
    monkeypatch.setenv("NEWSFLOW_AIRFLOW_URL", "http://127.0.0.1:9")
    monkeypatch.setenv("NEWSFLOW_AIRFLOW_PASSWORD", "x")
    monkeypatch.setenv("COLUMNS", "250")

    logical = NOW - timedelta(minutes=10)
    first = RunInfo.of(
        "newsflow_poll", "scheduled__a", RunKind.SCHEDULED, logical, started=NOW - timedelta(minutes=9)
    )
    result = BatchResult((), (), Counts({"feeds_polled": 2, "feeds_failed:http_404": 1}), 1.0, ("gone-feed",))
    rec = record_run(
        es_client,
        first,
        "poll",
        [result],
        planned_units=1,
        more=Counts({"feeds_unknown": 1}),
        listed={"feeds_unknown": ["bbc-world"]},
    )
    assert rec.status == "partial"
    second = RunInfo.of(
        "newsflow_poll",
        "scheduled__a",
        RunKind.SCHEDULED,
        logical,
        attempt=2,
        started=NOW - timedelta(minutes=2),
    )
    open_run(es_client, second, "poll")
    record_feed_health(
        es_client,
        [
            FeedHealth(
                "gone-feed",
                "failed",
                error_streak=3,
                checked_at=iso_z(logical),
                last_error="http_404",
                last_error_message="GET https://u:s3cret@x.example/f 404",
                polls=5,
                not_modified=2,
                in_error=True,
                next_due=iso_z(NOW + timedelta(minutes=5)),
                pages_waiting=4,
            ),
            FeedHealth("once", "failed", error_streak=1, checked_at=iso_z(logical), last_error="timeout"),
            FeedHealth(
                "fine", "success", error_streak=0, checked_at=iso_z(logical), last_success=iso_z(logical)
            ),
        ],
        names=names,
    )
    path = dead_letter_path("newsflow_process/manual__x", NOW, str(tmp_path))
    write_dead_letters(
        path, [{"id": i, "reason": "unavailable", "run_id": "r", "document": {"a": 1}} for i in "abc"]
    )
    scan = scan_dead_letters(str(tmp_path))
    mark_replayed([(scan.waiting[0], "created")], by_run="r2")
    es_client.indices.refresh(index=f"{es_prefix}*")

    assert main(["status", "--json"]) == 1
    report = json.loads(capsys.readouterr().out)
    poll = report["runs"]["newsflow_poll"]
    assert len(poll) == 1 and poll[0]["try_number"] == 2 and poll[0]["status"] == "started"
    assert poll[0]["airflow_run_id"] == "scheduled__a"
    assert report["dead_letters"]["waiting"] == 2 and report["dead_letters"]["lines"] == 3
    assert report["feeds_in_error"]["count"] == 2
    assert [r["feed"] for r in report["feeds_in_error"]["worst"]] == ["gone-feed", "once"]
    assert main(["status"]) == 1
    screen = capsys.readouterr().out
    assert "gone-feed: in error, 3 failed" in screen and "once: 1 failed" in screen

    assert main(["feeds", "status"]) == 0
    out = capsys.readouterr().out
    assert "feeds: 3, in error: 1, failing: 1" in out and "s3cret" not in out and "40%" in out

    from newsflow.run_history import records_of_runs

    got = records_of_runs(es_client, names, ["newsflow_poll/scheduled__a"], stage="poll")
    assert got["newsflow_poll/scheduled__a"].try_number == 2
    es_client.indices.delete(index=f"{es_prefix}*")
