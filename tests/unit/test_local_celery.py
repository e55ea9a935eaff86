"""The Celery layout of the local Airflow: settings every component shares, one name and queue per
worker, and the options that cannot work refused before anything starts."""

from __future__ import annotations

from pathlib import Path

import pytest

from newsflow.devstack import local_airflow, local_celery, local_redis
from newsflow.errors import ConfigError, ServiceError


def _celery(tmp_path: Path, **kw: object) -> local_airflow.LocalAirflowOptions:
    return local_airflow.LocalAirflowOptions(
        port=8999,
        state_dir=tmp_path,
        executor=local_celery.CELERY,
        database_url="postgresql+psycopg2://u@127.0.0.1:5999/airflow",
        broker_url="redis://127.0.0.1:6999/0",
        **kw,  # type: ignore[arg-type]  # test-only pass-through of dataclass fields
    )


def test_local_executor_stays_the_default(tmp_path: Path) -> None:
    options = local_airflow.LocalAirflowOptions(port=8999, state_dir=tmp_path)
    env = local_airflow.airflow_env(options)
    assert env["AIRFLOW__CORE__EXECUTOR"] == "LocalExecutor"
    assert not any(key.startswith("AIRFLOW__CELERY") for key in env)
    assert local_celery.workers(options) == []


def test_celery_env_uses_the_broker_and_postgres_results(tmp_path: Path) -> None:
    options = _celery(tmp_path, celery_workers=3, worker_concurrency=2)
    env = local_airflow.airflow_env(options)
    assert env["AIRFLOW__CORE__EXECUTOR"] == "CeleryExecutor"
    assert env["AIRFLOW__CELERY__BROKER_URL"] == "redis://127.0.0.1:6999/0"
    assert env["AIRFLOW__CELERY__RESULT_BACKEND"] == "db+postgresql+psycopg2://u@127.0.0.1:5999/airflow"
    assert env["AIRFLOW__CORE__PARALLELISM"] == "6"  # every worker's slots


def test_each_worker_has_its_own_name_queue_and_pid_file(tmp_path: Path) -> None:
    options = _celery(tmp_path, celery_workers=2)
    specs = local_celery.workers(options)
    assert [s.name for s in specs] == ["newsflow-w1", "newsflow-w2"]
    assert specs[1].queues == ("default", "newsflow-w2")
    assert len({s.pid_file for s in specs}) == 2
    script = local_celery.worker_script(options)
    assert script.count("airflow celery worker") == 2
    assert "--celery-hostname newsflow-w2@%h --queues default,newsflow-w2" in script


def test_celery_refuses_sqlite_and_silly_sizes(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="PostgreSQL"):
        local_airflow.LocalAirflowOptions(
            port=8999, state_dir=tmp_path, executor=local_celery.CELERY, database_url="sqlite:////x.db"
        )
    with pytest.raises(ConfigError, match="Celery workers"):
        _celery(tmp_path, celery_workers=0)
    with pytest.raises(ConfigError, match="heartbeat"):
        _celery(tmp_path, heartbeat_timeout_s=2)


def test_celery_without_a_broker_says_what_to_start(tmp_path: Path) -> None:
    options = local_airflow.LocalAirflowOptions(
        port=8999, state_dir=tmp_path, executor=local_celery.CELERY, database_url="postgresql://u@h/db"
    )
    with pytest.raises(ServiceError, match="broker"):
        local_airflow.airflow_env(options)


def test_missing_redis_server_names_the_package(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NEWSFLOW_REDIS_SERVER", "/nonexistent/redis-server")
    monkeypatch.setattr("shutil.which", lambda _name: None)
    monkeypatch.setattr("os.access", lambda *_a: False)
    with pytest.raises(ServiceError, match="apt-get install -y redis-server"):
        local_redis.find_server(install_if_missing=False)
