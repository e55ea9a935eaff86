"""Machine-readable date strings from feeds, markup, HTTP headers and URLs.

Publishers write dates in every format; downstream code compares and sorts
them, so every date leaves extraction as ``YYYY-MM-DDTHH:MM:SSZ`` or not at all.
``parse_datetime`` keeps what the string says (its UTC offset, or none), so a
caller that knows the page's own offset can place a naive time correctly before
``to_utc_iso`` stores it. A day without a time of day is taken as its middle
(12:00): stored in UTC it stays on the same calendar day for every offset from
-12 to +11 hours, where midnight would move it to the day before in half the
world, and it is never more than 12 hours from the moment meant. Implausible
years are rejected rather than guessed.
Dates written for readers ("13. Mai 2026") are ``textdates``' business.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, timezone
from email.utils import parsedate_to_datetime

from newsflow.timestamps import iso_z

MIN_YEAR = 1995
MAX_YEAR = 2100

_URL_DATE = re.compile(
    r"(?<!\d)(?P<y>(?:19|20)\d{2})[/_-](?P<m>0?[1-9]|1[0-2])[/_-](?P<d>0?[1-9]|[12]\d|3[01])(?!\d)"
)
_URL_COMPACT_DATE = re.compile(r"/(?P<y>(?:19|20)\d{2})(?P<m>0[1-9]|1[0-2])(?P<d>0[1-9]|[12]\d|3[01])/")
_TZ_NO_COLON = re.compile(r"([+-]\d{2})(\d{2})$")
_UTC_SUFFIX = re.compile(r"\s*(?:UTC|GMT|Z)$", re.I)
_EPOCH = re.compile(r"^\d{9,10}(?:\.\d+)?$")  # Unix seconds, as some CMSs put in datetime attributes
_EXTRA_FORMATS = ("%Y-%m-%d %H:%M:%S %z", "%Y-%m-%d %H:%M:%S", "%Y/%m/%d %H:%M:%S")
_DAY_FORMATS = ("%Y/%m/%d", "%B %d, %Y", "%b %d, %Y", "%d %B %Y", "%d %b %Y")
MIDDAY = 12  # the hour a day without a time is taken at (see the module docstring)
_ISO_DAY = re.compile(r"^\d{4}-?\d{2}-?\d{2}$")  # a day alone, ISO extended or basic


def _day(value: datetime) -> datetime:
    return value.replace(hour=MIDDAY)


def _plausible(value: datetime) -> bool:
    return MIN_YEAR <= value.year <= MAX_YEAR


def to_utc_iso(value: datetime, offset: timedelta | None = None) -> str:
    """``value`` in UTC. A naive value is local time at ``offset`` (the page's own offset, when
    another of its timestamps states one), else taken as UTC, the least wrong guess."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=timezone(offset) if offset is not None else UTC)
    return iso_z(value)


def _parse_iso(text: str) -> datetime | None:
    candidate = text.replace("Z", "+00:00") if text.endswith("Z") else text
    candidate = _TZ_NO_COLON.sub(r"\1:\2", candidate) if "T" in candidate else candidate
    try:
        return datetime.fromisoformat(candidate)
    except ValueError:
        return None


def _parse_written(text: str) -> datetime | None:
    """A few fixed forms beyond ISO: days alone (taken at midday), RFC 822, and spaced timestamps."""
    for fmt in _DAY_FORMATS:
        try:
            return _day(datetime.strptime(text, fmt))
        except ValueError:
            continue
    try:
        return parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        pass
    for fmt in _EXTRA_FORMATS:
        try:
            return datetime.strptime(text, fmt)
        except ValueError:
            continue
    return None


def parse_datetime(text: str | None) -> datetime | None:
    """``text`` (ISO 8601, RFC 822, Unix seconds or a few common forms) as written: aware when it
    gives an offset, naive when it does not; None when unparseable or implausible."""
    text = " ".join(text.split()) if text else ""
    if not text or len(text) > 64:
        return None
    if _EPOCH.match(text):
        parsed: datetime | None = datetime.fromtimestamp(float(text), tz=UTC)
    else:
        if text[:1].isdigit() and _UTC_SUFFIX.search(text) and not text.endswith("Z"):
            text = _UTC_SUFFIX.sub("", text) + "+00:00"
        parsed = _parse_iso(text)
        if parsed is not None and _ISO_DAY.match(text):
            parsed = parsed.replace(hour=MIDDAY)
        elif parsed is None:
            parsed = _parse_written(text)
    return parsed if parsed is not None and _plausible(parsed) else None


def parse_date(text: str | None) -> str | None:
    """ISO 8601 UTC for ``text`` (see ``parse_datetime``); a naive time is taken as UTC."""
    parsed = parse_datetime(text)
    return to_utc_iso(parsed) if parsed is not None else None


def date_from_url(url: str | None) -> datetime | None:
    """The ``/2019/11/19/`` style day many news URLs carry, naive (the URL has no zone), at midday."""
    if not url:
        return None
    path = url.split("?", 1)[0]
    for pattern in (_URL_DATE, _URL_COMPACT_DATE):
        match = pattern.search(path)
        if match is None:
            continue
        try:
            value = datetime(int(match["y"]), int(match["m"]), int(match["d"]), MIDDAY)
        except ValueError:
            continue
        if _plausible(value):
            return value
    return None
