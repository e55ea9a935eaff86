"""Where PostgreSQL's server binaries are, installing the distribution's package if allowed.

A throwaway server (``local_postgres``) needs ``initdb``, ``pg_ctl`` and ``createdb``; they
are looked for where an operator would put them before anything is installed.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from newsflow.devstack import apt
from newsflow.errors import ServiceError

DEBIAN_ROOT = Path("/usr/lib/postgresql")
INSTALL_HINT = (
    "install PostgreSQL's server binaries (Debian/Ubuntu: `apt-get install -y postgresql`) "
    "or point NEWSFLOW_PG_BIN at the directory holding initdb and pg_ctl"
)
_TOOLS = ("initdb", "pg_ctl", "createdb")


def find(explicit: Path | None, *, install: bool) -> Path:
    """The first directory holding all three tools: ``explicit``, ``NEWSFLOW_PG_BIN``, Debian's
    newest version, then ``PATH``. ``install``: apt-get the package when none has them."""
    found = _search(explicit)
    if found is not None:
        return found
    if not install:
        raise ServiceError(f"PostgreSQL server binaries (initdb, pg_ctl) were not found; {INSTALL_HINT}")
    apt.install("postgresql", INSTALL_HINT)
    found = _search(explicit)
    if found is None:
        raise ServiceError(f"PostgreSQL was installed but initdb is still not found; {INSTALL_HINT}")
    return found


def _newest_debian_bin() -> Path | None:
    if not DEBIAN_ROOT.is_dir():
        return None
    versions = []
    for child in DEBIAN_ROOT.iterdir():
        if (child / "bin" / "initdb").exists() and child.name.split(".")[0].isdigit():
            versions.append((int(child.name.split(".")[0]), child / "bin"))
    return max(versions)[1] if versions else None


def _search(explicit: Path | None) -> Path | None:
    candidates: list[Path] = []
    if explicit is not None:
        candidates.append(explicit)
    env = os.environ.get("NEWSFLOW_PG_BIN")
    if env:
        candidates.append(Path(env))
    debian = _newest_debian_bin()
    if debian is not None:
        candidates.append(debian)
    on_path = shutil.which("initdb")
    if on_path:
        candidates.append(Path(on_path).parent)
    for candidate in candidates:
        if all(os.access(candidate / tool, os.X_OK) for tool in _TOOLS):
            return candidate
    return None
