"""The one ISO/``Z`` helper: what every stored stamp looks like, and how stamps read back."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from newsflow.errors import InputError
from newsflow.timestamps import as_utc, iso_z, parse_utc, parse_utc_or_none

WHEN = datetime(2026, 3, 2, 18, 0, 5, 123456, tzinfo=UTC)


def test_iso_z_precisions() -> None:
    assert iso_z(WHEN) == "2026-03-02T18:00:05Z"
    assert iso_z(WHEN, "milliseconds") == "2026-03-02T18:00:05.123Z"
    assert iso_z(WHEN, "microseconds") == "2026-03-02T18:00:05.123456Z"
    plus_two = WHEN.astimezone(timezone(timedelta(hours=2)))
    assert iso_z(plus_two) == "2026-03-02T18:00:05Z", "an offset is converted, not dropped"
    assert iso_z(WHEN.replace(tzinfo=None)) == "2026-03-02T18:00:05Z", "naive means UTC"


@pytest.mark.parametrize(
    "text",
    ["2026-03-02T18:00:05.123456Z", "2026-03-02T20:00:05.123456+02:00", "2026-03-02T18:00:05.123456"],
)
def test_parse_utc_reads_z_offsets_and_naive(text: str) -> None:
    assert parse_utc(text) == WHEN
    assert parse_utc(text).tzinfo is UTC


def test_parse_round_trips_and_rejects() -> None:
    assert parse_utc(iso_z(WHEN, "microseconds")) == WHEN
    assert parse_utc(WHEN.replace(tzinfo=None)) == WHEN
    with pytest.raises(InputError, match="ISO 8601"):
        parse_utc("yesterday")
    assert parse_utc_or_none("yesterday") is None
    assert parse_utc_or_none(None) is None
    assert parse_utc_or_none("  ") is None
    assert as_utc(WHEN.replace(tzinfo=None)) == WHEN, "a naive value is taken to be UTC"
    assert as_utc(WHEN.astimezone(timezone(timedelta(hours=5)))).tzinfo == UTC
