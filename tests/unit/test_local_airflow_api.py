"""The dev stack's Airflow client goes through the operators' one (``SchedulerApi``), so it gains its manners.

Before, the demo and the e2e stack had a urllib client of their own that gave up on the
first 503 and had its retries bolted on in the tests. Here an in-process mock transport
stands in for Airflow: a busy moment is ridden out within the client's patience, a
trigger (the server names the run) is never sent twice, the password Airflow generated
is the one used to log in, and it never shows in an error or a ``repr``.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from newsflow.devstack.airflow_api import AirflowApi, local_password
from newsflow.devstack.local_airflow import LocalAirflowOptions
from newsflow.errors import ServiceError
from newsflow.scheduler_api import ApiError

PASSWORD = "pw-Generated-9"
RUN = "/api/v2/dags/newsflow_poll/dagRuns/manual_1"
RUNS = "/api/v2/dags/newsflow_poll/dagRuns"

Handler = Callable[[httpx.Request, int], httpx.Response]


@pytest.fixture
def options(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> LocalAirflowOptions:
    """A local Airflow home holding the password file Airflow writes at its first start."""
    monkeypatch.delenv("NEWSFLOW_AIRFLOW_PASSWORD", raising=False)
    options = LocalAirflowOptions(port=18080, state_dir=tmp_path)
    options.home.mkdir(parents=True)
    (options.home / "simple_auth_manager_passwords.json.generated").write_text(
        json.dumps({"admin": PASSWORD})
    )
    return options


def _api(
    options: LocalAirflowOptions, routes: dict[str, Handler], hits: Counter[str], patience_s: float
) -> AirflowApi:
    def handle(request: httpx.Request) -> httpx.Response:
        hits[request.url.path] += 1
        if request.url.path == "/auth/token":
            if json.loads(request.content) != {"username": "admin", "password": PASSWORD}:
                return httpx.Response(401, json={"detail": "bad login"})
            return httpx.Response(201, json={"access_token": "t"})
        assert request.headers["Authorization"] == "Bearer t"
        return routes[request.url.path](request, hits[request.url.path])

    return AirflowApi(options, timeout_s=1.0, patience_s=patience_s, transport=httpx.MockTransport(handle))


def test_a_busy_moment_is_ridden_out_with_the_generated_password(options: LocalAirflowOptions) -> None:
    def run(request: httpx.Request, n: int) -> httpx.Response:
        return httpx.Response(503, text="busy") if n <= 2 else httpx.Response(200, json={"state": "success"})

    hits: Counter[str] = Counter()
    with _api(options, {RUN: run}, hits, patience_s=10.0) as api:
        started = time.monotonic()
        assert api.wait_for_run("newsflow_poll", "manual_1", timeout_s=30) == "success"
        assert time.monotonic() - started < 10.0
    assert hits[RUN] == 3 and hits["/auth/token"] == 1


def test_a_busy_api_is_given_up_within_patience(options: LocalAirflowOptions) -> None:
    hits: Counter[str] = Counter()
    with _api(options, {RUN: lambda r, n: httpx.Response(503, text="busy")}, hits, patience_s=1.0) as api:
        started = time.monotonic()
        with pytest.raises(ApiError) as info:
            api.scheduler.dag_run("newsflow_poll", "manual_1")
        elapsed = time.monotonic() - started
    assert info.value.status == 503
    assert elapsed < 3.0 and 1 < hits[RUN] <= 3  # retried, then gave up after about 1 s


def test_a_trigger_is_sent_once(options: LocalAirflowOptions) -> None:
    hits: Counter[str] = Counter()
    busy: dict[str, Handler] = {RUNS: lambda r, n: httpx.Response(503, text="busy")}
    with _api(options, busy, hits, patience_s=10.0) as api, pytest.raises(ApiError, match="503"):
        api.trigger("newsflow_poll", {"feeds": ["north"]})
    assert hits[RUNS] == 1  # the server may have created the run: never a second one


def test_a_trigger_names_its_conf_and_moment(options: LocalAirflowOptions) -> None:
    sent: list[dict[str, object]] = []

    def trigger(request: httpx.Request, n: int) -> httpx.Response:
        sent.append(json.loads(request.content))
        return httpx.Response(200, json={"dag_run_id": "manual__1"})

    with _api(options, {RUNS: trigger}, Counter(), patience_s=1.0) as api:
        assert api.trigger("newsflow_poll", {"feeds": ["north"]}) == "manual__1"
    assert sent[0]["conf"] == {"feeds": ["north"]} and str(sent[0]["logical_date"]).endswith("+00:00")


def test_the_password_never_shows(options: LocalAirflowOptions) -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        # A server echoing what it was sent must not get the password onto the screen.
        return httpx.Response(401, json={"detail": f"bad password {json.loads(request.content)['password']}"})

    with AirflowApi(options, patience_s=1.0, transport=httpx.MockTransport(refuse)) as api:
        with pytest.raises(ServiceError) as info:
            api.unpause("newsflow_poll")
        assert PASSWORD not in str(info.value) and PASSWORD not in repr(api)
        assert PASSWORD not in repr(api.scheduler) and PASSWORD not in repr(api.scheduler.conn)
    assert local_password(options) == PASSWORD


def test_no_password_file_says_how_to_get_one(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NEWSFLOW_AIRFLOW_PASSWORD", raising=False)
    with pytest.raises(ServiceError, match="newsflow airflow up"):
        local_password(LocalAirflowOptions(port=18080, state_dir=tmp_path))
    monkeypatch.setenv("NEWSFLOW_AIRFLOW_PASSWORD", "from-env")
    assert local_password(LocalAirflowOptions(port=18080, state_dir=tmp_path)) == "from-env"


def test_the_demo_s_conveniences_ask_the_right_endpoints(options: LocalAirflowOptions) -> None:
    """What ``make demo`` asks between its trigger and its search, which no e2e test drives."""
    runs = {"dag_runs": [{"dag_run_id": "scheduled__0", "run_type": "scheduled"}]}
    routes: dict[str, Handler] = {
        f"{RUNS}/manual 1/taskInstances/publish": lambda r, n: httpx.Response(200, json={"state": "skipped"}),
        RUNS: lambda r, n: httpx.Response(200, json=runs),
        "/api/v2/dags/newsflow_poll": lambda r, n: httpx.Response(404 if n == 1 else 200, json={}),
    }
    hits: Counter[str] = Counter()
    with _api(options, routes, hits, patience_s=1.0) as api:
        api.poll_s = 0.01
        assert api.task_state("newsflow_poll", "manual 1", "publish") == "skipped"
        api.wait_for_dag("newsflow_poll", timeout_s=5)
        assert hits["/api/v2/dags/newsflow_poll"] == 2  # not parsed yet, then there
        assert api.wait_for_new_run("newsflow_poll", set(), timeout_s=5)["dag_run_id"] == "scheduled__0"
        with pytest.raises(ServiceError, match="no new asset_triggered run"):
            api.wait_for_new_run("newsflow_poll", {"scheduled__0"}, timeout_s=0.1, run_type="asset_triggered")


def test_a_wait_is_not_overrun_by_one_call_s_patience(options: LocalAirflowOptions) -> None:
    """A wait of 1 s on an API that answers 503 gives up after about 1 s, not after the client's
    60 s of patience for one call."""

    def busy(request: httpx.Request, n: int) -> httpx.Response:
        return httpx.Response(503, text="busy")

    hits: Counter[str] = Counter()
    with _api(options, {RUN: busy, "/api/v2/dags/newsflow_poll": busy}, hits, patience_s=60.0) as api:
        started = time.monotonic()
        with pytest.raises(ApiError):
            api.wait_for_run("newsflow_poll", "manual_1", timeout_s=1.0)
        assert time.monotonic() - started < 10.0
        started = time.monotonic()
        with pytest.raises(ServiceError, match="did not appear within 1s"):
            api.wait_for_dag("newsflow_poll", timeout_s=1.0)
        assert time.monotonic() - started < 10.0
        assert api.scheduler.patience_s == 60.0  # a later call has its whole patience again
