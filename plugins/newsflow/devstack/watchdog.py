"""A service started for a process stops when that process dies, however it dies.

Tests start real services (Elasticsearch, PostgreSQL, the Airflow services, Redis) in
process groups of their own, so that one signal stops all of a service's processes. They
stop in the fixture's teardown, which a SIGKILL of the test run (an out-of-memory killer, a
CI job's hard limit) never runs: the services then outlived the run that started them. A
watch is a small process of its own that waits for its owner to exit and then stops the
group. It holds a pidfd of the owner, so a recycled process id cannot fool it, and it goes
by itself once the group is gone, so an owner that stops its service needs no further step.

`make demo` starts no watch: its services are meant to outlive it.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import select
import signal
import subprocess
import sys
import time

log = logging.getLogger(__name__)

POLL_S = 1.0  # how often a watch looks whether its group is still there
GRACE_S = 30.0  # from SIGTERM to SIGKILL (a node flushing its data takes seconds)

_started: list[subprocess.Popen[bytes]] = []  # kept so they are reaped, not reported as leaked


def group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # alive, though run by another account
        return True
    return True


def stop_group(pgid: int, grace_s: float = GRACE_S) -> None:
    """SIGTERM to the whole group; SIGKILL to whatever is left after ``grace_s``.

    A leader that is this process's child is reaped as it exits: until then it stays in the
    group as a zombie, and the group would look alive for the whole grace.
    """
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pgid, signal.SIGTERM)
    deadline = time.monotonic() + grace_s
    while time.monotonic() < deadline:
        with contextlib.suppress(ChildProcessError):
            os.waitpid(pgid, os.WNOHANG)
        if not group_alive(pgid):
            return
        time.sleep(0.2)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pgid, signal.SIGKILL)


def watch(pgid: int, *, owner: int | None = None, grace_s: float = GRACE_S) -> subprocess.Popen[bytes]:
    """Start a process that stops group ``pgid`` once ``owner`` (by default this process) exits.

    The watch runs in a session of its own, so the Ctrl-C that stops the owner does not stop
    the watch before the owner's teardown has had its chance.
    """
    owner = os.getpid() if owner is None else owner
    args = [sys.executable, "-m", "newsflow.devstack.watchdog", str(owner), str(pgid), f"--grace-s={grace_s}"]
    proc = subprocess.Popen(
        args,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    _started[:] = [p for p in _started if p.poll() is None]
    _started.append(proc)
    log.debug("watch %s: group %s stops when process %s exits", proc.pid, pgid, owner)
    return proc


def run(owner: int, pgid: int, grace_s: float = GRACE_S) -> bool:
    """The watch itself: True if it stopped the group, False if the group went first."""
    try:
        owner_fd = os.pidfd_open(owner)
    except ProcessLookupError:
        owner_fd = None  # the owner is already gone
    if owner_fd is not None:
        try:
            while group_alive(pgid):
                ready, _, _ = select.select([owner_fd], [], [], POLL_S)
                if ready:  # a pidfd reads ready once its process has exited
                    break
            else:
                return False
        finally:
            os.close(owner_fd)
    if not group_alive(pgid):
        return False
    stop_group(pgid, grace_s)
    return True


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("owner", type=int, help="the process whose exit stops the group")
    parser.add_argument("pgid", type=int, help="the process group to stop")
    parser.add_argument("--grace-s", type=float, default=GRACE_S, help="seconds from SIGTERM to SIGKILL")
    args = parser.parse_args(argv)
    run(args.owner, args.pgid, args.grace_s)
    return 0


if __name__ == "__main__":
    sys.exit(main())
