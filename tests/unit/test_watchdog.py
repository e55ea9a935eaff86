"""A service a test run started stops when the run dies, even by SIGKILL (devstack.watchdog).

The "services" here are plain processes in groups of their own, as the real ones are
started; the owner is a real process killed with a real signal.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator

import pytest

from newsflow.devstack import watchdog

BOUND_S = 60.0  # generous: a loaded 2-core machine may take a while to run a fresh interpreter


def _until(condition: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + BOUND_S
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.1)
    pytest.fail(f"not within {BOUND_S:.0f}s: {what}")


def _service(ignore_term: bool = False) -> subprocess.Popen[bytes]:
    """A process group standing in for a service: a leader and a child of its own."""
    body = "import signal, subprocess, time\n"
    if ignore_term:
        body += "signal.signal(signal.SIGTERM, signal.SIG_IGN)\n"
    body += "subprocess.Popen(['sleep', '600'])\nprint('ready', flush=True)\ntime.sleep(600)\n"
    proc = subprocess.Popen([sys.executable, "-c", body], start_new_session=True, stdout=subprocess.PIPE)
    assert proc.stdout is not None
    assert proc.stdout.readline() == b"ready\n"  # its signal disposition is set
    return proc


@pytest.fixture
def cleanup() -> Iterator[list[int]]:
    groups: list[int] = []
    yield groups
    for pgid in groups:
        if watchdog.group_alive(pgid):
            os.killpg(pgid, signal.SIGKILL)


def test_a_service_stops_when_its_owner_is_killed(cleanup: list[int]) -> None:
    # The owner starts the service and its watch, as a test session does, and is then SIGKILLed:
    # no teardown of its runs.
    script = (
        "import subprocess, sys, time\n"
        "from newsflow.devstack import watchdog\n"
        "svc = subprocess.Popen(['sleep', '600'], start_new_session=True)\n"
        "watchdog.watch(svc.pid)\n"
        "print(svc.pid, flush=True)\n"
        "time.sleep(600)\n"
    )
    owner = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE)
    assert owner.stdout is not None
    pgid = int(owner.stdout.readline())
    cleanup.append(pgid)
    assert watchdog.group_alive(pgid)
    owner.kill()
    owner.wait()
    _until(lambda: not watchdog.group_alive(pgid), "the service stops once its owner is gone")


def test_a_watch_goes_by_itself_once_the_owner_stopped_the_service(cleanup: list[int]) -> None:
    service = _service()
    cleanup.append(service.pid)
    watch = watchdog.watch(service.pid)
    time.sleep(0.5)  # not a wait for a condition: the watch must still be there a moment later
    assert watch.poll() is None, "the watch ended while its owner and service were alive"
    watchdog.stop_group(service.pid)
    service.wait()
    _until(lambda: watch.poll() is not None, "the watch ends once its group is gone")
    assert watch.returncode == 0


def test_a_service_that_ignores_sigterm_is_killed_after_the_grace(cleanup: list[int]) -> None:
    service = _service(ignore_term=True)
    cleanup.append(service.pid)
    gone = subprocess.Popen(["true"])
    gone.wait()  # an owner that has already exited
    stopped = watchdog.run(gone.pid, service.pid, grace_s=1.0)
    assert stopped
    service.wait(timeout=BOUND_S)
    _until(lambda: not watchdog.group_alive(service.pid), "the service's child is killed with it")
