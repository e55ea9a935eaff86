"""A Redis server for the Celery broker, without Docker: Debian's ``redis-server``, our own process.

Each instance has its own port on 127.0.0.1 and its own directory (data, log, pid),
so it never touches a system Redis. Installed with apt when missing and we are root,
as ``local_postgres`` does for PostgreSQL. The append-only file is on: a broker that
restarts keeps the task messages it had accepted.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from newsflow.devstack import apt
from newsflow.devstack.ports import free_port
from newsflow.devstack.watchdog import stop_group
from newsflow.errors import ConfigError, ServiceError

log = logging.getLogger(__name__)

_INSTALL_HINT = (
    "install Redis (Debian/Ubuntu: `apt-get install -y redis-server`) or point NEWSFLOW_REDIS_SERVER "
    "at a redis-server binary"
)


@dataclass(frozen=True, slots=True)
class LocalRedisOptions:
    """Where one server runs; ``root`` None makes a temp dir that ``stop`` removes."""

    root: Path | None = None
    port: int = 0  # 0 picks a free port on 127.0.0.1
    install_if_missing: bool = True
    start_timeout_s: float = 30.0

    def __post_init__(self) -> None:
        if not 0 <= self.port <= 65535:
            raise ConfigError(f"Redis port {self.port} is out of range; use 0 for a free one")
        if self.start_timeout_s <= 0:
            raise ConfigError("start_timeout_s must be positive")


@dataclass(frozen=True, slots=True)
class RunningRedis:
    root: Path
    port: int
    pid: int
    owns_root: bool

    @property
    def url(self) -> str:
        """The broker URL Celery takes (database 0)."""
        return f"redis://127.0.0.1:{self.port}/0"

    @property
    def log_file(self) -> Path:
        return self.root / "redis.log"

    def stop(self) -> None:
        stop(self)


def find_server(install_if_missing: bool = True) -> Path:
    """The ``redis-server`` binary, installing Debian's package when allowed."""
    explicit = os.environ.get("NEWSFLOW_REDIS_SERVER")
    for candidate in (explicit, shutil.which("redis-server"), "/usr/bin/redis-server"):
        if candidate and os.access(candidate, os.X_OK):
            return Path(candidate)
    if not (install_if_missing and os.geteuid() == 0):
        raise ServiceError(f"redis-server was not found; {_INSTALL_HINT}")
    apt.install("redis-server", _INSTALL_HINT)
    found = shutil.which("redis-server")
    if found is None:
        raise ServiceError(f"redis-server was installed but is still not on PATH; {_INSTALL_HINT}")
    return Path(found)


def ping(port: int, timeout: float = 1.0) -> bool:
    """True when a Redis answers PING on 127.0.0.1:``port`` (RESP, no client library needed)."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
            sock.sendall(b"*1\r\n$4\r\nPING\r\n")
            return sock.recv(64).startswith(b"+PONG")
    except OSError:
        return False


def _tail(path: Path, lines: int = 20) -> str:
    try:
        return f"--- {path} ---\n" + "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except FileNotFoundError:
        return "(no log written)"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def start(options: LocalRedisOptions | None = None) -> RunningRedis:
    """Start a server (or find ours already running in ``root``); stop it with ``stop()``."""
    options = options or LocalRedisOptions()
    server = find_server(options.install_if_missing)
    owns_root = options.root is None
    root = Path(tempfile.mkdtemp(prefix="newsflow-redis-")) if options.root is None else options.root
    (root / "data").mkdir(parents=True, exist_ok=True)
    pid_file = root / "redis.pid"
    with contextlib.suppress(FileNotFoundError, ValueError):
        pid = int(pid_file.read_text().strip())
        if options.port and _alive(pid) and ping(options.port):
            log.info("reusing Redis already running on 127.0.0.1:%s", options.port)
            return RunningRedis(root=root, port=options.port, pid=pid, owns_root=owns_root)
    port = options.port or free_port()
    if ping(port):
        raise ServiceError(
            f"port {port} on 127.0.0.1 already has a Redis that is not ours; pick another port"
        )
    args = [
        str(server),
        "--bind",
        "127.0.0.1",
        "--port",
        str(port),
        "--dir",
        str(root / "data"),
        "--logfile",
        str(root / "redis.log"),
        "--daemonize",
        "no",
        "--protected-mode",
        "yes",
        "--save",
        "",
        "--appendonly",
        "yes",
        "--appendfsync",
        "everysec",
    ]
    log.info("starting Redis on 127.0.0.1:%s (data in %s)", port, root / "data")
    proc = subprocess.Popen(
        args,
        cwd=root,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    pid_file.write_text(str(proc.pid))
    running = RunningRedis(root=root, port=port, pid=proc.pid, owns_root=owns_root)
    deadline = time.monotonic() + options.start_timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            stop(running)
            raise ServiceError(
                f"redis-server exited with code {proc.returncode} at start.\n{_tail(running.log_file)}"
            )
        if ping(port):
            return running
        time.sleep(0.2)
    stop(running)
    raise ServiceError(
        f"redis-server did not answer PING within {options.start_timeout_s:.0f}s.\n{_tail(running.log_file)}"
    )


def stop(running: RunningRedis, timeout_s: float = 20.0) -> None:
    """SIGTERM (Redis flushes its append-only file and exits), SIGKILL if it hangs.

    The server leads a process group of its own (``start``), which is stopped as every
    local service's is."""
    stop_group(running.pid, timeout_s)
    with contextlib.suppress(ChildProcessError):
        os.waitpid(running.pid, os.WNOHANG)
    with contextlib.suppress(FileNotFoundError):
        (running.root / "redis.pid").unlink()
    if running.owns_root:
        shutil.rmtree(running.root, ignore_errors=True)


@contextlib.contextmanager
def running_redis(options: LocalRedisOptions | None = None) -> Iterator[RunningRedis]:
    """A server for the length of a ``with`` block (tests, benchmarks)."""
    server = start(options)
    try:
        yield server
    finally:
        server.stop()


__all__ = [
    "LocalRedisOptions",
    "RunningRedis",
    "find_server",
    "ping",
    "running_redis",
    "start",
    "stop",
]
