"""A small client of the local Airflow's REST API (v2): token, trigger, wait for runs.

The demo, the e2e stack and the operators' password lookup talk to a running Airflow;
starting and stopping it is ``local_airflow``'s job.
"""

from __future__ import annotations

import json
import os
import time
import urllib.error
import urllib.request
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

from newsflow.devstack.local_airflow import LocalAirflowOptions
from newsflow.errors import ServiceError


class AirflowApi:
    """A small client of Airflow's REST API (v2) for the demo, tests and operators' scripts."""

    request_timeout_s = 30.0  # one request; callers that must ride out a slow moment retry around it

    def __init__(self, options: LocalAirflowOptions | None = None, username: str = "admin") -> None:
        self.options = options or LocalAirflowOptions()
        self.username = username
        self._token: str | None = None

    def _password(self) -> str:
        env = os.environ.get("NEWSFLOW_AIRFLOW_PASSWORD")
        if env:
            return env
        generated = self.options.home / "simple_auth_manager_passwords.json.generated"
        try:
            return str(json.loads(generated.read_text())[self.username])
        except (FileNotFoundError, KeyError, ValueError) as exc:
            raise ServiceError(
                f"no password for Airflow user {self.username!r} in {generated}; "
                "start Airflow with `newsflow airflow up` or set NEWSFLOW_AIRFLOW_PASSWORD"
            ) from exc

    def password(self) -> str:
        return self._password()

    def token(self) -> str:
        if self._token is None:
            body = {"username": self.username, "password": self._password()}
            data = self.request("POST", "/auth/token", body, auth=False)
            self._token = str(data["access_token"])
        return self._token

    def request(self, method: str, path: str, body: object = None, *, auth: bool = True) -> Any:
        headers = {"Content-Type": "application/json", "Accept": "application/json"}
        if auth:
            headers["Authorization"] = f"Bearer {self.token()}"
        payload = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(  # noqa: S310 - the local Airflow URL we built
            f"{self.options.url}{path}", data=payload, headers=headers, method=method
        )
        try:
            with urllib.request.urlopen(request, timeout=self.request_timeout_s) as response:  # noqa: S310 - local URL
                raw = response.read()
        except urllib.error.HTTPError as exc:
            detail = exc.read().decode("utf-8", "replace")[:500]
            raise ServiceError(f"Airflow API {method} {path} answered {exc.code}: {detail}") from exc
        except (urllib.error.URLError, OSError) as exc:
            raise ServiceError(f"Airflow API at {self.options.url} is not reachable ({exc})") from exc
        return json.loads(raw) if raw else {}

    def get(self, path: str) -> Any:
        return self.request("GET", path)

    def post(self, path: str, body: object) -> Any:
        return self.request("POST", path, body)

    def patch(self, path: str, body: object) -> Any:
        return self.request("PATCH", path, body)

    def wait_for_dag(self, dag_id: str, timeout_s: float = 180) -> None:
        """Until the dag-processor has parsed ``dag_id`` (a new install parses on its first loop)."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            try:
                self.get(f"/api/v2/dags/{dag_id}")
                return
            except ServiceError:
                time.sleep(3)
        raise ServiceError(
            f"DAG {dag_id!r} did not appear within {timeout_s:.0f}s; check the dag-processor log"
        )

    def unpause(self, dag_id: str) -> None:
        self.patch(f"/api/v2/dags/{dag_id}", {"is_paused": False})

    def trigger(self, dag_id: str, conf: dict[str, object] | None = None) -> str:

        body = {"logical_date": datetime.now(UTC).isoformat(), "conf": conf or {}}
        return str(self.post(f"/api/v2/dags/{dag_id}/dagRuns", body)["dag_run_id"])

    def task_state(self, dag_id: str, run_id: str, task_id: str) -> str | None:
        """The state of one (unmapped) task of a run: ``success``, ``skipped``, ``failed``..."""
        data = self.get(f"/api/v2/dags/{dag_id}/dagRuns/{quote(run_id, safe='')}/taskInstances/{task_id}")
        state = data.get("state")
        return str(state) if state is not None else None

    def runs(self, dag_id: str, limit: int = 20) -> list[dict[str, Any]]:
        data = self.get(f"/api/v2/dags/{dag_id}/dagRuns?order_by=-run_after&limit={limit}")
        return list(data.get("dag_runs", []))

    def wait_for_run(self, dag_id: str, run_id: str, timeout_s: float = 600) -> str:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            state = str(self.get(f"/api/v2/dags/{dag_id}/dagRuns/{run_id}")["state"])
            if state in {"success", "failed"}:
                return state
            time.sleep(2)
        raise ServiceError(f"run {run_id} of {dag_id} did not finish within {timeout_s:.0f}s")

    def wait_for_new_run(
        self, dag_id: str, known: set[str], timeout_s: float = 300, run_type: str | None = None
    ) -> str:
        """The id of the first run of ``dag_id`` not in ``known`` (e.g. one an asset event started)."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            for run in self.runs(dag_id):
                if run["dag_run_id"] not in known and (run_type is None or run.get("run_type") == run_type):
                    return str(run["dag_run_id"])
            time.sleep(2)
        raise ServiceError(f"no new run of {dag_id} started within {timeout_s:.0f}s")
