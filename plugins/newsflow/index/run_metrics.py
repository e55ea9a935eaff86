"""One record per (pipeline run attempt, stage), for ``newsflow status`` and the run-health dashboard.

The ``_id`` is derived from the run id and stage. The flows give every attempt of a run its
own run id (``<dag>/<airflow run id>``, with ``#<n>`` from the second attempt on: a cleared
run, a backfill over an existing run), so a rerun adds a record and never erases an
earlier one, while the tasks of one attempt write the same record: the plan task opens it
(``status: started``, no ``finished``) and the recording task completes it. An attempt that
was killed keeps its ``started`` record.

``status`` is ``started``, ``success``, ``partial`` or ``failed``; ``status_reasons`` says why a
run is not ``success``. A count given as a mapping (by reason) is stored as its total under
``counts`` and per reason under ``breakdown``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from newsflow.errors import InputError
from newsflow.index.names import IndexNames
from newsflow.records import stable_id
from newsflow.timestamps import iso_z, now_utc, parse_utc

if TYPE_CHECKING:
    from elasticsearch import Elasticsearch

CountValue = int | Mapping[str, int]
RUN_STATUSES = ("started", "success", "partial", "failed")


def run_metrics_id(run_id: str, stage: str) -> str:
    return stable_id(run_id, stage)


def _iso(value: datetime | str) -> str:
    return value if isinstance(value, str) else iso_z(value, "milliseconds")


def run_metrics_document(
    run_id: str,
    stage: str,
    counts: Mapping[str, CountValue],
    started: datetime | str,
    finished: datetime | str | None,
    *,
    dag_id: str | None = None,
    status: str = "success",
    extra: Mapping[str, Any] | None = None,
    try_number: int = 1,
    run_kind: str | None = None,
    airflow_run_id: str | None = None,
    logical_date: datetime | str | None = None,
    status_reasons: Sequence[str] = (),
) -> dict[str, Any]:
    """The document: a count given as a mapping (e.g. ``rejected`` by reason) is stored as its total
    under ``counts`` and per key under ``breakdown``. ``finished`` is None only while ``started``."""
    if not run_id or not stage:
        raise InputError("run metrics need a non-empty run_id and stage")
    if status not in RUN_STATUSES:
        raise InputError(f"run {run_id}/{stage}: status {status!r} is not one of {list(RUN_STATUSES)}")
    if (finished is None) != (status == "started"):
        raise InputError(
            f"run {run_id}/{stage}: a {status!r} record must {'not ' * (finished is None)}finish"
        )
    if try_number < 1:
        raise InputError(f"run {run_id}/{stage}: try_number {try_number} must be at least 1")
    flat: dict[str, int] = {}
    breakdown: dict[str, dict[str, int]] = {}
    for key, value in counts.items():
        if isinstance(value, Mapping):
            parts = {str(k): int(v) for k, v in value.items()}
            breakdown[key] = parts
            flat[key] = sum(parts.values())
        elif isinstance(value, bool) or not isinstance(value, int):
            raise InputError(f"run metric {key!r}={value!r} for {run_id}/{stage} is not an integer count")
        else:
            flat[key] = value
    duration = (parse_utc(finished) - parse_utc(started)).total_seconds() if finished is not None else None
    return {
        "run_id": run_id,
        "airflow_run_id": airflow_run_id,
        "dag_id": dag_id,
        "stage": stage,
        "run_kind": run_kind,
        "try_number": try_number,
        "logical_date": _iso(logical_date) if logical_date is not None else None,
        "status": status,
        "status_reasons": list(status_reasons),
        "started": _iso(started),
        "finished": _iso(finished) if finished is not None else None,
        "recorded_at": _iso(now_utc()),
        "duration_s": max(0.0, duration) if duration is not None else None,
        "counts": flat,
        "breakdown": breakdown,
        "extra": dict(extra) if extra else None,
    }


def record_run_metrics(  # noqa: PLR0917 - the positional order (run, stage, counts, times) is the agreed API
    client: Elasticsearch,
    run_id: str,
    stage: str,
    counts: Mapping[str, CountValue],
    started: datetime | str,
    finished: datetime | str | None,
    *,
    extra: Mapping[str, Any] | None = None,
    dag_id: str | None = None,
    status: str = "success",
    names: IndexNames | None = None,
    refresh: bool = False,
    try_number: int = 1,
    run_kind: str | None = None,
    airflow_run_id: str | None = None,
    logical_date: datetime | str | None = None,
    status_reasons: Sequence[str] = (),
) -> str:
    """Write (or complete) the record of one run attempt and stage; returns the document id."""
    names = names or IndexNames.from_env()
    document = run_metrics_document(
        run_id,
        stage,
        counts,
        started,
        finished,
        dag_id=dag_id,
        status=status,
        extra=extra,
        try_number=try_number,
        run_kind=run_kind,
        airflow_run_id=airflow_run_id,
        logical_date=logical_date,
        status_reasons=status_reasons,
    )
    doc_id = run_metrics_id(run_id, stage)
    client.index(index=names.runs, id=doc_id, document=document, refresh=refresh)
    return doc_id


def read_runs(
    client: Elasticsearch,
    *,
    names: IndexNames | None = None,
    dag_id: str | None = None,
    airflow_run_id: str | None = None,
    size: int = 20,
) -> list[dict[str, Any]]:
    """Run records, newest first (by ``started``): the last runs of a DAG, or every attempt of one run."""
    from elasticsearch import NotFoundError

    names = names or IndexNames.from_env()
    filters: list[dict[str, Any]] = []
    if dag_id:
        filters.append({"term": {"dag_id": dag_id}})
    if airflow_run_id:
        filters.append({"term": {"airflow_run_id": airflow_run_id}})
    try:
        found = client.search(
            index=names.runs,
            size=size,
            query={"bool": {"filter": filters}},
            sort=[{"started": "desc"}, {"try_number": "desc"}],
        )
    except NotFoundError:
        return []
    return [dict(hit["_source"]) for hit in found["hits"]["hits"]]
