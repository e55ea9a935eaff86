"""Reading run records (``newsflow-runs``): one run's outcome, and the latest runs of each DAG.

Records are the pipeline's own account of a run (counts by reason, a status), so operators'
summaries come from them rather than from Airflow's task states. Each attempt of a run has a
record of its own (``try_number`` n, run id ``<dag>/<Airflow run id>#n`` from the second
attempt on, ``airflow_run_id`` without the suffix): the latest attempt speaks for the run.
A ``started`` record has no ``finished``: the attempt is running, or was killed. Old records
have no ``status``, ``try_number``, ``airflow_run_id`` or ``status_reasons``; a count may be
stored as a total or as a mapping by reason. Every field may be missing, and readers show
``-`` then.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from newsflow import stored_fields
from newsflow.es_client import aggregation, buckets, hits, search_alias
from newsflow.jsontypes import JsonObject, JsonValue, as_object
from newsflow.redact import redact_text

if TYPE_CHECKING:
    from elasticsearch import Elasticsearch

    from newsflow.index.names import IndexNames

RECENT = 3  # runs per DAG that `newsflow status` shows
# By start: a running attempt (no ``finished`` yet) is as recent as it is.
_SORT = [
    {"started": {"order": "desc", "missing": "_last", "unmapped_type": "date"}},
    {"finished": {"order": "desc", "missing": "_last", "unmapped_type": "date"}},
]
_ATTEMPT = re.compile(r"#\d+$")  # "#2" on the run id of a run's second attempt
LISTED = ("feeds_in_error", "feeds_unknown", "feeds_disabled")  # names a record's ``extra`` lists


def _total(value: object) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return int(value)
    if isinstance(value, Mapping):
        parts = [_total(v) for v in value.values()]
        return sum(p for p in parts if p is not None)
    return None


@dataclass(frozen=True, slots=True)
class RunSummary:
    """One run record as readers need it; ``None`` where the record does not say."""

    run_id: str  # as recorded: "<dag_id>/<Airflow run id>"
    dag_id: str | None = None
    stage: str | None = None
    status: str | None = None
    try_number: int | None = None
    started: str | None = None
    finished: str | None = None
    counts: Mapping[str, int] = field(default_factory=dict)
    breakdown: Mapping[str, Mapping[str, int]] = field(default_factory=dict)
    recorded_airflow_run_id: str | None = None
    run_kind: str | None = None
    logical_date: str | None = None
    status_reasons: tuple[str, ...] = ()
    listed: Mapping[str, tuple[str, ...]] = field(default_factory=dict)  # extra.feeds_in_error, ...

    @classmethod
    def from_source(cls, source: JsonObject) -> RunSummary:
        counts: dict[str, int] = {}
        breakdown: dict[str, dict[str, int]] = {}
        for group, parts in as_object(source.get("breakdown")).items():
            if isinstance(parts, Mapping):
                totals = {str(k): _total(v) for k, v in parts.items()}
                breakdown[str(group)] = {k: t for k, t in totals.items() if t is not None}
        extra = as_object(source.get("extra"))
        for key, value in as_object(source.get("counts")).items():
            total = _total(value)
            if total is not None:
                counts[str(key)] = total
            if isinstance(value, Mapping):  # counts.rejected.<reason>
                breakdown.setdefault(str(key), {str(k): int(_total(v) or 0) for k, v in value.items()})
        return cls(
            run_id=str(source.get("run_id") or "?"),
            dag_id=stored_fields.text(source.get("dag_id")),
            stage=stored_fields.text(source.get("stage")),
            status=stored_fields.text(source.get("status")),
            try_number=stored_fields.whole(source.get("try_number")),
            started=stored_fields.text(source.get("started")),
            finished=stored_fields.text(source.get("finished")),
            counts=counts,
            breakdown=breakdown,
            recorded_airflow_run_id=stored_fields.text(source.get("airflow_run_id")),
            run_kind=stored_fields.text(source.get("run_kind")),
            logical_date=stored_fields.text(source.get("logical_date")),
            # Masked as read too: records written before their reasons were masked at the source.
            status_reasons=tuple(map(redact_text, stored_fields.texts(source.get("status_reasons")))),
            listed={key: names for key in LISTED if (names := stored_fields.texts(extra.get(key)))},
        )

    @property
    def airflow_run_id(self) -> str:
        """The run id Airflow knows: recorded as such, or the record's id without the DAG id
        before it and the attempt after it (records written before ``airflow_run_id``)."""
        if self.recorded_airflow_run_id:
            return self.recorded_airflow_run_id
        prefix = f"{self.dag_id}/" if self.dag_id else ""
        bare = self.run_id[len(prefix) :] if prefix and self.run_id.startswith(prefix) else self.run_id
        return _ATTEMPT.sub("", bare)

    @property
    def run_key(self) -> str:
        """``<dag>/<Airflow run id>``: the same for every attempt of one run."""
        return f"{self.dag_id}/{self.airflow_run_id}" if self.dag_id else _ATTEMPT.sub("", self.run_id)

    def count(self, key: str) -> int | None:
        return self.counts.get(key)

    def newer_than(self, other: RunSummary) -> bool:
        """Which of two records of the same run speaks for it: the later attempt, then the later start
        and finish."""
        mine = (self.try_number or 0, self.started or "", self.finished or "")
        return mine > (other.try_number or 0, other.started or "", other.finished or "")


def latest_per_run(records: Iterable[RunSummary]) -> dict[tuple[str, str | None], RunSummary]:
    """(``<dag>/<Airflow run id>``, stage) -> the record of the run's latest attempt."""
    best: dict[tuple[str, str | None], RunSummary] = {}
    for record in records:
        key = (record.run_key, record.stage)
        if key not in best or record.newer_than(best[key]):
            best[key] = record
    return best


def records_of_runs(
    client: Elasticsearch, names: IndexNames, run_ids: Sequence[str], *, stage: str | None = None
) -> dict[str, RunSummary]:
    """``<dag>/<Airflow run id>`` -> the record of the run's latest attempt (missing runs are left out).

    A later attempt's record has ``#n`` on its run id and the plain id in ``airflow_run_id``.
    """
    if not run_ids:
        return {}
    client.options(ignore_status=404).indices.refresh(index=names.runs)
    plain = [run_id.split("/", 1)[-1] for run_id in run_ids]
    filters: list[JsonValue] = [
        {
            "bool": {
                "should": [{"terms": {"run_id": list(run_ids)}}, {"terms": {"airflow_run_id": plain}}],
                "minimum_should_match": 1,
            }
        }
    ]
    if stage:
        filters.append({"term": {"stage": stage}})
    result = search_alias(
        client,
        names.runs,
        "reading run records",
        query={"bool": {"filter": filters}},
        size=min(10_000, 20 * len(run_ids)),
        sort=_SORT,
    )
    records = [RunSummary.from_source(as_object(hit.get("_source"))) for hit in hits(result)]
    wanted = set(run_ids)
    latest = latest_per_run(records).items()
    return {key: record for (key, _), record in latest if key in wanted}


def latest_runs(
    client: Elasticsearch, names: IndexNames, per_dag: int = RECENT
) -> dict[str, list[RunSummary]]:
    """DAG id (``-`` for records without one) -> its latest runs, newest first, one row per run."""
    result = search_alias(
        client,
        names.runs,
        "reading run records",
        size=0,
        aggs={
            "dags": {
                "terms": {"field": "dag_id", "missing": "-", "size": 50},
                "aggs": {"latest": {"top_hits": {"size": 4 * per_dag, "sort": _SORT}}},
            }
        },
    )
    by_dag: dict[str, list[RunSummary]] = {}
    for bucket in buckets(aggregation(result, "dags")):
        latest = hits(as_object(bucket.get("latest")))
        records = [RunSummary.from_source(as_object(hit.get("_source"))) for hit in latest]
        runs = sorted(
            latest_per_run(records).values(), key=lambda r: (r.started or "", r.finished or ""), reverse=True
        )
        by_dag[str(bucket["key"])] = runs[:per_dag]
    return dict(sorted(by_dag.items()))
