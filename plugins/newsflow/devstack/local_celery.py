"""The Celery side of a local Airflow: workers, their broker and result backend, and drills.

``newsflow airflow up --executor celery`` runs the same scheduler, dag-processor,
triggerer and api-server as the LocalExecutor setup, plus N ``airflow celery worker``
processes. Each worker has its own Celery hostname (``newsflow-w<n>@<host>``), serves
the shared ``default`` queue and a queue of its own (``newsflow-w<n>``, to pin work to
it), its own log-server port and pid file. Task instances record the worker's name as
their hostname (``worker_hostname``), so a run's tasks can be counted per worker.

The broker is a Redis of our own (``local_redis``) and the result backend the metadata
PostgreSQL (``local_postgres``). From the CLI both are kept under the state dir and
reused across restarts; tests and benches pass throwaway ones instead.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from newsflow.devstack import local_postgres, local_redis, ports
from newsflow.errors import ServiceError

if TYPE_CHECKING:
    from newsflow.devstack.local_airflow import LocalAirflowOptions

log = logging.getLogger(__name__)

CELERY = "CeleryExecutor"
LOCAL = "LocalExecutor"
EXECUTORS = {"local": LOCAL, "celery": CELERY}
DEFAULT_QUEUE = "default"
WORKER_NAME_ENV = "NEWSFLOW_WORKER_NAME"
SERVICES_FILE = "celery-services.json"


def worker_hostname() -> str:
    """Airflow's ``[core] hostname_callable`` inside our workers: the worker's own name, so task
    instances say which of several workers on one machine ran them."""
    return os.environ.get(WORKER_NAME_ENV) or socket.getfqdn()


@dataclass(frozen=True, slots=True)
class WorkerSpec:
    number: int
    home: Path

    @property
    def name(self) -> str:
        return f"newsflow-w{self.number}"

    @property
    def queues(self) -> tuple[str, str]:
        return (DEFAULT_QUEUE, self.name)

    @property
    def pid_file(self) -> Path:
        """The worker's main process, written by the shell that starts it (Celery's own pid file
        appears only once the worker is up, and not at all when it dies at start)."""
        return self.home / f"worker-{self.number}.launched"

    @property
    def celery_pid_file(self) -> Path:
        return self.home / f"worker-{self.number}.pid"

    @property
    def log_file(self) -> Path:
        return self.home / "logs" / "services" / f"worker-{self.number}.log"


def workers(options: LocalAirflowOptions) -> list[WorkerSpec]:
    if options.executor != CELERY:
        return []
    return [WorkerSpec(n, options.home) for n in range(1, options.celery_workers + 1)]


def worker_script(options: LocalAirflowOptions) -> str:
    """Shell lines starting every worker in the background (inside the services' process group)."""
    lines = []
    for spec in workers(options):
        env = " ".join(
            [
                f"{WORKER_NAME_ENV}={spec.name}",
                "AIRFLOW__CORE__HOSTNAME_CALLABLE=newsflow.devstack.local_celery.worker_hostname",
                f"AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT={ports.free_port()}",
            ]
        )
        command = (
            f"airflow celery worker --celery-hostname {spec.name}@%h --queues {','.join(spec.queues)} "
            f'--concurrency {options.worker_concurrency} --pid "{spec.celery_pid_file}"'
        )
        lines.append(f'env {env} {command} >>"{spec.log_file}" 2>&1 & echo $! >"{spec.pid_file}";')
    return " ".join(lines)


def celery_env(options: LocalAirflowOptions) -> dict[str, str]:
    """The ``AIRFLOW__CELERY*`` settings every component shares."""
    if options.executor != CELERY:
        return {}
    if not options.broker_url or not options.database_url:
        raise ServiceError("the Celery executor needs a broker (Redis) and PostgreSQL; start them first")
    return {
        "AIRFLOW__CELERY__BROKER_URL": options.broker_url,
        "AIRFLOW__CELERY__RESULT_BACKEND": options.result_backend or f"db+{options.database_url}",
        "AIRFLOW__CELERY__WORKER_CONCURRENCY": str(options.worker_concurrency),
        # A worker that dies mid-task never acknowledges it; the scheduler's heartbeat check fails
        # the try and retries it elsewhere long before Redis would hand the message out again.
        "AIRFLOW__CELERY_BROKER_TRANSPORT_OPTIONS__VISIBILITY_TIMEOUT": "7200",
        "AIRFLOW__OPERATORS__DEFAULT_QUEUE": DEFAULT_QUEUE,
    }


def _alive_pid(pid_file: Path) -> int | None:
    try:
        pid = int(pid_file.read_text().strip())
        os.kill(pid, 0)
    except (FileNotFoundError, ValueError, ProcessLookupError):
        return None
    return pid


def live_workers(options: LocalAirflowOptions) -> dict[str, int]:
    """Workers whose main process is alive, by name."""
    alive = {}
    for spec in workers(options):
        pid = _alive_pid(spec.pid_file)
        if pid is not None:
            alive[spec.name] = pid
    return alive


def ready(spec: WorkerSpec) -> bool:
    """Celery logs ``<hostname> ready.`` once the worker consumes its queues."""
    try:
        text = spec.log_file.read_text(errors="replace")
    except FileNotFoundError:
        return False
    return f"{spec.name}@" in text and " ready." in text


def _descendants(pid: int) -> list[int]:
    found, frontier = [], [pid]
    while frontier:
        parent = frontier.pop()
        result = subprocess.run(
            ["ps", "-o", "pid=", "--ppid", str(parent)], capture_output=True, text=True, check=False
        )
        children = [int(p) for p in result.stdout.split() if p.isdigit()]
        found.extend(children)
        frontier.extend(children)
    return found


def kill_worker(options: LocalAirflowOptions, number: int) -> list[int]:
    """SIGKILL a worker and every process under it (its pool and the task it runs): the machine
    died, nothing is acknowledged or cleaned up. Returns the pids killed."""
    spec = next((s for s in workers(options) if s.number == number), None)
    pid = _alive_pid(spec.pid_file) if spec else None
    if pid is None:
        raise ServiceError(f"Celery worker {number} is not running")
    tree = [pid, *_descendants(pid)]
    for member in tree:
        with contextlib.suppress(ProcessLookupError):
            os.kill(member, signal.SIGSTOP)  # freeze first, so no child outlives its parent's kill
    for member in tree:
        with contextlib.suppress(ProcessLookupError):
            os.kill(member, signal.SIGKILL)
    return tree


_INSPECT = """
import json
from airflow.providers.celery.executors.celery_executor import app
inspect = app.control.inspect(timeout={timeout})
print(json.dumps({{"stats": inspect.stats() or {{}}, "active": inspect.active() or {{}}}}, default=str))
"""


def inspect(options: LocalAirflowOptions, timeout_s: float = 5.0) -> dict[str, Any]:
    """Celery's own view of the workers: ``stats`` (tasks each has run) and ``active`` tasks."""
    from newsflow.devstack.local_airflow import airflow_env

    result = subprocess.run(
        [sys.executable, "-c", _INSPECT.format(timeout=timeout_s)],
        env=airflow_env(options),
        capture_output=True,
        text=True,
        timeout=60 + timeout_s,
        check=False,
    )
    if result.returncode != 0:
        tail = "\n".join(result.stderr.strip().splitlines()[-10:])
        raise ServiceError(f"could not ask the Celery workers (exit {result.returncode}):\n{tail}")
    lines = [ln for ln in result.stdout.splitlines() if ln.startswith("{")]
    return dict(json.loads(lines[-1])) if lines else {"stats": {}, "active": {}}


def tasks_per_worker(options: LocalAirflowOptions) -> dict[str, int]:
    """Tasks each worker has received since it started, from Celery's stats."""
    stats = inspect(options).get("stats", {})
    return {str(name).split("@", 1)[0]: sum(dict(s.get("total") or {}).values()) for name, s in stats.items()}


def _services_file(options: LocalAirflowOptions) -> Path:
    return options.home / SERVICES_FILE


def with_backing_services(options: LocalAirflowOptions) -> LocalAirflowOptions:
    """``options`` with a PostgreSQL and a Redis of the state dir, started or reused; their
    directories and ports are recorded so ``stop_backing_services`` and the next start find them."""
    if options.executor != CELERY or (options.database_url and options.broker_url):
        return options
    options.home.mkdir(parents=True, exist_ok=True)
    recorded: dict[str, Any] = {}
    with contextlib.suppress(FileNotFoundError, ValueError):
        recorded = json.loads(_services_file(options).read_text())
    pg_root = _reachable_root(options.state_dir / "celery" / "postgres")
    postgres = local_postgres.start(local_postgres.LocalPostgresOptions(root=pg_root))
    redis = local_redis.start(
        local_redis.LocalRedisOptions(
            root=options.state_dir / "celery" / "redis", port=int(recorded.get("redis_port", 0))
        )
    )
    _services_file(options).write_text(
        json.dumps({"postgres_root": str(pg_root), "redis_root": str(redis.root), "redis_port": redis.port})
    )
    return replace(
        options, database_url=options.database_url or postgres.url, broker_url=options.broker_url or redis.url
    )


def _reachable_root(preferred: Path) -> Path:
    """``preferred``, or a per-checkout directory under /var/tmp when PostgreSQL's system user
    could not enter it (a checkout under /root)."""
    import hashlib

    if os.geteuid() != 0 or all(p.stat().st_mode & 0o001 for p in preferred.parents if p.exists()):
        return preferred
    key = hashlib.sha256(str(preferred).encode()).hexdigest()[:10]
    return Path("/var/tmp/newsflow-pg") / key  # noqa: S108 - fixed per-checkout dir, created by root


def stop_backing_services(options: LocalAirflowOptions) -> None:
    """Stop the PostgreSQL and Redis ``with_backing_services`` started (their data stays)."""
    try:
        recorded = json.loads(_services_file(options).read_text())
    except (FileNotFoundError, ValueError):
        return
    redis_root = Path(recorded["redis_root"])
    with contextlib.suppress(FileNotFoundError, ValueError):
        pid = int((redis_root / "redis.pid").read_text().strip())
        local_redis.stop(
            local_redis.RunningRedis(redis_root, int(recorded["redis_port"]), pid, owns_root=False)
        )
    pg_root = Path(recorded["postgres_root"])
    port = local_postgres.running_port(pg_root / "data")
    if port is not None:
        defaults = local_postgres.LocalPostgresOptions()
        running = local_postgres.RunningPostgres(
            root=pg_root,
            port=port,
            database=defaults.database,
            user=defaults.user,
            bin_dir=local_postgres.find_bin_dir(defaults),
            run_as=local_postgres.run_account(defaults.run_user),
            owns_root=False,
        )
        local_postgres.stop(running)
    _services_file(options).unlink()


def wait_ready(options: LocalAirflowOptions, deadline: float) -> None:
    """Until every worker has logged that it is ready, or fail with their last log lines."""
    pending = workers(options)
    while pending and time.monotonic() < deadline:
        dead = [s for s in pending if _alive_pid(s.pid_file) is None and s.pid_file.exists()]
        if dead:
            break
        pending = [s for s in pending if not ready(s)]
        if pending:
            time.sleep(1)
    if pending:
        tails = []
        for spec in pending:
            with contextlib.suppress(FileNotFoundError):
                lines = spec.log_file.read_text(errors="replace").splitlines()[-12:]
                tails.append(f"--- {spec.name} ---\n" + "\n".join(lines))
        raise ServiceError("Celery workers did not become ready:\n" + "\n".join(tails))
