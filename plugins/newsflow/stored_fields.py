"""Fields of documents other code wrote (run records, feed health), read for status screens.

Older writers left fields out and other writers may store odd types, so a value that is
missing or of the wrong type reads as missing (``None``, or empty), never as an error.
"""

from __future__ import annotations


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
