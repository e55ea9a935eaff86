"""The day a report's opening names is read in any language, and compared pair by pair."""

from __future__ import annotations

import pytest

from newsflow.dedup import DedupOptions, InMemoryCandidateSource, compute_signals
from newsflow.dedup.features import pair_features
from newsflow.dedup.signals import ArticleSignals
from newsflow.dedup.weekdays import OPENING_CHARS, named_weekdays
from newsflow.dedup.weighting import prepare

OPTIONS = DedupOptions()


@pytest.mark.parametrize(
    ("title", "text", "days"),
    [
        ("Senate passes the bill", "WASHINGTON - The Senate on Tuesday voted 51-49.", (1,)),
        ("Streik am Mittwoch", "Die Gewerkschaft kündigte an, am Freitag weiterzustreiken.", (2, 4)),
        ("", "W środę rząd przyjął projekt ustawy.", (2,)),  # Polish: "on Wednesday" takes its case
        ("", "В среду парламент одобрил закон.", (2,)),  # Russian likewise
        ("", "La réunion de jeudi a été reportée.", (3,)),
        ("国务院星期三发布通知", "", (2,)),  # Chinese day names stand among other characters
        ("", "أعلنت الحكومة يوم الأربعاء", (2,)),
        ("", "Hükümet cumartesi günü açıkladı.", (5,)),  # not read as "cuma" (Friday)
        ("", "Pazar yerinde fiyatlar yükseldi.", ()),  # "pazar" is also a market: left out
        ("Mondays are for meetings", "Sundayschool", ()),  # whole words only
    ],
)
def test_named_weekdays_in_the_opening(title: str, text: str, days: tuple[int, ...]) -> None:
    assert named_weekdays(title, text) == days


def test_only_the_opening_is_read() -> None:
    """Further down, a full article names the days of its background too."""
    lede = "The minister resigned on Monday after the vote. "
    later = "x " * OPENING_CHARS + "The inquiry had opened on Thursday."
    assert named_weekdays("", lede + later) == (0,)


def test_weekdays_are_stored_and_older_records_have_none() -> None:
    sig = compute_signals("a", "The strike began on Friday in Lyon.", OPTIONS, title="Strike")
    assert sig.weekdays == (4,)
    stored = sig.to_dict()
    assert ArticleSignals.from_dict(stored) == sig
    del stored["weekdays"]  # a record held before the field existed
    assert ArticleSignals.from_dict(stored).weekdays == ()


def _features(text_a: str, text_b: str) -> dict[str, float]:
    a = compute_signals("a", text_a, OPTIONS)
    b = compute_signals("b", text_b, OPTIONS)
    source = InMemoryCandidateSource()
    source.count([a, b])
    return pair_features(prepare(a, source), prepare(b, source))


def test_day_match_and_conflict() -> None:
    tuesday = "The Senate on Tuesday voted to confirm the judge."
    assert _features(tuesday, "Senators on Tuesday confirmed the judge.")["day_match"] == 1.0
    other = _features(tuesday, "The Senate on Thursday voted on the budget.")
    assert (other["day_match"], other["day_conflict"]) == (0.0, 1.0)
    # An opening naming several days may be telling more than its event: no conflict.
    several = _features(tuesday, "After Monday's talks failed, the Senate voted on Thursday.")
    assert (several["day_match"], several["day_conflict"]) == (0.0, 0.0)
    # Several days, one of them shared: a match.
    assert _features(tuesday, "After Monday's talks, the Senate voted on Tuesday.")["day_match"] == 1.0
    # No day on one side: neither.
    silent = _features(tuesday, "The Senate voted to confirm the judge.")
    assert (silent["day_match"], silent["day_conflict"]) == (0.0, 0.0)
