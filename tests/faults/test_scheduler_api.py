"""The operators' Airflow client (``newsflow.scheduler_api``) against a misbehaving API on 127.0.0.1.

Reads ride out a slow moment within a bounded time; a trigger whose answer was lost is sent
again safely, because it names its own run id and the server refuses to create it twice;
an expired token is renewed once; a refused login or an API that is gone is a clear error
that never shows the password.
"""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime

import pytest

from newsflow.errors import ServiceError
from newsflow.scheduler_api import SchedulerApi, SchedulerConnection
from tests.e2e.stack import patient
from tests.faults.hostile import Request, drill, serving

PASSWORD = "pw-Never-Shown-7"
RUNS = "/api/v2/dags/newsflow_process/dagRuns"
RUN_ID = "manual__backfill_20260501T0900Z_20260501T1000Z_abc123"
CONF = {"reprocess": True, "backfill": True}


def _token(request: Request) -> None:
    request.respond(201, json.dumps({"access_token": "t"}).encode(), "application/json")


def _api(port: int, patience_s: float = 20.0) -> SchedulerApi:
    conn = SchedulerConnection(f"http://127.0.0.1:{port}", "admin", lambda: PASSWORD)
    return SchedulerApi(conn, timeout_s=1.0, patience_s=patient(patience_s))


def test_reads_ride_out_a_slow_moment() -> None:
    def run(request: Request) -> None:
        n = request.server.hits[request.path]
        if n == 1:
            request.server.stopping.wait(3)  # past the 1 s timeout
        elif n == 2:
            request.handler.connection.close()
        elif n == 3:
            request.respond(503, b"busy", "text/plain")
        else:
            request.respond(200, json.dumps({"state": "running"}).encode(), "application/json")

    path = f"{RUNS}/{RUN_ID}"
    with (
        serving({"/auth/token": _token, path: run}, lifetime=120) as server,
        drill(
            "scheduler API read, slow moment",
            tried="GET a run on an API that times out, drops the connection, answers 503, then 200",
            expected="the run after 4 requests, within the client's patience",
            bound=patient(20.0),
        ) as report,
        _api(server.port) as api,
    ):
        started = time.monotonic()
        state = api.dag_run("newsflow_process", RUN_ID)["state"]
        report.elapsed = time.monotonic() - started
        report.found = f"{state!r} after {server.hits[path]} requests"
        assert state == "running"
        assert server.hits[path] == 4


def test_a_trigger_whose_answer_was_lost_is_sent_again_and_finds_its_run() -> None:
    def trigger(request: Request) -> None:
        if request.server.hits[request.path] == 1:
            request.server.stopping.wait(3)  # the run was created, the answer never came
        else:
            request.respond(409, json.dumps({"detail": "already exists"}).encode(), "application/json")

    def existing(request: Request) -> None:
        body = {"dag_run_id": RUN_ID, "conf": CONF, "data_interval_start": "2026-05-01T09:00:00Z"}
        request.respond(200, json.dumps(body).encode(), "application/json")

    routes = {"/auth/token": _token, RUNS: trigger, f"{RUNS}/{RUN_ID}": existing}
    start, end = datetime(2026, 5, 1, 9, tzinfo=UTC), datetime(2026, 5, 1, 10, tzinfo=UTC)
    with (
        serving(routes, lifetime=120) as server,  # type: ignore[arg-type]  # Route callables
        drill(
            "scheduler API trigger, answer lost",
            tried="trigger a run with our run id; the first POST times out, the second answers 409",
            expected="the existing run is returned: nothing created twice, no error",
        ) as report,
        _api(server.port) as api,
    ):
        run = api.trigger(
            "newsflow_process", run_id=RUN_ID, logical_date=end, interval=(start, end), conf=CONF
        )
        report.found = f"{run['dag_run_id']} after {server.hits[RUNS]} POSTs"
        assert run["dag_run_id"] == RUN_ID
        assert server.hits[RUNS] == 2


def test_a_409_for_someone_elses_run_is_an_error() -> None:
    def conflict(request: Request) -> None:
        request.respond(409, json.dumps({"detail": "already exists"}).encode(), "application/json")

    def other(request: Request) -> None:
        body: dict[str, object] = {
            "dag_run_id": RUN_ID,
            "state": "success",
            "conf": {},
            "data_interval_start": None,
        }
        request.respond(200, json.dumps(body).encode(), "application/json")

    routes = {"/auth/token": _token, RUNS: conflict, f"{RUNS}/{RUN_ID}": other}
    moment = datetime(2026, 5, 1, 10, tzinfo=UTC)
    with (
        serving(routes, lifetime=60) as server,  # type: ignore[arg-type]  # Route callables
        _api(server.port) as api,
        pytest.raises(ServiceError, match="409"),
    ):
        api.trigger("newsflow_process", run_id=RUN_ID, logical_date=moment, interval=(moment,) * 2, conf=CONF)


def test_an_expired_token_is_renewed_once() -> None:
    def dag(request: Request) -> None:
        if request.server.hits[request.path] == 1:
            request.respond(401, b'{"detail": "token expired"}', "application/json")
        else:
            request.respond(200, json.dumps({"is_paused": False}).encode(), "application/json")

    path = "/api/v2/dags/newsflow_process"
    with serving({"/auth/token": _token, path: dag}, lifetime=60) as server, _api(server.port) as api:
        assert api.dag("newsflow_process") == {"is_paused": False}
        assert server.hits["/auth/token"] == 2 and server.hits[path] == 2


def test_a_refused_login_never_shows_the_password() -> None:
    def refuse(request: Request) -> None:
        # A hostile server echoing what it was sent must not get the password onto the screen.
        request.respond(401, json.dumps({"detail": f"bad password {PASSWORD}"}).encode(), "application/json")

    with (
        serving({"/auth/token": refuse}, lifetime=60) as server,
        drill(
            "scheduler API refused login",
            tried="log in to an API that answers 401 and echoes the password in its body",
            expected="an error naming the user and the variables to check, without the password",
        ) as report,
        _api(server.port) as api,
    ):
        with pytest.raises(ServiceError) as info:
            api.dag("newsflow_process")
        report.error = str(info.value)
        assert PASSWORD not in str(info.value) and PASSWORD not in repr(api)
        assert "'admin'" in str(info.value) and "NEWSFLOW_AIRFLOW_PASSWORD" in str(info.value)
        assert server.hits["/auth/token"] == 1


def test_an_api_that_is_gone_is_given_up_within_patience() -> None:
    with serving({}, lifetime=10) as server:
        port = server.port  # a port that was just free, now closed
    with (
        drill(
            "scheduler API gone",
            tried="health check against a closed port with 3 s of patience",
            expected="ServiceError saying how to start Airflow, within about 3 s",
            bound=patient(3.0) + 10,
        ) as report,
        _api(port, patience_s=3.0) as api,
    ):
        started = time.monotonic()
        with pytest.raises(ServiceError, match="not reachable") as info:
            api.health()
        report.elapsed = time.monotonic() - started
        report.error = str(info.value)
        assert "newsflow airflow up" in str(info.value)
        assert report.elapsed < patient(3.0) + 10
