"""System accounts for local services that refuse to run as root (Elasticsearch, PostgreSQL)."""

from __future__ import annotations

import contextlib
import pwd
import shutil
import subprocess

from newsflow.errors import ServiceError


def ensure_system_user(name: str, service: str) -> pwd.struct_passwd:
    """The account ``name``, created as a no-login system user when missing."""
    with contextlib.suppress(KeyError):
        return pwd.getpwnam(name)
    useradd = shutil.which("useradd") or "/usr/sbin/useradd"
    result = subprocess.run(
        [useradd, "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", name],
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        raise ServiceError(
            f"could not create system user {name!r} to run {service} (it refuses root): "
            f"{result.stderr.strip()}. Create it yourself or run as a non-root user."
        )
    return pwd.getpwnam(name)
