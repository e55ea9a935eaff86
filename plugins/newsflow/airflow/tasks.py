"""Task bodies: read the Airflow context, call one pipeline function, return a small dict.

Every helper takes dates from the run (logical date, data interval), never the
clock, and returns only counts and archive references, so XCom stays small.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from airflow.sdk import get_current_context

from newsflow import pipeline
from newsflow.airflow.assets import FEED_PING, RAW_ARCHIVE
from newsflow.airflow.connections import es_client

log = logging.getLogger(__name__)

# Tasks touch the network (feeds, pages, Elasticsearch): retry with exponential backoff.
RETRY_POLICY: dict[str, Any] = {
    "retries": 3,
    "retry_delay": timedelta(seconds=20),
    "retry_exponential_backoff": True,
}


def _run_time(context: Any) -> datetime:
    """The instant this run stands for: logical date, else the interval end, else the run's start."""
    for key in ("logical_date", "data_interval_end"):
        value = context.get(key)
        if value is not None:
            return pipeline.parse_when(value)
    dag_run = context["dag_run"]
    return pipeline.parse_when(dag_run.run_after)


def _events(context: Any, asset: Any) -> list[Any]:
    """Asset events that triggered this run for ``asset`` (empty for scheduled or manual runs)."""
    accessor = context.get("triggering_asset_events") or {}
    try:
        return list(accessor[asset])
    except KeyError:
        return []


def _run_id(context: Any) -> str:
    return f"{context['dag'].dag_id}/{context['run_id']}"


def plan_poll() -> list[list[str]]:
    context = get_current_context()
    options = pipeline.PipelineOptions.from_env()
    pinged: list[str] = []
    for event in _events(context, FEED_PING):
        pinged.extend(str(name) for name in (event.extra or {}).get("feeds", []))
    if pinged:
        log.info("feeds pinged from outside: %s", pinged)
        return [sorted(set(pinged))]
    return pipeline.plan_poll_batches(options, _run_time(context))


def poll(feed_names: Sequence[str]) -> dict[str, Any]:
    context = get_current_context()
    pinged = bool(_events(context, FEED_PING))  # a ping polls its feeds now, whatever their interval
    return pipeline.poll_batch(
        pipeline.PipelineOptions.from_env(), feed_names, _run_time(context), respect_interval=not pinged
    )


def publish_archive_event(results: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Announce the new WARC files on the raw-archive asset (paths and counts only)."""
    context = get_current_context()
    files = sorted({path for result in results for path in result.get("files", [])})
    summary: dict[str, Any] = {
        "files": files,
        "counts": pipeline.merge_counts(results),
        "run_id": _run_id(context),
    }
    event: Any = context["outlet_events"][RAW_ARCHIVE]
    event.extra = summary
    return summary


def plan_process() -> list[list[str]]:
    context = get_current_context()
    options = pipeline.PipelineOptions.from_env()
    events = _events(context, RAW_ARCHIVE)
    files = [str(path) for event in events for path in (event.extra or {}).get("files", [])]
    if events:
        return pipeline.plan_process_batches(options, event_files=files)
    start, end = context.get("data_interval_start"), context.get("data_interval_end")
    if start is None or end is None:
        log.warning("run has neither asset events nor a data interval: nothing to process")
        return []
    return pipeline.plan_process_batches(options, start=start, end=end)


def process(files: Sequence[str]) -> dict[str, Any]:
    context = get_current_context()
    params = context.get("params") or {}
    dag_run = context["dag_run"]
    run_type = getattr(dag_run, "run_type", "")
    # The task SDK's DagRunType prints as "DagRunType.BACKFILL"; its value is "backfill".
    reprocess = bool(params.get("reprocess")) or str(getattr(run_type, "value", run_type)) == "backfill"
    client = es_client()
    try:
        return pipeline.process_batch(
            pipeline.PipelineOptions.from_env(),
            files,
            run_id=_run_id(context),
            client=client,
            reprocess=reprocess,
        )
    finally:
        client.close()


def record_metrics(results: Sequence[dict[str, Any]], stage: str) -> dict[str, Any]:
    context = get_current_context()
    client = es_client()
    try:
        return pipeline.record_run(
            client,
            run_id=_run_id(context),
            dag_id=context["dag"].dag_id,
            stage=stage,
            results=results,
            started=context["dag_run"].start_date,
        )
    finally:
        client.close()
