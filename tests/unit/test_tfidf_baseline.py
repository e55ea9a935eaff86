"""The TF-IDF baseline under leave-one-out's rule: its threshold comes from the other corpora."""

from __future__ import annotations

import pytest

from bench.storyfit import Scores
from bench.tfidf_baseline import THRESHOLDS, best_of, tfidf_held_out


def _curve(peak: float, slope: float = 1.0) -> dict[float, Scores]:
    """F1 0.8 at ``peak``, falling by ``slope`` per unit of threshold on either side."""
    return {t: Scores(0.5, 0.5, 0.8 - slope * abs(t - peak)) for t in THRESHOLDS}


def test_the_own_best_threshold_is_the_highest_f1_and_the_lowest_of_ties() -> None:
    assert best_of(_curve(0.3)).threshold == 0.3
    flat = {t: Scores(0.5, 0.5, 0.7) for t in THRESHOLDS}
    assert best_of(flat).threshold == THRESHOLDS[0]


def test_a_held_out_corpus_is_scored_at_the_threshold_the_others_choose() -> None:
    curves = {"a": _curve(0.3), "b": _curve(0.2, slope=1.5), "c": _curve(0.5, slope=2.5)}
    held = tfidf_held_out(curves)
    # b and c: c falls faster, so their sum is highest at c's peak, not at b's or a's.
    assert held["a"].threshold == 0.5
    assert held["a"].scores == curves["a"][0.5]
    assert held["b"].threshold == 0.5
    # a and b: b falls faster, so b's peak; scored there, c is far below its own best.
    assert held["c"].threshold == 0.2
    assert held["c"].scores.f1 == pytest.approx(0.05)


def test_leaving_out_the_only_corpus_is_refused() -> None:
    with pytest.raises(ValueError, match="at least two corpora"):
        tfidf_held_out({"a": _curve(0.3)})
