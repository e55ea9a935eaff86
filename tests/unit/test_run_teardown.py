"""A test run stopped with SIGTERM still tears its fixtures down, so no service outlives it."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]

INNER = """
import time
from pathlib import Path

import pytest

FOLDER = Path(__file__).parent


@pytest.fixture
def service():
    yield
    (FOLDER / "torn-down").write_text("yes")


def test_runs_until_stopped(service):
    (FOLDER / "started").write_text("yes")
    time.sleep(120)
"""


def _wait_for(path: Path, process: subprocess.Popen[bytes], seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if path.exists():
            return True
        if process.poll() is not None:
            return False
        time.sleep(0.2)
    return path.exists()


def test_sigterm_runs_fixture_teardown(tmp_path: Path) -> None:
    (tmp_path / "test_inner.py").write_text(INNER)
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    command = [sys.executable, "-m", "pytest", "-q", "-p", "tests.conftest", "-p", "no:cacheprovider"]
    process = subprocess.Popen(
        [*command, str(tmp_path)],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        assert _wait_for(tmp_path / "started", process, 120), "the inner test never started"
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=120)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    output = process.stdout.read().decode(errors="replace") if process.stdout else ""
    assert (tmp_path / "torn-down").exists(), f"the fixture was not torn down:\n{output}"
