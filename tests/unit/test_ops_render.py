"""What the operators' commands print: untrusted text escaped, credentials masked, missing values '-'."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console

from newsflow.backfill import RunProgress, Window
from newsflow.cli.backfill_cmd import Outcome, summary_table, totals
from newsflow.cli.feeds_cmd import feeds_table
from newsflow.cli.status_cmd import counts_text, runs_table
from newsflow.feed_status import FeedHealth
from newsflow.run_history import RunSummary, latest_per_run

NOW = datetime(2026, 5, 1, 10, 35, tzinfo=UTC)
HOSTILE = "evil[bold red]feed[/]\x1b]0;pwned\x07\u202e"
HOSTILE_SHOWN = "evil[bold red]feed[/]\\x1b]0;pwned\\x07\\u202e"


def _text(renderable: Any, width: int = 200) -> str:
    console = Console(width=width, color_system=None, record=True)
    console.print(renderable)
    return console.export_text()


def _iso(delta: timedelta) -> str:
    return (NOW - delta).isoformat().replace("+00:00", "Z")


def test_feed_rows_are_escaped_masked_and_dashed() -> None:
    rows = [
        FeedHealth.from_source(
            {
                "feed": HOSTILE,
                "status": "failed",
                "error_streak": 4,
                "last_success": _iso(timedelta(hours=3)),
                "last_error": "http_401",
                "last_error_message": "GET https://reader:s3cret@feeds.example/rss?token=abc answered 401",
                "checked_at": _iso(timedelta(minutes=5)),
                "polls": 8,
                "not_modified": 6,
                "newest_item": _iso(timedelta(days=2)),
                "next_due": (NOW + timedelta(minutes=10)).isoformat(),
                "pages_waiting": 3,
            }
        ),
        FeedHealth.from_source({"feed": "old-record", "status": "success", "checked_at": _iso(timedelta(0))}),
    ]
    shown = _text(feeds_table(rows, NOW))
    assert HOSTILE_SHOWN in shown
    assert "\x1b" not in shown and "\u202e" not in shown
    assert "s3cret" not in shown and "token=abc" not in shown
    assert "reader:***@feeds.example" in shown
    assert "75%" in shown  # 6 of 8 polls answered 304
    assert "(3h00m ago)" in shown and "(in 10m)" in shown and "(2d0h ago)" in shown
    assert "feeds: 2, in error: 1" in shown
    old = next(line for line in shown.splitlines() if "old-record" in line)
    assert old.count(" - ") >= 4, f"fields an old record lacks show '-': {old!r}"


def test_feed_health_reads_what_is_there() -> None:
    bare = FeedHealth.from_source({"feed": "x"})
    assert bare.never_polled and not bare.in_error and bare.not_modified_ratio is None
    assert FeedHealth.from_source({"feed": "x", "status": "success", "error_streak": 2}).in_error
    assert FeedHealth.from_source({"feed": "x", "polls": 0, "not_modified": 0}).not_modified_ratio is None
    odd = FeedHealth.from_source({"feed": "x", "error_streak": "3", "polls": True, "pages_waiting": 2.0})
    assert (odd.error_streak, odd.polls, odd.pages_waiting) == (None, None, 2)


def test_feed_health_in_error_is_the_recorded_flag_when_there_is_one() -> None:
    """The poll flow marks a feed ``in_error`` after ``failing_after`` failed polls in a row;
    one failed poll is failing, not yet in error. Documents without the flag fall back."""
    once = FeedHealth.from_source({"feed": "once", "status": "failed", "error_streak": 1, "in_error": False})
    assert once.failing and not once.in_error
    limit = FeedHealth.from_source({"feed": "limit", "status": "failed", "error_streak": 3, "in_error": True})
    assert limit.failing and limit.in_error and limit.to_dict()["in_error"] is True
    older = FeedHealth.from_source({"feed": "older", "status": "failed", "error_streak": 1})
    assert older.recorded_in_error is None and older.in_error
    fine = FeedHealth.from_source({"feed": "fine", "status": "success", "error_streak": 0, "in_error": False})
    shown = _text(feeds_table([limit, once, fine], NOW))
    assert "feeds: 3, in error: 1, failing: 1" in shown


def test_run_records_of_any_age_are_read() -> None:
    old = RunSummary.from_source(
        {
            "run_id": "newsflow_process/scheduled__2026-05-01T09:00:00+00:00",
            "dag_id": "newsflow_process",
            "stage": "process",
            "counts": {"pages_read": 5, "rejected": 2},
            "breakdown": {"rejected": {"paywall": 1, "http_404": 1}},
        }
    )
    assert old.status is None and old.try_number is None
    assert old.airflow_run_id == "scheduled__2026-05-01T09:00:00+00:00"
    assert old.count("rejected") == 2 and old.count("index_created") is None
    nested = RunSummary.from_source({"run_id": "r", "counts": {"rejected": {"paywall": 3, "robots": 1}}})
    assert nested.count("rejected") == 4
    assert nested.breakdown["rejected"] == {"paywall": 3, "robots": 1}
    first = RunSummary("r", stage="process", try_number=1, status="failed", finished="2026-05-01T10:00:00Z")
    second = RunSummary("r", stage="process", try_number=2, status="success", finished="2026-05-01T10:05:00Z")
    assert latest_per_run([second, first])[("r", "process")] is second
    assert latest_per_run([first, second])[("r", "process")] is second


def test_run_records_per_attempt_group_under_their_airflow_run() -> None:
    """The runs branch's records: ``#n`` on the run id of later attempts, ``airflow_run_id``
    without it, ``started`` records with no finish, reasons, and names listed in ``extra``."""
    base = {"dag_id": "newsflow_poll", "stage": "poll", "run_kind": "scheduled"}
    first = RunSummary.from_source(
        {
            **base,
            "run_id": "newsflow_poll/scheduled__2026-05-01T10:00:00+00:00",
            "airflow_run_id": "scheduled__2026-05-01T10:00:00+00:00",
            "try_number": 1,
            "status": "partial",
            "status_reasons": ["1 feeds failed 3 or more polls in a row"],
            "started": "2026-05-01T10:00:05Z",
            "finished": "2026-05-01T10:01:00Z",
            "counts": {"feeds_polled": 2, "feeds_failed": 1, "feeds_in_error": 1, "feeds_unknown": 1},
            "breakdown": {"feeds_failed": {"http_404": 1}},
            "extra": {"batches": 1, "feeds_in_error": ["gone-feed"], "feeds_unknown": ["bbc-world"]},
        }
    )
    assert first.airflow_run_id == "scheduled__2026-05-01T10:00:00+00:00"
    assert first.status_reasons == ("1 feeds failed 3 or more polls in a row",)
    assert first.listed == {"feeds_in_error": ("gone-feed",), "feeds_unknown": ("bbc-world",)}
    second = RunSummary.from_source(
        {
            **base,
            "run_id": "newsflow_poll/scheduled__2026-05-01T10:00:00+00:00#2",
            "airflow_run_id": "scheduled__2026-05-01T10:00:00+00:00",
            "try_number": 2,
            "status": "started",
            "started": "2026-05-01T10:20:00Z",
            "finished": None,
            "counts": {},
        }
    )
    latest = latest_per_run([first, second])
    assert list(latest) == [("newsflow_poll/scheduled__2026-05-01T10:00:00+00:00", "poll")]
    assert next(iter(latest.values())) is second
    # an attempt's record written before airflow_run_id existed still groups by its run id
    bare = RunSummary.from_source({"run_id": "newsflow_poll/manual__x#3", "dag_id": "newsflow_poll"})
    assert bare.airflow_run_id == "manual__x" and bare.run_key == "newsflow_poll/manual__x"

    shown = _text(runs_table({"newsflow_poll": [first]}, NOW), width=250)
    assert "partial" in shown and "failed 3 or more polls" in shown
    assert "feeds in error: gone-feed" in shown and "feeds unknown: bbc-world" in shown
    running = _text(runs_table({"newsflow_poll": [second]}, NOW), width=250)
    assert "started" in running and "(15m ago)" in running


def test_counts_and_runs_render_with_reasons_and_outcomes() -> None:
    record = RunSummary.from_source(
        {
            "run_id": "newsflow_process/manual__x",
            "dag_id": "newsflow_process",
            "status": "partial",
            "finished": _iso(timedelta(minutes=2)),
            "counts": {
                "pages_read": 5,
                "rejected": 2,
                "index_created": 3,
                "index_failed": 0,
                "alerts_new": 1,
            },
            "breakdown": {"rejected": {"paywall": 1, "http_404": 1}},
        }
    )
    expected = "read 5, rejected 2 (http_404 1, paywall 1), created 3, index failed 0, alerts 1"
    assert counts_text(record) == expected
    assert counts_text(RunSummary("r")) == "-"
    hostile = RunSummary(f"newsflow_poll/{HOSTILE}", dag_id="newsflow_poll", status=HOSTILE)
    shown = _text(runs_table({"newsflow_process": [record], "newsflow_poll": [hostile]}, NOW), width=300)
    assert "manual__x" in shown and "partial" in shown and "(2m ago)" in shown
    assert HOSTILE_SHOWN in shown and "\x1b" not in shown
    assert " try " not in shown, "records without try_number need no try column"


def _outcome(state: str, record: RunSummary | None, hour: int = 9) -> Outcome:
    start = datetime(2026, 5, 1, hour, tzinfo=UTC)
    return Outcome(RunProgress(Window(start, start + timedelta(hours=1)), f"run-{hour}", state), record)


def test_backfill_summary_totals_and_outcomes() -> None:
    done = RunSummary("a", status="success", counts={"pages_read": 4, "index_unchanged": 4})
    counts = {"pages_read": 2, "index_created": 1, "index_failed": 1}
    partial = RunSummary("b", status="partial", counts=counts)
    empty = RunSummary("c", status="success", counts={"archive_batches": 0})
    outcomes = [
        _outcome("success", done, 8),
        _outcome("success", partial, 9),
        _outcome("success", empty, 10),
        _outcome("failed", None, 11),
        _outcome("success", RunSummary("e"), 12),  # an old record without status: Airflow's word counts
    ]
    assert [o.ok for o in outcomes] == [True, False, True, False, True]
    sums = totals(outcomes)
    assert sums["runs"] == 5 and sums["succeeded"] == 3 and sums["failed"] == 2
    keys = ("pages_read", "index_created", "index_unchanged", "index_failed")
    assert [sums[key] for key in keys] == [6, 1, 4, 1]
    assert sums["without_record"] == 1
    shown = _text(summary_table(outcomes), width=80)
    assert "backfill: 5 runs, 3 succeeded, 2 not" in shown
    assert "2026-05-01" in shown and "(UTC)" in shown and "09:00-10:00" in shown
    assert "partial" in shown and "no record" in shown
    row = next(line for line in shown.splitlines() if line.split()[:1] == ["10:00-11:00"])
    assert row.split()[1:] == ["success", "0", "0", "0", "0", "0", "0"], "a record counts missing keys as 0"
    assert max(len(line.rstrip()) for line in shown.splitlines()) <= 80


def test_dead_letters_waiting_are_lines_no_replay_marked(tmp_path: Path) -> None:
    from newsflow.pipeline_status import dead_letters

    day = tmp_path / "dead-letter" / "2026" / "05" / "01"
    day.mkdir(parents=True)
    lines = [
        {"id": "a", "reason": "mapper_parsing_exception", "document": {}},
        {"id": "b", "reason": "unavailable", "document": {}},
        {"id": "c", "reason": "unavailable", "document": {}},
    ]
    (day / "newsflow_process_run1.jsonl").write_text("\n".join(json.dumps(x) for x in lines) + "\n\n")
    (day / "newsflow_process_run1.jsonl.done").write_text(json.dumps({"line": 2, "id": "b"}) + "\n")
    (day / "newsflow_process_run2.jsonl").write_text(
        json.dumps({"id": "d", "reason": "unavailable", "document": {}}) + "\nnot json\n"
    )
    (day / "newsflow_process_run2.jsonl.done").write_text(json.dumps({"line": 1, "id": "d"}) + "\n")
    found = dead_letters(str(tmp_path))
    assert (found.files, found.lines, found.waiting, found.unreadable) == (2, 5, 3, 1)
    assert found.newest_file is not None and found.newest_file.endswith("run2.jsonl")
    assert dead_letters(str(tmp_path / "nothing-here")).lines == 0


def test_dead_letters_replayed_are_logged_beside_the_file(tmp_path: Path) -> None:
    """The replay logs done lines in ``<file>.jsonl.done`` (1-based ``line``), never in the file."""
    from newsflow.pipeline_status import dead_letters

    day = tmp_path / "dead-letter" / "2026" / "05" / "01"
    day.mkdir(parents=True)
    letter = day / "newsflow_process_run1.jsonl"
    letter.write_text(
        "".join(json.dumps({"id": i, "reason": "unavailable", "document": {}}) + "\n" for i in "abc")
    )
    (day / "newsflow_process_run1.jsonl.done").write_text(
        json.dumps({"line": 1, "id": "a", "outcome": "created"})
        + "\n"
        + json.dumps({"line": 3, "id": "c", "outcome": "superseded"})
        + "\n"
        + "torn li"
    )
    found = dead_letters(str(tmp_path))
    assert (found.files, found.lines, found.waiting, found.unreadable) == (1, 3, 1, 0)


def test_feeds_check_lists_every_error_and_exits_1(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from newsflow.cli import main

    registry = tmp_path / "feeds.yaml"
    registry.write_text(
        "feeds:\n"
        "  - name: Bad Name\n    url: ftp://x.example/feed\n    language: en\n"
        "    poll_interval: 15m\n    tags: [a]\n"
        "  - name: ok-feed\n    url: https://x.example/feed\n    language: english\n"
        "    poll_interval: 99d\n    tags: [a]\n    colour: blue\n"
    )
    assert main(["feeds", "check", str(registry)]) == 1
    out = capsys.readouterr().out
    assert "5 errors in" in out
    for field in ("'name'", "'url'", "'language'", "'poll_interval'", "unknown field 'colour'"):
        assert field in out
    assert main(["feeds", "check", str(registry), "--json"]) == 1
    listed = json.loads(capsys.readouterr().out)
    assert len(listed["errors"]) == 5 and all(e["line"] for e in listed["errors"])
    good = Path(__file__).resolve().parents[2] / "seeds" / "feeds-demo.yaml"
    assert main(["feeds", "check", str(good)]) == 0
    assert "2 feeds, no errors" in capsys.readouterr().out


def test_feeds_check_escapes_a_hostile_file_name(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from newsflow.cli import main

    monkeypatch.setenv("COLUMNS", "400")
    assert main(["feeds", "check", str(tmp_path / "[red]x[/]\x1b[2J.yaml")]) == 1
    out = capsys.readouterr().out
    assert "[red]x[/]\\x1b[2J.yaml" in out and "\x1b" not in out


def test_scheduler_connection_from_env(monkeypatch: pytest.MonkeyPatch) -> None:
    from newsflow.errors import ConfigError
    from newsflow.scheduler_api import connection_from_env

    asked: list[str] = []

    def local() -> str:
        asked.append("local")
        return "generated-pw"

    for name in ("NEWSFLOW_AIRFLOW_URL", "NEWSFLOW_AIRFLOW_USERNAME", "NEWSFLOW_AIRFLOW_PASSWORD"):
        monkeypatch.delenv(name, raising=False)
    conn = connection_from_env(local_url="http://127.0.0.1:8090/", local_password=local)
    assert (conn.url, conn.username, conn.external) == ("http://127.0.0.1:8090", "admin", False)
    assert asked == [], "the password is read only when a token is needed"
    assert conn.password() == "generated-pw"
    monkeypatch.setenv("NEWSFLOW_AIRFLOW_URL", "https://ops:hunter2@airflow.example/")
    monkeypatch.setenv("NEWSFLOW_AIRFLOW_USERNAME", "ops")
    remote = connection_from_env(local_url="http://127.0.0.1:8090", local_password=local)
    assert remote.external and remote.display_url == "https://ops:***@airflow.example"
    assert "hunter2" not in repr(remote)
    with pytest.raises(ConfigError, match="NEWSFLOW_AIRFLOW_PASSWORD"):
        remote.password()
    monkeypatch.setenv("NEWSFLOW_AIRFLOW_PASSWORD", "pw-from-env")
    assert connection_from_env(local_url="x", local_password=local).password() == "pw-from-env"
    assert asked == ["local"]


def test_demo_prints_the_password_whole_on_its_own_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import argparse

    import newsflow.cli
    from newsflow.cli import demo_cmd
    from newsflow.devstack import demo

    password = "Zq8" * 12  # longer than the narrow console below
    report = demo.DemoReport(
        "http://127.0.0.1:9200", "http://127.0.0.1:8080", password, "http://127.0.0.1:8765",
        "manual__1", "success", "asset_triggered__1", "success", 5,
    )  # fmt: skip

    def fake_run_demo(progress: Any = None) -> demo.DemoReport:
        progress("Elasticsearch: starting")
        progress("Airflow: starting")
        return report

    monkeypatch.setattr(demo, "run_demo", fake_run_demo)
    monkeypatch.setattr(newsflow.cli, "main", lambda argv: 0)  # the search needs a cluster
    monkeypatch.setenv("COLUMNS", "30")
    assert demo_cmd.run_demo(argparse.Namespace(query="Kherson")) == 0
    err = capsys.readouterr().err
    assert password in err.splitlines(), "the password must stand whole on a line of its own"
    assert "Elasticsearch: starting" in " ".join(err.split()) and "Airflow: starting" in err


def test_demo_progress_speaks_up_during_a_long_step() -> None:
    from newsflow.cli.demo_cmd import DemoProgress

    console = Console(width=200, color_system=None, record=True, force_terminal=False)
    progress = DemoProgress(console)
    progress.HEARTBEAT_S = 0.05
    with progress:
        progress.step("Elasticsearch: starting [the node]")
        import time

        deadline = time.monotonic() + 10
        while "still on" not in console.export_text(clear=False) and time.monotonic() < deadline:
            time.sleep(0.02)
    text = console.export_text()
    assert "] Elasticsearch: starting [the node]" in text
    assert "still on: Elasticsearch: starting [the node]" in text
