"""A real local Airflow 3 for development and the demo, without Docker.

Scheduler, dag-processor, api-server and triggerer (and, with the Celery executor,
the workers of ``local_celery``) run as one process group so one signal stops them
all (their children survive a plain SIGTERM otherwise).
Configuration is passed through ``AIRFLOW__*`` environment variables built
here, so ``airflow.cfg`` never needs editing. This module only starts the
``airflow`` command; it never imports Airflow.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from newsflow import settings
from newsflow.devstack import demo_site, local_celery
from newsflow.devstack.ports import port_open
from newsflow.devstack.watchdog import stop_group
from newsflow.errors import ConfigError, ServiceError
from newsflow.scheduler_api import SchedulerApi, SchedulerConnection

log = logging.getLogger(__name__)

COMPONENTS = ("scheduler", "dag-processor", "triggerer", "api-server")
ES_CONN_ID = "newsflow_es"


@dataclass(frozen=True, slots=True)
class LocalAirflowOptions:
    port: int = field(default_factory=lambda: int(os.environ.get("NEWSFLOW_AIRFLOW_PORT", "8080")))
    state_dir: Path = field(default_factory=settings.state_dir)
    parallelism: int = 4  # LocalExecutor starts this many workers; the default 32 swamps 2 cores
    database_url: str | None = None  # None: SQLite in AIRFLOW_HOME (fine locally; Postgres in production)
    start_timeout_s: float = 120.0
    executor: str = local_celery.LOCAL  # or CeleryExecutor: `newsflow airflow up --executor celery`
    celery_workers: int = 2  # `airflow celery worker` processes, each with its own hostname and queue
    worker_concurrency: int = 2  # task slots per Celery worker
    broker_url: str | None = None  # Celery: None starts (or reuses) a Redis under the state dir
    result_backend: str | None = None  # Celery: None uses the metadata PostgreSQL
    heartbeat_timeout_s: int | None = None  # a task whose worker died is failed (and retried) after this

    def __post_init__(self) -> None:
        if not 1 <= self.port <= 65535:
            raise ConfigError(f"Airflow port {self.port} is out of range; set NEWSFLOW_AIRFLOW_PORT")
        if self.parallelism < 1:
            raise ConfigError("Airflow parallelism must be at least 1")
        if self.executor not in local_celery.EXECUTORS.values():
            raise ConfigError(
                f"executor {self.executor!r}: use {' or '.join(local_celery.EXECUTORS.values())}"
            )
        if not 1 <= self.celery_workers <= 16 or not 1 <= self.worker_concurrency <= 32:
            raise ConfigError("use 1..16 Celery workers with 1..32 task slots each")
        if self.executor == local_celery.CELERY and (self.database_url or "postgresql").startswith("sqlite"):
            raise ConfigError("the Celery executor needs PostgreSQL as metadata database and result backend")
        if self.heartbeat_timeout_s is not None and self.heartbeat_timeout_s < 10:
            raise ConfigError("heartbeat_timeout_s below 10 s fails healthy tasks on a busy machine")

    @property
    def slots(self) -> int:
        """Tasks that can run at once: LocalExecutor's parallelism, or every Celery worker's slots."""
        if self.executor == local_celery.CELERY:
            return self.celery_workers * self.worker_concurrency
        return self.parallelism

    @property
    def home(self) -> Path:
        return self.state_dir / "airflow"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


def airflow_env(options: LocalAirflowOptions | None = None) -> dict[str, str]:
    """The full environment for any ``airflow`` command against the local instance."""
    options = options or LocalAirflowOptions()
    root = settings.repo_root()
    bin_dir = str(Path(sys.executable).parent)
    env = dict(os.environ)
    env.update(
        {
            "PATH": f"{bin_dir}:{env.get('PATH', '/usr/bin:/bin')}",
            "AIRFLOW_HOME": str(options.home),
            "AIRFLOW__CORE__DAGS_FOLDER": str(root / "dags"),
            "AIRFLOW__CORE__PLUGINS_FOLDER": str(root / "plugins"),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__CORE__EXECUTOR": options.executor,
            "AIRFLOW__CORE__PARALLELISM": str(options.slots),
            "AIRFLOW__CORE__MAX_ACTIVE_TASKS_PER_DAG": str(options.slots),
            "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "True",
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": "admin:admin",
            "AIRFLOW__API__PORT": str(options.port),
            "AIRFLOW__API__HOST": "127.0.0.1",
            "AIRFLOW__API__BASE_URL": options.url,
            "AIRFLOW__API__WORKERS": "1",
            "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"{options.url}/execution/",
            "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "30",
            "AIRFLOW__SCHEDULER__ENABLE_HEALTH_CHECK": "False",
            "NEWSFLOW_HOME": str(root),
            # Local defaults: the demo registry on 127.0.0.1, which the fetcher refuses unless allowed:
            # the fixture site's port only, never Elasticsearch, Airflow or PostgreSQL on the same host.
            # A variable set, even empty, is the operator's choice and is kept.
            "NEWSFLOW_FEEDS": os.environ.get("NEWSFLOW_FEEDS") or str(root / "seeds" / "feeds-demo.yaml"),
            "NEWSFLOW_ALLOW_PRIVATE_HOSTS": os.environ.get(
                "NEWSFLOW_ALLOW_PRIVATE_HOSTS", f"127.0.0.1:{demo_site.DEFAULT_PORT}"
            ),
            "NEWSFLOW_POLITE_DELAY_S": os.environ.get("NEWSFLOW_POLITE_DELAY_S") or "0.2",
            "NEWSFLOW_STATE_DIR": str(options.state_dir),
        }
    )
    env.setdefault("PYTHONPATH", str(root / "plugins"))
    env.update(local_celery.celery_env(options))
    if options.heartbeat_timeout_s is not None:
        env["AIRFLOW__SCHEDULER__TASK_INSTANCE_HEARTBEAT_TIMEOUT"] = str(options.heartbeat_timeout_s)
    if options.database_url:
        env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"] = options.database_url
    else:
        env.setdefault("AIRFLOW__DATABASE__SQL_ALCHEMY_CONN", f"sqlite:///{options.home / 'airflow.db'}")
    conn = settings.es_connection()
    env.setdefault(f"AIRFLOW_CONN_{ES_CONN_ID.upper()}", es_connection_uri(conn))
    return env


def es_connection_uri(conn: settings.EsConnection) -> str:
    """The Airflow connection for Elasticsearch, as JSON (secrets stay in the environment)."""
    extra: dict[str, object] = {}
    if conn.api_key:
        extra["api_key"] = conn.api_key
    if conn.ca_certs:
        extra["ca_certs"] = conn.ca_certs
    payload: dict[str, object] = {"conn_type": "generic", "host": conn.url, "extra": extra}
    if conn.username:
        payload["login"] = conn.username
        payload["password"] = conn.password or ""
    return json.dumps(payload)


def run_airflow(args: list[str], options: LocalAirflowOptions | None = None, timeout: float = 300) -> str:
    """Run one ``airflow`` CLI command against the local instance; its stdout, or a clear error."""
    env = airflow_env(options)
    result = subprocess.run(
        ["airflow", *args], env=env, capture_output=True, text=True, timeout=timeout, check=False
    )
    if result.returncode != 0:
        tail = "\n".join((result.stdout + result.stderr).strip().splitlines()[-20:])
        raise ServiceError(f"`airflow {' '.join(args)}` failed with exit {result.returncode}:\n{tail}")
    return result.stdout


def migrate(options: LocalAirflowOptions | None = None) -> None:
    """``airflow db migrate`` once per AIRFLOW_HOME (it is idempotent, but takes seconds)."""
    options = options or LocalAirflowOptions()
    options.home.mkdir(parents=True, exist_ok=True)
    marker = options.home / ".migrated"
    database = options.database_url or "sqlite"  # one home may move from SQLite to PostgreSQL
    if marker.exists() and marker.read_text() == database:
        return
    log.info("migrating the Airflow metadata database in %s", options.home)
    run_airflow(["db", "migrate"], options)
    marker.write_text(database)


def _pid_file(options: LocalAirflowOptions) -> Path:
    return options.home / "airflow.pgid"


def _alive_pgid(options: LocalAirflowOptions) -> int | None:
    try:
        pgid = int(_pid_file(options).read_text().strip())
    except (FileNotFoundError, ValueError):
        return None
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return None
    return pgid


def _health(options: LocalAirflowOptions) -> dict[str, str]:
    """Each component's status, or nothing while the API server does not answer (one quick try)."""
    conn = SchedulerConnection(options.url)  # the health endpoint needs no login
    with SchedulerApi(conn, timeout_s=3.0, patience_s=0.0) as api:
        try:
            return api.health()
        except ServiceError:
            return {}


@dataclass(frozen=True, slots=True)
class AirflowStatus:
    url: str
    running: bool
    pgid: int | None
    components: dict[str, str]
    home: str
    log_dir: str
    workers: dict[str, int] = field(default_factory=dict)  # live Celery workers: name -> pid


def status(options: LocalAirflowOptions | None = None) -> AirflowStatus:
    options = options or LocalAirflowOptions()
    components = _health(options)
    return AirflowStatus(
        url=options.url,
        running=bool(components),
        pgid=_alive_pgid(options),
        components=components,
        home=str(options.home),
        log_dir=str(options.home / "logs" / "services"),
        workers=local_celery.live_workers(options),
    )


def _dead_components(options: LocalAirflowOptions) -> list[str]:
    """Components with no process left in the group (``pgrep`` over the group's command lines)."""
    pgid = _alive_pgid(options)
    if pgid is None:
        return list(COMPONENTS)
    result = subprocess.run(
        ["ps", "-ww", "-o", "args=", "-s", str(pgid)], capture_output=True, text=True, check=False
    )
    running = result.stdout
    dead = [c for c in COMPONENTS if f"airflow {c}" not in running]
    started = [s for s in local_celery.workers(options) if s.pid_file.exists()]
    alive = local_celery.live_workers(options)
    return dead + [s.name for s in started if s.name not in alive]


def up(options: LocalAirflowOptions | None = None) -> AirflowStatus:
    """Start the Airflow services (and Celery workers) as one process group, or reuse them.

    With the Celery executor and no broker or database given, a PostgreSQL and a Redis under
    the state dir are started (or reused) first.
    """
    options = local_celery.with_backing_services(options or LocalAirflowOptions())
    if _alive_pgid(options) is not None and _health(options):
        log.info("reusing Airflow already running at %s", options.url)
        return status(options)
    if _alive_pgid(options) is not None:
        _stop_group(options)
    if port_open(options.port):
        raise ServiceError(
            f"port {options.port} on 127.0.0.1 is in use by something else; "
            "stop it or set NEWSFLOW_AIRFLOW_PORT"
        )
    migrate(options)
    env = airflow_env(options)
    log_dir = options.home / "logs" / "services"
    log_dir.mkdir(parents=True, exist_ok=True)
    for spec in local_celery.workers(options):
        spec.pid_file.unlink(missing_ok=True)  # a killed worker leaves its pid files behind
        spec.celery_pid_file.unlink(missing_ok=True)
    # One shell in a new session starts every service, so they share its process group.
    script = " ".join(f'airflow {c} >>"{log_dir / (c + ".log")}" 2>&1 &' for c in COMPONENTS)
    script = f"{script} {local_celery.worker_script(options)} wait"
    supervisor = subprocess.Popen(
        ["/bin/sh", "-c", script],
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        cwd=options.home,
        start_new_session=True,
    )
    _pid_file(options).write_text(str(supervisor.pid))
    deadline = time.monotonic() + options.start_timeout_s
    while time.monotonic() < deadline:
        if supervisor.poll() is not None or _dead_components(options):
            tails = []
            for component in COMPONENTS:
                log_file = log_dir / f"{component}.log"
                if not log_file.exists():
                    continue
                lines = log_file.read_text(errors="replace").splitlines()[-12:]
                tails.append(f"--- {component} ---\n" + "\n".join(lines))
            _stop_group(options)
            raise ServiceError("an Airflow service exited at start. Last log lines:\n" + "\n".join(tails))
        current = status(options)
        if current.running and current.components.get("scheduler") == "healthy":
            try:
                local_celery.wait_ready(options, deadline)
            except ServiceError:
                _stop_group(options)
                raise
            return status(options)
        time.sleep(2)
    _stop_group(options)
    raise ServiceError(
        f"Airflow did not become healthy within {options.start_timeout_s:.0f}s; logs are in {log_dir}"
    )


def _stop_group(options: LocalAirflowOptions) -> bool:
    pgid = _alive_pgid(options)
    if pgid is None:
        return False
    log.info("stopping Airflow (process group %s)", pgid)
    stop_group(pgid)
    with contextlib.suppress(FileNotFoundError):
        _pid_file(options).unlink()
    return True


def down(options: LocalAirflowOptions | None = None) -> bool:
    """Stop the whole process group, and the Redis and PostgreSQL ``up`` started for Celery (their
    data stays); returns False when nothing was running."""
    options = options or LocalAirflowOptions()
    stopped = _stop_group(options)
    local_celery.stop_backing_services(options)
    return stopped
