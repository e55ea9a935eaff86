"""End-to-end fixtures: a copy of the seed site per test (tests add items to its feeds)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

# The Celery drill's checks assert in this helper module: let pytest explain their failures as in a test.
pytest.register_assert_rewrite("tests.e2e.celery_drill")

REPO_ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def site_copy(tmp_path: Path) -> Path:
    """``seeds/site`` copied to a temp dir, so a test can publish new items without touching seeds."""
    target = tmp_path / "site"
    shutil.copytree(REPO_ROOT / "seeds" / "site", target)
    return target
