"""A private Elasticsearch node for drills: its own state dir and ports, so the suite's node
on 9200 is never touched. The distribution already downloaded is linked in, not fetched again."""

from __future__ import annotations

import os
import shutil
import socket
from pathlib import Path
from typing import Any

from newsflow import settings
from newsflow.devstack import local_es
from tests.conftest import service_missing


def free_port_pair() -> int:
    """An HTTP port whose transport port (+100) is free too."""
    for _ in range(50):
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = int(sock.getsockname()[1])
        if port > 65000:
            continue
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port + 100)) != 0:
                return port
    raise RuntimeError("no free port pair found")


def private_node(tmp_path: Path, **options: Any) -> local_es.LocalEsOptions:
    """Options of a node under ``tmp_path`` on a free port pair (``options``: the rest)."""
    # Either setting leaves no private node to start: as a missing service, this fails under CI
    # and is skipped only where NEWSFLOW_ALLOW_SKIP=1 says so.
    if os.environ.get("NEWSFLOW_ES_URL"):
        service_missing("NEWSFLOW_ES_URL is set: local_es.up() would not start a private node; unset it")
    if os.environ.get("NEWSFLOW_ES_HOME"):
        service_missing("NEWSFLOW_ES_HOME is set: a private node would share the main node's home; unset it")
    cached = settings.state_dir() / "cache" / f"elasticsearch-{local_es.ES_VERSION}.zip"
    state = tmp_path / "es-state"
    (state / "cache").mkdir(parents=True)
    if cached.exists():
        try:
            os.link(cached, state / "cache" / cached.name)
        except OSError:
            shutil.copy2(cached, state / "cache" / cached.name)
    return local_es.LocalEsOptions(http_port=free_port_pair(), state_dir=state, **options)
