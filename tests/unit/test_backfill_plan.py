"""Backfill windows, run ids and the ``newsflow backfill`` arguments (no Airflow needed)."""

from __future__ import annotations

import argparse
import re
from datetime import UTC, datetime, timedelta

import pytest

from newsflow.backfill import BACKFILL_CONF, MAX_RUNS, RUN_PREFIX, Window, parse_step, plan_backfill
from newsflow.cli import build_parser
from newsflow.cli.backfill_cmd import window_of
from newsflow.errors import InputError

NOW = datetime(2026, 5, 1, 10, 35, 12, tzinfo=UTC)
# Airflow 3.3's default [scheduler] allowed_run_id_pattern, and the prefixes it reserves for
# its own run types (a manual run may not use them).
ALLOWED_RUN_ID = re.compile(r"^[A-Za-z0-9_.~:+-]+$")
RESERVED = ("scheduled__", "backfill__", "asset_triggered__", "asset_materialization__")


def _at(hour: int, minute: int = 0, day: int = 1) -> datetime:
    return datetime(2026, 5, day, hour, minute, tzinfo=UTC)


def test_last_hour_is_cut_on_the_hour_and_covers_the_open_interval() -> None:
    plan = plan_backfill(NOW - timedelta(hours=1), NOW, now=NOW, token="abc123")
    assert plan.windows == (Window(_at(9, 35), _at(10)), Window(_at(10), _at(10, 36)))
    assert plan.dag_id == "newsflow_process"
    ids = [plan.run_id(w) for w in plan.windows]
    assert ids == [
        "manual__backfill_20260501T0935Z_20260501T1000Z_abc123",
        "manual__backfill_20260501T1000Z_20260501T1036Z_abc123",
    ]
    for run_id in ids:
        assert ALLOWED_RUN_ID.match(run_id), run_id
        assert run_id.startswith(RUN_PREFIX) and not run_id.startswith(RESERVED)
    assert BACKFILL_CONF == {"reprocess": True, "backfill": True}


def test_windows_follow_the_step_grid_and_stop_at_now() -> None:
    plan = plan_backfill(_at(1, 10), _at(23, day=2), now=NOW, step=timedelta(hours=6))
    assert [(w.start, w.end) for w in plan.windows] == [
        (_at(1, 10), _at(6)),
        (_at(6), _at(10, 36)),  # the end past now is cut to now (rounded up to the minute)
    ]


def test_whole_days() -> None:
    plan = plan_backfill(_at(0, day=1) - timedelta(days=2), _at(0), now=NOW, step=timedelta(days=1))
    assert [w.label() for w in plan.windows] == ["2026-04-29 00:00-00:00", "2026-04-30 00:00-00:00"]


def test_two_backfills_of_one_window_get_different_run_ids() -> None:
    first = plan_backfill(_at(8), _at(9), now=NOW)
    second = plan_backfill(_at(8), _at(9), now=NOW)
    assert first.windows == second.windows
    assert first.run_id(first.windows[0]) != second.run_id(second.windows[0])


@pytest.mark.parametrize(
    ("start", "end", "message"),
    [
        (_at(9), _at(9), "nothing to backfill"),
        (_at(11), _at(12), "nothing to backfill"),  # entirely in the future
        (_at(9), _at(8), "nothing to backfill"),
    ],
)
def test_empty_or_future_windows_are_refused(start: datetime, end: datetime, message: str) -> None:
    with pytest.raises(InputError, match=message):
        plan_backfill(start, end, now=NOW)


def test_too_many_runs_asks_for_a_longer_step() -> None:
    with pytest.raises(InputError, match=rf"more than {MAX_RUNS} runs of 1h; pass a longer --step"):
        plan_backfill(NOW - timedelta(days=30), NOW, now=NOW)
    assert len(plan_backfill(NOW - timedelta(days=30), NOW, now=NOW, step=parse_step("1d")).windows) == 31


def test_step() -> None:
    assert parse_step("30m") == timedelta(minutes=30)
    assert parse_step("6h") == timedelta(hours=6)
    with pytest.raises(InputError, match="--step"):
        parse_step("soon")
    with pytest.raises(InputError, match="at least 5 minutes"):
        plan_backfill(_at(8), _at(9), now=NOW, step=parse_step("60s"))


def _args(*argv: str) -> argparse.Namespace:
    return build_parser().parse_args(["backfill", *argv])


def test_arguments_give_the_window() -> None:
    assert window_of(_args("--last", "2h"), NOW) == (NOW - timedelta(hours=2), NOW)
    april_30 = datetime(2026, 4, 30, tzinfo=UTC)
    assert window_of(_args("--from", "2026-04-30T08:00"), NOW) == (april_30 + timedelta(hours=8), NOW)
    # A bare --to date includes its day, as search's --until does.
    assert window_of(_args("--from", "2026-04-29", "--to", "2026-04-30"), NOW) == (
        april_30 - timedelta(days=1),
        _at(0, day=1),
    )


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--last", "2026-04-30"], "give a duration"),
        (["--last", "two hours"], "give a duration"),
        (["--last", "2h", "--to", "2026-04-30"], "--to goes with --from"),
        (["--from", "yesterday-ish"], "cannot read the date"),
    ],
)
def test_bad_windows_say_what_to_pass(argv: list[str], message: str) -> None:
    with pytest.raises(InputError, match=message):
        window_of(_args(*argv), NOW)


@pytest.mark.parametrize(
    "argv", [[], ["--last", "1h", "--from", "2026-04-30"], ["--last", "1h", "--timeout", "soon"]]
)
def test_the_parser_refuses_missing_or_conflicting_windows(argv: list[str]) -> None:
    with pytest.raises(SystemExit):
        build_parser().parse_args(["backfill", *argv])


def test_dry_run_prints_the_plan_and_triggers_nothing(capsys: pytest.CaptureFixture[str]) -> None:
    import json

    from newsflow.cli import main

    assert main(["backfill", "--last", "3h", "--step", "1h", "--dry-run", "--json"]) == 0
    plan = json.loads(capsys.readouterr().out)
    assert plan["dry_run"] is True
    assert 3 <= len(plan["runs"]) <= 4
    assert all(run["run_id"].startswith(RUN_PREFIX) for run in plan["runs"])
    starts = [run["window"][0] for run in plan["runs"]]
    ends = [run["window"][1] for run in plan["runs"]]
    assert starts[1:] == ends[:-1], "windows must tile the span without gaps"
