"""Golden files for feed parsing: RSS 2.0, Atom 1.0, JSON Feed 1.1 and a malformed feed written here.

Each ``tests/golden/feeds/<name>.<xml|json>`` has ``<name>.expected.json`` beside it: the
format, title, error and every entry as the poll stage sees it (``FeedEntry.to_dict``).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from newsflow.feeds import parse_feed
from tests.unit.golden import GOLDEN, check

SAMPLES = sorted(
    p for p in (GOLDEN / "feeds").iterdir() if p.suffix in {".xml", ".json"} and ".expected" not in p.name
)
CONTENT_TYPES = {".xml": "application/xml", ".json": "application/feed+json"}


def test_every_format_has_a_sample() -> None:
    assert {p.stem for p in SAMPLES} >= {"rss20", "atom10", "json11", "malformed"}


@pytest.mark.parametrize("sample", SAMPLES, ids=[p.stem for p in SAMPLES])
def test_feed_parses_as_recorded(sample: Path) -> None:
    parsed = parse_feed(
        sample.read_bytes(),
        feed=f"golden-{sample.stem}",
        base_url=f"https://{sample.stem}.example/feed",
        content_type=CONTENT_TYPES[sample.suffix],
    )
    actual = {
        "format": parsed.format,
        "title": parsed.title,
        "error": parsed.error,
        "skipped": parsed.skipped,
        "entries": [entry.to_dict() for entry in parsed.entries],
    }
    check(sample.with_name(f"{sample.stem}.expected.json"), actual)
