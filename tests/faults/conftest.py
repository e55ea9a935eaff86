"""Fault and abuse drills: every test here carries the ``faults`` marker."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

HERE = Path(__file__).resolve().parent


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        if HERE in Path(str(item.fspath)).resolve().parents:
            item.add_marker(pytest.mark.faults)


@pytest.fixture
def names(es_client: Any, es_prefix: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[Any]:
    """The test's own aliases, also in the environment the replay command and flow read."""
    from newsflow.index import IndexNames, setup_indices

    names = IndexNames.with_prefix(es_prefix)
    setup_indices(es_client, names)
    for env, alias in {
        "NEWSFLOW_INDEX_ALIAS": names.articles,
        "NEWSFLOW_RUNS_ALIAS": names.runs,
        "NEWSFLOW_MERGES_ALIAS": names.merges,
        "NEWSFLOW_ALERTS_ALIAS": names.alerts,
        "NEWSFLOW_ALERT_RULES_ALIAS": names.alert_rules,
        "NEWSFLOW_FEED_HEALTH_ALIAS": names.feed_health,
    }.items():
        monkeypatch.setenv(env, alias)
    monkeypatch.setenv("NEWSFLOW_ARCHIVE", str(tmp_path / "archive"))
    yield names
