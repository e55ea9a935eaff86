"""Airflow answers of an unexpected shape read as missing, or fail with the client's own error.

``SchedulerApi`` used to hand its callers Airflow's JSON as ``dict[str, Any]``; a ``dag_runs``
that was not a list of objects, or a login answer without a token, then crashed a caller far
from the answer (``AttributeError`` in a backfill's progress, ``TypeError`` in ``list(None)``,
``KeyError`` in a trigger). An in-process mock transport stands in for Airflow.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from newsflow.backfill import RunProgress, Window, follow_runs
from newsflow.devstack.airflow_api import AirflowApi
from newsflow.devstack.local_airflow import LocalAirflowOptions
from newsflow.errors import ServiceError
from newsflow.scheduler_api import ApiError, SchedulerApi, SchedulerConnection

RUNS = "/api/v2/dags/newsflow_process/dagRuns"
RUN = f"{RUNS}/manual_1"
TASKS = f"{RUN}/taskInstances"
Answers = dict[str, Callable[[], httpx.Response]]


def _transport(answers: Answers) -> httpx.MockTransport:
    def handle(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/auth/token":
            return httpx.Response(201, json={"access_token": "t"})
        return answers[request.url.path]()

    return httpx.MockTransport(handle)


def _api(answers: Answers) -> SchedulerApi:
    conn = SchedulerConnection("http://airflow.test", "admin", lambda: "pw")
    return SchedulerApi(conn, timeout_s=1.0, patience_s=0.5, transport=_transport(answers))


def _json(body: object) -> Callable[[], httpx.Response]:
    return lambda: httpx.Response(200, json=body)


def test_a_task_list_with_an_odd_item_still_shows_progress() -> None:
    answers = {
        RUN: _json({"state": "success"}),
        TASKS: _json({"task_instances": [{"state": "success"}, "not a task", {"state": "running"}]}),
    }
    now = datetime(2026, 5, 1, tzinfo=UTC)
    run = RunProgress(Window(now, now + timedelta(hours=1)), "manual_1", "queued")
    with _api(answers) as api:
        (done,) = follow_runs(api, "newsflow_process", [run], timeout_s=5, on_update=lambda r: None)
    assert (done.state, done.tasks_done, done.tasks_total) == ("success", 1, 2)


@pytest.mark.parametrize("listed", [None, {"dag_run_id": "manual_1"}, "manual_1", 3])
def test_lists_that_are_not_lists_read_as_empty(listed: object) -> None:
    answers = {RUNS: _json({"dag_runs": listed}), TASKS: _json({"task_instances": listed})}
    with _api(answers) as api:
        assert api.dag_runs("newsflow_process") == []
        assert api.task_instances("newsflow_process", "manual_1") == []


def test_an_answer_that_is_not_an_object_is_an_api_error() -> None:
    with _api({RUN: _json(["success"])}) as api, pytest.raises(ApiError, match="not a JSON object"):
        api.dag_run("newsflow_process", "manual_1")


@pytest.mark.parametrize(
    "login",
    [
        httpx.Response(200, text="<html>proxy sign-in</html>"),
        httpx.Response(201, json={"token": "t"}),
        httpx.Response(201, json=["t"]),
        httpx.Response(201, json={"access_token": 7}),
    ],
)
def test_a_login_answer_without_a_token_is_a_service_error(login: httpx.Response) -> None:
    conn = SchedulerConnection("http://airflow.test", "admin", lambda: "pw")
    transport = httpx.MockTransport(lambda request: login)
    api = SchedulerApi(conn, timeout_s=1.0, patience_s=0.5, transport=transport)
    with api, pytest.raises(ServiceError, match="no access_token"):
        api.dag("newsflow_process")


@pytest.fixture
def local(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> LocalAirflowOptions:
    monkeypatch.setenv("NEWSFLOW_AIRFLOW_PASSWORD", "pw")
    return LocalAirflowOptions(port=18080, state_dir=tmp_path)


def test_a_trigger_answer_without_a_run_id_says_so(local: LocalAirflowOptions) -> None:
    poll_runs = "/api/v2/dags/newsflow_poll/dagRuns"
    answers = {poll_runs: _json({"state": "queued"})}
    api = AirflowApi(local, timeout_s=1.0, patience_s=0.5, transport=_transport(answers))
    with api, pytest.raises(ServiceError, match="names no dag_run_id"):
        api.trigger("newsflow_poll")


def test_a_listed_run_without_an_id_is_not_taken_for_a_new_one(local: LocalAirflowOptions) -> None:
    runs = [
        {"run_type": "scheduled"},
        {"dag_run_id": 5},
        {"dag_run_id": "scheduled__1", "run_type": "scheduled"},
    ]
    answers = {RUNS: _json({"dag_runs": runs})}
    with AirflowApi(local, timeout_s=1.0, patience_s=0.5, transport=_transport(answers)) as api:
        assert api.wait_for_new_run("newsflow_process", set(), timeout_s=5)["dag_run_id"] == "scheduled__1"
        assert api.run_ids("newsflow_process") == {"scheduled__1"}


def test_following_runs_on_a_busy_api_ends_within_its_bound() -> None:
    """``follow_runs`` gives up at its own bound, not after a call's patience (here 60 s)."""
    conn = SchedulerConnection("http://airflow.test", "admin", lambda: "pw")
    busy = _transport({RUN: lambda: httpx.Response(503, text="busy")})
    now = datetime(2026, 5, 1, tzinfo=UTC)
    run = RunProgress(Window(now, now + timedelta(hours=1)), "manual_1", "queued")
    with SchedulerApi(conn, timeout_s=1.0, patience_s=60.0, transport=busy) as api:
        started = time.monotonic()
        with pytest.raises(ApiError):
            follow_runs(api, "newsflow_process", [run], timeout_s=1.0, on_update=lambda r: None, poll_s=0.1)
        assert time.monotonic() - started < 10.0
