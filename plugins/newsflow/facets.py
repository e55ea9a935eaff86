"""What the index holds: its outlets and languages, and filter values matched against them.

Filters on keyword fields are exact, so ``--source 'northern herald'`` used to find
nothing and say nothing. Instead a filter value is matched, ignoring case and spacing,
against the values the index really holds (a terms aggregation), and a value that
matches none is an error that lists the closest ones, never an empty result.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

from newsflow import stored_fields
from newsflow.errors import InputError
from newsflow.es_client import aggregation, buckets, doc_count, metric, search_alias
from newsflow.jsontypes import JsonObject

if TYPE_CHECKING:
    from elasticsearch import Elasticsearch

MAX_VALUES = 10_000  # outlets or languages listed; far above any registry we run
CLOSE_MATCHES = 5


@dataclass(frozen=True, slots=True)
class SourceInfo:
    """One outlet as the index knows it."""

    source: str
    reports: int
    stories: int
    languages: tuple[str, ...]
    first_published: str | None
    last_published: str | None

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["languages"] = list(self.languages)
        return data


def _fold(value: str) -> str:
    return " ".join(value.casefold().split())


def known_values(client: Elasticsearch, alias: str, field: str) -> dict[str, int]:
    """Every value of a keyword field with its report count."""
    terms: JsonObject = {"terms": {"field": field, "size": MAX_VALUES}}
    answer = search_alias(client, alias, "reading the values held", size=0, aggs={"values": terms})
    return {str(b["key"]): doc_count(b) for b in buckets(aggregation(answer, "values"))}


def list_sources(client: Elasticsearch, alias: str) -> tuple[SourceInfo, ...]:
    """Outlets with their report and story counts, languages and date range, most reports first."""
    aggs: JsonObject = {
        "sources": {
            "terms": {
                "field": "source",
                "size": MAX_VALUES,
                "order": [{"_count": "desc"}, {"_key": "asc"}],
            },
            "aggs": {
                "stories": {"cardinality": {"field": "story_id"}},
                "languages": {"terms": {"field": "language", "size": 20}},
                "first": {"min": {"field": "published"}},
                "last": {"max": {"field": "published"}},
            },
        }
    }
    answer = search_alias(client, alias, "reading the values held", size=0, aggs=aggs)
    return tuple(
        SourceInfo(
            source=str(b["key"]),
            reports=doc_count(b),
            stories=stored_fields.whole(metric(b, "stories")) or 0,
            languages=tuple(str(x["key"]) for x in buckets(b.get("languages"))),
            first_published=stored_fields.string(metric(b, "first", "value_as_string")),
            last_published=stored_fields.string(metric(b, "last", "value_as_string")),
        )
        for b in buckets(aggregation(answer, "sources"))
    )


def resolve_values(wanted: Sequence[str], known: Mapping[str, int], *, what: str, listing: str) -> list[str]:
    """The stored values each wanted value names (case and spacing ignored).

    Raises ``InputError`` naming the closest stored values for any value that names none;
    ``listing`` tells the reader how to see them all.
    """
    by_fold: dict[str, list[str]] = {}
    for value in known:
        by_fold.setdefault(_fold(value), []).append(value)
    resolved: list[str] = []
    problems: list[str] = []
    for value in wanted:
        matches = by_fold.get(_fold(value))
        if matches:
            resolved.extend(m for m in matches if m not in resolved)
            continue
        close = difflib.get_close_matches(_fold(value), list(by_fold), n=CLOSE_MATCHES, cutoff=0.5)
        names = [by_fold[c][0] for c in close]
        hint = f"closest: {', '.join(repr(n) for n in names)}" if names else "nothing close"
        problems.append(f"no {what} {value!r} in the index ({hint})")
    if problems:
        raise InputError("; ".join(problems) + f"; {listing}")
    return resolved
