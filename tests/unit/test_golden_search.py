"""Golden files for the search request bodies: what ``newsflow search`` and ``stories`` send."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from newsflow.search import build_search_body, build_top_stories_body
from tests.unit.golden import GOLDEN, check

SINCE = datetime(2026, 3, 1, tzinfo=UTC)
UNTIL = datetime(2026, 3, 2, 18, 30, tzinfo=UTC)
CASES: dict[str, Any] = {
    "stories_default": lambda: build_search_body("harbour cycle lanes"),
    "stories_filtered_newest": lambda: build_search_body(
        "Kherson",
        since=SINCE,
        until=UNTIL,
        source=["Northern Herald", "Southern Courier"],
        lang="en-GB",
        size=25,
        sort="newest",
    ),
    "all_reports": lambda: build_search_body("bridge vote", all_reports=True, source="Herald", size=5),
    "top_stories": lambda: build_top_stories_body(since=SINCE, until=UNTIL, size=20),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_request_body(name: str) -> None:
    check(GOLDEN / "search" / f"{name}.expected.json", CASES[name]())
