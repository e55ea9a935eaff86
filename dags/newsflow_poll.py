"""Poll the feed registry and fetch new articles into the raw WARC archive.

Runs every 5 minutes (each feed keeps its own interval), and at once when an
outside system pings the feed-ping asset. Feeds are polled in host-sharded
batches (dynamic task mapping over batches, never a task per feed), each fetching
at most ``pages_per_batch`` pages (the rest wait for the next run). ``publish``
announces the archive batches on the raw-archive asset for the processing DAG, or
is skipped when nothing new was archived; ``record`` writes the run's record
(``newsflow-runs``, stage poll): ``partial`` when a feed failed 3 polls in a row or
a ping named unknown feeds (a warning in its log), ``failed`` (the task fails) when
every feed polled failed.
"""

from __future__ import annotations

from datetime import UTC, datetime

from airflow.sdk import AssetOrTimeSchedule, CronTriggerTimetable, dag, task

from newsflow.airflow import tasks
from newsflow.airflow.assets import FEED_PING, RAW_ARCHIVE


@dag(
    dag_id="newsflow_poll",
    schedule=AssetOrTimeSchedule(
        timetable=CronTriggerTimetable("*/5 * * * *", timezone="UTC"), assets=[FEED_PING]
    ),
    start_date=datetime(2026, 1, 1, tzinfo=UTC),
    catchup=False,
    max_active_runs=1,
    tags=["newsflow", "ingest"],
    default_args=tasks.RETRY_POLICY,
    doc_md=__doc__,
)
def newsflow_poll() -> None:
    @task
    def plan_poll() -> list[list[str]]:
        return tasks.plan_poll()

    @task(max_active_tis_per_dagrun=4)
    def poll(feed_names: list[str]) -> dict[str, object]:
        return dict(tasks.poll_batch(feed_names))

    # all_done: a unit that failed for good must not keep the others' batches from processing.
    @task(outlets=[RAW_ARCHIVE], retries=0, trigger_rule="all_done")
    def publish(results: list[dict[str, object]]) -> dict[str, object]:
        return dict(tasks.announce(results))

    @task(trigger_rule="all_done")
    def record(results: list[dict[str, object]]) -> dict[str, object]:
        return dict(tasks.record_poll(results))

    # TaskFlow hands XComArgs here that resolve to the list of batch results at run time.
    results = poll.expand(feed_names=plan_poll())
    publish(results) >> record(results)  # type: ignore[arg-type]  # XComArgs, see above


poll_dag = newsflow_poll()
