"""A real Elasticsearch for development and CI, without Docker: one node, or a small cluster.

The nodes come from the ``integ-test-zip`` distribution (``es_dist``). One node is what
``make demo`` and the tests use. ``nodes=3`` runs three nodes from the same unpacked zip,
each with its own HTTP and transport port (one after the other from the configured
ones) and its own config, data and log directories, discovering each other on
127.0.0.1; that is how we prove replicas, failover and rollover on a real cluster.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import signal
import stat
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from newsflow import settings
from newsflow.devstack import es_dist
from newsflow.devstack.es_config import (
    CLUSTER_NAME,
    LocalEsOptions,
    NodeLayout,
    configured_port,
    layout,
    node_home,
    write_config,
)
from newsflow.devstack.es_dist import ES_VERSION
from newsflow.devstack.ports import port_open
from newsflow.devstack.system_user import ensure_system_user
from newsflow.devstack.watchdog import stop_group
from newsflow.errors import ServiceError

log = logging.getLogger(__name__)

# Callers configure and locate nodes through this module too (``local_es.LocalEsOptions``).
__all__ = [
    "CLUSTER_NAME",
    "ES_VERSION",
    "EsStatus",
    "LocalEsOptions",
    "down",
    "external_status",
    "kill_node",
    "log_tail",
    "node_home",
    "status",
    "up",
]


@dataclass(frozen=True, slots=True)
class EsStatus:
    url: str
    running: bool
    managed: bool  # started by us (pid file) rather than found or external
    health: str | None = None
    version: str | None = None
    pid: int | None = None  # the first node's
    home: str | None = None
    log_file: str | None = None
    problem: str | None = None  # why an external cluster is not usable (credentials masked)
    nodes: int | None = None  # nodes in the cluster, as it reports them
    pids: tuple[int | None, ...] = ()  # every configured node's pid (None: not running)


def _http_json(url: str, timeout: float = 2.0) -> dict[str, object] | None:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:  # noqa: S310 - fixed local http URL
            data = json.loads(response.read().decode("utf-8"))
            return data if isinstance(data, dict) else None
    except (urllib.error.URLError, OSError, ValueError):
        return None


def _read_pid(pid_file: Path) -> int | None:
    try:
        pid = int(pid_file.read_text().strip())
    except (FileNotFoundError, ValueError):
        return None
    with contextlib.suppress(ChildProcessError):  # not our child: kill(pid, 0) below decides
        # A node this process started and that died stays a zombie until reaped, and
        # kill(pid, 0) calls a zombie alive: `up` would then wait for a node it never restarts.
        if os.waitpid(pid, os.WNOHANG)[0] == pid:
            return None
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return None
    except PermissionError:
        return pid
    return pid


def _first_health(
    urls: list[str], query: str = "", timeout: float = 2.0
) -> tuple[str, dict[str, object]] | None:
    """The first node of ``urls`` that answers cluster health, with its answer."""
    for url in urls:
        health = _http_json(f"{url}/_cluster/health{query}", timeout=timeout)
        if health is not None:
            return url, health
    return None


def status(options: LocalEsOptions | None = None) -> EsStatus:
    options = options or LocalEsOptions()
    conn = settings.es_connection()
    if conn.external:
        return external_status(conn)
    nodes = layout(options)
    home = node_home(options)
    pids = tuple(_read_pid(node.pid_file) for node in nodes)
    answer = _first_health(options.urls)
    if answer is None:
        return EsStatus(
            url=options.url,
            running=False,
            managed=pids[0] is not None,
            pid=pids[0],
            home=str(home),
            pids=pids,
        )
    url, health = answer
    info = _http_json(f"{url}/_nodes/_local?filter_path=nodes.*.version") or {}
    node_map = info.get("nodes")
    found = node_map.values() if isinstance(node_map, dict) else []
    versions = [str(n.get("version")) for n in found if isinstance(n, dict)]
    count = health.get("number_of_nodes")
    return EsStatus(
        url=options.url,
        running=True,
        managed=any(pid is not None for pid in pids),
        health=str(health.get("status")),
        version=versions[0] if versions else None,
        pid=pids[0],
        home=str(home),
        log_file=str(nodes[0].log_file),
        nodes=int(count) if isinstance(count, int) else None,
        pids=pids,
    )


def external_status(conn: settings.EsConnection, timeout_s: float = 10.0) -> EsStatus:
    """Whether the cluster NEWSFLOW_ES_URL names answers, asked once with its credentials."""
    from elasticsearch import ApiError, TransportError

    from newsflow.es_client import make_client, unreachable
    from newsflow.redact import redact_text

    client = make_client(conn, request_timeout=timeout_s, max_retries=0)
    nodes: object = {}
    try:
        health = client.cluster.health()
        with contextlib.suppress(ApiError):  # the version is a nicety; some clusters hide node info
            nodes = client.nodes.info(node_id="_local", filter_path="nodes.*.version").body
    except TransportError as exc:
        problem = str(unreachable(exc, conn))
        return EsStatus(url=conn.display_url, running=False, managed=False, health=None, problem=problem)
    except ApiError as exc:
        problem = f"answered HTTP {exc.meta.status}: {redact_text(str(exc.message))[:200]}"
        return EsStatus(url=conn.display_url, running=False, managed=False, problem=problem)
    finally:
        client.close()
    found = nodes.get("nodes", {}) if isinstance(nodes, Mapping) else {}
    versions = [str(n.get("version")) for n in found.values() if isinstance(n, Mapping)]
    return EsStatus(
        url=conn.display_url,
        running=True,
        managed=False,
        health=str(health.get("status")),
        version=versions[0] if versions else None,
        nodes=int(health.get("number_of_nodes") or 0) or None,
    )


def log_tail(home: Path, lines: int = 30) -> str:
    chunks = []
    for candidate in (home / "logs" / f"{CLUSTER_NAME}.log", home / "logs" / "stdout.log"):
        if candidate.exists():
            text = candidate.read_text(errors="replace").splitlines()[-lines:]
            chunks.append(f"--- {candidate} ---\n" + "\n".join(text))
    return "\n".join(chunks) or "(no log written)"


def _check_running(options: LocalEsOptions) -> None:
    """Reusing what answers on our port is right only when it is our cluster, laid out as asked."""
    answer = _first_health(options.urls) or ("", {})
    found = answer[1]
    if found.get("cluster_name") != CLUSTER_NAME:
        raise ServiceError(
            f"port {options.http_port} is taken by another Elasticsearch cluster "
            f"({found.get('cluster_name')!r}); stop it, or set NEWSFLOW_ES_PORT to a free port, "
            "or point NEWSFLOW_ES_URL at it to use it"
        )
    single = node_home(options)
    if options.nodes > 1 and _read_pid(single / "es.pid") and configured_port(single) == options.http_port:
        raise ServiceError(
            f"a single Elasticsearch node is running at {options.url}; stop it with `newsflow es down` "
            f"before starting {options.nodes} nodes on the same ports"
        )


def up(options: LocalEsOptions | None = None) -> EsStatus:
    """Start the local node or cluster, or reuse it; nodes of a cluster that died are started again.

    Returns once every configured node has joined and the cluster is yellow or green.
    """
    options = options or LocalEsOptions()
    conn = settings.es_connection()
    if conn.external:
        log.info("NEWSFLOW_ES_URL is set: using %s, starting nothing", conn.display_url)
        return status(options)  # whether that cluster answers: "up" starts nothing to make it
    nodes = layout(options)
    current = status(options)
    if current.running:
        _check_running(options)
    missing = [node for node, pid in zip(nodes, current.pids, strict=True) if pid is None]
    if current.running and (not missing or (current.nodes or 0) >= options.nodes):
        log.info("reusing Elasticsearch already running at %s", options.url)
        return current
    for node in missing:
        for port in (node.http_port, node.transport_port):
            if port_open(port):
                raise ServiceError(
                    f"port {port} on 127.0.0.1 is in use by something that is not our Elasticsearch; "
                    "stop it or set NEWSFLOW_ES_PORT to another port (the transport port is that + 100)"
                )
    home = node_home(options)
    es_dist.check_disk(home)
    zip_path = es_dist.fetch_distribution(options.version, options.cache_dir)
    dist = es_dist.unpack(zip_path, home)
    java_home = es_dist.java_runtime(home)
    run_as = _run_account(options, home)
    for node in missing:
        _prepare_node(options, node, nodes, dist)
    if run_as is not None:
        es_dist.chown_tree(home, *run_as)
    procs = {node.number: _launch(options, node, dist, java_home, run_as) for node in missing}
    return _wait_healthy(options, nodes, procs)


def _run_account(options: LocalEsOptions, home: Path) -> tuple[int, int] | None:
    if not es_dist.running_as_root():
        return None
    account = ensure_system_user(options.run_user, "Elasticsearch")
    home.mkdir(parents=True, exist_ok=True)
    home.parent.chmod(home.parent.stat().st_mode | stat.S_IXOTH)
    if not es_dist.traversable_by_others(home.parent):
        raise ServiceError(
            f"{home} is not reachable by user {options.run_user}: a parent directory is not "
            "world-executable. Set NEWSFLOW_ES_HOME to a directory under /var/tmp or /opt."
        )
    return account.pw_uid, account.pw_gid


def _prepare_node(options: LocalEsOptions, node: NodeLayout, nodes: list[NodeLayout], dist: Path) -> None:
    node.dir.mkdir(parents=True, exist_ok=True)
    write_config(dist, node, options, nodes)
    for sub in ("data", "logs", "tmp"):
        (node.dir / sub).mkdir(exist_ok=True)


def _launch(
    options: LocalEsOptions, node: NodeLayout, dist: Path, java_home: Path, run_as: tuple[int, int] | None
) -> subprocess.Popen[bytes]:
    conf = node.dir / "config"
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "ES_JAVA_HOME": str(java_home),
        "ES_PATH_CONF": str(conf),
        "ES_TMPDIR": str(node.dir / "tmp"),
        "ES_JAVA_OPTS": os.environ.get("NEWSFLOW_ES_JAVA_OPTS", ""),
        "LANG": "C.UTF-8",
    }
    stdout = (node.dir / "logs" / "stdout.log").open("ab")
    log.info("starting Elasticsearch %s node %s at %s (%s)", options.version, node.name, node.url, node.dir)
    proc = subprocess.Popen(
        [str(dist / "bin" / "elasticsearch")],
        cwd=node.dir,
        env=env,
        stdout=stdout,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        start_new_session=True,
        user=run_as[0] if run_as else None,
        group=run_as[1] if run_as else None,
    )
    stdout.close()
    node.pid_file.write_text(str(proc.pid))
    return proc


def _wait_healthy(
    options: LocalEsOptions, nodes: list[NodeLayout], procs: Mapping[int, subprocess.Popen[bytes]]
) -> EsStatus:
    by_number = {node.number: node for node in nodes}
    query = f"?wait_for_status=yellow&wait_for_nodes={options.nodes}&timeout=2s"
    deadline = time.monotonic() + options.start_timeout_s
    while time.monotonic() < deadline:
        for number, proc in procs.items():
            if proc.poll() is not None:
                for other in procs.values():
                    stop_group(other.pid)
                raise ServiceError(
                    f"Elasticsearch node {by_number[number].name} exited with code {proc.returncode} while "
                    f"starting. Last log lines:\n{log_tail(by_number[number].dir)}\n"
                    "Fix the cause above, then run `newsflow es up` again."
                )
        answer = _first_health(options.urls, query, timeout=5)
        if answer and answer[1].get("status") in {"yellow", "green"} and not answer[1].get("timed_out"):
            return status(options)
        time.sleep(1.0)
    for proc in procs.values():
        stop_group(proc.pid)
    tails = "\n".join(log_tail(by_number[n].dir, lines=15) for n in procs)
    raise ServiceError(
        f"Elasticsearch did not become healthy with {options.nodes} node(s) within "
        f"{options.start_timeout_s:.0f}s; the nodes started now were stopped. Last log lines:\n{tails}"
    )


def kill_node(options: LocalEsOptions, number: int) -> int:
    """SIGKILL one node's whole process group (a crash, not a shutdown); returns the pid.

    For failure drills: the node gets no chance to hand over its shards.
    """
    node = next((n for n in layout(options) if n.number == number), None)
    pid = _read_pid(node.pid_file) if node else None
    if node is None or pid is None:
        raise ServiceError(f"node {number} of the local cluster at {options.url} is not running")
    os.killpg(pid, signal.SIGKILL)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and port_open(node.http_port):
        with contextlib.suppress(ChildProcessError):
            os.waitpid(pid, os.WNOHANG)
        time.sleep(0.2)
    return pid


def down(options: LocalEsOptions | None = None) -> bool:
    """Stop the node or cluster we started on these ports; returns False when none was running.

    Both layouts are looked at, so `newsflow es down` stops a cluster started with
    ``--nodes 3`` without being told the count again.
    """
    options = options or LocalEsOptions()
    if settings.es_connection().external:
        log.info("NEWSFLOW_ES_URL is set: not stopping an external cluster")
        return False
    home = node_home(options)
    # The single node shares the home with clusters on other ports: stop it only when it is
    # the one on these ports (a drill's cluster on port + 1 must not take the suite's node down).
    single = [home / "es.pid"] if configured_port(home) in (None, options.http_port) else []
    pid_files = [*single, *sorted((home / f"cluster-{options.http_port}").glob("node-*/es.pid"))]
    stopped = False
    for pid_file in pid_files:
        pid = _read_pid(pid_file)
        if pid is not None:
            log.info("stopping Elasticsearch (pid %s, %s)", pid, pid_file.parent)
            stop_group(pid)
            stopped = True
        with contextlib.suppress(FileNotFoundError):
            pid_file.unlink()
    return stopped
