"""One metrics document per (pipeline run, stage), for the run-health dashboard.

The ``_id`` is derived from the run and stage, so a retried task overwrites its
earlier numbers instead of adding a second row that would double the totals.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any

from newsflow.errors import InputError
from newsflow.index.names import IndexNames
from newsflow.timestamps import iso_z, now_utc, parse_utc

if TYPE_CHECKING:
    from elasticsearch import Elasticsearch

CountValue = int | Mapping[str, int]


def run_metrics_id(run_id: str, stage: str) -> str:
    return hashlib.sha256(f"{run_id}\x1f{stage}".encode()).hexdigest()[:32]


def _iso(value: datetime | str) -> str:
    return value if isinstance(value, str) else iso_z(value, "milliseconds")


def run_metrics_document(
    run_id: str,
    stage: str,
    counts: Mapping[str, CountValue],
    started: datetime | str,
    finished: datetime | str,
    *,
    dag_id: str | None = None,
    status: str = "success",
    extra: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The document: a count given as a mapping (e.g. ``rejected`` by reason) is stored as its total
    under ``counts`` and per key under ``breakdown``."""
    if not run_id or not stage:
        raise InputError("run metrics need a non-empty run_id and stage")
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
    duration = (parse_utc(finished) - parse_utc(started)).total_seconds()
    return {
        "run_id": run_id,
        "dag_id": dag_id,
        "stage": stage,
        "status": status,
        "started": _iso(started),
        "finished": _iso(finished),
        "recorded_at": _iso(now_utc()),
        "duration_s": max(0.0, duration),
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
    finished: datetime | str,
    *,
    extra: Mapping[str, Any] | None = None,
    dag_id: str | None = None,
    status: str = "success",
    names: IndexNames | None = None,
    refresh: bool = False,
) -> str:
    """Write (or overwrite) the metrics of one run and stage; returns the document id."""
    names = names or IndexNames.from_env()
    document = run_metrics_document(
        run_id, stage, counts, started, finished, dag_id=dag_id, status=status, extra=extra
    )
    doc_id = run_metrics_id(run_id, stage)
    client.index(index=names.runs, id=doc_id, document=document, refresh=refresh)
    return doc_id
