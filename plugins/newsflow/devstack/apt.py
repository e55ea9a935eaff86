"""Installing a Debian package a local service needs, when nothing provides it yet.

Tests and the demo start PostgreSQL and Redis from the distribution's packages; on a fresh
build machine (root, no Docker) the package is installed once rather than asked of the user.
"""

from __future__ import annotations

import logging
import os
import shutil
import subprocess

from newsflow.errors import ServiceError

log = logging.getLogger(__name__)


def install(package: str, hint: str) -> None:
    """``apt-get install`` one package, non-interactively; a failure says why, with ``hint``."""
    apt = shutil.which("apt-get")
    if apt is None:
        raise ServiceError(f"{package} is not installed and there is no apt-get here; {hint}")
    log.info("installing %s with apt-get", package)
    result = subprocess.run(
        [apt, "install", "-y", "--no-install-recommends", package],
        capture_output=True,
        text=True,
        env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"},
        check=False,
    )
    if result.returncode != 0:
        tail = "\n".join((result.stdout + result.stderr).strip().splitlines()[-15:])
        raise ServiceError(
            f"`apt-get install -y {package}` failed with exit {result.returncode} "
            f"(run `apt-get update` first if the package is unknown):\n{tail}"
        )
