"""Small renderers the operators' commands share: missing values, ages, statuses, counts.

Every value here may come from a document someone else wrote, so each goes through
``safe`` before it reaches Rich markup.
"""

from __future__ import annotations

from datetime import datetime

from newsflow.cli.search_cmd import delay, when
from newsflow.cli.untrusted import safe
from newsflow.timestamps import parse_utc_or_none

MISSING = "-"
STYLES = {
    "success": "green",
    "healthy": "green",
    "partial": "yellow",
    "running": "cyan",
    "started": "cyan",  # a run record with no finish yet: running, or killed
    "queued": "cyan",
    "failed": "red",
    "timed out": "red",
    "unhealthy": "red",
}


def dash(value: object) -> str:
    """The value made safe, or ``-`` when it is missing."""
    return MISSING if value is None or value == "" else safe(value)


def ago(iso: str | None, now: datetime, *, cell: bool = False) -> str:
    """``2026-05-01 10:05 (3m ago)``, ``... (in 12m)`` for a future time, ``-`` when unknown.

    ``cell``: the relative part on a second line, for narrow table columns.
    """
    moment = parse_utc_or_none(iso)
    if moment is None:
        return dash(iso)
    seconds = (now - moment).total_seconds()
    if -60 < seconds < 0:  # clocks of two machines a few seconds apart
        seconds = 0.0
    relative = f"{delay(abs(seconds))[1:]} ago" if seconds >= 0 else f"in {delay(abs(seconds))[1:]}"
    sep = "\n" if cell else " "
    return f"{when(iso)}{sep}[dim]({relative})[/]"


def span(seconds: float | None) -> str:
    """``3h50m`` for a duration, ``-`` when unknown."""
    if seconds is None:
        return MISSING
    text = delay(abs(seconds))[1:]
    return f"-{text}" if seconds < 0 else text


def styled(status: str | None) -> str:
    """A status word coloured by what it means (unknown words plain), ``-`` when missing."""
    if not status:
        return MISSING
    style = STYLES.get(status)
    return f"[{style}]{safe(status)}[/]" if style else safe(status)


def ratio(value: float | None) -> str:
    return MISSING if value is None else f"{value:.0%}"


def number(value: int | None) -> str:
    return MISSING if value is None else str(value)
