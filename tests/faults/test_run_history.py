"""Runs keep history (issue 15, item 6) against the real node: a no-op rerun once overwrote
its run's metrics ("created 700, unchanged 500" became "2 files skipped"), and a killed
attempt recorded nothing. Each attempt now writes its own record, opened as ``started``."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from tests.faults.hostile import drill

LOGICAL = datetime(2026, 11, 22, 5, 0, tzinfo=UTC)
AIRFLOW_RUN = "scheduled__2026-11-22T05:00:00+00:00"


def _records(es_client: Any, alias: str) -> list[dict[str, Any]]:
    es_client.indices.refresh(index=alias)
    hits = es_client.search(index=alias, query={"term": {"airflow_run_id": AIRFLOW_RUN}}, size=20)
    return sorted((h["_source"] for h in hits["hits"]["hits"]), key=lambda r: r["run_id"])


def test_a_no_op_rerun_keeps_the_first_attempts_record(es_client: Any, names: Any) -> None:
    from newsflow.counts import Counts
    from newsflow.flows.runs import BatchResult, RunInfo, RunKind, record_run

    first = RunInfo.of("newsflow_process", AIRFLOW_RUN, RunKind.SCHEDULED, LOGICAL, started=LOGICAL)
    done = Counts({"pages_read": 1200, "index_created": 700, "index_unchanged": 500})
    rerun = RunInfo.of(
        "newsflow_process", AIRFLOW_RUN, RunKind.SCHEDULED, LOGICAL, attempt=2, started=LOGICAL
    )
    with drill(
        "no-op rerun of a processing run",
        tried="record attempt 1 (created 700, unchanged 500), then a cleared rerun that skipped 2 files",
        expected="two records; the first still says created 700, unchanged 500",
        bound=60,
    ) as report:
        record_run(es_client, first, "process", [BatchResult((), (), done, 1.0)], planned_units=1)
        skipped = Counts({"files_skipped:already_processed": 2})
        record_run(es_client, rerun, "process", [BatchResult((), (), skipped, 0.1)], planned_units=1)
        records = _records(es_client, names.runs)
        report.found = "; ".join(f"try {r['try_number']} {r['status']} {r['counts']}" for r in records)
    assert [r["run_id"] for r in records] == [first.run_id, rerun.run_id]
    assert records[0]["counts"]["index_created"] == 700 and records[0]["counts"]["index_unchanged"] == 500
    assert records[1]["try_number"] == 2 and "index_created" not in records[1]["counts"]


def test_a_killed_attempt_leaves_a_started_record(es_client: Any, names: Any) -> None:
    from newsflow.flows.runs import RunInfo, RunKind, open_run

    run = RunInfo.of("newsflow_process", AIRFLOW_RUN, RunKind.SCHEDULED, LOGICAL, started=LOGICAL)
    with drill(
        "attempt killed after its plan",
        tried="open the attempt's record as the plan task does, then nothing (the worker is killed)",
        expected="one record: status started, no finish",
        bound=60,
    ) as report:
        open_run(es_client, run, "process")
        records = _records(es_client, names.runs)
        report.found = "; ".join(f"{r['run_id']} {r['status']} finished={r.get('finished')}" for r in records)
    assert len(records) == 1 and records[0]["status"] == "started" and not records[0].get("finished")
