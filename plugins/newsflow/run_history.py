"""Reading run records (``newsflow-runs``): one run's outcome, and the latest runs of each DAG.

Records are the pipeline's own account of a run (counts by reason, a status), so operators'
summaries come from them rather than from Airflow's task states. A record may be one per
attempt (``try_number``): the latest attempt speaks for the run. Old records have no
``status`` and no ``try_number``; a count may be stored as a total or as a mapping by reason.
Every field may be missing, and readers show ``-`` then.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from newsflow.es_client import search_alias

if TYPE_CHECKING:
    from elasticsearch import Elasticsearch

    from newsflow.index.names import IndexNames

RECENT = 3  # runs per DAG that `newsflow status` shows
_SORT = [
    {"finished": {"order": "desc", "missing": "_last", "unmapped_type": "date"}},
    {"started": {"order": "desc", "missing": "_last", "unmapped_type": "date"}},
]


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

    @classmethod
    def from_source(cls, source: Mapping[str, Any]) -> RunSummary:
        counts: dict[str, int] = {}
        breakdown: dict[str, dict[str, int]] = {}
        raw_breakdown = source.get("breakdown")
        for group, parts in (raw_breakdown if isinstance(raw_breakdown, Mapping) else {}).items():
            if isinstance(parts, Mapping):
                totals = {str(k): _total(v) for k, v in parts.items()}
                breakdown[str(group)] = {k: t for k, t in totals.items() if t is not None}
        raw_counts = source.get("counts")
        for key, value in (raw_counts if isinstance(raw_counts, Mapping) else {}).items():
            total = _total(value)
            if total is not None:
                counts[str(key)] = total
            if isinstance(value, Mapping):  # counts.rejected.<reason>
                breakdown.setdefault(str(key), {str(k): int(_total(v) or 0) for k, v in value.items()})
        return cls(
            run_id=str(source.get("run_id") or "?"),
            dag_id=_str(source.get("dag_id")),
            stage=_str(source.get("stage")),
            status=_str(source.get("status")),
            try_number=_int(source.get("try_number")),
            started=_str(source.get("started")),
            finished=_str(source.get("finished")),
            counts=counts,
            breakdown=breakdown,
        )

    @property
    def airflow_run_id(self) -> str:
        """The run id Airflow knows (records prefix it with the DAG id)."""
        prefix = f"{self.dag_id}/" if self.dag_id else ""
        return self.run_id[len(prefix) :] if prefix and self.run_id.startswith(prefix) else self.run_id

    def count(self, key: str) -> int | None:
        return self.counts.get(key)

    def newer_than(self, other: RunSummary) -> bool:
        """Which of two records of the same run speaks for it: the later attempt, then the later finish."""
        return (self.try_number or 0, self.finished or "") > (other.try_number or 0, other.finished or "")


def _int(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _str(value: object) -> str | None:
    return str(value) if value is not None and value != "" else None


def latest_per_run(records: Iterable[RunSummary]) -> dict[tuple[str, str | None], RunSummary]:
    """(run id, stage) -> the record of its latest attempt."""
    best: dict[tuple[str, str | None], RunSummary] = {}
    for record in records:
        key = (record.run_id, record.stage)
        if key not in best or record.newer_than(best[key]):
            best[key] = record
    return best


def records_of_runs(
    client: Elasticsearch, names: IndexNames, run_ids: Sequence[str], *, stage: str | None = None
) -> dict[str, RunSummary]:
    """Recorded run id -> its latest record, for these runs (missing runs are left out)."""
    if not run_ids:
        return {}
    client.options(ignore_status=404).indices.refresh(index=names.runs)
    filters: list[dict[str, Any]] = [{"terms": {"run_id": list(run_ids)}}]
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
    records = [RunSummary.from_source(hit["_source"]) for hit in result["hits"]["hits"]]
    return {run_id: record for (run_id, _), record in latest_per_run(records).items()}


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
    for bucket in result.get("aggregations", {}).get("dags", {}).get("buckets", []):
        hits = bucket["latest"]["hits"]["hits"]
        records = [RunSummary.from_source(hit["_source"]) for hit in hits]
        runs = sorted(latest_per_run(records).values(), key=lambda r: r.finished or "", reverse=True)
        by_dag[str(bucket["key"])] = runs[:per_dag]
    return dict(sorted(by_dag.items()))
