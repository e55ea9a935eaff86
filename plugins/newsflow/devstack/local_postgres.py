"""A throwaway PostgreSQL for end-to-end tests and benchmarks, without Docker.

Airflow's LocalExecutor runs several writers at once (scheduler, dag-processor,
api-server, workers), which SQLite serialises; the end-to-end tests therefore
run on a real PostgreSQL from the distribution's package. Each instance lives in
its own directory with its own port and unix-socket directory, so it never
touches a system cluster. PostgreSQL refuses to run as root, so when we are
root the server runs as a system user (``newsflow-pg``) that owns the directory.
Durability is switched off (``fsync=off``): the data is thrown away afterwards.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import shutil
import socket
import stat
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from newsflow.devstack import postgres_bin
from newsflow.devstack.ports import free_port
from newsflow.devstack.system_user import ensure_system_user
from newsflow.errors import ConfigError, ServiceError

log = logging.getLogger(__name__)

RUN_USER = "newsflow-pg"
_NAME_RE = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


@dataclass(frozen=True, slots=True)
class LocalPostgresOptions:
    """Where and how one throwaway server runs.

    ``root`` None makes a fresh directory under the system temp dir (which a
    system user can reach, unlike pytest's per-user ``tmp_path``).
    """

    root: Path | None = None
    port: int = 0  # 0 picks a free port on 127.0.0.1
    database: str = "airflow"
    user: str = "newsflow"
    run_user: str = RUN_USER
    bin_dir: Path | None = None  # None: NEWSFLOW_PG_BIN, Debian's newest, then PATH
    install_if_missing: bool = True  # apt-get install postgresql when root and nothing is found
    max_connections: int = 200  # LocalExecutor workers each hold a small pool
    start_timeout_s: float = 60.0

    def __post_init__(self) -> None:
        if not 0 <= self.port <= 65535:
            raise ConfigError(f"PostgreSQL port {self.port} is out of range; use 0 for a free one")
        for what, name in (("database", self.database), ("user", self.user)):
            if not _NAME_RE.match(name):
                raise ConfigError(f"PostgreSQL {what} name {name!r} must be lowercase letters, digits or '_'")
        if self.max_connections < 20:
            raise ConfigError("max_connections below 20 starves Airflow's connection pools; use at least 20")
        if self.start_timeout_s <= 0:
            raise ConfigError("start_timeout_s must be positive")


@dataclass(frozen=True, slots=True)
class RunningPostgres:
    root: Path
    port: int
    database: str
    user: str
    bin_dir: Path
    run_as: tuple[int, int] | None  # (uid, gid) when started for a system user
    owns_root: bool  # we created ``root`` and remove it on stop

    @property
    def data_dir(self) -> Path:
        return self.root / "data"

    @property
    def socket_dir(self) -> Path:
        return self.root / "sock"

    @property
    def log_file(self) -> Path:
        return self.root / "postgres.log"

    @property
    def url(self) -> str:
        """The SQLAlchemy URL Airflow takes (trust auth on 127.0.0.1: no password)."""
        return f"postgresql+psycopg2://{self.user}@127.0.0.1:{self.port}/{self.database}"

    @property
    def pid(self) -> int | None:
        """The postmaster's, which leads the server's process group (pg_ctl starts it in a
        session of its own); None when it is not running."""
        with contextlib.suppress(FileNotFoundError, ValueError, IndexError):
            return int((self.data_dir / "postmaster.pid").read_text().splitlines()[0])
        return None

    def stop(self) -> None:
        stop(self)


def _running_as_root() -> bool:
    return os.geteuid() == 0


def find_bin_dir(options: LocalPostgresOptions | None = None) -> Path:
    """The directory with ``initdb``/``pg_ctl``/``createdb``, installing the package if allowed."""
    options = options or LocalPostgresOptions()
    return postgres_bin.find(options.bin_dir, install=options.install_if_missing and _running_as_root())


def _traversable_by_others(path: Path) -> bool:
    return all(part.stat().st_mode & stat.S_IXOTH for part in path.parents if part.exists())


def _log_tail(path: Path, lines: int = 25) -> str:
    try:
        text = path.read_text(errors="replace").splitlines()[-lines:]
    except FileNotFoundError:
        return "(no log written)"
    return f"--- {path} ---\n" + "\n".join(text)


def _run(args: list[str], run_as: tuple[int, int] | None, what: str, log_file: Path, timeout: float) -> None:
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LANG": "C.UTF-8", "LC_ALL": "C.UTF-8"}
    try:
        result = subprocess.run(
            args,
            capture_output=True,
            text=True,
            env=env,
            timeout=timeout,
            check=False,
            cwd="/",
            user=run_as[0] if run_as else None,
            group=run_as[1] if run_as else None,
        )
    except subprocess.TimeoutExpired as exc:
        raise ServiceError(
            f"PostgreSQL {what} did not finish within {timeout:.0f}s.\n{_log_tail(log_file)}"
        ) from exc
    if result.returncode != 0:
        output = "\n".join((result.stdout + result.stderr).strip().splitlines()[-15:])
        raise ServiceError(
            f"PostgreSQL {what} failed with exit {result.returncode}:\n{output}\n{_log_tail(log_file)}"
        )


def run_account(run_user: str = RUN_USER) -> tuple[int, int] | None:
    """(uid, gid) the server runs as: a system user when we are root (PostgreSQL refuses root)."""
    if not _running_as_root():
        return None
    account = ensure_system_user(run_user, "PostgreSQL")
    return account.pw_uid, account.pw_gid


def _initdb(bin_dir: Path, running: RunningPostgres, options: LocalPostgresOptions, timeout: float) -> None:
    _run(
        [
            str(bin_dir / "initdb"),
            "-D",
            str(running.data_dir),
            "-U",
            options.user,
            "--auth=trust",
            "--encoding=UTF8",
            "--locale=C.UTF-8",
            "--no-sync",
        ],
        running.run_as,
        "initdb",
        running.log_file,
        timeout,
    )


def running_port(data_dir: Path) -> int | None:
    """The port of a live server on ``data_dir`` (a kept root started earlier), from postmaster.pid."""
    try:
        lines = (data_dir / "postmaster.pid").read_text().splitlines()
        pid, port = int(lines[0]), int(lines[3])
        os.kill(pid, 0)
    except (FileNotFoundError, ValueError, IndexError, ProcessLookupError):
        return None
    except PermissionError:
        pass  # alive, owned by the run user
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(0.5)
        return port if sock.connect_ex(("127.0.0.1", port)) == 0 else None


def start(options: LocalPostgresOptions | None = None) -> RunningPostgres:
    """initdb, start on 127.0.0.1 and create the database; stop it with ``stop()``.

    A ``root`` that holds a cluster already is started again as it was (or reused while it
    runs), so ``newsflow airflow up --executor celery`` keeps its metadata across restarts.
    """
    options = options or LocalPostgresOptions()
    bin_dir = find_bin_dir(options)
    owns_root = options.root is None
    root = Path(tempfile.mkdtemp(prefix="newsflow-pg-")) if options.root is None else options.root
    root.mkdir(parents=True, exist_ok=True)
    run_as = run_account(options.run_user)
    if run_as is not None and not _traversable_by_others(root):
        raise ServiceError(
            f"{root} is not reachable by user {options.run_user}: a parent directory is not "
            "world-executable. Leave LocalPostgresOptions.root unset (a temp dir) or use /var/tmp."
        )
    reused = running_port(root / "data")
    port = reused or options.port or free_port()
    running = RunningPostgres(
        root=root,
        port=port,
        database=options.database,
        user=options.user,
        bin_dir=bin_dir,
        run_as=run_as,
        owns_root=owns_root,
    )
    running.socket_dir.mkdir(exist_ok=True)
    running.log_file.touch()
    if run_as is not None:
        for path in (root, running.socket_dir, running.log_file):
            os.chown(path, *run_as)
    timeout = options.start_timeout_s
    if reused:
        log.info("reusing PostgreSQL already running on 127.0.0.1:%s (data in %s)", port, running.data_dir)
        return running
    initialized = (running.data_dir / "PG_VERSION").exists()  # a kept root: start it again as it was
    try:
        if not initialized:
            _initdb(bin_dir, running, options, timeout)
        server_opts = " ".join(
            [
                "-c listen_addresses=127.0.0.1",
                f"-c port={port}",
                f"-c unix_socket_directories={running.socket_dir}",
                f"-c max_connections={options.max_connections}",
                "-c fsync=off -c synchronous_commit=off -c full_page_writes=off",
                "-c shared_buffers=64MB",
            ]
        )
        log.info("starting PostgreSQL on 127.0.0.1:%s (data in %s)", port, running.data_dir)
        _run(
            [
                str(bin_dir / "pg_ctl"),
                "-D",
                str(running.data_dir),
                "-l",
                str(running.log_file),
                "-o",
                server_opts,
                "-w",
                "-t",
                str(int(timeout)),
                "start",
            ],
            run_as,
            "start (pg_ctl)",
            running.log_file,
            timeout + 10,
        )
        if initialized:
            return running
        _run(
            [
                str(bin_dir / "createdb"),
                "-h",
                "127.0.0.1",
                "-p",
                str(port),
                "-U",
                options.user,
                options.database,
            ],
            run_as,
            f"createdb {options.database}",
            running.log_file,
            timeout,
        )
    except ServiceError:
        stop(running)
        raise
    return running


def stop(running: RunningPostgres) -> None:
    """Stop the server (fast shutdown) and remove the directory when we made it."""
    pid_file = running.data_dir / "postmaster.pid"
    if pid_file.exists():
        try:
            _run(
                [str(running.bin_dir / "pg_ctl"), "-D", str(running.data_dir), "-m", "fast", "-w", "stop"],
                running.run_as,
                "stop (pg_ctl)",
                running.log_file,
                60,
            )
        except ServiceError:
            log.warning("pg_ctl stop failed for %s; killing the postmaster", running.data_dir)
            _kill_postmaster(pid_file)
    if running.owns_root:
        shutil.rmtree(running.root, ignore_errors=True)


def _kill_postmaster(pid_file: Path) -> None:
    import signal

    with contextlib.suppress(FileNotFoundError, ValueError, IndexError, ProcessLookupError):
        pid = int(pid_file.read_text().splitlines()[0])
        os.kill(pid, signal.SIGQUIT)


@contextlib.contextmanager
def running_postgres(options: LocalPostgresOptions | None = None) -> Iterator[RunningPostgres]:
    """A server for the length of a ``with`` block (tests, benchmarks)."""
    server = start(options)
    try:
        yield server
    finally:
        server.stop()


__all__ = [
    "LocalPostgresOptions",
    "RunningPostgres",
    "find_bin_dir",
    "run_account",
    "running_port",
    "running_postgres",
    "start",
    "stop",
]
