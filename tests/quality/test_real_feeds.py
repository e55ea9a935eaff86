"""Quality gate: every one of the 200 real captured feeds in ../shared parses without a crash.

The README of ``eval/feeds/real`` counts 6,555 entries and 7 malformed feeds
(feedparser's ``bozo``) for 134 RSS 2.0, 63 Atom, 2 RDF and 1 JSON Feed. One
of the 7 is the JSON Feed, which feedparser cannot read and we parse ourselves,
so we expect 6 malformed XML feeds plus a JSON Feed with entries.
"""

from __future__ import annotations

import json
from collections import Counter

import pytest

from newsflow.feeds import parse_feed
from tests.conftest import shared_path

EXPECTED_ITEMS = 6555
EXPECTED_BOZO = 7


@pytest.mark.quality
def test_all_real_feeds_parse_with_entries_counted() -> None:
    # skips only when ../shared is absent outside CI; fails under CI or when these files are missing
    files = shared_path("eval", "feeds", "real", "files")
    urls = json.loads(shared_path("eval", "feeds", "real", "urls.json").read_text(encoding="utf-8"))
    paths = sorted(files.iterdir())
    assert len(paths) == 200

    items = 0
    usable = 0
    formats: Counter[str] = Counter()
    malformed: dict[str, str] = {}
    json_feeds_with_entries = 0
    for path in paths:
        parsed = parse_feed(path.read_bytes(), feed=path.name, base_url=urls[path.name])
        items += len(parsed.entries) + parsed.skipped
        usable += len(parsed.entries)
        formats[parsed.format] += 1
        if parsed.bozo:
            malformed[path.name] = f"{parsed.error}: {parsed.error_detail}"
        if parsed.format.startswith("json") and parsed.entries:
            json_feeds_with_entries += 1
        for entry in parsed.entries:
            assert entry.url.startswith(("http://", "https://")), (path.name, entry.url)
            assert entry.canonical_url
            for stamp in (entry.published, entry.updated):
                assert stamp is None or (len(stamp) == 20 and stamp.endswith("Z")), (path.name, stamp)

    # Items: feedparser's 6,555 plus the JSON Feed's, which feedparser misses.
    assert abs(items - EXPECTED_ITEMS) <= 0.005 * EXPECTED_ITEMS, f"{items} items parsed"
    # Entries without any http(s) link (one status feed has 1,046 of them) are counted, not fetched.
    assert usable >= 0.8 * EXPECTED_ITEMS, f"only {usable} entries with a usable link"
    assert json_feeds_with_entries == 1
    assert len(malformed) + json_feeds_with_entries == EXPECTED_BOZO, malformed
    assert all(reason.startswith(("malformed", "encoding_mismatch")) for reason in malformed.values())
    assert formats["rss20"] + formats["atom10"] >= 190, formats
