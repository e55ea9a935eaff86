"""Packing a run's work into mapped tasks without ever dropping any of it.

A run maps one task per unit, and Airflow refuses to map past ``max_map_length``. So
past ``limit`` units the unit size grows until everything fits: a run with more work
than usual gets bigger tasks, never lost work. Groups (all the feeds of one host) are
never split, which is what keeps per-host politeness true across parallel tasks.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Plan:
    """Units of work for one mapped task each; ``merged`` items went past the usual unit size."""

    units: tuple[tuple[str, ...], ...]
    items: int
    unit_size: int  # the size units were packed to (larger than asked when the limit was hit)
    merged: int = 0  # items packed beyond the asked size to stay within the map limit

    def for_xcom(self) -> list[list[str]]:
        return [list(unit) for unit in self.units]


def _fill(groups: Sequence[Sequence[str]], size: int) -> list[tuple[str, ...]]:
    units: list[tuple[str, ...]] = []
    current: list[str] = []
    for group in groups:
        if current and len(current) + len(group) > size:
            units.append(tuple(current))
            current = []
        current.extend(group)
    if current:
        units.append(tuple(current))
    return units


def pack(groups: Sequence[Sequence[str]], size: int, limit: int) -> Plan:
    """Groups in order into units of about ``size`` items, at most ``limit`` units, nothing dropped."""
    items = sum(len(g) for g in groups)
    units = _fill(groups, size)
    grown = size
    while len(units) > limit:
        grown = max(grown + 1, -(-items // limit))
        units = _fill(groups, grown)
    merged = sum(max(0, len(u) - size) for u in units) if grown > size else 0
    if merged:
        logger.warning(
            "%s items need more than %s tasks of %s: packed %s per task instead (%s beyond the usual size)",
            items,
            limit,
            size,
            grown,
            merged,
        )
    return Plan(tuple(units), items, grown, merged)
