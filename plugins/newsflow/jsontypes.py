"""JSON as a type, for payloads that cross a stage boundary as documents.

Stored documents (an article's ``dedup_signals``, its edges, Elasticsearch's answers) are JSON
by nature, and the stages hand them on without owning their schema. Typing them as ``Any``
let a stored list reach a field meant for a string unchecked; typed as JSON, mypy makes the
reader narrow each value before using it. Read-only containers (``Sequence``, ``Mapping``)
keep the alias covariant, so a ``list[str]`` is a ``JsonValue`` as it stands.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import TypeAlias, cast

JsonValue: TypeAlias = "bool | int | float | str | Sequence[JsonValue] | Mapping[str, JsonValue] | None"
JsonObject: TypeAlias = Mapping[str, JsonValue]


def parse(data: str | bytes) -> JsonValue:
    """``json.loads`` as JSON: the one place its ``Any`` becomes a ``JsonValue`` (it builds only
    dicts, lists, strings, numbers, booleans and None). ``ValueError`` or ``RecursionError``
    for text that is not JSON."""
    return cast("JsonValue", json.loads(data))


def parse_answer(body: bytes) -> JsonValue:
    """A service's answer body as JSON (what an HTTP client's ``.json()`` does, typed); an empty
    body is an empty object, and None a body that is not JSON (a proxy's HTML page, a body cut
    short), for the caller to say what it expected."""
    if not body:
        return {}
    try:
        return parse(body)
    except (ValueError, RecursionError):
        return None


def as_object(value: JsonValue) -> JsonObject:
    """``value`` when it is a JSON object, else an empty one: a missing or odd part reads as absent."""
    return value if isinstance(value, Mapping) else {}


def as_list(value: JsonValue) -> Sequence[JsonValue]:
    """``value`` when it is a JSON array, else an empty one (a string is not taken as a list)."""
    return value if isinstance(value, list | tuple) else ()


def objects(value: JsonValue) -> list[JsonObject]:
    """The objects of a JSON array (hits, buckets, records); any other item, or a value that is
    no array, reads as absent."""
    return [item for item in as_list(value) if isinstance(item, Mapping)]


def array(value: JsonValue, field: str) -> Sequence[JsonValue]:
    """A JSON array that must be there; ``TypeError`` naming ``field`` otherwise (for readers
    that refuse a malformed record whole)."""
    if not isinstance(value, list | tuple):
        raise TypeError(f"{field} is {type(value).__name__}, not a list")
    return value


def integer(value: JsonValue, field: str) -> int:
    """A JSON number with no fraction (``2.0`` too), or a decimal string; ``TypeError`` or
    ``ValueError`` naming ``field`` otherwise."""
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise TypeError(f"{field} is {type(value).__name__}, not a number")
    return int(value)


def integers(value: JsonValue, field: str) -> tuple[int, ...]:
    """A JSON array of numbers; ``int`` itself refuses any other item (``None``, a list, an
    object: ``TypeError``; a word: ``ValueError``), so the items are not checked twice."""
    return tuple(map(int, cast("Sequence[int | float | str]", array(value, field))))


def strings(value: JsonValue, field: str) -> tuple[str, ...]:
    """A JSON array, each item as a string."""
    return tuple(map(str, array(value, field)))
