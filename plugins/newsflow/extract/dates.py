"""Date strings from feeds, markup and URLs, normalised to ISO 8601 UTC.

Publishers write dates in every format; downstream code compares and sorts
them, so every date leaves this module as ``YYYY-MM-DDTHH:MM:SSZ`` or not at all.
Implausible years are rejected rather than guessed.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

MIN_YEAR = 1995
MAX_YEAR = 2100

_URL_DATE = re.compile(
    r"(?<!\d)(?P<y>(?:19|20)\d{2})[/_-](?P<m>0?[1-9]|1[0-2])[/_-](?P<d>0?[1-9]|[12]\d|3[01])(?!\d)"
)
_URL_COMPACT_DATE = re.compile(r"/(?P<y>(?:19|20)\d{2})(?P<m>0[1-9]|1[0-2])(?P<d>0[1-9]|[12]\d|3[01])/")
_TZ_NO_COLON = re.compile(r"([+-]\d{2})(\d{2})$")
_EXTRA_FORMATS = (
    "%Y-%m-%d %H:%M:%S %z",
    "%Y-%m-%d %H:%M:%S",
    "%Y/%m/%d %H:%M:%S",
    "%Y/%m/%d",
    "%Y%m%d",
    "%B %d, %Y",
    "%b %d, %Y",
    "%d %B %Y",
    "%d %b %Y",
)


def _plausible(value: datetime) -> bool:
    return MIN_YEAR <= value.year <= MAX_YEAR


def to_utc_iso(value: datetime) -> str:
    """Naive datetimes are taken as UTC: the page gave no zone, and UTC is the least wrong guess."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _parse_iso(text: str) -> datetime | None:
    candidate = text.replace("Z", "+00:00") if text.endswith("Z") else text
    candidate = _TZ_NO_COLON.sub(r"\1:\2", candidate) if "T" in candidate else candidate
    try:
        return datetime.fromisoformat(candidate)
    except ValueError:
        return None


def parse_date(text: str | None) -> str | None:
    """ISO 8601 UTC for ``text`` in ISO, RFC 822 or a few common written forms; None if unparseable."""
    if not text:
        return None
    text = " ".join(text.split())
    if not text or len(text) > 64:
        return None
    parsed = _parse_iso(text)
    if parsed is None:
        try:
            parsed = parsedate_to_datetime(text)
        except (TypeError, ValueError, IndexError):
            parsed = None
    if parsed is None:
        for fmt in _EXTRA_FORMATS:
            try:
                parsed = datetime.strptime(text, fmt)
                break
            except ValueError:
                continue
    if parsed is None or not _plausible(parsed):
        return None
    return to_utc_iso(parsed)


def date_from_url(url: str | None) -> str | None:
    """The ``/2019/11/19/`` style date many news URLs carry (a day, so midnight UTC)."""
    if not url:
        return None
    path = url.split("?", 1)[0]
    for pattern in (_URL_DATE, _URL_COMPACT_DATE):
        match = pattern.search(path)
        if match is None:
            continue
        try:
            value = datetime(int(match["y"]), int(match["m"]), int(match["d"]), tzinfo=UTC)
        except ValueError:
            continue
        if _plausible(value):
            return to_utc_iso(value)
    return None


_MONTHS = (
    "january|february|march|april|may|june|july|august|september|october|november|december"
    "|jan|feb|mar|apr|jun|jul|aug|sep|sept|oct|nov|dec"
)
_TEXT_DATES = (
    re.compile(r"(?<!\d)((?:19|20)\d{2})-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])(?!\d)"),
    re.compile(rf"\b({_MONTHS})\.?\s+(\d{{1,2}})(?:st|nd|rd|th)?,?\s+((?:19|20)\d{{2}})\b", re.I),
    re.compile(rf"\b(\d{{1,2}})(?:st|nd|rd|th)?\s+({_MONTHS})\.?,?\s+((?:19|20)\d{{2}})\b", re.I),
)
_MONTH_NUMBER = {name: i % 12 + 1 for i, name in enumerate(_MONTHS.split("|")[:12])} | {
    "jan": 1,
    "feb": 2,
    "mar": 3,
    "apr": 4,
    "jun": 6,
    "jul": 7,
    "aug": 8,
    "sep": 9,
    "sept": 9,
    "oct": 10,
    "nov": 11,
    "dec": 12,
}


def date_from_text(text: str | None) -> str | None:
    """The first ISO or English written date ("Nov. 19, 2019", "19 November 2019") in ``text``."""
    if not text:
        return None
    found: list[tuple[int, datetime]] = []
    for index, pattern in enumerate(_TEXT_DATES):
        match = pattern.search(text)
        if match is None:
            continue
        groups = match.groups()
        try:
            if index == 0:
                year, month, day = int(groups[0]), int(groups[1]), int(groups[2])
            elif index == 1:
                year, month, day = int(groups[2]), _MONTH_NUMBER[groups[0].lower()], int(groups[1])
            else:
                year, month, day = int(groups[2]), _MONTH_NUMBER[groups[1].lower()], int(groups[0])
            value = datetime(year, month, day, tzinfo=UTC)
        except (KeyError, ValueError):
            continue
        if _plausible(value):
            found.append((match.start(), value))
    if not found:
        return None
    return to_utc_iso(min(found, key=lambda item: item[0])[1])
