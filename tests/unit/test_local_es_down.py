"""``es down`` for a cluster on other ports must leave the suite's single node running.

The node-loss drill starts a cluster on ``NEWSFLOW_ES_PORT + 1`` in the same home as the
suite's node and stops it at the end; stopping it once also stopped the single node, and
every later test lost its Elasticsearch. Real processes stand in for the nodes.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest


def _process() -> subprocess.Popen[bytes]:
    # A new session, so its pid is a process group as a started node's is (down kills the group).
    return subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"], start_new_session=True)


def test_cluster_down_leaves_the_single_node_on_its_own_port(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from newsflow.devstack import local_es

    monkeypatch.setenv("NEWSFLOW_ES_HOME", str(tmp_path))
    monkeypatch.delenv("NEWSFLOW_ES_URL", raising=False)
    (tmp_path / "config").mkdir()
    (tmp_path / "config" / "elasticsearch.yml").write_text("http.port: 9280\ntransport.port: 9380\n")
    single, member = _process(), _process()
    try:
        (tmp_path / "es.pid").write_text(str(single.pid))
        node_dir = tmp_path / "cluster-9281" / "node-1"
        node_dir.mkdir(parents=True)
        (node_dir / "es.pid").write_text(str(member.pid))

        assert local_es.down(local_es.LocalEsOptions(http_port=9281, nodes=3))
        assert member.wait(timeout=60) is not None, "the cluster's node is stopped"
        assert single.poll() is None, "the single node on 9280 must keep running"
        assert (tmp_path / "es.pid").exists()

        assert local_es.down(local_es.LocalEsOptions(http_port=9280))
        assert single.wait(timeout=60) is not None, "es down on its own port stops it"
    finally:
        for proc in (single, member):
            if proc.poll() is None:
                os.killpg(proc.pid, 9)
                proc.wait()
