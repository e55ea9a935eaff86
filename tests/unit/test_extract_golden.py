"""Golden-file tests: small pages written for this project, with the expected record next to each.

Each ``tests/golden/extract/<name>.html`` has ``<name>.expected.json`` holding the
input URL and either the expected article fields or the expected error reason.
Regenerate after an intended change with ``NEWSFLOW_UPDATE_GOLDEN=1`` and review the diff.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from newsflow.errors import ExtractionError
from newsflow.extract import extract_article

GOLDEN = Path(__file__).resolve().parents[1] / "golden" / "extract"
PAGES = sorted(GOLDEN.glob("*.html"))
# Fields compared; the extractor version and hashes are left out so a library bump shows up as text diffs.
FIELDS = (
    "title",
    "text",
    "authors",
    "published",
    "published_source",
    "modified",
    "language",
    "language_tag",
    "paywalled",
    "canonical_url",
    "site_name",
    "description",
    "top_image",
    "source",
    "tags",
)


def _actual(page: Path, url: str | None) -> dict[str, Any]:
    try:
        article = extract_article(page.read_bytes(), url=url)
    except ExtractionError as exc:
        return {"error": exc.reason}
    data = article.to_dict()
    values = {key: data[key] for key in FIELDS}
    return {key: list(value) if isinstance(value, tuple) else value for key, value in values.items()}


def test_golden_pages_exist() -> None:
    assert len(PAGES) >= 4, f"golden pages missing under {GOLDEN}"


@pytest.mark.parametrize("page", PAGES, ids=[p.stem for p in PAGES])
def test_golden_page(page: Path) -> None:
    expected_path = page.with_suffix(".expected.json")
    spec = json.loads(expected_path.read_text(encoding="utf-8")) if expected_path.exists() else {}
    actual = _actual(page, spec.get("url"))
    if os.environ.get("NEWSFLOW_UPDATE_GOLDEN"):
        spec["expected"] = actual
        expected_path.write_text(json.dumps(spec, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    assert "expected" in spec, f"{expected_path} missing: run with NEWSFLOW_UPDATE_GOLDEN=1 and review it"
    assert actual == spec["expected"]
