"""Fault and abuse drills: every test here carries the ``faults`` marker."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

HERE = Path(__file__).resolve().parent


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        if HERE in Path(str(item.fspath)).resolve().parents:
            item.add_marker(pytest.mark.faults)


@pytest.fixture
def names(own_aliases: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Any:
    """The test's own aliases (``own_aliases``) and its own archive, where the replay command
    and the flows read them."""
    monkeypatch.setenv("NEWSFLOW_ARCHIVE", str(tmp_path / "archive"))
    return own_aliases
