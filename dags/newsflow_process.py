"""Turn archived responses into indexed, story-grouped articles.

Triggered by the polling DAG's raw-archive asset events (exactly the archive batches
they name) and scheduled hourly over its data interval, so operators can backfill any
window from the archive alone (a backfill run reprocesses what it finds):
extract -> stories -> index -> story alerts -> run record. Each run also replays the
dead letters earlier runs left. A run with neither asset events nor a data interval
(``{"reprocess": true}`` without a logical date) fails and says what to pass.
"""

from __future__ import annotations

from datetime import UTC, datetime

from airflow.sdk import AssetOrTimeSchedule, CronDataIntervalTimetable, Param, dag, task

from newsflow.airflow import tasks
from newsflow.airflow.assets import RAW_ARCHIVE


@dag(
    dag_id="newsflow_process",
    schedule=AssetOrTimeSchedule(
        timetable=CronDataIntervalTimetable("0 * * * *", timezone="UTC"), assets=[RAW_ARCHIVE]
    ),
    start_date=datetime(2026, 1, 1, tzinfo=UTC),
    catchup=False,
    max_active_runs=4,
    tags=["newsflow", "process"],
    default_args=tasks.RETRY_POLICY,
    params={"reprocess": Param(False, type="boolean", description="re-extract already processed files")},
    doc_md=__doc__,
)
def newsflow_process() -> None:
    @task
    def plan_process() -> list[list[str]]:
        return tasks.plan_process()

    @task(max_active_tis_per_dagrun=2)
    def process(batches: list[str]) -> dict[str, object]:
        return dict(tasks.process_batch(batches))

    @task
    def replay_dead_letters() -> dict[str, object]:
        return dict(tasks.replay_dead_letters())

    @task(trigger_rule="all_done")
    def record_metrics(results: list[dict[str, object]]) -> dict[str, object]:
        return dict(tasks.record_metrics(results))

    # TaskFlow hands an XComArg here that resolves to the batch results at run time.
    recorded = record_metrics(process.expand(batches=plan_process()))  # type: ignore[arg-type]  # XComArg
    replay_dead_letters() >> recorded


process_dag = newsflow_process()
