"""Refitting the pair model on an analyst's verdicts (``newsflow refit``), with the curvature the
shipped model carries standing in for the dev corpora."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from scipy.optimize import minimize

from newsflow.cli import main
from newsflow.dedup.batch import InputArticle, ReadReport, to_signals
from newsflow.dedup.corrections import Correction
from newsflow.dedup.features import FEATURES, WEIGHT_SIGNS
from newsflow.dedup.model import Curvature, PairModel, load_model
from newsflow.dedup.options import PAIR_MODEL_ENV, DedupOptions
from newsflow.dedup.refit import VerdictRows, refit, verdict_rows
from newsflow.errors import ConfigError, InputError

SHIPPED = load_model()


def _rows(n: int, **values: float) -> np.ndarray:
    """``n`` feature rows, every feature 0 except ``values``, with a little spread so the rows differ."""
    rows = np.zeros((n, len(FEATURES)))
    spread = np.linspace(-0.05, 0.05, n)
    for name, value in values.items():
        rows[:, FEATURES.index(name)] = np.clip(value + spread, 0.0, None)
    return rows


def _verdicts(*parts: tuple[np.ndarray, int]) -> VerdictRows:
    return VerdictRows(
        np.vstack([rows for rows, _ in parts]),
        np.concatenate([np.full(len(rows), label, dtype=np.int64) for rows, label in parts]),
    )


# Political news: reports of different events share their actors' names and little text; one
# event's reports share text. The verdicts say so.
SHARED_NAMES = _rows(80, names=0.9, salient=0.8, lede=0.1, tfidf=0.15, tfidf_x_names=0.135)
SHARED_TEXT = _rows(80, names=0.9, salient=0.8, lede=0.5, tfidf=0.6, tfidf_x_names=0.54)
POLITICAL = _verdicts((SHARED_NAMES, 0), (SHARED_TEXT, 1))


def test_the_shipped_model_carries_its_curvature() -> None:
    curvature = SHIPPED.curvature
    assert curvature is not None and curvature.features == SHIPPED.features
    hessian = np.asarray(curvature.hessian)
    assert np.allclose(hessian, hessian.T)
    assert np.linalg.eigvalsh(hessian).min() > -1e-9  # a log loss is convex
    # Expanded where the model's logistic weights are.
    assert np.allclose(curvature.at, [*SHIPPED.weights, SHIPPED.intercept], atol=1e-6)


def test_verdicts_move_the_pairs_they_are_about() -> None:
    refitted = refit(SHIPPED, POLITICAL)
    names_alone = SHARED_NAMES[:1]
    assert refitted.probabilities(names_alone)[0] < SHIPPED.probabilities(names_alone)[0] - 0.02
    assert refitted.weights[FEATURES.index("names")] < SHIPPED.weights[FEATURES.index("names")]
    # The trees and settings are the shipped ones; only the logistic half moved.
    assert refitted.trees == SHIPPED.trees and refitted.link_threshold == SHIPPED.link_threshold
    record = refitted.fitted["refit_on_verdicts"]
    assert isinstance(record, dict) and (record["verdicts"], record["together"], record["apart"]) == (
        160,
        80,
        80,
    )
    assert refitted.fitted["base"] == SHIPPED.fitted


def test_a_refit_keeps_the_weight_signs() -> None:
    # Together verdicts on pairs whose years conflict would push that weight above zero.
    conflicting = _verdicts(
        (_rows(150, year_conflict=1.0, tfidf=0.3, lede=0.2), 1), (_rows(150, tfidf=0.05), 0)
    )
    refitted = refit(SHIPPED, conflicting)
    for name, weight in zip(refitted.features, refitted.weights, strict=True):
        sign = WEIGHT_SIGNS.get(name, 1)
        assert (sign > 0 and weight >= 0) or (sign < 0 and weight <= 0) or sign == 0, name


def test_the_newton_steps_reach_the_minimum_a_general_solver_finds() -> None:
    curvature = SHIPPED.curvature
    assert curvature is not None
    refitted = refit(SHIPPED, POLITICAL)
    at, h = np.asarray(curvature.at), np.asarray(curvature.hessian)
    share = curvature.corpora / (curvature.corpora + 1)
    x = np.hstack([POLITICAL.rows, np.ones((len(POLITICAL.labels), 1))])
    y = POLITICAL.labels.astype(float)

    def loss(theta: np.ndarray) -> float:
        d, z = theta - at, x @ theta
        return float(share * 0.5 * d @ h @ d + (1 - share) * np.mean(np.logaddexp(0, z) - y * z))

    bounds = [
        (0, None) if WEIGHT_SIGNS.get(f, 1) > 0 else (None, 0) if WEIGHT_SIGNS.get(f, 1) < 0 else (None, None)
        for f in FEATURES
    ] + [(None, None)]
    reference = minimize(loss, at, method="L-BFGS-B", bounds=bounds, options={"ftol": 1e-14, "gtol": 1e-10})
    ours = np.array([*refitted.weights, refitted.intercept])
    assert loss(ours) <= reference.fun + 1e-7


def test_refitting_a_refitted_model_starts_from_the_shipped_one() -> None:
    once = refit(SHIPPED, POLITICAL)
    twice = refit(once, POLITICAL)
    assert np.allclose(once.weights, twice.weights) and once.intercept == pytest.approx(twice.intercept)
    assert twice.fitted["base"] == SHIPPED.fitted  # not a chain of refits


def test_a_refit_is_refused_clearly() -> None:
    with pytest.raises(InputError, match="at least 100"):
        refit(SHIPPED, _verdicts((SHARED_NAMES[:30], 0), (SHARED_TEXT[:30], 1)))
    with pytest.raises(InputError, match="both"):
        refit(SHIPPED, _verdicts((SHARED_NAMES, 0), (SHARED_TEXT, 0)))
    with pytest.raises(InputError, match="no curvature"):
        refit(replace(SHIPPED, curvature=None), POLITICAL)


def test_the_refitted_model_reads_back_as_written(tmp_path: Path) -> None:
    refitted = refit(SHIPPED, POLITICAL)
    path = tmp_path / "model.json"
    path.write_text(json.dumps(refitted.to_dict()), encoding="utf-8")
    again = load_model(path)
    assert np.allclose(again.weights, refitted.weights, atol=1e-6)
    assert again.curvature is not None and again.curvature.corpora == 3
    assert again.fitted == refitted.fitted


def test_a_malformed_curvature_is_refused() -> None:
    data = SHIPPED.to_dict()
    curvature = dict(data["curvature"])  # type: ignore[call-overload]  # to_dict gives it as an object
    for broken in ({**curvature, "hessian": [[1.0]]}, {**curvature, "at": "x"}, {**curvature, "corpora": 0}):
        with pytest.raises(ConfigError, match="curvature"):
            PairModel.from_dict({**data, "curvature": broken})
    with pytest.raises(ConfigError, match="other features"):
        replace(SHIPPED, curvature=replace(SHIPPED.curvature, features=tuple(reversed(SHIPPED.features))))  # type: ignore[type-var]  # the shipped model has one
    assert isinstance(Curvature.from_dict(curvature), Curvature)


REID = (
    "Actress Tara Reid checked herself into Promises Treatment Center in Malibu, her rep Jack Ketsoyan said."
)
LOHAN = (
    "Lindsay Lohan left the Betty Ford clinic in Rancho Mirage on Thursday after a 90-day stay, "
    "her lawyer said."
)
OTHER_REID = (
    "Tara Reid, the American Pie actress, is in rehab at Promises in Malibu, says her spokesman Ketsoyan."
)


def test_verdict_rows_count_what_they_skip() -> None:
    options = DedupOptions()
    articles = [
        InputArticle(id="reid", text=REID),
        InputArticle(id="reid-copy", text=REID),
        InputArticle(id="other-reid", text=OTHER_REID),
        InputArticle(id="lohan", text=LOHAN),
    ]
    signals = [to_signals(a, options, ReadReport()) for a in articles]
    corrections = [
        Correction.of("reid", "other-reid", "apart"),
        Correction.of("reid", "other-reid", "together"),  # corrected again: the last verdict holds
        Correction.of("reid", "lohan", "apart"),
        Correction.of("reid", "reid-copy", "apart"),  # a copy: decided by rule, never by the model
        Correction.of("reid", "gone", "together"),  # not among the articles
        Correction.of("other-reid", "lohan", "withdrawn"),  # taken back: no verdict
    ]
    rows = verdict_rows(signals, corrections, options)
    assert rows.labels.tolist() == [1, 0] and rows.rows.shape == (2, len(FEATURES))
    assert rows.skipped == {
        "the same pair again (its last verdict kept)": 1,
        "a copy (decided by rule)": 1,
        "article not found": 1,
        "withdrawn": 1,
    }
    assert rows.rows[0, FEATURES.index("names")] > rows.rows[1, FEATURES.index("names")]


def test_the_pair_model_setting_is_read_and_checked(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(PAIR_MODEL_ENV, raising=False)
    assert DedupOptions.from_env().model_path is None
    path = tmp_path / "model.json"
    path.write_text(json.dumps(refit(SHIPPED, POLITICAL).to_dict()), encoding="utf-8")
    monkeypatch.setenv(PAIR_MODEL_ENV, str(path))
    assert DedupOptions.from_env().model.fitted["refit_on_verdicts"]
    monkeypatch.setenv(PAIR_MODEL_ENV, str(tmp_path / "missing.json"))
    with pytest.raises(ConfigError, match=r"missing\.json"):
        DedupOptions.from_env()


def _line(obj: object) -> str:
    return json.dumps(obj) + "\n"


def test_newsflow_refit_writes_a_model_cluster_uses(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    articles = tmp_path / "articles.jsonl"
    articles.write_text(
        _line({"id": "reid", "text": REID})
        + _line({"id": "other-reid", "text": OTHER_REID})
        + _line({"id": "lohan", "text": LOHAN})
        + _line({"id": "empty", "text": " "}),
        encoding="utf-8",
    )
    corrections = tmp_path / "corrections.jsonl"
    corrections.write_text(
        _line({"a": "reid", "b": "other-reid", "verdict": "together"})
        + _line({"a": "reid", "b": "lohan", "verdict": "apart"})
        + _line({"a": "lohan", "b": "empty", "verdict": "apart"}),
        encoding="utf-8",
    )
    model = tmp_path / "model.json"
    argv = ["refit", "--in", str(articles), "--corrections", str(corrections), "--out", str(model)]
    assert main([*argv, "--min-verdicts", "2", "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert (summary["verdicts_read"], summary["verdicts_used"], summary["together"]) == (3, 2, 1)
    assert summary["skipped"] == {"article not found": 1} and summary["articles_skipped"] == {"empty_text": 1}
    assert load_model(model).fitted["refit_on_verdicts"]
    stories = tmp_path / "stories.jsonl"
    assert main(["cluster", "--in", str(articles), "--out", str(stories), "--model", str(model)]) == 0
    assert len(stories.read_text(encoding="utf-8").splitlines()) == 3
    # Too few verdicts for the default: refused with the reason, nothing written.
    model.unlink()
    assert main(argv) != 0
    assert "at least 100" in " ".join(capsys.readouterr().err.split()) and not model.exists()
    assert main([*argv, "--min-verdicts", "1"]) != 0
    assert "at least 2" in " ".join(capsys.readouterr().err.split()) and not model.exists()


def test_a_model_lives_at_any_fsspec_url_every_worker_reads(tmp_path: Path) -> None:
    from newsflow.dedup.model import write_model

    refitted = refit(SHIPPED, POLITICAL)
    for url in (f"memory://models/{tmp_path.name}/local.json", (tmp_path / "deep" / "local.json").as_uri()):
        write_model(refitted, url)
        assert np.allclose(DedupOptions(model_path=url).model.weights, refitted.weights, atol=1e-6)
    blocked = tmp_path / "a-file"
    blocked.write_text("not a folder", encoding="utf-8")
    with pytest.raises(ConfigError, match="cannot be written"):
        write_model(refitted, str(blocked / "model.json"))
    with pytest.raises(ConfigError, match="NEWSFLOW_PAIR_MODEL"):
        load_model(f"memory://models/{tmp_path.name}/missing.json")
