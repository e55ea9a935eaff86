"""Quality gate: newsflow's body extraction must beat bare trafilatura on the AEB pages.

Bare trafilatura 2.3.1 scores F1 0.9525 (0.9586 with favor_precision) with the shared
scorer; the pinned floor below is what newsflow measured, rounded down. The pages and
truth stay in ../shared (publishers' text is never copied into the repo).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from newsflow.extract.batch import run_batch
from tests.conftest import shared_path

# Measured 0.9702 (P 0.9689, R 0.9716) with default ExtractOptions; the two paywall stubs among the
# pages are rejected (reason "paywall") and score as empty. Keeping their teasers would give 0.9759.
F1_FLOOR = 0.970


@pytest.mark.quality
def test_extraction_f1_beats_bare_trafilatura(tmp_path: Path) -> None:
    # skips only when ../shared is absent outside CI; fails under CI or when these files are missing
    aeb = shared_path("eval", "extraction", "aeb")
    scorer = shared_path("eval", "score_extraction.py")
    truth_path = shared_path("eval", "extraction", "aeb", "ground-truth.json")
    truth = json.loads(truth_path.read_text(encoding="utf-8"))
    manifest = tmp_path / "manifest.jsonl"
    with manifest.open("w", encoding="utf-8") as handle:
        for page_id, item in sorted(truth.items()):
            path = (aeb / "html" / f"{page_id}.html.gz").resolve()
            handle.write(json.dumps({"id": page_id, "path": str(path), "url": item.get("url")}) + "\n")
    pred = tmp_path / "pred.jsonl"
    summary = run_batch(manifest, pred, workers=min(2, os.cpu_count() or 1))
    assert summary.total == len(truth)
    assert summary.errors.get("crash", 0) == 0
    assert summary.errors.get("unreadable", 0) == 0
    result = subprocess.run(
        [sys.executable, str(scorer), "--truth", str(truth_path), "--pred", str(pred), "--json"],
        capture_output=True,
        text=True,
        check=True,
    )
    scores = json.loads(result.stdout)
    print(f"AEB extraction: {scores}")  # shown with -s / -rA, handy when the floor is moved
    assert scores["documents"] == len(truth)
    assert scores["f1"] >= F1_FLOOR, f"F1 {scores['f1']} fell below the pinned floor {F1_FLOOR}: {scores}"
