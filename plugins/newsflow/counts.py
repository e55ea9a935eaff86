"""Counts of what happened, by name: the one tally the stages, the flows and the run record use.

Every skipped or rejected item is counted with its reason, as ``group:reason``
(``rejected:paywall``, ``feeds:not_modified``). Counts of mapped batches add up key by key,
and the run record stores a group as its total plus a breakdown by reason, so nothing
between a batch and the dashboard needs to know which names exist.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator, Mapping

NestedCounts = dict[str, int | dict[str, int]]


class Counts(Mapping[str, int]):
    """Named non-negative integer counts; ``group:reason`` names nest under ``group``."""

    __slots__ = ("_counter",)

    def __init__(self, items: Mapping[str, int] | None = None) -> None:
        self._counter: Counter[str] = Counter()
        if items is not None:
            self.update(items)

    def add(self, name: str, n: int = 1) -> None:
        if n:
            self._counter[name] += n

    def add_reason(self, group: str, reason: str, n: int = 1) -> None:
        self.add(f"{group}:{reason}", n)

    def update(self, other: Mapping[str, int]) -> None:
        for name, n in other.items():
            if isinstance(n, bool) or not isinstance(n, int):
                raise TypeError(f"count {name!r}={n!r} is not an integer")
            self.add(name, n)

    def group(self, name: str) -> dict[str, int]:
        """The reasons counted under ``name``: ``{"paywall": 2}`` for ``rejected:paywall`` = 2."""
        prefix = f"{name}:"
        return {key[len(prefix) :]: n for key, n in sorted(self._counter.items()) if key.startswith(prefix)}

    def nested(self) -> NestedCounts:
        """Plain names as numbers, ``group:reason`` names as ``{group: {reason: n}}``."""
        out: NestedCounts = {}
        for key, n in sorted(self._counter.items()):
            group, sep, reason = key.partition(":")
            if not sep:
                out[key] = n
                continue
            inner = out.setdefault(group, {})
            if isinstance(inner, int):  # a plain count and reasons under one name: keep both
                inner = out[group] = {"unspecified": inner}
            inner[reason] = n
        return out

    def to_dict(self) -> dict[str, int]:
        return dict(sorted(self._counter.items()))

    @classmethod
    def merged(cls, parts: Iterable[Mapping[str, int]]) -> Counts:
        total = cls()
        for part in parts:
            total.update(part)
        return total

    def __getitem__(self, name: str) -> int:
        return self._counter.get(name, 0)

    def __contains__(self, name: object) -> bool:
        return name in self._counter

    def __iter__(self) -> Iterator[str]:
        return iter(sorted(self._counter))

    def __len__(self) -> int:
        return len(self._counter)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Mapping):
            return self.to_dict() == {k: v for k, v in other.items() if v}
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]  # mutable, like the dict it compares equal to

    def __repr__(self) -> str:
        return f"Counts({self.to_dict()!r})"
