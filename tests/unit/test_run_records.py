"""Run records keep history and tell the truth; pings, empty polls and runs without a scope.

Plain functions and a recorder standing in for the index call (the same documents go to the
real node in tests/integration/test_run_history.py).
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest

from newsflow.archive import ArchiveBatch, ArchiveOptions, PageNote, SeenIndex, Storage, read_day
from newsflow.archive.dayindex import COMPACT_AFTER, DAY_INDEX
from newsflow.counts import Counts
from newsflow.errors import ConfigError
from newsflow.feeds import FeedEntry
from newsflow.fetch import FetchResult
from newsflow.flows.options import FlowOptions
from newsflow.flows.poll import announce, ping_counts, plan_poll
from newsflow.flows.process import plan_process
from newsflow.flows.runs import (
    BatchResult,
    RunFailed,
    RunInfo,
    RunKind,
    judge,
    open_run,
    record_run,
    run_record,
)
from newsflow.waiting import WaitingPages
from tests.responses import html_response

WHEN = datetime(2026, 3, 2, 18, 0, tzinfo=UTC)


class Recorder:
    """Keeps what ``client.index`` was given, by id (what the index would hold)."""

    def __init__(self) -> None:
        self.docs: dict[str, dict[str, Any]] = {}

    def index(self, *, index: str, id: str, document: dict[str, Any], refresh: bool = False) -> None:
        self.docs[id] = document


def _options(tmp_path: Path, **overrides: Any) -> FlowOptions:
    registry = tmp_path / "feeds.yaml"
    registry.write_text(
        "feeds:\n"
        "  - name: a\n    url: https://a.example/rss\n    language: en\n"
        "    poll_interval: 15m\n    tags: [t]\n"
        "  - name: off\n    url: https://b.example/rss\n    language: en\n"
        "    poll_interval: 15m\n    tags: [t]\n    enabled: false\n"
    )
    return FlowOptions(registry=str(registry), archive_root=str(tmp_path / "archive"), **overrides)


def test_every_attempt_of_a_run_has_its_own_id() -> None:
    first = RunInfo.of("newsflow_process", "scheduled__2026-03-02T18:00:00+00:00", RunKind.SCHEDULED, WHEN)
    assert first.run_id == "newsflow_process/scheduled__2026-03-02T18:00:00+00:00"
    # A backfill over that hour clears the scheduled run: Airflow keeps its id, we do not.
    again = RunInfo.of(
        "newsflow_process", "scheduled__2026-03-02T18:00:00+00:00", RunKind.BACKFILL, WHEN, attempt=2
    )
    assert again.run_id == first.run_id + "#2" and again.reprocesses
    with pytest.raises(Exception, match="attempt 0"):
        RunInfo.of("d", "r", RunKind.MANUAL, WHEN, attempt=0)


def test_a_rerun_adds_a_record_and_the_started_record_stays_for_a_killed_attempt() -> None:
    client = Recorder()
    run = RunInfo.of("newsflow_process", "manual__1", RunKind.MANUAL, WHEN, started=WHEN)
    opened = open_run(client, run, "process")  # type: ignore[arg-type]  # only .index is called
    assert client.docs[opened]["status"] == "started" and client.docs[opened]["finished"] is None
    work = BatchResult(("b",), ("f",), Counts({"index_created": 700, "index_unchanged": 500}))
    done = record_run(client, run, "process", [work], planned_units=1)  # type: ignore[arg-type]  # the stub
    assert done.metrics_id == opened, "the attempt's tasks complete one record"
    assert (
        client.docs[opened]["counts"]["index_created"] == 700 and client.docs[opened]["status"] == "success"
    )
    # A no-op rerun (the run cleared: attempt 2) must not overwrite "created 700, unchanged 500".
    rerun = RunInfo.of("newsflow_process", "manual__1", RunKind.MANUAL, WHEN, attempt=2, started=WHEN)
    noop = BatchResult(("b",), (), Counts({"batches_skipped:already_processed": 2}))
    record_run(client, rerun, "process", [noop], planned_units=1)  # type: ignore[arg-type]  # the stub
    assert client.docs[opened]["counts"]["index_created"] == 700
    assert {d["try_number"] for d in client.docs.values()} == {1, 2}
    # A third attempt killed after its plan: only its start is on record.
    killed = RunInfo.of("newsflow_process", "manual__1", RunKind.MANUAL, WHEN, attempt=3, started=WHEN)
    open_run(client, killed, "process")  # type: ignore[arg-type]  # the stub client
    third = [d for d in client.docs.values() if d["try_number"] == 3]
    assert [(d["status"], d["finished"], d["airflow_run_id"]) for d in third] == [
        ("started", None, "manual__1")
    ]


@pytest.mark.parametrize(
    ("counts", "planned", "returned", "status", "why"),
    [
        ({"feeds_polled": 3, "feeds:changed": 3}, 1, 1, "success", ""),
        ({"feeds_polled": 3, "feeds_failed:http_404": 1}, 1, 1, "success", ""),
        ({"feeds_polled": 3, "feeds_failed:http_404": 1, "feeds_in_error": 1}, 1, 1, "partial", "3 or more"),
        (
            {"feeds_polled": 2, "feeds_failed:http_404": 1, "feeds_failed:timeout": 1},
            1,
            1,
            "failed",
            "every feed",
        ),
        ({"feeds_unknown": 1}, 0, 0, "partial", "not in the registry"),
        ({"pages_read": 4}, 2, 1, "partial", "1 planned units"),
        ({}, 2, 0, "failed", "none of the 2"),
        ({"pages_read": 4, "index_failed:unavailable": 2}, 1, 1, "partial", "dead-lettered"),
        ({"alerts_delivery_failed": 1}, 1, 1, "partial", "webhook"),
    ],
)
def test_status_is_truthful(
    counts: dict[str, int], planned: int, returned: int, status: str, why: str
) -> None:
    if planned > returned and returned:
        counts = {**counts, "units_missing": planned - returned}
    found, reasons = judge(Counts(counts), planned_units=planned, returned=returned, failing_after=3)
    assert found == status, reasons
    assert why in " ".join(reasons)


def test_a_failed_record_fails_its_task_and_a_partial_one_only_warns(
    caplog: pytest.LogCaptureFixture,
) -> None:
    failed = run_record([BatchResult((), (), Counts({"feeds_polled": 1, "feeds_failed:http_404": 1}))], 1)
    with pytest.raises(RunFailed, match="every feed polled failed"):
        failed.raise_if_failed("newsflow_poll/r")
    partial = run_record(
        [BatchResult((), (), Counts({"feeds_polled": 2}), feeds_in_error=("broken",))], 1, failing_after=3
    )
    partial.raise_if_failed("newsflow_poll/r")
    assert partial.extra["feeds_in_error"] == ["broken"] and partial.counts["feeds_in_error"] == 1
    assert "is PARTIAL" in caplog.text
    planless = run_record([], 0, failure="this run has neither asset events nor a data interval")
    assert planless.status == "failed" and planless.reasons[0].startswith("this run has neither")


def test_reprocess_without_an_interval_fails_and_says_what_to_pass(tmp_path: Path) -> None:
    options = _options(tmp_path)
    with pytest.raises(ConfigError) as raised:
        plan_process(options, reprocess=True)
    message = str(raised.value)
    assert "data_interval_start" in message and "newsflow backfill" in message and "reprocess" in message
    with pytest.raises(ConfigError, match="neither asset events nor a data interval"):
        plan_process(options)


def test_a_ping_with_unknown_names_polls_the_known_ones_and_counts_the_rest(tmp_path: Path) -> None:
    options = _options(tmp_path)
    assert plan_poll(options, WHEN, pinged=["bbc-world", "a", "a", "off"]).for_xcom() == [["a"]]
    assert plan_poll(options, WHEN, pinged=["bbc-world"]).units == (), "nothing to poll, nothing fails"
    counts, listed = ping_counts(options, ["bbc-world", "a", "off"])
    assert counts == {"feeds_unknown": 1, "feeds_disabled": 1}
    assert listed == {"feeds_unknown": ["bbc-world"], "feeds_disabled": ["off"]}


def _result(url: str, status: int = 200) -> FetchResult:
    return html_response(url, fetched_at=WHEN, status=status)


def test_an_empty_poll_announces_nothing_and_a_failed_attempt_files_are_announced(tmp_path: Path) -> None:
    options = _options(tmp_path)
    root = options.archive_root
    feed_only = ArchiveBatch.for_poll(root, WHEN, ["a"])
    with feed_only.writer(ArchiveOptions(root)) as writer:  # a changed feed without new entries
        writer.write(_result("https://a.example/rss"), kind="feed", feed="a")
    quiet = BatchResult((feed_only.ref,), tuple(feed_only.files()[0]), Counts({"archive_files_written": 1}))
    assert announce(options, [["a"]], WHEN, [quiet], "newsflow_poll/r") is None
    assert announce(options, [["b"]], WHEN, [], "newsflow_poll/r") is None, "a unit that wrote nothing"

    # An attempt that archived a page and its failure note, then failed: no result came back.
    crashed = ArchiveBatch.for_poll(root, WHEN, ["c"])
    entry = FeedEntry(feed="c", url="https://c.example/1", canonical_url="https://c.example/1")
    with crashed.writer(ArchiveOptions(root)) as writer:
        ref = writer.write(_result(entry.url, 404), kind="page", feed="c", canonical_url=entry.url)
        writer.note(PageNote(entry, failure="http_404", status=404, ref=ref))
    event = announce(options, [["a"], ["c"]], WHEN, [quiet], "newsflow_poll/r")
    assert event is not None and event["batches"] == [crashed.ref]
    # Its retry archives nothing new (the feed answers 304), yet announces the crashed attempt's file.
    retry = BatchResult((crashed.ref,), tuple(crashed.files()[0]), Counts({"feeds:not_modified": 1}))
    event = announce(options, [["c"]], WHEN, [retry], "newsflow_poll/r")
    assert event is not None and event["files"] == crashed.files()[0]


def test_waiting_pages_queue_per_feed_oldest_first(tmp_path: Path) -> None:
    queue = WaitingPages.under_archive(str(tmp_path))
    one, two = (
        FeedEntry(feed="f", url=f"https://f.example/{n}", canonical_url=f"https://f.example/{n}")
        for n in (1, 2)
    )
    queue.add("f", [one])
    queue.add("f", [two, one])
    assert [e.url for e in queue.get("f")] == [one.url, two.url]
    queue.put("f", [])
    assert queue.get("f") == [] and queue.get("never-polled") == []
    (tmp_path / "state" / "waiting" / "broken.json").write_text("{not json")
    assert queue.get("broken") == []


def test_the_run_folds_its_days_index_once_its_units_are_done(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """Units never fold (hundreds at once would rewrite one day index); ``announce`` does, once."""
    options = _options(tmp_path)
    root = options.archive_root
    units = [[f"feed-{n}"] for n in range(COMPACT_AFTER + 1)]
    results = []
    for unit in units:
        batch = ArchiveBatch.for_poll(root, WHEN, unit)
        with batch.writer(ArchiveOptions(root)) as writer:
            url = f"https://{unit[0]}.example/1"
            writer.write(_result(url), kind="page", feed=unit[0], canonical_url=url)
        results.append(BatchResult((batch.ref,), tuple(batch.files()[0]), Counts({"pages_fetched": 1})))
    day_index = Path(root) / "warc" / f"{WHEN:%Y/%m/%d}" / DAY_INDEX
    entries = sorted(map(str, read_day(Storage(root), WHEN.date())))
    seen = SeenIndex.load(
        root, WHEN.date(), lookback_days=14, compact=False, hosts=["https://feed-0.example/rss"]
    )
    assert "https://feed-0.example/1" in seen and not day_index.exists(), "a unit reads, never folds"

    def broken(storage: Storage, day: date) -> int:
        raise OSError("the store is down")

    monkeypatch.setattr("newsflow.flows.poll.fold_day", broken)
    with caplog.at_level("WARNING", logger="newsflow.flows.poll"):
        event = announce(options, units, WHEN, results, "newsflow_poll/r")
    assert event is not None and event["batches"] == sorted(r.batches[0] for r in results), (
        "a failed fold stops nothing"
    )
    assert "stay loose" in caplog.text and not day_index.exists()
    monkeypatch.undo()
    assert announce(options, units, WHEN, results, "newsflow_poll/r") == event
    assert day_index.exists(), "the run's day is folded"
    assert sorted(map(str, read_day(Storage(root), WHEN.date()))) == entries, "with every entry"
