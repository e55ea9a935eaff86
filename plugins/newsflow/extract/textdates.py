"""Dates as publishers write them for readers, in the languages newsflow meets.

A byline says ``13. Mai 2026 um 15:44``, ``Do 25.04.24 | 14:07 Uhr``, ``5 de abril de 2025``,
``2025年1月14日 1時28分``, ``2026.01.29 18:40`` or ``Nov. 19, 2019``. Only complete dates
count (day, month and year); a time written right after the date is kept. Numbers are
read day first (``05.04.2025`` is 5 April), the order of every language here except US
English, which writes ``11/19/2019``: slashed dates are read month first only when the
caller says the page is en-US, or when the first number cannot be a month.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from newsflow.extract.dates import MAX_YEAR, MIDDAY, MIN_YEAR

# Month names (and usual abbreviations) per month, lower case, several languages per line.
_MONTH_NAMES: tuple[str, ...] = (
    "january jan januar janvier enero gennaio janeiro januari januar ocak stycznia styczeń ledna leden",
    "february feb februar février fevrier febrero febbraio fevereiro februari februar şubat subat "
    "lutego luty února únor",
    "march mar märz maerz mrz mär mars marzo março maart mars mart marca marzec března březen",
    "april apr avril abril aprile april nisan kwietnia kwiecień dubna duben",
    "may mai mayo maggio maio mei mai mayıs mayis maja maj května květen",
    "june jun juni juin junio giugno junho juni haziran czerwca czerwiec června červen",
    "july jul juli juillet julio luglio julho juli temmuz lipca lipiec července červenec",
    "august aug august août aout agosto augustus augusti ağustos agustos sierpnia sierpień srpna srpen",
    "september sep sept septembre septiembre settembre setembro september eylül eylul września wrzesień září",
    "october oct oktober octobre octubre ottobre outubro oktober okt ekim października "
    "październik října říjen",
    "november nov novembre noviembre novembro november kasım kasim listopada listopad listopadu",
    "december dec dezember dez décembre decembre diciembre dicembre dezembro december aralık "
    "aralik grudnia grudzień prosince prosinec",
)
MONTHS: dict[str, int] = {name: i + 1 for i, line in enumerate(_MONTH_NAMES) for name in line.split()}
_MONTH = "|".join(sorted(MONTHS, key=len, reverse=True))
_Y = r"(?P<y>(?:19|20)\d{2})"
_TIME = (
    r"(?:\s*(?:[,|–—-]|\bum\b|\bat\b|\bà\b|\ba las\b|\balle\b|\bkl\.?|\bklo\b)?\s*"
    r"(?P<H>[01]?\d|2[0-3])[:.h時](?P<M>[0-5]\d)(?!\d)(?:\s*(?P<ampm>[ap]\.?m\.?))?)?"
)
_PATTERNS: tuple[tuple[str, re.Pattern[str]], ...] = tuple(
    (kind, re.compile(pattern + _TIME, re.I))
    for kind, pattern in (
        # 2024-04-25, 2026.01.29, 2024/04/25 (ISO and East Asian numeric order)
        ("ymd", rf"(?<!\d){_Y}[-./](?P<m>0?[1-9]|1[0-2])[-./](?P<d>0?[1-9]|[12]\d|3[01])(?!\d)"),
        # 2025年1月14日, 2025년 1월 14일
        ("ymd", rf"{_Y}\s*[年년]\s*(?P<m>0?[1-9]|1[0-2])\s*[月월]\s*(?P<d>0?[1-9]|[12]\d|3[01])\s*[日일]"),
        # 25.04.2024, 25/04/2024, 25-04-2024, 25.04.24
        (
            "dmy",
            r"(?<![\d.])(?P<d>0?[1-9]|[12]\d|3[01])(?P<sep>[./-])(?P<m>0?[1-9]|1[0-2])(?P=sep)"
            r"(?P<y>(?:19|20)?\d{2})(?![\d])",
        ),
        # 13. Mai 2026, 5 avril 2025, 5 de abril de 2025, 09. mai 2024
        (
            "d_month_y",
            rf"(?<!\d)(?P<d>0?[1-9]|[12]\d|3[01])\.?\s*(?:de\s+)?(?P<mon>{_MONTH})(?![^\W\d_])\.?,?\s+(?:de\s+)?{_Y}",
        ),
        # November 19, 2019; Nov. 19th 2019
        (
            "month_d_y",
            rf"\b(?P<mon>{_MONTH})(?![^\W\d_])\.?\s+(?P<d>0?[1-9]|[12]\d|3[01])(?:st|nd|rd|th)?,?\s+{_Y}",
        ),
    )
)


@dataclass(frozen=True, slots=True)
class WrittenDate:
    """A date found in text, naive (a reader's local time; midday when no time was written)."""

    value: datetime
    start: int  # where it was found, so the earliest of several patterns wins


def _month(groups: dict[str, str | None]) -> int | None:
    if name := groups.get("mon"):
        return MONTHS.get(name.lower().rstrip("."))
    number = groups.get("m")
    return int(number) if number else None


def _year(text: str) -> int:
    year = int(text)
    return year + 2000 if year < 100 else year


def _build(kind: str, match: re.Match[str], month_first: bool) -> WrittenDate | None:
    groups = match.groupdict()
    month = _month(groups)
    if month is None:
        return None
    day = int(str(groups["d"]))
    if (
        kind == "dmy"
        and len(str(groups["y"])) == 2
        and (len(str(groups["d"])) < 2 or len(str(groups["m"])) < 2)
    ):
        return None  # "25.04.24" is a date; "1.2.34" is a version number
    if kind == "dmy" and groups.get("sep") == "/" and month_first and day <= 12:
        day, month = month, day  # en-US: 11/05/2019 is 5 November
    hour = int(groups["H"]) if groups.get("H") else MIDDAY
    minute = int(groups["M"]) if groups.get("M") else 0
    ampm = (groups.get("ampm") or "").lower().replace(".", "")
    if ampm == "pm" and hour < 12:
        hour += 12
    elif ampm == "am" and hour == 12:
        hour = 0
    try:
        value = datetime(_year(str(groups["y"])), month, day, hour, minute)
    except ValueError:
        return None
    if not MIN_YEAR <= value.year <= MAX_YEAR:
        return None
    return WrittenDate(value=value, start=match.start())


def written_date(text: str | None, *, month_first: bool = False) -> WrittenDate | None:
    """The earliest complete written date in ``text`` (with its time, if one follows)."""
    if not text or not any(ch.isdigit() for ch in text):
        return None
    found: list[WrittenDate] = []
    for kind, pattern in _PATTERNS:
        for match in pattern.finditer(text):
            if (date := _build(kind, match, month_first)) is not None:
                found.append(date)
                break
    return min(found, key=lambda d: d.start) if found else None
