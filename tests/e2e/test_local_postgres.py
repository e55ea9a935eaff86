"""The throwaway PostgreSQL starts, answers SQL on its URL, and leaves nothing behind."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.conftest import service_missing, stop_with_this_run

pytestmark = pytest.mark.e2e


def test_throwaway_postgres_serves_its_database_and_stops_cleanly() -> None:
    import psycopg2  # type: ignore[import-untyped]  # no stubs: types-psycopg2 is not a dependency

    from newsflow.devstack import local_postgres
    from newsflow.errors import ServiceError

    try:
        server = local_postgres.start()
    except ServiceError as exc:
        service_missing(f"PostgreSQL could not start: {exc}")
    stop_with_this_run(server.pid)
    try:
        assert server.url.startswith(f"postgresql+psycopg2://{server.user}@127.0.0.1:{server.port}/")
        conn = psycopg2.connect(host="127.0.0.1", port=server.port, user=server.user, dbname=server.database)
        try:
            with conn.cursor() as cursor:
                cursor.execute("CREATE TABLE t (x int); INSERT INTO t VALUES (41), (1); SELECT sum(x) FROM t")
                assert cursor.fetchone() == (42,)
                cursor.execute("SHOW listen_addresses")
                assert cursor.fetchone() == ("127.0.0.1",)
        finally:
            conn.close()
        pid = int((server.data_dir / "postmaster.pid").read_text().splitlines()[0])
    finally:
        server.stop()
    assert not _alive(pid), f"postmaster {pid} still runs after stop()"
    assert not server.root.exists()


def _alive(pid: int) -> bool:
    """Running and not a zombie (a container's init may never reap the daemonised postmaster)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return False
    return state != "Z"


def test_bad_options_are_refused_with_a_reason() -> None:
    from newsflow.devstack.local_postgres import LocalPostgresOptions
    from newsflow.errors import ConfigError

    with pytest.raises(ConfigError, match="database name"):
        LocalPostgresOptions(database="Bad-Name")
    with pytest.raises(ConfigError, match="max_connections"):
        LocalPostgresOptions(max_connections=5)
