"""Comparing with golden files: ``NEWSFLOW_UPDATE_GOLDEN=1`` rewrites them; review the diff."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

GOLDEN = Path(__file__).resolve().parents[1] / "golden"


def check(expected_path: Path, actual: Any) -> None:
    """``actual`` (JSON-able) equals the file's content; with NEWSFLOW_UPDATE_GOLDEN set, it becomes it."""
    text = json.dumps(actual, ensure_ascii=False, indent=2, sort_keys=True) + "\n"
    if os.environ.get("NEWSFLOW_UPDATE_GOLDEN"):
        expected_path.write_text(text, encoding="utf-8")
    assert expected_path.exists(), (
        f"{expected_path} is missing: run with NEWSFLOW_UPDATE_GOLDEN=1 and review it"
    )
    assert json.loads(text) == json.loads(expected_path.read_text(encoding="utf-8"))
