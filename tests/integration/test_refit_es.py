"""``newsflow refit --from-index``: the verdicts recorded in Elasticsearch, their articles' stored
signals and the index's term statistics, refitted into a model file (the offline path and the
fit itself: tests/unit/test_refit.py)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.integration


def test_refit_reads_the_recorded_verdicts_and_their_articles(  # noqa: PLR0917 - fixtures
    story_names: Any,
    story_index: Any,
    kherson: list[Any],
    others: list[Any],
    tmp_path: Path,
    capsys: Any,
    monkeypatch: Any,
) -> None:
    from newsflow.cli import main
    from newsflow.dedup.corrections import Correction
    from newsflow.dedup.model import load_model

    for variable, alias in story_names.as_env().items():
        monkeypatch.setenv(variable, alias)
    herald, courier, wire = kherson
    bakhmut, cycling = others
    story_index.add([*kherson, *others], run_id="batch-1")
    story_index.correct(
        [
            Correction.of(herald.id, courier.id, "together"),
            Correction.of(herald.id, bakhmut.id, "apart"),
            Correction.of(courier.id, cycling.id, "apart"),
            Correction.of(bakhmut.id, cycling.id, "apart"),
            Correction.of(herald.id, wire.id, "apart"),  # a copy: decided by rule, not a verdict to learn
        ]
    )
    story_index.correct([Correction.of(bakhmut.id, cycling.id, "withdrawn")])
    out = tmp_path / "model.json"
    argv = ["refit", "--from-index", "--out", str(out)]
    assert main([*argv, "--min-verdicts", "2", "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert (summary["verdicts_read"], summary["verdicts_used"], summary["together"]) == (5, 3, 1)
    assert summary["skipped"] == {"a copy (decided by rule)": 1, "withdrawn": 1}
    record = load_model(out).fitted["refit_on_verdicts"]
    assert isinstance(record, dict) and record["verdicts"] == 3

    # The pipeline's setting names the file; a missing one stops a command before any work.
    monkeypatch.setenv("NEWSFLOW_PAIR_MODEL", str(tmp_path / "missing.json"))
    assert main(["correct", "apart", herald.id, cycling.id]) != 0
    assert "missing.json" in capsys.readouterr().err
    monkeypatch.setenv("NEWSFLOW_PAIR_MODEL", str(out))
    assert main(["correct", "apart", herald.id, cycling.id]) == 0

    # Too few verdicts for the default: refused with the reason, nothing written.
    out.unlink()
    assert main(argv) != 0
    assert "at least 100" in " ".join(capsys.readouterr().err.split()) and not out.exists()
