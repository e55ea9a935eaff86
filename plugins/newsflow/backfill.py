"""Backfill and reprocess a window of the archive through Airflow, current hour included.

Airflow's own backfill refuses the current, still-open interval, and over an interval a
scheduled run already covers it clears and reuses that run (its ``scheduled__`` id, so its
run record is overwritten). So a backfill here triggers ordinary runs of the processing DAG,
one per window, each with an explicit data interval, ``{"reprocess": true, "backfill": true}``
as its conf and a run id of its own (``manual__backfill_<start>_<end>_<token>``): every window,
the open one too, is re-read from the archive, and every run leaves its own record.

Windows are cut on the step's grid (hours by default, like the DAG's schedule), so the
first and the last may be partial. Each run's logical date is the moment of the trigger
(plus a microsecond per window): Airflow allows one run per logical date, and scheduled
runs own the interval starts.
"""

from __future__ import annotations

import logging
import secrets
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from newsflow.errors import InputError, ServiceError
from newsflow.scheduler_api import FINISHED, PROCESS_DAG, SchedulerApi
from newsflow.stored_fields import string
from newsflow.timestamps import as_utc

log = logging.getLogger(__name__)

MAX_RUNS = 500  # past this, ask for a longer --step rather than flood the scheduler
MIN_STEP_S = 300
RUN_PREFIX = "manual__backfill_"
BACKFILL_CONF: dict[str, object] = {"reprocess": True, "backfill": True}


@dataclass(frozen=True, slots=True)
class Window:
    start: datetime
    end: datetime

    def label(self) -> str:
        same_day = self.start.date() == self.end.date() or self.end == _midnight_after(self.start)
        end = f"{self.end:%H:%M}" if same_day else f"{self.end:%Y-%m-%d %H:%M}"
        return f"{self.start:%Y-%m-%d %H:%M}-{end}"


def _midnight_after(when: datetime) -> datetime:
    return datetime(when.year, when.month, when.day, tzinfo=UTC) + timedelta(days=1)


@dataclass(frozen=True, slots=True)
class BackfillPlan:
    """The windows of one backfill and the token its run ids share."""

    dag_id: str
    windows: tuple[Window, ...]
    token: str

    def run_id(self, window: Window) -> str:
        return f"{RUN_PREFIX}{window.start:%Y%m%dT%H%M}Z_{window.end:%Y%m%dT%H%M}Z_{self.token}"


def plan_backfill(
    start: datetime,
    end: datetime,
    *,
    now: datetime,
    step: timedelta = timedelta(hours=1),
    dag_id: str = PROCESS_DAG,
    token: str | None = None,
) -> BackfillPlan:
    """Windows covering [start, end), cut on the step's grid; ``end`` past ``now`` is cut to now.

    Bounds are taken to the minute (start down, end up), so run ids and intervals read cleanly
    and a window never misses a batch written in its last seconds.
    """
    if step < timedelta(seconds=MIN_STEP_S):
        raise InputError(f"--step must be at least {MIN_STEP_S // 60} minutes")
    start = as_utc(start).replace(second=0, microsecond=0)
    end = min(as_utc(end), as_utc(now))
    if end.second or end.microsecond:
        end = end.replace(second=0, microsecond=0) + timedelta(minutes=1)
    if start >= end:
        raise InputError(
            f"nothing to backfill: the window {start:%Y-%m-%d %H:%M} to {end:%Y-%m-%d %H:%M} UTC is "
            "empty or in the future (--from must be before --to and before now)"
        )
    step_s = int(step.total_seconds())
    windows: list[Window] = []
    cursor = start
    while cursor < end:
        grid = datetime.fromtimestamp((int(cursor.timestamp()) // step_s + 1) * step_s, UTC)
        windows.append(Window(cursor, min(grid, end)))
        cursor = windows[-1].end
        if len(windows) > MAX_RUNS:
            raise InputError(
                f"that window needs more than {MAX_RUNS} runs of {_span(step)}; pass a longer --step "
                "(e.g. --step 1d) or a shorter window"
            )
    return BackfillPlan(dag_id, tuple(windows), token or secrets.token_hex(3))


def _span(step: timedelta) -> str:
    seconds = int(step.total_seconds())
    if seconds % 86400 == 0:
        return f"{seconds // 86400}d"
    return f"{seconds // 3600}h" if seconds % 3600 == 0 else f"{seconds // 60}m"


def parse_step(text: str) -> timedelta:
    """``30m``, ``1h``, ``6h``, ``1d`` as a ``timedelta``."""
    from newsflow.feed_registry import parse_interval

    try:
        return timedelta(seconds=parse_interval(text))
    except ValueError as exc:
        raise InputError(f"--step: {exc}") from None


@dataclass(frozen=True, slots=True)
class RunProgress:
    """Where one backfill run is: Airflow's state and how many of its task instances are done."""

    window: Window
    run_id: str
    state: str  # queued, running, success, failed; "timed out" when we stopped waiting
    tasks_done: int = 0
    tasks_total: int = 0

    @property
    def finished(self) -> bool:
        return self.state in FINISHED


TASK_DONE = frozenset({"success", "failed", "skipped", "upstream_failed", "removed"})


def check_dag(api: SchedulerApi, dag_id: str) -> None:
    """Fail clearly before triggering: an unknown DAG, or a paused one (its runs would wait forever)."""
    if api.dag(dag_id).get("is_paused") is True:
        raise ServiceError(
            f"DAG {dag_id} is paused, so its runs would wait forever; unpause it in the Airflow UI "
            f'(or PATCH /api/v2/dags/{dag_id} with {{"is_paused": false}}) and run the backfill again'
        )


def trigger_runs(
    api: SchedulerApi, plan: BackfillPlan, *, now: datetime, on_trigger: Callable[[RunProgress], None]
) -> list[RunProgress]:
    """One run per window, oldest first; each trigger is safe to repeat (its run id is ours)."""
    runs = []
    for n, window in enumerate(plan.windows):
        run_id = plan.run_id(window)
        api.trigger(
            plan.dag_id,
            run_id=run_id,
            logical_date=as_utc(now) + timedelta(microseconds=n),
            interval=(window.start, window.end),
            conf=BACKFILL_CONF,
        )
        runs.append(RunProgress(window, run_id, "queued"))
        on_trigger(runs[-1])
    return runs


def follow_runs(
    api: SchedulerApi,
    dag_id: str,
    runs: Sequence[RunProgress],
    *,
    timeout_s: float,
    on_update: Callable[[RunProgress], None],
    poll_s: float = 3.0,
) -> list[RunProgress]:
    """Poll every unfinished run until all finished or ``timeout_s`` passed (those left: "timed out")."""
    current = {run.run_id: run for run in runs}
    deadline = time.monotonic() + timeout_s
    while True:
        for run_id, run in current.items():
            if run.finished:
                continue
            with api.until(deadline):  # a busy API is not waited out past the bound
                state = string(api.dag_run(dag_id, run_id).get("state")) or "queued"
                tis = api.task_instances(dag_id, run_id) if state != "queued" else []
            done = sum(1 for ti in tis if string(ti.get("state")) in TASK_DONE)
            updated = RunProgress(run.window, run_id, state, done, len(tis))
            if updated != run:
                current[run_id] = updated
                on_update(updated)
        if all(run.finished for run in current.values()):
            break
        if time.monotonic() + poll_s > deadline:
            for run_id, run in current.items():
                if not run.finished:
                    current[run_id] = RunProgress(run.window, run_id, "timed out", *_tasks(run))
                    on_update(current[run_id])
            break
        time.sleep(poll_s)
    return [current[run.run_id] for run in runs]


def _tasks(run: RunProgress) -> tuple[int, int]:
    return run.tasks_done, run.tasks_total
