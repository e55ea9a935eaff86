"""Shared fixtures: the real local Elasticsearch, ../shared, and the skip policy.

A test whose service or data is missing fails under CI (``CI`` set). Locally it
may skip, but only when ``NEWSFLOW_ALLOW_SKIP=1`` (services) or when ``../shared``
is absent (evaluation data); nothing skips silently.
"""

from __future__ import annotations

import os
import signal
import uuid
from collections.abc import Iterator
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from elasticsearch import Elasticsearch

    from newsflow.index import IndexNames

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED_DIR = (REPO_ROOT / ".." / "shared").resolve()


def pytest_configure(config: pytest.Config) -> None:
    """A run stopped by SIGTERM (a CI job's time limit, ``kill``) tears down as Ctrl-C does.

    The services tests start (PostgreSQL, the Airflow scheduler, Redis, Celery workers) run in
    processes of their own and stop only when their fixture's teardown runs. Python's default
    for SIGTERM is to die at once, which left them running after a killed run.
    """

    def interrupt(signum: int, frame: FrameType | None) -> None:
        raise KeyboardInterrupt(f"stopped by signal {signum}")

    signal.signal(signal.SIGTERM, interrupt)


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() not in {"", "0", "false", "no"}


def service_missing(what: str) -> None:
    """Fail (CI, default) or skip (only with NEWSFLOW_ALLOW_SKIP=1 outside CI) for a missing service."""
    if not in_ci() and os.environ.get("NEWSFLOW_ALLOW_SKIP") == "1":
        pytest.skip(f"{what} (skipped because NEWSFLOW_ALLOW_SKIP=1)")
    pytest.fail(f"{what}. Start it (`newsflow es up`) or set NEWSFLOW_ALLOW_SKIP=1 locally to skip.")


def stop_with_this_run(*pgids: int | None) -> None:
    """Process groups of services this run started stop when the run ends, even when it is
    killed and no teardown runs (``devstack.watchdog``)."""
    from newsflow.devstack import watchdog

    for pgid in pgids:
        if pgid is not None:
            watchdog.watch(pgid)


def shared_path(*parts: str) -> Path:
    """A path under ../shared; skips outside CI when ../shared is absent, fails under CI."""
    path = SHARED_DIR.joinpath(*parts)
    if not SHARED_DIR.is_dir():
        if in_ci():
            pytest.fail(f"../shared is missing at {SHARED_DIR}: CI must have the shared evaluation data")
        pytest.skip(f"../shared is absent ({SHARED_DIR}); evaluation-data tests need it")
    if not path.exists():
        pytest.fail(f"{path} is missing from ../shared")
    return path


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    return shared_path()


@pytest.fixture(scope="session")
def es_client() -> Iterator[Elasticsearch]:
    """A real Elasticsearch client: NEWSFLOW_ES_URL, or the local node (started if needed).

    A node this session started, it stops: at the end, or by a watch if the run is killed.
    A node that was running before (`make demo`, `newsflow es up`) is left running.
    """
    from newsflow.devstack import local_es
    from newsflow.errors import ServiceError
    from newsflow.es_client import make_client, wait_until_healthy

    try:
        before = local_es.status()
        node = local_es.up()
        client = make_client(max_retries=2)
        wait_until_healthy(client, timeout_s=60)
    except ServiceError as exc:
        service_missing(f"Elasticsearch is not available: {exc}")
    ours = node.managed and not before.running
    if ours:
        stop_with_this_run(*node.pids)
    yield client
    client.close()
    if ours:
        local_es.down()


@pytest.fixture
def es_prefix(es_client: Elasticsearch) -> Iterator[str]:
    """A unique index-name prefix per test; every index under it is deleted afterwards."""
    prefix = f"test-{uuid.uuid4().hex[:10]}"
    yield prefix
    es_client.options(ignore_status=404).indices.delete(index=f"{prefix}*", expand_wildcards="all")
    templates = es_client.options(ignore_status=404).indices.get_index_template(name=f"{prefix}*")
    for template in templates.get("index_templates", []):
        es_client.indices.delete_index_template(name=template["name"])
    es_client.options(ignore_status=404).cluster.delete_component_template(name=f"{prefix}*")


@pytest.fixture
def own_aliases(es_client: Elasticsearch, es_prefix: str, monkeypatch: pytest.MonkeyPatch) -> IndexNames:
    """The test's own aliases, set up, and in the environment every reader and writer takes
    them from, so the CLI and the flows never touch the unprefixed ones on a shared node."""
    from newsflow.index import IndexNames, setup_indices

    names = IndexNames.with_prefix(es_prefix)
    setup_indices(es_client, names)
    for variable, alias in names.as_env().items():
        monkeypatch.setenv(variable, alias)
    return names
