"""What ``bench_throughput.py`` reports of one executor's run, read from Airflow's REST API.

A run's timing (poll triggered, poll done, every article searchable, every processing run
done) and its task instances make a ``RunResult``: articles/s, the share of wall time with no
task of the runs executing (idle share), and the task time spent outside the pipeline's own
work in the processing tasks (start-up share). ``results_table`` sets the runs side by side.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from rich.table import Table

from newsflow.jsontypes import JsonObject, integer
from newsflow.scheduler_api import POLL_DAG, PROCESS_DAG
from newsflow.stored_fields import number
from newsflow.timestamps import parse_utc_or_none
from tests.e2e.stack import Api, run_id_of


def _busy_seconds(intervals: list[tuple[datetime, datetime]]) -> float:
    """Length of the union of [start, end) intervals."""
    total = 0.0
    current: tuple[datetime, datetime] | None = None
    for start, end in sorted(intervals):
        if current is None or start > current[1]:
            if current is not None:
                total += (current[1] - current[0]).total_seconds()
            current = (start, end)
        else:
            current = (current[0], max(current[1], end))
    if current is not None:
        total += (current[1] - current[0]).total_seconds()
    return total


def _task_rows(api: Api, dag_id: str, run_ids: list[str]) -> list[JsonObject]:
    return [ti for run_id in run_ids for ti in api.scheduler.task_instances(dag_id, run_id)]


@dataclass(frozen=True, slots=True)
class Timing:
    wall_start: datetime
    t0: float  # monotonic: poll triggered
    polled: float  # poll run finished
    indexed: float  # every article searchable
    done: float  # every processing run finished

    @property
    def wall(self) -> float:
        return self.done - self.t0


@dataclass(frozen=True, slots=True)
class RunResult:
    """One executor's run over the site, for the side-by-side table."""

    executor: str
    indexed: int
    total: int
    wall: float
    polled_at: float
    searchable_at: float
    idle_s: float
    process_runs: int
    process_tasks: int
    poll_tasks: int
    poll_task_s: float
    process_task_s: float
    in_pipeline_s: float
    per_worker: tuple[tuple[str, int], ...]

    @property
    def rate(self) -> float:
        return self.indexed / self.wall

    @property
    def idle_share(self) -> float:
        return self.idle_s / self.wall

    @property
    def startup_share(self) -> float:
        return (self.process_task_s - self.in_pipeline_s) / max(self.process_task_s, 1e-9)


def run_result(
    api: Api,
    executor: str,
    timing: Timing,
    *,
    poll_run: str,
    process_ids: list[str],
    indexed: int,
    total: int,
) -> RunResult:
    poll_tis = _task_rows(api, POLL_DAG, [poll_run])
    process_tis = _task_rows(api, PROCESS_DAG, process_ids)
    intervals = []
    for ti in poll_tis + process_tis:
        start, end = parse_utc_or_none(ti.get("start_date")), parse_utc_or_none(ti.get("end_date"))
        if start and end:
            intervals.append((max(start, timing.wall_start), end))

    def seconds(tis: list[JsonObject], task_id: str) -> float:
        return sum(number(ti.get("duration")) or 0.0 for ti in tis if ti["task_id"] == task_id)

    in_pipeline = 0.0
    process_tasks = [ti for ti in process_tis if ti["task_id"] == "process"]
    for ti in process_tasks:
        counts = api.xcom_counts(
            PROCESS_DAG, run_id_of(ti), "process", integer(ti.get("map_index", -1), "map_index")
        )
        in_pipeline += number(counts.get("seconds")) or 0.0
    workers = Counter(str(ti.get("hostname") or "?") for ti in poll_tis + process_tis if ti.get("end_date"))
    return RunResult(
        executor=executor,
        indexed=indexed,
        total=total,
        wall=timing.wall,
        polled_at=timing.polled - timing.t0,
        searchable_at=timing.indexed - timing.t0,
        idle_s=max(0.0, timing.wall - _busy_seconds(intervals)),
        process_runs=len(process_ids),
        process_tasks=len(process_tasks),
        poll_tasks=sum(1 for ti in poll_tis if ti["task_id"] == "poll"),
        poll_task_s=seconds(poll_tis, "poll"),
        process_task_s=seconds(process_tis, "process"),
        in_pipeline_s=in_pipeline,
        per_worker=tuple(sorted(workers.items())),
    )


def results_table(results: list[RunResult], polite_delay: float, ceiling: float | None) -> Table:
    table = Table(title="end-to-end throughput through the real scheduler, same site, same invocation")
    table.add_column("measure")
    for result in results:
        table.add_column(result.executor, justify="right")
    base = results[0]

    def row(label: str, cell: Callable[[RunResult], str]) -> None:
        table.add_row(label, *(cell(r) for r in results))

    row("articles indexed", lambda r: f"{r.indexed} / {r.total}")
    row("wall time (s)", lambda r: f"{r.wall:.1f}")
    row("poll run done at (s)", lambda r: f"{r.polled_at:.1f}")
    row("all searchable at (s)", lambda r: f"{r.searchable_at:.1f}")
    row("articles/s (target >= 15)", lambda r: f"{r.rate:.2f}")
    row("articles/s vs LocalExecutor (>= 0.80)", lambda r: f"{r.rate / base.rate:.2f}")
    if ceiling is not None:
        row(f"vs extraction-only ceiling {ceiling:.1f}/s (>= 0.75)", lambda r: f"{r.rate / ceiling:.2f}")
        row(
            "processing phase (poll done -> searchable) vs ceiling",
            lambda r: f"{r.indexed / max(r.searchable_at - r.polled_at, 1e-9) / ceiling:.2f}",
        )
    row("idle share, no task running (<= 20 %)", lambda r: f"{100 * r.idle_share:.1f} %")
    row("task start-up share of process time", lambda r: f"{100 * r.startup_share:.1f} %")
    row("processing runs / process tasks", lambda r: f"{r.process_runs} / {r.process_tasks}")
    row(
        f"poll tasks / poll time (s, delay {polite_delay}s)",
        lambda r: f"{r.poll_tasks} / {r.poll_task_s:.1f}",
    )
    row("process time (s) / in pipeline (s)", lambda r: f"{r.process_task_s:.1f} / {r.in_pipeline_s:.1f}")
    row("task instances per worker", lambda r: ", ".join(f"{name}: {n}" for name, n in r.per_worker))
    return table
