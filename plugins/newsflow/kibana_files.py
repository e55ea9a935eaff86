"""Kibana saved objects as files (NDJSON): read, and checked for the shape the checks read.

A file given to ``newsflow kibana check --file`` or ``import`` is the user's, edited by hand or
exported from another Kibana. The checks in ``kibana`` walk its objects' attributes, some of
them JSON inside strings; an object of another shape is refused here, by file and line, so no
check meets a number where it expects a list.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from newsflow.errors import InputError
from newsflow.inputfiles import read_small
from newsflow.jsontypes import JsonObject, JsonValue, as_object, parse


def load_saved_objects(path: Path) -> list[JsonObject]:
    """The saved objects of an NDJSON file, each checked for the shape the checks and Kibana
    read (``_shape_problems``); an ``InputError`` naming the file and line of the first that is not."""
    try:
        text = read_small(path, MAX_SAVED_OBJECTS_BYTES).decode("utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"{path}: cannot be read as UTF-8 saved objects ({exc})") from None
    objects: list[JsonObject] = []
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            obj = parse(line)
        except (ValueError, RecursionError) as exc:
            raise InputError(f"{path}:{number} is not valid JSON ({exc}); fix that line") from None
        problem = next(_shape_problems(obj), None)
        if problem:
            raise InputError(f"{path}:{number} is not a saved object newsflow can check: {problem}")
        objects.append(as_object(obj))  # an object: _shape_problems found none to refuse
    return objects


MAX_SAVED_OBJECTS_BYTES = 64 << 20


def _shape_problems(obj: JsonValue) -> Iterator[str]:
    """What in ``obj`` is not where or what a saved object has it (the first thing found)."""
    if not isinstance(obj, dict) or not {"id", "type", "attributes"} <= obj.keys():
        yield "needs id, type and attributes"
        return
    attrs, references = obj["attributes"], obj.get("references", [])
    if not isinstance(obj["id"], str) or not obj["id"] or not isinstance(obj["type"], str):
        yield "id and type are non-empty strings"
    elif not isinstance(attrs, dict):
        yield "attributes is an object"
    elif not isinstance(references, list) or not all(
        isinstance(r, dict) and all(isinstance(r.get(k, ""), str) for k in ("id", "type", "name"))
        for r in references
    ):
        yield "references is a list of objects with string id, type and name"
    else:
        yield from _embedded_problems(attrs)
        sort = attrs.get("sort", [])
        if not isinstance(attrs.get("columns", []), list) or not isinstance(sort, list):
            yield "columns and sort are lists"
        elif not all(isinstance(s, list) for s in sort) or not isinstance(attrs.get("title", ""), str):
            yield "sort lists [field, order] pairs and title is a string"


def _embedded_problems(attrs: JsonObject) -> Iterator[str]:
    """Kibana keeps some attributes as JSON inside a string: each must parse to what it holds."""
    meta = attrs.get("kibanaSavedObjectMeta", {})
    for key, holder, kind in (
        ("visState", attrs, dict),
        ("panelsJSON", attrs, list),
        ("searchSourceJSON", meta if isinstance(meta, dict) else {}, dict),
    ):
        if key not in holder:
            continue
        try:
            value = embedded(holder, key)
        except (ValueError, RecursionError):
            yield f"{key} is not valid JSON"
            return
        if not isinstance(value, kind):
            yield f"{key} holds a JSON {kind.__name__}"
            return
        aggs = value.get("aggs", []) if isinstance(value, dict) and key == "visState" else []
        items: JsonValue = value if isinstance(value, list) else aggs
        if not isinstance(items, list) or not all(
            isinstance(i, dict) and isinstance(i.get("params", {}), dict) for i in items
        ):
            yield f"{key} lists objects"


def embedded(attrs: JsonObject, key: str) -> JsonValue:
    """An attribute Kibana keeps as JSON inside a string, parsed ({} when absent or empty)."""
    raw = attrs.get(key)
    if not isinstance(raw, str) or not raw:
        return {}
    return parse(raw)
