"""``make demo``: the whole pipeline on local defaults, through the real Airflow scheduler.

Starts (or reuses) Elasticsearch, the fixture site and Airflow, runs the polling
DAG, waits for the processing DAG its asset event triggers, and searches the
result. Services stay up for exploration; ``make down`` stops them.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from newsflow import settings
from newsflow.devstack import airflow_api, demo_site, local_airflow, local_es
from newsflow.errors import ServiceError
from newsflow.scheduler_api import FINISHED, POLL_DAG, PROCESS_DAG
from newsflow.stored_fields import string

log = logging.getLogger(__name__)


def _site_pid_file() -> Path:
    return settings.state_dir() / "demo-site.pid"


def _site_on(port: int) -> str | None:
    """Who answers on the demo site's port: ``None`` when nobody does, else the server's name.

    Our site names itself (``demo_site.SERVER``); anything else on the port would be polled
    as if it were the fixture site, and the demo would report that nothing is new.
    """
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/robots.txt", timeout=2) as response:
            return str(response.headers.get("Server") or "")
    except urllib.error.HTTPError as exc:  # an answer all the same: someone holds the port
        return str(exc.headers.get("Server") or "")
    except (urllib.error.URLError, OSError):
        return None


def _site_up(port: int) -> bool:
    server = _site_on(port)
    if server is None:
        return False
    if server.startswith(demo_site.SERVER):
        return True
    raise ServiceError(
        f"port {port} is held by another program ({server[:80]!r} answered), "
        "not the demo's fixture site; stop it and run the demo again (the demo feed registry, "
        "seeds/feeds-demo.yaml, names this port)"
    )


def site_up(port: int = demo_site.DEFAULT_PORT) -> str:
    """The fixture site as a background process (it must outlive this command)."""
    url = f"http://127.0.0.1:{port}"
    if _site_up(port):
        return url
    settings.state_dir().mkdir(parents=True, exist_ok=True)
    log_path = settings.state_dir() / "demo-site.log"
    with log_path.open("ab") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "newsflow.cli", "demo-site", "--port", str(port)],
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
    _site_pid_file().write_text(str(proc.pid))
    for _ in range(50):
        if _site_up(port):
            return url
        if proc.poll() is not None:
            break
        time.sleep(0.2)
    raise ServiceError(f"the demo site did not start on port {port}; see {log_path}")


def site_down() -> bool:
    try:
        pid = int(_site_pid_file().read_text())
    except (FileNotFoundError, ValueError):
        return False
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pid, signal.SIGTERM)
    _site_pid_file().unlink(missing_ok=True)
    return True


@dataclass(frozen=True, slots=True)
class DemoReport:
    es_url: str
    airflow_url: str
    airflow_password_at: str  # where to read it: the password itself is never printed
    site_url: str
    poll_run: str
    poll_state: str
    process_run: str
    process_state: str
    documents: int


def _published_since(api: airflow_api.AirflowApi, known_poll: set[str]) -> bool:
    """Whether a poll run finished since the demo began announced new archive batches: the
    demo's own, or a scheduled one that ran first and left the demo's nothing new to fetch."""
    for run in api.runs(POLL_DAG):
        run_id = string(run.get("dag_run_id"))
        if run_id is None or run_id in known_poll or string(run.get("state")) not in FINISHED:
            continue
        if api.task_state(POLL_DAG, run_id, "publish") == "success":
            return True
    return False


def _processed_since(api: airflow_api.AirflowApi, known: set[str], ui: str) -> tuple[str, str]:
    """Every processing run since the demo began, each waited for until it succeeds; the last one."""
    api.wait_for_new_run(PROCESS_DAG, known, run_type="asset_triggered")
    last = "-"
    for run in reversed(api.runs(PROCESS_DAG)):  # oldest first
        run_id = string(run.get("dag_run_id"))
        if run_id is None or run_id in known:
            continue
        state = api.wait_for_run(PROCESS_DAG, run_id)
        if state != "success":
            raise ServiceError(f"{PROCESS_DAG} run {run_id} ended {state}; see {ui}")
        last = run_id
    return last, "success"


def run_demo(progress: object = None) -> DemoReport:
    def say(message: str) -> None:
        log.info("%s", message)
        if callable(progress):
            progress(message)

    say("Elasticsearch: starting or reusing the local node (a first start fetches and unpacks it)")
    es = local_es.up()
    from newsflow.es_client import make_client
    from newsflow.index import IndexNames, setup_indices

    client = make_client()
    say("Elasticsearch: applying the index templates")
    setup_indices(client, IndexNames.from_env())
    say("fixture site: serving seeds/site on 127.0.0.1")
    site = site_up()
    say("Airflow: starting or reusing scheduler, dag-processor, triggerer, api-server")
    airflow = local_airflow.up()
    with airflow_api.AirflowApi() as api:
        say("Airflow: waiting for the dag-processor to parse the DAGs")
        for dag_id in (POLL_DAG, PROCESS_DAG):
            api.wait_for_dag(dag_id)
        # Before unpausing: a fresh Airflow starts a scheduled poll the moment the DAG is
        # unpaused (catchup off still runs the latest tick), and that run may archive the pages.
        known_poll = api.run_ids(POLL_DAG)
        known = api.run_ids(PROCESS_DAG)
        for dag_id in (POLL_DAG, PROCESS_DAG):
            api.unpause(dag_id)
        say(f"Airflow: triggering {POLL_DAG}")
        poll_run = api.trigger(POLL_DAG)
        poll_state = api.wait_for_run(POLL_DAG, poll_run)
        if poll_state != "success":
            raise ServiceError(f"{POLL_DAG} run {poll_run} ended {poll_state}; see {airflow.url}")
        alias = IndexNames.from_env().articles
        if not _published_since(api, known_poll):
            # The feeds answered "not modified": an earlier demo archived their pages, so no poll
            # announced anything and no processing run follows. What it indexed then is still there.
            process_run, process_state = "-", "nothing new to process"
            say("Airflow: nothing new on the fixture site since an earlier demo; no processing run follows")
        else:
            say(f"Airflow: waiting for {PROCESS_DAG}, triggered by the raw-archive asset event")
            process_run, process_state = _processed_since(api, known, airflow.url)
        api.password()  # readable now, or a clear error naming where it should be
        airflow_password_at = airflow_api.password_at(api.options, api.username)
    client.indices.refresh(index=alias)
    documents = int(client.count(index=alias)["count"])
    if not documents:
        raise ServiceError(
            "the archive holds the fixture site's pages (an earlier demo fetched them) but the index "
            "is empty: process them again with `newsflow backfill --last 1w` (reach back to that demo), "
            "or start afresh with `make down` and removing .local/archive"
        )
    client.close()
    return DemoReport(
        es_url=es.url,
        airflow_url=airflow.url,
        airflow_password_at=airflow_password_at,
        site_url=site,
        poll_run=poll_run,
        poll_state=poll_state,
        process_run=process_run,
        process_state=process_state,
        documents=documents,
    )


def stop_all() -> list[str]:
    stopped = []
    if local_airflow.down():
        stopped.append("Airflow")
    if site_down():
        stopped.append("demo site")
    if local_es.down():
        stopped.append("Elasticsearch")
    return stopped
