"""The local Airflow's REST API (v2) as the demo, the e2e stack and benches drive it.

Every request goes through ``newsflow.scheduler_api.SchedulerApi``, the one client of that
API (token and its renewal, bounded retries of what is safe to repeat, redaction). What stays
here is what only a local Airflow has, the password Airflow generated under its home, and
the waits a script needs between triggering a run and reading what it did. Starting and
stopping Airflow is ``local_airflow``'s job.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Self
from urllib.parse import quote

import httpx

from newsflow.devstack.local_airflow import LocalAirflowOptions
from newsflow.errors import ServiceError
from newsflow.jsontypes import JsonObject
from newsflow.scheduler_api import FINISHED, SchedulerApi, SchedulerConnection
from newsflow.stored_fields import string

GENERATED_PASSWORDS = "simple_auth_manager_passwords.json.generated"  # under the Airflow home


def password_at(options: LocalAirflowOptions, username: str = "admin") -> str:
    """Where a person finds the local password: credentials are never printed, their place is."""
    if os.environ.get("NEWSFLOW_AIRFLOW_PASSWORD"):
        return "NEWSFLOW_AIRFLOW_PASSWORD in your environment"
    return f'the "{username}" entry of {options.home / GENERATED_PASSWORDS}'


def local_password(options: LocalAirflowOptions, username: str = "admin") -> str:
    """``NEWSFLOW_AIRFLOW_PASSWORD``, else the one Airflow generated at its first start.

    The simple auth manager writes a fresh password per user into its home, so a local
    Airflow needs no configured secret.
    """
    env = os.environ.get("NEWSFLOW_AIRFLOW_PASSWORD")
    if env:
        return env
    generated = options.home / GENERATED_PASSWORDS
    try:
        return str(json.loads(generated.read_text())[username])
    except (FileNotFoundError, KeyError, ValueError) as exc:
        raise ServiceError(
            f"no password for Airflow user {username!r} in {generated}; "
            "start Airflow with `newsflow airflow up` or set NEWSFLOW_AIRFLOW_PASSWORD"
        ) from exc


class AirflowApi:
    """The local Airflow, with conveniences for scripts; use as a context manager (it holds a pool).

    ``scheduler`` is the underlying client: call it for anything not wrapped here.
    """

    poll_s = 2.0  # between two looks at a DAG or a run that is not there yet

    def __init__(
        self,
        options: LocalAirflowOptions | None = None,
        username: str = "admin",
        *,
        timeout_s: float = 30.0,
        patience_s: float = 60.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.options = options or LocalAirflowOptions()
        self.username = username
        conn = SchedulerConnection(self.options.url, username, self.password)
        self.scheduler = SchedulerApi(conn, timeout_s=timeout_s, patience_s=patience_s, transport=transport)

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self.scheduler.close()

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.scheduler.conn.display_url!r}, user={self.username!r})"

    def password(self) -> str:
        return local_password(self.options, self.username)

    def wait_for_dag(self, dag_id: str, timeout_s: float = 180) -> None:
        """Until the dag-processor has parsed ``dag_id`` (a new install parses on its first loop)."""
        deadline = time.monotonic() + timeout_s
        while True:
            try:
                with self.scheduler.until(deadline):
                    self.scheduler.dag(dag_id)
                return
            except ServiceError as exc:  # 404 until parsed; or the API not answering yet
                if time.monotonic() + self.poll_s > deadline:
                    raise ServiceError(
                        f"DAG {dag_id!r} did not appear within {timeout_s:.0f}s ({exc}); "
                        "check the dag-processor log"
                    ) from exc
            time.sleep(self.poll_s)

    def unpause(self, dag_id: str) -> None:
        self.scheduler.request("PATCH", f"/api/v2/dags/{_q(dag_id)}", {"is_paused": False})

    def trigger(
        self, dag_id: str, conf: Mapping[str, object] | None = None, *, logical_date: datetime | None = None
    ) -> str:
        """A manual run (now, or at ``logical_date``); its id.

        Sent once: the server names the run, so a repeat after a lost answer would start a second one.
        """
        moment = (logical_date or datetime.now(UTC)).astimezone(UTC)
        body = {"logical_date": moment.isoformat(), "conf": dict(conf or {})}
        run = self.scheduler.request("POST", f"/api/v2/dags/{_q(dag_id)}/dagRuns", body)
        run_id = string(run.get("dag_run_id"))
        if run_id is None:  # nothing to wait for: say so here rather than fail on a later read
            raise ServiceError(f"Airflow triggered {dag_id} but its answer names no dag_run_id")
        return run_id

    def task_state(self, dag_id: str, run_id: str, task_id: str) -> str | None:
        """The state of one (unmapped) task of a run: ``success``, ``skipped``, ``failed``..."""
        path = f"/api/v2/dags/{_q(dag_id)}/dagRuns/{_q(run_id)}/taskInstances/{_q(task_id)}"
        return string(self.scheduler.request("GET", path).get("state"))

    def runs(self, dag_id: str, limit: int = 100) -> list[JsonObject]:
        """The latest runs first (100 is the API's page limit)."""
        return self.scheduler.dag_runs(dag_id, limit)

    def run_ids(self, dag_id: str) -> set[str]:
        """The ids of the latest runs, to tell a run started later from these."""
        return {run_id for run in self.runs(dag_id) if (run_id := string(run.get("dag_run_id")))}

    def wait_for_run(self, dag_id: str, run_id: str, timeout_s: float = 600) -> str:
        """The run's final state (``success`` or ``failed``)."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            with self.scheduler.until(deadline):
                state = string(self.scheduler.dag_run(dag_id, run_id).get("state"))
            if state in FINISHED:
                return state
            time.sleep(self.poll_s)
        raise ServiceError(f"run {run_id} of {dag_id} did not finish within {timeout_s:.0f}s")

    def wait_for_new_run(
        self, dag_id: str, known: set[str], timeout_s: float = 300, run_type: str | None = None
    ) -> JsonObject:
        """The first run of ``dag_id`` not in ``known`` (e.g. one an asset event started)."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            with self.scheduler.until(deadline):
                runs = self.runs(dag_id)
            for run in runs:
                run_id = string(run.get("dag_run_id"))
                if run_id is not None and run_id not in known and run_type in (None, run.get("run_type")):
                    return run
            time.sleep(self.poll_s)
        kind = f"{run_type} " if run_type else ""
        raise ServiceError(f"no new {kind}run of {dag_id} started within {timeout_s:.0f}s")


def _q(value: str) -> str:
    return quote(value, safe="")
