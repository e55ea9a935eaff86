"""Task bodies: read the Airflow context, call one flow function, return a small value.

Each task body is one call into ``newsflow.flows``; what is Airflow's (the context, its
run types, its asset events, its connection, its task states) is turned into plain values
here. Dates come from the run (logical date, data interval), never the clock, and XCom
carries only archive references and counts.

How a run's outcome shows in Airflow: its record in ``newsflow-runs`` always says
``success``, ``partial`` or ``failed``. A ``failed`` run fails its recording task (no retry),
so the run is red; a ``partial`` one logs a ``run ... is PARTIAL: <why>`` warning and
stays green (a feed failing N polls in a row, unknown feeds in a ping, dead letters);
a poll that archived nothing skips ``publish``, so no asset event and no processing run.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from datetime import timedelta
from typing import Any

from airflow.sdk import Asset, get_current_context
from airflow.sdk.exceptions import AirflowFailException, AirflowSkipException

from newsflow.airflow.assets import FEED_PING, RAW_ARCHIVE
from newsflow.airflow.connections import es_client
from newsflow.counts import Counts
from newsflow.errors import ConfigError
from newsflow.flows import poll, process
from newsflow.flows.options import FlowOptions
from newsflow.flows.runs import (
    BatchResult,
    RunFailed,
    RunInfo,
    RunKind,
    RunRecord,
    XComValue,
    open_run,
    record_run,
)
from newsflow.timestamps import parse_utc

log = logging.getLogger(__name__)

# Tasks touch the network (feeds, pages, Elasticsearch): retry with exponential backoff.
RETRY_POLICY: dict[str, Any] = {
    "retries": 3,
    "retry_delay": timedelta(seconds=20),
    "retry_exponential_backoff": True,
}


def _run(context: Any) -> RunInfo:
    """The run as the flows see it: id (with its attempt), kind (Airflow's run type as our
    enum), logical time, conf. A cleared run, or a backfill over an existing run, has a
    higher ``clear_number``: a new attempt with a record of its own."""
    dag_run = context["dag_run"]
    logical = context.get("logical_date") or context.get("data_interval_end") or dag_run.run_after
    params = context.get("params") or {}
    return RunInfo.of(
        context["dag"].dag_id,
        str(context["run_id"]),
        RunKind.of(getattr(dag_run, "run_type", None)),
        parse_utc(logical),
        attempt=int(getattr(dag_run, "clear_number", 0) or 0) + 1,
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


def _open(run: RunInfo, stage: str) -> None:
    """The attempt's ``started`` record; an unreachable cluster must not stop a poll archiving."""
    try:
        with es_client() as client:
            open_run(client, run, stage)
    except Exception as exc:  # the recording task completes the record, or fails loudly itself
        log.warning("run %s: its started record was not written: %s", run.run_id, exc)


def _planned(context: Any, task_id: str) -> list[list[str]]:
    """The plan, read by the recording tasks themselves: when planning failed there is none."""
    planned = context["ti"].xcom_pull(task_ids=task_id)
    if planned is None:
        raise AirflowFailException(f"{task_id} failed, so this run did nothing; its log and record say why")
    return [list(unit) for unit in planned]


def _results(results: Sequence[Mapping[str, object]] | None) -> list[BatchResult]:
    return [BatchResult.from_xcom(r) for r in results or () if r]


def _finish(record: RunRecord, run: RunInfo) -> dict[str, XComValue]:
    try:
        record.raise_if_failed(run.run_id)
    except RunFailed as exc:
        raise AirflowFailException(str(exc)) from exc
    return dict(record.to_xcom())


def plan_poll() -> list[list[str]]:
    context = get_current_context()
    run = _run(context)
    _open(run, "poll")
    pinged = _strings(_extras(context, FEED_PING), "feeds")
    return poll.plan_poll(FlowOptions.from_env(), run.logical, pinged=pinged).for_xcom()


def poll_batch(feed_names: Sequence[str]) -> dict[str, XComValue]:
    context = get_current_context()
    pinged = bool(_extras(context, FEED_PING))  # a ping polls its feeds now, whatever their interval
    with es_client() as client:
        result = poll.poll_batch(
            FlowOptions.from_env(), feed_names, _run(context).logical, pinged=pinged, client=client
        )
    return result.to_xcom()


def announce(results: Sequence[Mapping[str, object]] | None) -> dict[str, XComValue]:
    """Announce the run's new archive batches on the raw-archive asset (references and counts
    only); with nothing to process, skip: no asset event, so no processing run starts."""
    context = get_current_context()
    run = _run(context)
    planned = _planned(context, "plan_poll")
    summary = poll.announce(FlowOptions.from_env(), planned, run.logical, _results(results), run.run_id)
    if summary is None:
        raise AirflowSkipException("nothing new archived: no asset event, no processing run")
    event: Any = context["outlet_events"][RAW_ARCHIVE]  # its ``extra`` is typed as Airflow's JSON value
    event.extra = summary
    return summary


def record_poll(results: Sequence[Mapping[str, object]] | None) -> dict[str, XComValue]:
    """The poll run's record: counts by reason, feeds in error, unknown pinged feeds, status."""
    context = get_current_context()
    run = _run(context)
    options = FlowOptions.from_env()
    planned = _planned(context, "plan_poll")
    more, listed = poll.ping_counts(options, _strings(_extras(context, FEED_PING), "feeds"))
    with es_client() as client:
        record = record_run(
            client,
            run,
            "poll",
            _results(results),
            planned_units=len(planned),
            more=more,
            listed=listed,
            failing_after=options.failing_after,
        )
    return _finish(record, run)


def plan_process() -> list[list[str]]:
    context = get_current_context()
    run = _run(context)
    _open(run, "process")
    extras = _extras(context, RAW_ARCHIVE)
    start, end = context.get("data_interval_start"), context.get("data_interval_end")
    window = (parse_utc(start), parse_utc(end)) if not extras and start and end else None
    refs, files = _strings(extras, "batches"), _strings(extras, "files")
    try:
        plan = process.plan_process(
            FlowOptions.from_env(),
            batch_refs=refs,
            files=files,
            window=window,
            events=len(extras),
            reprocess=run.reprocess,
        )
    except ConfigError as exc:  # a config error does not go away by retrying: fail now, say why
        with es_client() as client:
            record_run(client, run, "process", [], planned_units=0, failure=str(exc))
        raise AirflowFailException(str(exc)) from exc
    return plan.for_xcom()


def replay_dead_letters() -> dict[str, XComValue]:
    """Dead letters of earlier runs, written again before this run's record is made."""
    context = get_current_context()
    with es_client() as client:
        return process.replay_dead_letters(
            FlowOptions.from_env(), client, by_run=_run(context).run_id
        ).to_xcom()


def process_batch(batch_refs: Sequence[str]) -> dict[str, XComValue]:
    context = get_current_context()
    with es_client() as client:
        return process.process_batch(
            FlowOptions.from_env(), batch_refs, run=_run(context), client=client
        ).to_xcom()


def record_metrics(results: Sequence[Mapping[str, object]] | None) -> dict[str, XComValue]:
    """The processing run's record: the units' counts plus the dead-letter replay's, and its status."""
    context = get_current_context()
    run = _run(context)
    planned = _planned(context, "plan_process")
    replayed = context["ti"].xcom_pull(task_ids="replay_dead_letters")
    more = BatchResult.from_xcom(replayed).counts if replayed else Counts({"dead_letters_not_replayed": 1})
    with es_client() as client:
        record = record_run(client, run, "process", _results(results), planned_units=len(planned), more=more)
    return _finish(record, run)
