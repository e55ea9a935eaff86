"""An analyst's word on two articles: apart (never one story) or together (always one).

The model is wrong at times: on political news about one in five articles it joins is
another event's (docs/stories.md). Search collapses on ``story_id``, so a wrong join hides a
report from whoever searches. A correction says what the analyst knows, and it holds
through every later decision: each batch, rerun and backfill re-partitions stories with the
corrections among the articles it touches (``clusterer.partition``), on either backend.

A correction constrains the partition and never the scores: the edges stay what the model
found, so ``why`` still tells what the text says, and a withdrawn correction gives back the
stories the model made. One record per pair of articles (``correction_id``); a later word
on the same pair replaces the earlier one, and withdrawing keeps the record.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Literal, get_args

from newsflow.dedup.similarity import Edge
from newsflow.errors import InputError
from newsflow.jsontypes import JsonObject, JsonValue
from newsflow.records import stable_id
from newsflow.stored_fields import string

Verdict = Literal["apart", "together", "withdrawn"]
VERDICTS: tuple[Verdict, ...] = get_args(Verdict)
TOGETHER_WHY = "analyst: together"


def correction_id(a: str, b: str) -> str:
    """One record per pair of articles, whichever order they were named in."""
    return stable_id("correction", *sorted((a, b)))


@dataclass(frozen=True, slots=True)
class Correction:
    """What an analyst said of two articles (``a`` < ``b``), when, and why."""

    a: str
    b: str
    verdict: Verdict
    by: str = ""
    note: str = ""
    recorded_at: str = ""  # ISO 8601, UTC

    @classmethod
    def of(
        cls, first: str, second: str, verdict: str, *, by: str = "", note: str = "", at: str = ""
    ) -> Correction:
        """A correction of two articles named in any order; a clear error for one article or an
        unknown verdict."""
        if verdict not in VERDICTS:
            raise InputError(f"unknown correction {verdict!r}; use one of {', '.join(VERDICTS)}")
        if not first or not second:
            raise InputError("a correction names two article ids")
        if first == second:
            raise InputError(f"a correction names two different articles; got {first!r} twice")
        a, b = sorted((first, second))
        return cls(a, b, verdict, by, note, at)

    @property
    def id(self) -> str:
        return correction_id(self.a, self.b)

    def to_dict(self) -> dict[str, JsonValue]:
        return {
            "a": self.a,
            "b": self.b,
            "articles": [self.a, self.b],
            "verdict": self.verdict,
            "by": self.by,
            "note": self.note,
            "recorded_at": self.recorded_at,
        }

    @classmethod
    def from_dict(cls, data: JsonObject) -> Correction:
        """A stored or written correction; ``InputError`` naming what is wrong with it."""
        a, b, verdict = string(data.get("a")), string(data.get("b")), string(data.get("verdict"))
        if a is None or b is None or verdict is None:
            raise InputError(f"a correction needs string fields a, b and verdict; got {sorted(data)}")
        return cls.of(
            a,
            b,
            verdict,
            by=string(data.get("by")) or "",
            note=string(data.get("note")) or "",
            at=string(data.get("recorded_at")) or "",
        )


@dataclass(frozen=True, slots=True)
class Corrections:
    """The corrections in force among some articles: what a partition must respect.

    ``apart`` and ``together`` map each article to the others it was said to be apart from
    or together with (both directions). Withdrawn corrections are not in force.
    """

    apart: Mapping[str, frozenset[str]] = field(default_factory=dict)
    together: Mapping[str, frozenset[str]] = field(default_factory=dict)

    @classmethod
    def of(cls, corrections: Iterable[Correction]) -> Corrections:
        """In force: the latest word on each pair (by ``recorded_at``, then as given)."""
        latest: dict[tuple[str, str], Correction] = {}
        for c in corrections:
            held = latest.get((c.a, c.b))
            if held is None or c.recorded_at >= held.recorded_at:
                latest[(c.a, c.b)] = c
        apart: dict[str, set[str]] = {}
        together: dict[str, set[str]] = {}
        for c in latest.values():
            if c.verdict == "withdrawn":
                continue
            side = apart if c.verdict == "apart" else together
            side.setdefault(c.a, set()).add(c.b)
            side.setdefault(c.b, set()).add(c.a)
        return cls(
            {k: frozenset(v) for k, v in apart.items()}, {k: frozenset(v) for k, v in together.items()}
        )

    def __bool__(self) -> bool:
        return bool(self.apart or self.together)

    def among(self, members: Iterable[str]) -> Corrections:
        """Only the pairs with both articles in ``members``."""
        inside = set(members)
        return Corrections(_restricted(self.apart, inside), _restricted(self.together, inside))

    def together_edges(self, ids: Iterable[str]) -> list[Edge]:
        """Each together pair touching ``ids`` as an ``analyst`` edge, so a story's traversal
        reaches the other article and ``why`` names the analyst (the partition fuses the pair
        and never averages the edge's score in)."""
        out: dict[tuple[str, str], Edge] = {}
        for i in ids:
            for other in self.together.get(i, ()):
                a, b = sorted((i, other))
                out[(a, b)] = Edge(a, b, "analyst", 1.0, (TOGETHER_WHY,))
        return [out[k] for k in sorted(out)]


def _restricted(pairs: Mapping[str, frozenset[str]], inside: set[str]) -> dict[str, frozenset[str]]:
    out = {}
    for k, others in pairs.items():
        if k in inside:
            kept = others & inside
            if kept:
                out[k] = kept
    return out


NO_CORRECTIONS = Corrections()
