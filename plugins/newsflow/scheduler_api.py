"""Airflow's REST API (v2) for operators' commands: health, DAGs, runs triggered with explicit intervals.

The one client of that API: the dev stack's ``AirflowApi`` (demo, e2e tests, benches) sends
its requests through it too. Operators run these commands on their own machines against
their own Airflow, so this is plain HTTP (httpx) and never imports Airflow. The bearer token comes from
``POST /auth/token`` with the configured user and password, and is fetched once more when
the server answers 401. Requests are retried within a bounded time on connection errors
and 429/502/503/504: requests that are safe to repeat (GET, PATCH, the token, a trigger
that names its own run id, which the server never creates twice) always, others only when
the connection was refused (so the server never saw them). The password never reaches a
message, a log line or a ``repr``; URLs are shown redacted.
"""

from __future__ import annotations

import contextlib
import logging
import os
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from urllib.parse import quote

import httpx

from newsflow.backoff import doubling
from newsflow.errors import ConfigError, ServiceError
from newsflow.jsontypes import JsonObject, objects, parse_answer
from newsflow.redact import redact_text, redact_url
from newsflow.stored_fields import string
from newsflow.timestamps import iso_z

log = logging.getLogger(__name__)

POLL_DAG = "newsflow_poll"
PROCESS_DAG = "newsflow_process"
PIPELINE_DAGS = (POLL_DAG, PROCESS_DAG)
RETRY_STATUS = frozenset({429, 502, 503, 504})
REPEATABLE_METHODS = frozenset({"GET", "PATCH"})
FINISHED = frozenset({"success", "failed"})


def _no_password() -> str:
    raise ConfigError(
        "no Airflow password: set NEWSFLOW_AIRFLOW_PASSWORD (and NEWSFLOW_AIRFLOW_USERNAME if not admin)"
    )


@dataclass(frozen=True, slots=True)
class SchedulerConnection:
    """Where Airflow's API is and who we are; the password is read only when a token is needed."""

    url: str
    username: str = "admin"
    password: Callable[[], str] = field(default=_no_password, repr=False, compare=False)
    external: bool = False  # NEWSFLOW_AIRFLOW_URL: someone else's Airflow, never started or stopped here

    @property
    def display_url(self) -> str:
        return redact_url(self.url)

    def __repr__(self) -> str:
        return f"SchedulerConnection({self.display_url!r}, user={self.username!r}, external={self.external})"


def connection_from_env(*, local_url: str, local_password: Callable[[], str]) -> SchedulerConnection:
    """``NEWSFLOW_AIRFLOW_URL`` (+ ``_USERNAME``/``_PASSWORD``), or the local Airflow the caller names.

    ``local_password`` is asked only for the local Airflow and only when no
    ``NEWSFLOW_AIRFLOW_PASSWORD`` is set (the CLI reads the password Airflow generated).
    """
    username = os.environ.get("NEWSFLOW_AIRFLOW_USERNAME") or "admin"
    secret = os.environ.get("NEWSFLOW_AIRFLOW_PASSWORD")

    def from_env() -> str:
        return secret or ""

    url = os.environ.get("NEWSFLOW_AIRFLOW_URL")
    if url:
        from newsflow.settings import check_service_url

        check_service_url("NEWSFLOW_AIRFLOW_URL", url)
        return SchedulerConnection(url.rstrip("/"), username, from_env if secret else _no_password, True)
    return SchedulerConnection(local_url.rstrip("/"), username, from_env if secret else local_password)


class SchedulerApi:
    """A client of one Airflow's REST API; use as a context manager (it holds a connection pool)."""

    def __init__(
        self,
        conn: SchedulerConnection,
        *,
        timeout_s: float = 20.0,
        patience_s: float = 60.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.conn = conn
        self.patience_s = patience_s  # how long one call may keep retrying
        self._until: float | None = None  # a caller's deadline (``until``), on the monotonic clock
        self._token: str | None = None
        self._http = httpx.Client(
            base_url=conn.url, timeout=timeout_s, transport=transport, follow_redirects=False
        )

    def __enter__(self) -> SchedulerApi:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    def __repr__(self) -> str:
        return f"SchedulerApi({self.conn.display_url!r}, user={self.conn.username!r})"

    @contextlib.contextmanager
    def until(self, deadline: float) -> Iterator[None]:
        """Calls made inside stop retrying at ``deadline`` (``time.monotonic()``), so a caller that
        waits for something within a bound is not overrun by one call's patience: it can then
        overrun only by one request's timeout."""
        saved = self._until
        self._until = deadline if saved is None else min(saved, deadline)
        try:
            yield
        finally:
            self._until = saved

    # --- transport ---------------------------------------------------------------------------

    def _send(
        self, method: str, path: str, body: object = None, *, auth: bool = True, repeatable: bool
    ) -> httpx.Response:
        deadline = time.monotonic() + self.patience_s
        if self._until is not None:
            deadline = min(deadline, self._until)
        retries, renewed = 0, False
        problem: Exception | None
        while True:
            delay = doubling(retries, 0.5, 8.0)
            headers = {"Accept": "application/json"}
            if auth:
                headers["Authorization"] = f"Bearer {self.token()}"
            try:
                response = self._http.request(method, path, json=body, headers=headers)
            except (httpx.ConnectError, httpx.ConnectTimeout) as exc:
                problem, may_retry = exc, True  # never reached the server: always safe to repeat
            except httpx.TransportError as exc:
                problem, may_retry = exc, repeatable
            else:
                if response.status_code == 401 and auth and not renewed:
                    self._token, renewed = None, True  # expired token: one fresh one, then report
                    continue
                if not (response.status_code in RETRY_STATUS and repeatable):
                    return response
                if time.monotonic() + delay > deadline:
                    return response
                problem, may_retry = None, True
                log.info("Airflow API %s %s answered %s; retrying", method, path, response.status_code)
            if not may_retry or time.monotonic() + delay > deadline:
                why = type(problem).__name__ if problem else "no answer"
                raise ServiceError(
                    f"Airflow API at {self.conn.display_url} is not reachable ({why}: "
                    f"{redact_text(str(problem))[:200]}); start it (`newsflow airflow up`) or set "
                    "NEWSFLOW_AIRFLOW_URL"
                ) from problem
            time.sleep(delay)
            retries += 1

    def request(
        self,
        method: str,
        path: str,
        body: object = None,
        *,
        auth: bool = True,
        repeatable: bool | None = None,
    ) -> JsonObject:
        """Any endpoint, for callers with needs of their own (the dev stack, the tests).

        ``repeatable`` says whether the request may be sent twice; by default only GET and
        PATCH are, so a POST whose answer was lost is reported rather than carried out twice.
        """
        if repeatable is None:
            repeatable = method in REPEATABLE_METHODS
        response = self._send(method, path, body, auth=auth, repeatable=repeatable)
        if response.status_code >= 400:
            raise ApiError(method, path, response.status_code, _detail(response))
        data = parse_answer(response.content)
        if not isinstance(data, Mapping):
            raise ApiError(method, path, response.status_code, "the answer is not a JSON object")
        return data

    def token(self) -> str:
        if self._token is None:
            body = {"username": self.conn.username, "password": self.conn.password()}
            response = self._send("POST", "/auth/token", body, auth=False, repeatable=True)
            if response.status_code >= 400:
                # Never echo the request: it holds the password.
                raise ServiceError(
                    f"Airflow at {self.conn.display_url} refused the login of user "
                    f"{self.conn.username!r} ({response.status_code}); check NEWSFLOW_AIRFLOW_USERNAME "
                    "and NEWSFLOW_AIRFLOW_PASSWORD"
                )
            answer = parse_answer(response.content)
            token = string(answer.get("access_token")) if isinstance(answer, Mapping) else None
            if token is None:  # a proxy's page, or not Airflow: a clear error, not a KeyError
                raise ServiceError(
                    f"Airflow at {self.conn.display_url} answered the login ({response.status_code}) "
                    "with no access_token; is NEWSFLOW_AIRFLOW_URL Airflow's API server?"
                )
            self._token = token
        return self._token

    # --- what the commands ask ---------------------------------------------------------------

    def health(self) -> dict[str, str]:
        """Each component's status (``scheduler``: ``healthy``, ...); no login needed."""
        data = self.request("GET", "/api/v2/monitor/health", auth=False)
        return {str(k): str(v.get("status")) for k, v in data.items() if isinstance(v, Mapping)}

    def dag(self, dag_id: str) -> JsonObject:
        return self.request("GET", f"/api/v2/dags/{_q(dag_id)}")

    def dag_run(self, dag_id: str, run_id: str) -> JsonObject:
        return self.request("GET", f"/api/v2/dags/{_q(dag_id)}/dagRuns/{_q(run_id)}")

    def dag_runs(self, dag_id: str, limit: int = 5) -> list[JsonObject]:
        """The latest runs first; an answer without a list of runs reads as none (items that are
        not objects are skipped), so a caller never meets a string where it expects a run."""
        data = self.request("GET", f"/api/v2/dags/{_q(dag_id)}/dagRuns?order_by=-run_after&limit={limit}")
        return objects(data.get("dag_runs"))

    def task_instances(self, dag_id: str, run_id: str) -> list[JsonObject]:
        """As ``dag_runs``: only the task instances that are JSON objects."""
        path = f"/api/v2/dags/{_q(dag_id)}/dagRuns/{_q(run_id)}/taskInstances?limit=1000"
        return objects(self.request("GET", path).get("task_instances"))

    def trigger(
        self,
        dag_id: str,
        *,
        run_id: str,
        logical_date: datetime,
        interval: tuple[datetime, datetime],
        conf: Mapping[str, object],
    ) -> JsonObject:
        """Trigger a run over an explicit data interval; repeating it returns the run already created."""
        body = {
            "dag_run_id": run_id,
            "logical_date": iso_z(logical_date, "microseconds"),
            "data_interval_start": iso_z(interval[0], "microseconds"),
            "data_interval_end": iso_z(interval[1], "microseconds"),
            "conf": dict(conf),
        }
        try:
            return self.request("POST", f"/api/v2/dags/{_q(dag_id)}/dagRuns", body, repeatable=True)
        except ApiError as exc:
            if exc.status != 409:
                raise
            existing = self.dag_run(dag_id, run_id)  # a retry of a trigger the server did receive
            if existing.get("data_interval_start") and existing.get("conf") == dict(conf):
                return existing
            raise

    def run_link(self, dag_id: str, run_id: str) -> str:
        """Where the run is in the Airflow UI."""
        return f"{self.conn.display_url}/dags/{_q(dag_id)}/runs/{_q(run_id)}"


class ApiError(ServiceError):
    """Airflow answered with an error status (the body's ``detail``, shortened and redacted)."""

    def __init__(self, method: str, path: str, status: int, detail: str) -> None:
        super().__init__(f"Airflow API {method} {path} answered {status}: {detail}")
        self.status = status


def _detail(response: httpx.Response) -> str:
    data = parse_answer(response.content)
    detail = data.get("detail", response.text) if isinstance(data, Mapping) else response.text
    return redact_text(str(detail))[:300]


def _q(value: str) -> str:
    return quote(value, safe="")
