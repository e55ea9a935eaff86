"""What a run is, what each of its mapped tasks hands back, and the record a run leaves.

A task's result crosses XCom, so it is references and counts, never bodies. Each attempt
of a run (its first run, each time it is cleared, a backfill over it) has its own run id
and so its own ``newsflow-runs`` document per stage: the plan task opens it as ``started``
(``open_run``) and the recording task completes it (``record_run``) with the merged counts
of the tasks, how many units were planned and came back, and a truthful status:

- ``failed``: no planned unit came back, or every feed polled failed;
- ``partial``: some units are missing, or something needs an operator (feeds failing
  ``failing_after`` polls in a row, unknown feed names in a ping, documents dead-lettered
  or not replayed, alerts not raised or not delivered, pages whose note was not archived);
- ``success`` otherwise. ``status_reasons`` says which.

A rerun never erases an earlier record, and an attempt that was killed keeps its
``started`` record with no finish.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from newsflow.counts import Counts
from newsflow.errors import InputError, NewsflowError
from newsflow.index import IndexNames, record_run_metrics
from newsflow.redact import redact_text
from newsflow.timestamps import now_utc

if TYPE_CHECKING:
    from elasticsearch import Elasticsearch

log = logging.getLogger(__name__)

XComValue = (
    str | int | float | list[str] | dict[str, int] | dict[str, int | float] | dict[str, int | list[str]]
)
ExtraValue = float | int | list[str]


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

    run_id: str  # "<dag_id>/<airflow run id>", "#<attempt>" from the second attempt on: unique
    dag_id: str
    kind: RunKind
    logical: datetime
    reprocess: bool = False  # the run's conf/params ask to re-extract processed batches
    started: datetime | None = None
    attempt: int = 1  # 1 + how many times the run was cleared (a rerun, a backfill over it)
    airflow_run_id: str = ""

    @classmethod
    def of(
        cls,
        dag_id: str,
        airflow_run_id: str,
        kind: RunKind,
        logical: datetime,
        *,
        attempt: int = 1,
        reprocess: bool = False,
        started: datetime | None = None,
    ) -> RunInfo:
        """A run with its attempt in its id: a cleared run or a backfill over a scheduled run
        (Airflow keeps the ``scheduled__…`` id) gets a record of its own."""
        if attempt < 1:
            raise InputError(f"run {airflow_run_id!r}: attempt {attempt} must be at least 1")
        suffix = f"#{attempt}" if attempt > 1 else ""
        return cls(
            run_id=f"{dag_id}/{airflow_run_id}{suffix}",
            dag_id=dag_id,
            kind=kind,
            logical=logical,
            reprocess=reprocess,
            started=started,
            attempt=attempt,
            airflow_run_id=airflow_run_id,
        )

    @property
    def reprocesses(self) -> bool:
        """A backfill replays its window from the archive whatever was processed before."""
        return self.reprocess or self.kind is RunKind.BACKFILL


@dataclass(frozen=True, slots=True)
class BatchResult:
    """What one mapped task did: the archive batches it wrote or read, their files, its counts,
    and (poll) the feeds that have failed ``failing_after`` polls in a row."""

    batches: tuple[str, ...]
    files: tuple[str, ...]
    counts: Counts = field(default_factory=Counts)
    seconds: float = 0.0
    feeds_in_error: tuple[str, ...] = ()

    def to_xcom(self) -> dict[str, XComValue]:
        # "seconds" sits among the counts, where bench/bench_throughput.py reads it.
        counts: dict[str, int | float] = {**self.counts.to_dict(), "seconds": round(self.seconds, 3)}
        payload: dict[str, XComValue] = {"batches": list(self.batches), "files": list(self.files)}
        payload["counts"] = counts
        if self.feeds_in_error:
            payload["feeds_in_error"] = list(self.feeds_in_error)
        return payload

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
                feeds_in_error=tuple(str(f) for f in _as_list(data.get("feeds_in_error"))),
            )
        except (TypeError, ValueError) as exc:
            raise InputError(f"a task result is not a batch result ({exc}): {dict(data)!r:.300}") from exc


def _as_list(value: object) -> list[object]:
    return list(value) if isinstance(value, list | tuple) else []


class RunFailed(NewsflowError):
    """The run's record says ``failed``: the recording task fails so the run shows red."""


@dataclass(frozen=True, slots=True)
class RunRecord:
    """The merged outcome of a run's mapped tasks, as the run-metrics document stores it."""

    counts: Counts
    extra: dict[str, ExtraValue]
    metrics_id: str | None = None
    status: str = "success"
    reasons: tuple[str, ...] = ()

    def to_xcom(self) -> dict[str, XComValue]:
        extra = {k: v for k, v in self.extra.items() if not isinstance(v, float)}
        return {
            "metrics_id": self.metrics_id or "",
            "status": self.status,
            "reasons": list(self.reasons),
            "counts": self.counts.to_dict(),
            "extra": extra,
        }

    def raise_if_failed(self, run_id: str) -> None:
        if self.status == "failed":
            raise RunFailed(f"run {run_id} failed: {'; '.join(self.reasons)} (its record: {self.metrics_id})")
        if self.status == "partial":
            log.warning("run %s is PARTIAL: %s", run_id, "; ".join(self.reasons))


# (count, what a non-zero value means): each makes a run partial.
_PARTIAL_WHEN = (
    ("units_missing", "{n} planned units returned no result (a task failed)"),
    ("feeds_in_error", "{n} feeds failed {limit} or more polls in a row"),
    ("feeds_unknown", "{n} pinged feed names are not in the registry"),
    ("pages_unnoted", "{n} pages lost their note and wait for the next run"),
    ("index_failed", "{n} documents were not indexed (dead-lettered)"),
    ("dead_letters_failed", "{n} dead-lettered documents could not be replayed"),
    ("dead_letters_not_replayed", "the dead-letter replay did not run (see its task log)"),
    ("feed_health_unwritten", "feed health of {n} feeds was not written"),
    ("alerts_failed", "{n} alert steps failed"),
    ("alerts_delivery_failed", "{n} alerts were not delivered to their webhook"),
)


def judge(
    counts: Counts, *, planned_units: int | None, returned: int, failing_after: int
) -> tuple[str, tuple[str, ...]]:
    """The run's status and why, from its merged counts (see the module docstring)."""
    total = {name: counts[name] + sum(counts.group(name).values()) for name, _ in _PARTIAL_WHEN}
    if planned_units and not returned:
        return "failed", (f"none of the {planned_units} planned units returned a result",)
    polled, failed = counts["feeds_polled"], sum(counts.group("feeds_failed").values())
    if polled and failed >= polled:
        reasons = ", ".join(f"{r} {n}" for r, n in counts.group("feeds_failed").items())
        return "failed", (f"every feed polled failed ({polled}: {reasons})",)
    partial = tuple(
        text.format(n=total[name], limit=failing_after) for name, text in _PARTIAL_WHEN if total[name]
    )
    return ("partial", partial) if partial else ("success", ())


def run_record(
    results: Sequence[BatchResult],
    planned_units: int | None = None,
    *,
    more: Mapping[str, int] | None = None,
    listed: Mapping[str, Sequence[str]] | None = None,
    failing_after: int = 3,
    failure: str | None = None,
) -> RunRecord:
    """Counts summed over the tasks (plus ``more``, counted by the recording task itself);
    ``extra`` keeps the seconds, how many units came back and the names ``listed`` (feeds in
    error, unknown feeds), which are no counts. ``failure``: why the run failed before it
    had units (its plan could not be made)."""
    counts = Counts.merged(r.counts for r in results)
    counts.update(more or {})
    extra: dict[str, ExtraValue] = {
        "batches": len(results),
        "seconds": round(sum(r.seconds for r in results), 3),
    }
    if planned_units is not None:
        extra["planned_units"] = planned_units
        missing = planned_units - len(results)
        if missing > 0:
            counts.add("units_missing", missing)
            log.warning("%s of %s planned units returned no result", missing, planned_units)
    in_error = sorted({f for r in results for f in r.feeds_in_error})
    if in_error:
        counts.add("feeds_in_error", len(in_error))
        extra["feeds_in_error"] = in_error
    for key, names in (listed or {}).items():
        if names:
            extra[key] = sorted(names)
    status, reasons = judge(
        counts, planned_units=planned_units, returned=len(results), failing_after=failing_after
    )
    if failure:  # an exception's text, which may quote a URL with its credentials
        status, reasons = "failed", (redact_text(failure), *reasons)
    return RunRecord(counts, extra, status=status, reasons=reasons)


def open_run(client: Elasticsearch, run: RunInfo, stage: str) -> str:
    """The attempt's record as ``started`` (no finish): what stays if the attempt is killed."""
    started = run.started or now_utc()  # bookkeeping only, never a pipeline decision
    return record_run_metrics(
        client,
        run.run_id,
        stage,
        {},
        started,
        None,
        dag_id=run.dag_id,
        status="started",
        names=IndexNames.from_env(),
        **_identity(run),
    )


def _identity(run: RunInfo) -> dict[str, Any]:
    return {
        "try_number": run.attempt,
        "run_kind": run.kind.value,
        "airflow_run_id": run.airflow_run_id or None,
        "logical_date": run.logical,
    }


def record_run(
    client: Elasticsearch,
    run: RunInfo,
    stage: str,
    results: Sequence[BatchResult],
    *,
    planned_units: int | None = None,
    more: Mapping[str, int] | None = None,
    listed: Mapping[str, Sequence[str]] | None = None,
    failing_after: int = 3,
    failure: str | None = None,
) -> RunRecord:
    """Complete the attempt's record (one document per run attempt and stage) and return it."""
    record = run_record(
        results, planned_units, more=more, listed=listed, failing_after=failing_after, failure=failure
    )
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
        status=record.status,
        status_reasons=record.reasons,
        **_identity(run),
    )
    return replace(record, metrics_id=metrics_id)
