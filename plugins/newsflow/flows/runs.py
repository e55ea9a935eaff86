"""What a run is, what each of its mapped tasks hands back, and the record a run leaves.

A task's result crosses XCom, so it is references and counts, never bodies. The run's
record is one ``newsflow-runs`` document per run and stage (its id derives from both, so a
rerun overwrites it instead of adding a row), holding the merged counts of its tasks and
how many units were planned and came back, so a lost task shows in the record.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from enum import StrEnum
from typing import TYPE_CHECKING

from newsflow.counts import Counts
from newsflow.errors import InputError
from newsflow.index import IndexNames, record_run_metrics
from newsflow.timestamps import now_utc

if TYPE_CHECKING:
    from elasticsearch import Elasticsearch

log = logging.getLogger(__name__)

XComValue = str | int | float | list[str] | dict[str, int] | dict[str, int | float]


class RunKind(StrEnum):
    """Why a run exists; the values are Airflow's run types, so its enum converts by value."""

    SCHEDULED = "scheduled"
    MANUAL = "manual"
    BACKFILL = "backfill"
    ASSET_TRIGGERED = "asset_triggered"
    OPERATOR_TRIGGERED = "operator_triggered"
    ASSET_MATERIALIZATION = "asset_materialization"
    OTHER = "other"

    @classmethod
    def of(cls, run_type: object) -> RunKind:
        """Our kind for an Airflow run type (a ``str`` enum, or its value); unknown types are OTHER."""
        try:
            return cls(str(getattr(run_type, "value", run_type)))
        except ValueError:
            return cls.OTHER


@dataclass(frozen=True, slots=True)
class RunInfo:
    """The run a task belongs to: its id, its kind, its logical time and what its conf asks."""

    run_id: str  # "<dag_id>/<run_id>": unique across DAGs
    dag_id: str
    kind: RunKind
    logical: datetime
    reprocess: bool = False  # the run's conf/params ask to re-extract processed batches
    started: datetime | None = None

    @property
    def reprocesses(self) -> bool:
        """A backfill replays its window from the archive whatever was processed before."""
        return self.reprocess or self.kind is RunKind.BACKFILL


@dataclass(frozen=True, slots=True)
class BatchResult:
    """What one mapped task did: the archive batches it wrote or read, their files, its counts."""

    batches: tuple[str, ...]
    files: tuple[str, ...]
    counts: Counts = field(default_factory=Counts)
    seconds: float = 0.0

    def to_xcom(self) -> dict[str, XComValue]:
        # "seconds" sits among the counts, where bench/bench_throughput.py reads it.
        counts: dict[str, int | float] = {**self.counts.to_dict(), "seconds": round(self.seconds, 3)}
        return {"batches": list(self.batches), "files": list(self.files), "counts": counts}

    @classmethod
    def from_xcom(cls, data: Mapping[str, object]) -> BatchResult:
        raw = data.get("counts")
        counts = dict(raw) if isinstance(raw, Mapping) else {}
        seconds = counts.pop("seconds", 0.0)
        try:
            return cls(
                batches=tuple(str(b) for b in _as_list(data.get("batches"))),
                files=tuple(str(f) for f in _as_list(data.get("files"))),
                counts=Counts({str(k): v for k, v in counts.items()}),
                seconds=float(seconds),
            )
        except (TypeError, ValueError) as exc:
            raise InputError(f"a task result is not a batch result ({exc}): {dict(data)!r:.300}") from exc


def _as_list(value: object) -> list[object]:
    return list(value) if isinstance(value, list | tuple) else []


@dataclass(frozen=True, slots=True)
class RunRecord:
    """The merged outcome of a run's mapped tasks, as the run-metrics document stores it."""

    counts: Counts
    extra: dict[str, float | int]
    metrics_id: str | None = None

    def to_xcom(self) -> dict[str, XComValue]:
        return {"metrics_id": self.metrics_id or "", "counts": self.counts.to_dict(), "extra": self.extra}


def run_record(results: Sequence[BatchResult], planned_units: int | None = None) -> RunRecord:
    """Counts summed over the tasks; ``extra`` keeps the seconds and how many units came back."""
    counts = Counts.merged(r.counts for r in results)
    extra: dict[str, float | int] = {
        "batches": len(results),
        "seconds": round(sum(r.seconds for r in results), 3),
    }
    if planned_units is not None:
        extra["planned_units"] = planned_units
        missing = planned_units - len(results)
        if missing > 0:
            counts.add("units_missing", missing)
            log.warning("%s of %s planned units returned no result", missing, planned_units)
    return RunRecord(counts, extra)


def record_run(
    client: Elasticsearch,
    run: RunInfo,
    stage: str,
    results: Sequence[BatchResult],
    *,
    planned_units: int | None = None,
) -> RunRecord:
    """Write (or overwrite) the run's metrics document: one per run and stage."""
    record = run_record(results, planned_units)
    finished = now_utc()  # bookkeeping only: the duration, never a pipeline decision
    metrics_id = record_run_metrics(
        client,
        run.run_id,
        stage,
        record.counts.nested(),
        run.started or finished,
        finished,
        dag_id=run.dag_id,
        extra=record.extra,
        names=IndexNames.from_env(),
    )
    return replace(record, metrics_id=metrics_id)
