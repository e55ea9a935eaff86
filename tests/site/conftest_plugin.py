"""Pytest fixtures for the fixture news site.

Load with ``pytest_plugins = ["tests.site.conftest_plugin"]`` in a test module.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.conftest import in_ci
from tests.site.server import AEB_DIR, SEEDS_DIR, SHARED, NewsSite


def require_shared() -> None:
    """Skip when ../shared is absent outside CI; fail under CI or when it is incomplete."""
    if not SHARED.is_dir():
        message = f"../shared is absent ({SHARED.resolve()}): the fixture site serves pages from it"
        if in_ci():
            pytest.fail(message)
        pytest.skip(message)
    for needed in (AEB_DIR, SEEDS_DIR):
        if not needed.is_dir():
            pytest.fail(f"{needed.resolve()} is missing from ../shared")


@pytest.fixture
def news_site() -> Iterator[NewsSite]:
    require_shared()
    site = NewsSite()
    site.start()
    try:
        yield site
    finally:
        site.stop()
