"""docker-compose.yml is a complete, pinned, secret-free production-like stack."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
ONE_SHOT = {"airflow-init", "elasticsearch-setup", "newsflow-init"}
EXPECTED = {
    "postgres",
    "airflow-init",
    "airflow-apiserver",
    "airflow-scheduler",
    "airflow-dag-processor",
    "airflow-triggerer",
    "elasticsearch",
    "elasticsearch-setup",
    "kibana",
    "newsflow-init",
    "redis",
    "airflow-worker",
}
CELERY_PROFILE = {"redis", "airflow-worker"}
SECRET_KEY_RE = re.compile(r"PASSWORD|SECRET|FERNET|API_KEY|ENCRYPTIONKEY|TOKEN|_CONN_", re.IGNORECASE)
VAR_REF_RE = re.compile(r"\$\{[A-Z_][A-Z0-9_]*(?::?[-?][^}]*)?\}")


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    data = yaml.safe_load((REPO / "docker-compose.yml").read_text())
    assert isinstance(data, dict)
    return data


def _env(service: dict[str, Any]) -> dict[str, str]:
    env = service.get("environment", {})
    if isinstance(env, list):
        return dict(item.split("=", 1) for item in env)
    return {str(k): str(v) for k, v in env.items()}


def test_expected_services(compose: dict[str, Any]) -> None:
    assert set(compose["services"]) == EXPECTED


def test_long_running_services_have_health_checks(compose: dict[str, Any]) -> None:
    for name, service in compose["services"].items():
        if name in ONE_SHOT:
            assert service.get("restart") == "no", name
            continue
        check = service.get("healthcheck")
        assert check and check.get("test"), f"{name} has no health check"
        assert not check.get("disable"), name


def test_images_are_pinned(compose: dict[str, Any]) -> None:
    for name, service in compose["services"].items():
        image = service.get("image")
        assert image, f"{name} has no image name"
        repo, _, tag = image.rpartition(":")
        assert repo and "/" not in tag, f"{name}: image {image!r} has no tag"
        assert tag != "latest" and re.match(r"^\d+(\.\d+)+", tag), f"{name}: {image!r} is not pinned"
    images = {s["image"] for s in compose["services"].values()}
    assert "docker.elastic.co/elasticsearch/elasticsearch:9.5.4" in images
    assert "docker.elastic.co/kibana/kibana:9.5.4" in images
    dockerfile = (REPO / "docker" / "Dockerfile").read_text()
    (base,) = re.findall(r"^FROM\s+(\S+)", dockerfile, re.MULTILINE)
    assert base == "apache/airflow:3.3.2-python3.11"
    assert "latest" not in (REPO / "docker-compose.yml").read_text()


def test_mounted_host_paths_exist(compose: dict[str, Any]) -> None:
    named = set(compose.get("volumes", {}))
    mounts = []
    for name, service in compose["services"].items():
        for volume in service.get("volumes", []):
            source = volume.split(":", 1)[0] if isinstance(volume, str) else volume["source"]
            if source in named:
                continue
            assert source.startswith("./"), f"{name}: host path {source!r} must be relative to the repo"
            assert (REPO / source).exists(), f"{name}: {source} does not exist in the repository"
            mounts.append(source)
        for script in (service.get("entrypoint") or [])[1:]:
            if str(script).startswith("/opt/newsflow/docker/"):
                assert (REPO / "docker" / Path(script).name).exists()
    assert {"./dags", "./plugins", "./seeds"} <= set(mounts)


def test_no_literal_secrets(compose: dict[str, Any]) -> None:
    for name, service in compose["services"].items():
        for key, value in _env(service).items():
            if SECRET_KEY_RE.search(key) or "@" in value:
                stripped = VAR_REF_RE.sub("", value)
                assert VAR_REF_RE.search(value), f"{name}: {key} must come from .env, not be written here"
                assert not re.search(r"://[^:/]+:[^@$]+@", stripped), (
                    f"{name}: {key} embeds a literal password"
                )
                if "PASSWORD" in key.upper() or "SECRET" in key.upper() or "FERNET" in key.upper():
                    assert stripped == "", f"{name}: {key} mixes a literal with the variable"
    airflow = _env(compose["services"]["airflow-scheduler"])
    assert "${ELASTIC_PASSWORD" in airflow["AIRFLOW_CONN_NEWSFLOW_ES"]
    assert airflow["NEWSFLOW_ES_URL"].startswith("http") and "NEWSFLOW_ES_PASSWORD" in airflow
    assert compose["services"]["elasticsearch"]["environment"]["xpack.security.enabled"] == "true"


def test_env_example_has_placeholders_only(compose: dict[str, Any]) -> None:
    example = {}
    for line in (REPO / ".env.example").read_text().splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            key, _, value = line.partition("=")
            example[key.strip()] = value.strip()
    for key, value in example.items():
        if SECRET_KEY_RE.search(key) or key.endswith("_KEY"):
            assert value.startswith("change-me"), f".env.example {key} must be a placeholder"
    text = (REPO / "docker-compose.yml").read_text()
    required = set(re.findall(r"\$\{([A-Z_][A-Z0-9_]*):\?", text))
    assert required <= set(example), f"variables missing from .env.example: {required - set(example)}"
    assert ".env" in (REPO / ".gitignore").read_text().splitlines()


def test_init_runs_index_setup_and_kibana_import(compose: dict[str, Any]) -> None:
    script = (REPO / "docker" / "init.sh").read_text()
    assert "index setup" in script and "kibana import" in script
    init = compose["services"]["newsflow-init"]
    assert init["depends_on"]["kibana"]["condition"] == "service_healthy"
    assert init["depends_on"]["elasticsearch"]["condition"] == "service_healthy"
    kibana_env = compose["services"]["kibana"]["environment"]
    assert kibana_env["ELASTICSEARCH_USERNAME"] == "kibana_system"
    assert "kibana_system/_password" in (REPO / "docker" / "es-setup.sh").read_text()


def test_celery_profile_adds_redis_and_scalable_workers(compose: dict[str, Any]) -> None:
    """LocalExecutor by default; `--profile celery` adds the broker and workers, results in Postgres."""
    for name, service in compose["services"].items():
        assert (service.get("profiles") == ["celery"]) == (name in CELERY_PROFILE), name
    worker = compose["services"]["airflow-worker"]
    assert worker["command"] == "celery worker"
    assert "container_name" not in worker and "ports" not in worker  # so --scale works
    assert worker["depends_on"]["redis"]["condition"] == "service_healthy"
    env = _env(compose["services"]["airflow-scheduler"])
    assert env["AIRFLOW__CORE__EXECUTOR"] == "${AIRFLOW_EXECUTOR:-LocalExecutor}"
    assert env["AIRFLOW__CELERY__BROKER_URL"] == "redis://redis:6379/0"
    assert env["AIRFLOW__CELERY__RESULT_BACKEND"].startswith("db+postgresql://")
