"""Task bodies: read the Airflow context, call one flow function, return a small value.

Each task body is one call into ``newsflow.flows``; what is Airflow's (the context, its
run types, its asset events, its connection) is turned into plain values here. Dates
come from the run (logical date, data interval), never the clock, and XCom carries only
archive references and counts.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from airflow.sdk import Asset, get_current_context

from newsflow.airflow.assets import FEED_PING, RAW_ARCHIVE
from newsflow.airflow.connections import es_client
from newsflow.flows import poll, process
from newsflow.flows.options import FlowOptions
from newsflow.flows.runs import BatchResult, RunInfo, RunKind, XComValue, record_run
from newsflow.timestamps import parse_utc

log = logging.getLogger(__name__)

# Tasks touch the network (feeds, pages, Elasticsearch): retry with exponential backoff.
RETRY_POLICY: dict[str, Any] = {
    "retries": 3,
    "retry_delay": timedelta(seconds=20),
    "retry_exponential_backoff": True,
}


def _run(context: Any) -> RunInfo:
    """The run as the flows see it: id, kind (Airflow's run type as our enum), logical time, conf."""
    dag_run = context["dag_run"]
    logical = context.get("logical_date") or context.get("data_interval_end") or dag_run.run_after
    params = context.get("params") or {}
    return RunInfo(
        run_id=f"{context['dag'].dag_id}/{context['run_id']}",
        dag_id=context["dag"].dag_id,
        kind=RunKind.of(getattr(dag_run, "run_type", None)),
        logical=parse_utc(logical),
        reprocess=bool(params.get("reprocess")),
        started=getattr(dag_run, "start_date", None),
    )


def _extras(context: Any, asset: Asset) -> list[dict[str, Any]]:
    """``extra`` of the asset events that triggered this run (none for scheduled or manual runs)."""
    accessor = context.get("triggering_asset_events") or {}
    try:
        return [dict(event.extra or {}) for event in accessor[asset]]
    except KeyError:
        return []


def _strings(extras: list[dict[str, Any]], key: str) -> list[str]:
    return [str(item) for extra in extras for item in extra.get(key) or ()]


def plan_poll() -> list[list[str]]:
    context = get_current_context()
    pinged = _strings(_extras(context, FEED_PING), "feeds")
    return poll.plan_poll(FlowOptions.from_env(), _run(context).logical, pinged=pinged).for_xcom()


def poll_batch(feed_names: Sequence[str]) -> dict[str, XComValue]:
    context = get_current_context()
    pinged = bool(_extras(context, FEED_PING))  # a ping polls its feeds now, whatever their interval
    return poll.poll_batch(FlowOptions.from_env(), feed_names, _run(context).logical, pinged=pinged).to_xcom()


def announce(results: Sequence[dict[str, Any]]) -> dict[str, XComValue]:
    """Announce the new archive batches on the raw-archive asset (references and counts only)."""
    context = get_current_context()
    summary = poll.announce([BatchResult.from_xcom(r) for r in results], _run(context).run_id)
    event: Any = context["outlet_events"][RAW_ARCHIVE]  # its ``extra`` is typed as Airflow's JSON value
    event.extra = summary
    return summary


def plan_process() -> list[list[str]]:
    context = get_current_context()
    extras = _extras(context, RAW_ARCHIVE)
    start, end = context.get("data_interval_start"), context.get("data_interval_end")
    window = (parse_utc(start), parse_utc(end)) if not extras and start and end else None
    if not extras and window is None:
        log.warning("run has neither asset events nor a data interval: nothing to process")
    refs, files = _strings(extras, "batches"), _strings(extras, "files")
    return process.plan_process(
        FlowOptions.from_env(), batch_refs=refs, files=files, window=window
    ).for_xcom()


def process_batch(batch_refs: Sequence[str]) -> dict[str, XComValue]:
    context = get_current_context()
    with es_client() as client:
        return process.process_batch(
            FlowOptions.from_env(), batch_refs, run=_run(context), client=client
        ).to_xcom()


def record_metrics(
    results: Sequence[dict[str, Any]], planned: Sequence[Sequence[str]], stage: str
) -> dict[str, XComValue]:
    context = get_current_context()
    batches = [BatchResult.from_xcom(r) for r in results]
    with es_client() as client:
        return record_run(client, _run(context), stage, batches, planned_units=len(planned)).to_xcom()
