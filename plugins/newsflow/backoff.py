"""How long to wait before trying again: one rule for every retry loop.

Fetches, bulk writes, webhook deliveries and Airflow API calls each retry within a bounded
time. Each waits twice as long as the time before, up to a cap; fetches also spread their
waits at random (full jitter), so that many hosts are not hit again in lockstep.
"""

from __future__ import annotations

import random


def doubling(retry: int, first: float, cap: float = float("inf")) -> float:
    """The wait before retry number ``retry`` (0 for the first): ``first``, doubled each
    time, at most ``cap``."""
    return float(min(cap, first * 2 ** max(0, retry)))


def jittered(retry: int, first: float, cap: float, rng: random.Random | None = None) -> float:
    """``doubling``'s wait drawn at random below it (full jitter)."""
    return (rng or random).uniform(0, doubling(retry, first, cap))
