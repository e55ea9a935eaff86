"""A test run stops the Elasticsearch node it started: at its end, and when it is SIGKILLed.

A child pytest session, with this suite's fixtures, uses a private node (own state dir, own
ports) that nothing was running on, so its ``es_client`` fixture starts one. The shared node
on 9200 is never touched.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from newsflow.devstack import local_es
from tests.conftest import REPO_ROOT
from tests.faults.hostile import drill
from tests.faults.private_es import private_node

pytestmark = pytest.mark.integration

BOUND_S = 300.0  # a node's start on a loaded 2-core machine, and a watch's stop of it

CHILD_TEST = """
import os, time
from pathlib import Path

def test_uses_the_node(es_client):
    assert es_client.cluster.health()["status"] in {"yellow", "green"}
    Path(os.environ["NEWSFLOW_TEST_READY"]).write_text("ready")
    if os.environ.get("NEWSFLOW_TEST_HOLD") == "1":
        time.sleep(600)
"""


def _child_env(tmp_path: Path, options: local_es.LocalEsOptions) -> dict[str, str]:
    env = {
        **os.environ,
        "NEWSFLOW_ES_PORT": str(options.http_port),
        "NEWSFLOW_STATE_DIR": str(options.state_dir),
        "NEWSFLOW_ES_NODES": "1",
        "NEWSFLOW_TEST_READY": str(tmp_path / "ready"),
        "CI": "true",  # the child must start its node, not skip
    }
    env.pop("NEWSFLOW_FAULTS_REPORT", None)
    return env


def _child(tmp_path: Path, env: dict[str, str]) -> subprocess.Popen[bytes]:
    test_file = tmp_path / "test_child.py"
    test_file.write_text(CHILD_TEST)
    args = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "tests.conftest"]
    args += ["--rootdir", str(REPO_ROOT), str(test_file)]
    return subprocess.Popen(args, cwd=REPO_ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)


def _until_stopped(options: local_es.LocalEsOptions, bound_s: float) -> float:
    started = time.monotonic()
    while time.monotonic() - started < bound_s:
        if not local_es.status(options).running:
            return time.monotonic() - started
        time.sleep(0.5)
    pytest.fail(f"the node on port {options.http_port} was still running {bound_s:.0f}s after the run ended")


@pytest.mark.parametrize("ending", ["finished", "sigkill"])
def test_a_run_stops_the_node_it_started(tmp_path: Path, ending: str) -> None:
    options = private_node(tmp_path, nodes=1)
    env = _child_env(tmp_path, options)
    env["NEWSFLOW_TEST_HOLD"] = "1" if ending == "sigkill" else "0"
    assert not local_es.status(options).running
    child = _child(tmp_path, env)
    try:
        with drill(
            f"test run {ending}",
            tried=f"a pytest session that started its own node ends ({ending})",
            expected="the node stops with the run",
            bound=BOUND_S,
        ) as report:
            if ending == "finished":
                out, _ = child.communicate(timeout=BOUND_S)
                assert child.returncode == 0, out.decode(errors="replace")[-3000:]
                assert not local_es.status(options).running, "the session left its node running"
                report.found = "stopped by the session's teardown"
            else:
                deadline = time.monotonic() + BOUND_S
                ready = Path(env["NEWSFLOW_TEST_READY"])
                while not ready.exists():
                    if child.poll() is not None or time.monotonic() > deadline:
                        out = child.stdout.read() if child.stdout else b""
                        pytest.fail(
                            f"the child run never used its node:\n{out.decode(errors='replace')[-3000:]}"
                        )
                    time.sleep(0.5)
                assert local_es.status(options).running
                os.kill(child.pid, signal.SIGKILL)
                child.wait()
                took = _until_stopped(options, BOUND_S)
                report.found = f"stopped by its watch {took:.1f}s after the SIGKILL"
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
        if child.stdout:
            child.stdout.close()
        local_es.down(options)
        shutil.rmtree(tmp_path / "es-state", ignore_errors=True)
