"""End-to-end fixtures: a copy of the seed site per test (tests add items to its feeds)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def site_copy(tmp_path: Path) -> Path:
    """``seeds/site`` copied to a temp dir, so a test can publish new items without touching seeds."""
    target = tmp_path / "site"
    shutil.copytree(REPO_ROOT / "seeds" / "site", target)
    return target
