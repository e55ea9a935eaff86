"""The real stack for end-to-end tests and benchmarks: PostgreSQL, Airflow, fixture site, ES aliases.

Everything is private to one run (its own Postgres, Airflow port and home,
archive, index aliases), so it never disturbs the demo's Airflow on 8080 or
another engineer's run. The ``NEWSFLOW_*`` environment is set before Airflow
starts because the services capture it then.
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import time
import urllib.parse
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx

from newsflow.devstack import (
    airflow_api,
    demo_site,
    local_airflow,
    local_celery,
    local_postgres,
    local_redis,
    ports,
)
from newsflow.errors import ServiceError
from newsflow.index import IndexNames, setup_indices
from newsflow.jsontypes import JsonObject, JsonValue, as_object, integer, objects
from newsflow.scheduler_api import FINISHED, POLL_DAG, PROCESS_DAG
from newsflow.stored_fields import string
from newsflow.timestamps import parse_utc_or_none
from tests.conftest import stop_with_this_run

if TYPE_CHECKING:
    from elasticsearch import Elasticsearch

FEED_PING = "newsflow_feed_ping"


@contextlib.contextmanager
def patched_env(values: Mapping[str, str]) -> Iterator[None]:
    saved = {key: os.environ.get(key) for key in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for key, old in saved.items():
            if old is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = old


@contextlib.contextmanager
def fixture_sites(root: Path, hosts: int = 1) -> Iterator[tuple[int, list[demo_site.RunningSite]]]:
    """Serve ``root`` on 127.0.0.1..127.0.0.<hosts>, all on one port (one host per publisher)."""
    first = demo_site.start(root, 0, host="127.0.0.1")
    port = int(first.server.server_address[1])
    sites = [first]
    try:
        for n in range(2, hosts + 1):
            sites.append(demo_site.start(root, port, host=f"127.0.0.{n}"))
        yield port, sites
    finally:
        for site in sites:
            site.stop()


def load_factor() -> float:
    """How many times longer than on an idle machine to wait: runnable tasks per core, 1 to 4."""
    try:
        per_core = os.getloadavg()[0] / (os.cpu_count() or 1)
    except OSError:
        return 1.0
    return max(1.0, min(4.0, per_core))


def patient(timeout_s: float) -> float:
    """A wait's bound stretched by the machine's load: a loaded 2-core machine answers late, not never."""
    return timeout_s * load_factor()


class Api(airflow_api.AirflowApi):
    """The dev stack's client plus what the tests and benches need on top.

    On a loaded machine the API server sometimes answers one request late or not at all;
    each request keeps retrying what is safe to repeat for ``patience_s``, and each wait
    waits longer, both stretched by the load, so a slow moment is waited out instead of
    failing the run.
    """

    poll_s = 1.0

    def __init__(
        self,
        options: local_airflow.LocalAirflowOptions,
        *,
        timeout_s: float = 30.0,
        patience_s: float = 180.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        super().__init__(options, timeout_s=timeout_s, patience_s=patient(patience_s), transport=transport)

    def wait_for(self, dag_id: str, run_id: str, timeout_s: float) -> str:
        return self.wait_for_run(dag_id, run_id, patient(timeout_s))

    def wait_new_run(
        self, dag_id: str, known: set[str], timeout_s: float, run_type: str | None = None
    ) -> JsonObject:
        return self.wait_for_new_run(dag_id, known, patient(timeout_s), run_type)

    def xcom(self, dag_id: str, run_id: str, task_id: str, map_index: int = -1) -> JsonValue:
        path = (
            f"/api/v2/dags/{_q(dag_id)}/dagRuns/{_q(run_id)}/taskInstances/{_q(task_id)}"
            f"/xcomEntries/return_value?map_index={map_index}&deserialize=true"
        )
        return self.scheduler.request("GET", path).get("value")

    def xcom_counts(self, dag_id: str, run_id: str, task_id: str, map_index: int = -1) -> JsonObject:
        """The ``counts`` of what a task returned (its run record or batch result); empty when none."""
        return as_object(as_object(self.xcom(dag_id, run_id, task_id, map_index)).get("counts"))

    def asset_id(self, name: str) -> int:
        data = self.scheduler.request("GET", f"/api/v2/assets?name_pattern={_q(name)}")
        for asset in objects(data.get("assets")):
            if asset.get("name") == name:
                return integer(asset.get("id"), "asset id")
        raise ServiceError(f"asset {name!r} is not registered yet; has the dag-processor parsed the DAGs?")

    def push_event(self, asset_name: str, extra: dict[str, object]) -> JsonObject:
        body = {"asset_id": self.asset_id(asset_name), "extra": extra}
        return self.scheduler.request("POST", "/api/v2/assets/events", body)

    def backfill(self, dag_id: str, start: datetime, end: datetime, max_active_runs: int = 2) -> JsonObject:
        body = {
            "dag_id": dag_id,
            "from_date": start.astimezone(UTC).isoformat(),
            "to_date": end.astimezone(UTC).isoformat(),
            "reprocess_behavior": "completed",
            "max_active_runs": max_active_runs,
        }
        return self.scheduler.request("POST", "/api/v2/backfills", body)


def run_id_of(run: JsonObject) -> str:
    """A run's id, which every run Airflow lists has: a test fails here, not on a later lookup."""
    run_id = string(run.get("dag_run_id"))
    assert run_id is not None, run
    return run_id


def _q(value: str) -> str:
    return urllib.parse.quote(value, safe="")


@dataclass
class Stack:
    options: local_airflow.LocalAirflowOptions
    api: Api
    postgres: local_postgres.RunningPostgres
    names: IndexNames
    archive: Path
    registry: Path
    client: Elasticsearch
    started: dict[str, float] = field(default_factory=dict)

    def unpause_all(self, timeout_s: float = 240) -> None:
        for dag_id in (PROCESS_DAG, POLL_DAG):
            self.api.wait_for_dag(dag_id, timeout_s=patient(timeout_s))
        for dag_id in (PROCESS_DAG, POLL_DAG):
            self.api.unpause(dag_id)

    def wait_success(self, dag_id: str, run_id: str, timeout_s: float) -> None:
        """Until the run finishes (``timeout_s`` stretched by the machine's load); it must succeed."""
        state = self.api.wait_for(dag_id, run_id, timeout_s)
        if state != "success":
            raise AssertionError(f"{dag_id} run {run_id} ended {state}; logs in {self.options.home}")

    def count(self, query: dict[str, Any] | None = None) -> int:
        return int(self.client.count(index=self.names.articles, query=query)["count"])

    def searchable(self, canonical_url: str) -> bool:
        return self.count({"term": {"canonical_url": canonical_url}}) > 0

    def docs(self, size: int = 10000) -> list[dict[str, Any]]:
        self.client.indices.refresh(index=self.names.articles)
        result = self.client.search(
            index=self.names.articles,
            size=size,
            source_includes=["canonical_url", "story_id", "relation", "feed", "title"],
        )
        return [dict(hit["_source"], _id=hit["_id"]) for hit in result["hits"]["hits"]]


def delete_indices(client: Elasticsearch, prefix: str) -> None:
    client.options(ignore_status=404).indices.delete(index=f"{prefix}*", expand_wildcards="all")
    templates = client.options(ignore_status=404).indices.get_index_template(name=f"{prefix}*")
    for template in templates.get("index_templates", []):
        client.indices.delete_index_template(name=template["name"])
    client.options(ignore_status=404).cluster.delete_component_template(name=f"{prefix}*")


@contextlib.contextmanager
def airflow_stack(
    work: Path,
    registry: Path,
    prefix: str,
    client: Elasticsearch,
    *,
    parallelism: int = 4,
    polite_delay_s: float = 0.0,
    allow_hosts: str = "127.0.0.0/8",
    start_timeout_s: float = 300.0,
    celery_workers: int = 0,
    heartbeat_timeout_s: int | None = None,
) -> Iterator[Stack]:
    """PostgreSQL + the four Airflow services on free ports, stopped and removed afterwards.

    ``celery_workers`` > 0: CeleryExecutor with a throwaway Redis broker and that many workers
    (``parallelism`` task slots each is too many on 2 cores: each gets 2).
    """
    if importlib.util.find_spec("asyncpg") is None:  # Airflow 3's async metadata session on PostgreSQL
        raise ServiceError(
            "Airflow 3 on PostgreSQL needs the asyncpg driver for its async metadata session; "
            "install it (`.venv/bin/uv pip install --python .venv/bin/python asyncpg==0.30.0`)"
        )
    archive = work / "archive"
    archive.mkdir(parents=True, exist_ok=True)
    names = IndexNames.with_prefix(prefix)
    env = {
        "NEWSFLOW_FEEDS": str(registry),
        "NEWSFLOW_ALLOW_PRIVATE_HOSTS": allow_hosts,
        "NEWSFLOW_POLITE_DELAY_S": str(polite_delay_s),
        "NEWSFLOW_ARCHIVE": str(archive),
        # Every alias the tasks use, or they read and write the unprefixed ones on a shared node.
        **names.as_env(),
        # local_airflow.up() finds its services with `ps -o args=`, which cuts command lines at
        # $COLUMNS (80 under pytest) and then reports live services as dead, until it uses `ps -ww`.
        "COLUMNS": "10000",
    }
    setup_indices(client, names)
    started: dict[str, float] = {}
    t0 = time.monotonic()
    with contextlib.ExitStack() as services:
        services.enter_context(patched_env(env))
        postgres = services.enter_context(local_postgres.running_postgres())
        stop_with_this_run(postgres.pid)
        started["postgres_s"] = time.monotonic() - t0
        options = local_airflow.LocalAirflowOptions(
            port=ports.free_port(),
            state_dir=work / "state",
            parallelism=parallelism,
            database_url=postgres.url,
            start_timeout_s=patient(start_timeout_s),
            heartbeat_timeout_s=heartbeat_timeout_s,
        )
        if celery_workers:
            redis = services.enter_context(local_redis.running_redis())
            stop_with_this_run(redis.pid)
            options = replace(
                options,
                executor=local_celery.CELERY,
                celery_workers=celery_workers,
                worker_concurrency=2,
                broker_url=redis.url,
            )
        try:
            t1 = time.monotonic()
            stop_with_this_run(local_airflow.up(options).pgid)
            started["airflow_s"] = time.monotonic() - t1
            api = services.enter_context(Api(options))
            yield Stack(
                options=options,
                api=api,
                postgres=postgres,
                names=names,
                archive=archive,
                registry=registry,
                client=client,
                started=started,
            )
        finally:
            local_airflow.down(options)


def clear_of_poll_tick(api: Api, margin_s: float, timeout_s: float = 300.0) -> None:
    """Return when no scheduled poll can act on what a test is about to change.

    A scheduled poll at a */5 tick may poll feeds a test has just changed, and start a
    processing run the test did not ask for; a test that must own its runs starts clear of
    it. Looking ahead is not enough: a tick that passed a few seconds ago can still have its
    run queued, and on a loaded machine that run plans minutes later, when it reads whatever
    the test wrote meanwhile. So, after sleeping past a tick due within ``margin_s``, wait
    until the latest tick's scheduled run and the processing run it started (if it archived
    anything) have finished; if that wait brought the next tick within ``margin_s``, again
    (three rounds at most; then the test goes on).
    """
    for _ in range(3):
        if (until := _until_next_tick()) < margin_s:
            time.sleep(until + 1.0)
        _wait_tick_settled(api, timeout_s)
        if _until_next_tick() >= margin_s:
            return


def _until_next_tick() -> float:
    """Seconds until the next */5 tick of the poll DAG's schedule."""
    now = datetime.now(UTC)
    tick = now.replace(second=0, microsecond=0) + timedelta(minutes=5 - now.minute % 5)
    return (tick - now).total_seconds()


def _wait_tick_settled(api: Api, timeout_s: float) -> None:
    now = datetime.now(UTC)
    last_tick = now.replace(second=0, microsecond=0) - timedelta(minutes=now.minute % 5)
    deadline = time.monotonic() + patient(timeout_s)
    while True:
        scheduled = [r for r in api.runs(POLL_DAG) if r.get("run_type") == "scheduled"]
        if not scheduled:
            return  # the poll DAG is not on its schedule: no tick will come
        latest = max(scheduled, key=lambda r: str(r.get("run_after")))
        latest_after = parse_utc_or_none(latest.get("run_after"))
        settled = (
            latest_after is not None
            and latest_after >= last_tick
            and all(r.get("state") in FINISHED for r in scheduled)
            and _event_consumed(api, latest)
        )
        if settled:
            return
        if time.monotonic() > deadline:
            raise ServiceError(
                f"the scheduled poll of the {last_tick:%H:%M} tick did not settle within "
                f"{patient(timeout_s):.0f}s (latest scheduled run: {latest.get('dag_run_id')}, "
                f"{latest.get('state')})"
            )
        time.sleep(1)


def _event_consumed(api: Api, poll_run: JsonObject) -> bool:
    """Whether the processing run a finished poll run started, if any, has finished too.

    A poll that archived nothing skips ``publish``: no asset event, no processing run.
    """
    tasks = api.scheduler.task_instances(POLL_DAG, run_id_of(poll_run))
    published = [t for t in tasks if t.get("task_id") == "publish" and t.get("state") == "success"]
    if not published:
        return True
    since = parse_utc_or_none(published[0].get("start_date"))
    assert since is not None, published[0]
    runs = [r for r in api.runs(PROCESS_DAG) if r.get("run_type") == "asset_triggered"]
    started = [r for r in runs if (parse_utc_or_none(r.get("queued_at")) or since) >= since]
    return bool(started) and all(r.get("state") in FINISHED for r in started)
