"""UTC instants as newsflow writes and reads them: the one place for ISO 8601 and ``Z``.

Every stamp we store or pass between tasks (feed state, archive names, run records,
article dates, index bookkeeping) is UTC written ``YYYY-MM-DDTHH:MM:SS[.fff]Z``. Reading
one back, a naive value is taken as UTC, the least wrong guess. Parsing dates that
publishers write (RFC 822, "13. Mai 2026", ...) is extraction's business (``extract.dates``).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Literal

from newsflow.errors import InputError

Precision = Literal["seconds", "milliseconds", "microseconds"]


def as_utc(when: datetime) -> datetime:
    """``when`` in UTC; a naive value is taken to be UTC already."""
    return when.replace(tzinfo=UTC) if when.tzinfo is None else when.astimezone(UTC)


def iso_z(when: datetime, precision: Precision = "seconds") -> str:
    """``2026-03-02T18:00:00Z`` (or with ``.fff``/``.ffffff``): how every stamp is written."""
    return as_utc(when).isoformat(timespec=precision).replace("+00:00", "Z")


def parse_utc(value: str | datetime) -> datetime:
    """An aware UTC datetime from an ISO 8601 string (``Z`` or an offset; naive means UTC)."""
    if isinstance(value, datetime):
        return as_utc(value)
    parsed = parse_utc_or_none(value)
    if parsed is None:
        raise InputError(f"{value!r} is not an ISO 8601 date-time (e.g. 2026-03-02T18:00:00Z)")
    return parsed


def parse_utc_or_none(value: object) -> datetime | None:
    """Like ``parse_utc`` for values that may be missing or malformed: None instead of an error."""
    if not isinstance(value, str) or not value.strip():
        return None
    text = value.strip()
    try:
        parsed = datetime.fromisoformat(text[:-1] + "+00:00" if text.endswith(("Z", "z")) else text)
    except ValueError:
        return None
    return as_utc(parsed)


def now_utc() -> datetime:
    """The wall clock, for bookkeeping only (durations, ``indexed_at``): decisions use the run's dates."""
    return datetime.now(UTC)


_SPAN = re.compile(r"^\s*(\d{1,9})\s*([smhdw])\s*$")
_SPAN_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}


def span_seconds(text: str) -> int | None:
    """Seconds in a span written ``30s``, ``15m``, ``2h``, ``1d`` or ``2w`` (the one notation
    for poll intervals, backfill steps and windows, and relative dates); None for anything else,
    a number of more than nine digits included."""
    match = _SPAN.match(text)
    return int(match.group(1)) * _SPAN_SECONDS[match.group(2)] if match else None
