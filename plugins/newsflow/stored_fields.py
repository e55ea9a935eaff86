"""Fields of documents other code wrote (articles, alerts, run records, feed health, a held
article's story fields, feed state and entries as the archive keeps them), read for their type.

Older writers left fields out and other writers may store odd types (the mapping takes a date
as epoch milliseconds, and any field as a list of its type), so a value that is missing or of
the wrong type reads as missing (``None``, or empty), never as an error.
"""

from __future__ import annotations

from datetime import UTC, datetime

from newsflow.timestamps import iso_z


def text(value: object) -> str | None:
    """A string, or None for a missing or empty value."""
    return str(value) if value is not None and value != "" else None


def whole(value: object) -> int | None:
    """A count or number stored as a JSON number (``2.0`` too); None for anything else, booleans included."""
    return int(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def texts(value: object) -> tuple[str, ...]:
    """A list of strings as recorded (a lone string counts as one); anything else: none."""
    if isinstance(value, str):
        return (value,) if value else ()
    if isinstance(value, list | tuple):
        return tuple(str(v) for v in value if v is not None and v != "")
    return ()


def string(value: object) -> str | None:
    """A non-empty string as stored; None for anything else (a list, a number, an object)."""
    return value if isinstance(value, str) and value else None


def number(value: object) -> float | None:
    """A JSON number as stored; None for anything else, booleans included."""
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def instant(value: object) -> str | None:
    """An instant as stored: an ISO string as it is, epoch milliseconds (which a date field
    also takes) as ISO UTC; None for anything else."""
    if isinstance(value, str):
        return value or None
    millis = number(value)
    if millis is None:
        return None
    try:
        return iso_z(datetime.fromtimestamp(millis / 1000, UTC))
    except (OverflowError, OSError, ValueError):  # past the calendar's range
        return None
