"""Packing a run's work into mapped tasks without ever dropping any of it.

A run maps one task per unit, and Airflow refuses to map past ``max_map_length``. So
past ``limit`` units the unit size grows until everything fits: a run with more work
than usual gets bigger tasks, never lost work. Groups (all the feeds of one host) are
never split, which is what keeps per-host politeness true across parallel tasks.

Items may weigh more than one: a process unit is filled to a number of pages, not of
archive batches, because a task's cost is its pages and its story work pays a fixed price
per call (docs/scaling.md, "Batch size"). ``most`` then also caps the items of a unit.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Plan:
    """Units of work for one mapped task each; ``merged`` is how far units went past the usual size."""

    units: tuple[tuple[str, ...], ...]
    items: int
    unit_size: int  # the size units were packed to (larger than asked when the limit was hit)
    # The weight (or items, past ``most``) packed beyond the asked sizes to stay within the map limit.
    merged: int = 0

    def for_xcom(self) -> list[list[str]]:
        return [list(unit) for unit in self.units]


def _one(_item: str) -> int:
    return 1


def _fill(
    groups: Sequence[Sequence[str]], size: int, most: int | None, weigh: Callable[[str], int]
) -> list[tuple[str, ...]]:
    units: list[tuple[str, ...]] = []
    current: list[str] = []
    weight = 0
    for group in groups:
        adds = sum(weigh(item) for item in group)
        too_many = most is not None and len(current) + len(group) > most
        if current and (weight + adds > size or too_many):
            units.append(tuple(current))
            current, weight = [], 0
        current.extend(group)
        weight += adds
    if current:
        units.append(tuple(current))
    return units


def pack(
    groups: Sequence[Sequence[str]],
    size: int,
    limit: int,
    *,
    weigh: Callable[[str], int] = _one,
    most: int | None = None,
) -> Plan:
    """Groups in order into units of about ``size`` weight (each item weighs ``weigh(item)``,
    one by default) and at most ``most`` items, at most ``limit`` units, nothing dropped."""
    items = sum(len(g) for g in groups)
    total = sum(weigh(item) for g in groups for item in g)
    units = _fill(groups, size, most, weigh)
    grown, grown_most = size, most
    while len(units) > limit:
        grown = max(grown + 1, -(-total // limit))
        grown_most = None if grown_most is None else max(grown_most + 1, -(-items // limit))
        units = _fill(groups, grown, grown_most, weigh)
    merged = 0
    if (grown, grown_most) != (size, most):
        merged = sum(
            max(sum(weigh(item) for item in unit) - size, len(unit) - most if most is not None else 0, 0)
            for unit in units
        )
    if merged:
        logger.warning(
            "%s items need more than %s tasks of %s: packed up to %s per task (%s beyond the usual size)",
            items,
            limit,
            size,
            grown,
            merged,
        )
    return Plan(tuple(units), items, grown, merged)
