"""``make demo`` run twice on one machine: the second run finds nothing new and still answers.

A user runs the demo again after exploring. The fixture feeds then answer "not modified" to the
feed state the first run left, the poll archives nothing and no processing run follows; the
demo must say so and search what the first run indexed, not wait for a run that never comes.
This runs the real command (``newsflow demo``) twice against a real Airflow it starts itself,
in a state directory and on an Airflow port of its own, and on the session's Elasticsearch
under index names of its own.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from newsflow.devstack import airflow_api, demo_site, local_airflow
from newsflow.devstack.ports import free_port, port_open
from newsflow.settings import es_connection
from tests.conftest import stop_with_this_run
from tests.e2e.stack import delete_indices, patient

if TYPE_CHECKING:
    from elasticsearch import Elasticsearch

pytestmark = pytest.mark.e2e

DEMO_S = 900  # a first demo starts Airflow on a fresh home (migration, DAG parsing) and runs both DAGs
ALIASES = ("INDEX", "RUNS", "MERGES", "ALERTS", "ALERT_RULES", "FEED_HEALTH")


def _documents(output: str) -> int:
    found = re.search(r"documents in the index: (\d+)", output)
    assert found, f"the demo did not report its documents:\n{output[-3000:]}"
    return int(found.group(1))


@pytest.fixture
def demo_env(tmp_path: Path, es_client: Elasticsearch) -> Iterator[dict[str, str]]:
    if port_open(demo_site.DEFAULT_PORT) and not demo_site_is_ours():
        pytest.fail(f"port {demo_site.DEFAULT_PORT} is taken by something other than the demo site")
    prefix = f"demo2-{uuid.uuid4().hex[:8]}"
    # The demo on local defaults: none of the caller's settings but how to reach Elasticsearch.
    kept = {
        k: v for k, v in os.environ.items() if k.startswith("NEWSFLOW_ES_") or not k.startswith("NEWSFLOW_")
    }
    env = {
        **kept,
        "NEWSFLOW_STATE_DIR": str(tmp_path / "state"),
        "NEWSFLOW_AIRFLOW_PORT": str(free_port()),
        "NEWSFLOW_ES_URL": es_connection().url,
        "COLUMNS": "250",  # a hit's title on one line of the search table
        **{f"NEWSFLOW_{name}_ALIAS": f"{prefix}-{name.lower().replace('_', '-')}" for name in ALIASES},
    }
    yield env
    subprocess.run(
        [sys.executable, "-m", "newsflow.cli", "down"], env=env, capture_output=True, timeout=300, check=False
    )
    delete_indices(es_client, prefix)


def demo_site_is_ours() -> bool:
    """Something on the demo site's port that serves the fixture site (a user's running demo)."""
    import urllib.request

    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{demo_site.DEFAULT_PORT}/robots.txt", timeout=3):
            return True
    except OSError:
        return False


def _demo(env: dict[str, str]) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "newsflow.cli", "demo"],
        env=env,
        capture_output=True,
        text=True,
        timeout=patient(DEMO_S),
        check=False,
    )
    output = done.stdout + done.stderr
    # Whatever happens next, the services this run started stop with it (teardown stops them too).
    home = Path(env["NEWSFLOW_STATE_DIR"])
    options = local_airflow.LocalAirflowOptions(port=int(env["NEWSFLOW_AIRFLOW_PORT"]), state_dir=home)
    site_pid = home / "demo-site.pid"  # the fixture site runs in a session (group) of its own
    stop_with_this_run(
        local_airflow.status(options).pgid, int(site_pid.read_text()) if site_pid.exists() else None
    )
    assert done.returncode == 0, f"newsflow demo exited {done.returncode}:\n{output[-4000:]}"
    return output


def test_the_demo_run_again_finds_nothing_new_and_still_searches(demo_env: dict[str, str]) -> None:
    first = _demo(demo_env)
    indexed = _documents(first)
    assert indexed > 0
    processed = re.search(r"process run (\S+): (\w+)", first)
    assert processed and processed.group(1) != "-" and processed.group(2) == "success", first[-3000:]

    second = _demo(demo_env)
    assert "nothing new to process" in second, second[-3000:]
    assert _documents(second) == indexed  # nothing lost, nothing indexed twice
    # The search at the end still finds the seed story, which only a hit's title names whole.
    assert "run home or die" in second, second[-3000:]
    # Where the password is, never the password.
    passwords = Path(demo_env["NEWSFLOW_STATE_DIR"]) / "airflow" / airflow_api.GENERATED_PASSWORDS
    assert str(passwords) in second.replace("\n", "")
    password = json.loads(passwords.read_text())["admin"]
    assert password not in first and password not in second
