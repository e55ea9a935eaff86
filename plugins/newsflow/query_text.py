"""The query language analysts type, for search and for story alerts alike.

Elasticsearch's ``simple_query_string`` never fails on bad syntax, which is what a
command line and a stored alert need, but it spells AND/OR/NOT as ``+``/``|``/``-``
and, with the default OR, reads ``Kherson -Bakhmut`` as "Kherson, or anything without
Bakhmut". ``to_simple_query`` accepts the words people write and makes an exclusion
always an AND NOT:

- ``Kherson counteroffensive``: either word, best matches first;
- ``Kherson AND cycle`` (or ``+``): both; ``Bakhmut OR Kherson`` (or ``|``): either;
- ``Kherson NOT Bakhmut`` (or ``-Bakhmut``): without the second;
- ``"run home or die"``: the phrase; ``Kher*``: a prefix; ``( )`` group.

Only upper-case AND/OR/NOT are operators; ``and``/``or`` stay ordinary words.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from newsflow.errors import InputError
from newsflow.jsontypes import JsonObject

TEXT_FIELDS = ("title^3", "text", "description")
_TOKEN = re.compile(r'"[^"]*"(?:~\d+)?|\(|\)|\+|\||[^\s()+|"]+|"')
_OPERATORS = {"AND": "+", "OR": "|"}
_OPEN, _CLOSE = "(", ")"
MAX_QUERY_CHARS = 2000


def to_simple_query(query: str) -> str:
    """The ``simple_query_string`` spelling of ``query`` (see the module docstring)."""
    if not query.strip():
        raise InputError("the query is empty; pass the words to search for")
    if len(query) > MAX_QUERY_CHARS:
        raise InputError(f"the query has {len(query)} characters; keep it under {MAX_QUERY_CHARS}")
    tokens = [t for t in _TOKEN.findall(query) if t != '"']  # an unbalanced quote is dropped
    simple = _render(_parse(iter(tokens), nested=False))
    if not simple.strip("-"):
        raise InputError(f"the query {query!r} has operators but no words to search for")
    return simple


# A parsed level: operators ("+", "|") and units (a word, a phrase or a rendered group),
# each unit with whether it is excluded.
_Item = tuple[str, bool]


def _parse(tokens: Iterator[str], *, nested: bool) -> list[_Item]:
    items: list[_Item] = []
    negate = False
    for token in tokens:
        if token == _CLOSE:
            if nested:
                break
            continue  # a stray closing parenthesis

        if token in _OPERATORS or token in {"+", "|"}:
            items.append((_OPERATORS.get(token, token), False))
            continue
        if token in {"NOT", "-"}:
            negate = True
            continue
        if token == _OPEN:
            inner = _render(_parse(tokens, nested=True))
            if not inner:
                continue
            unit = f"({inner})"
        elif token.startswith("-") and len(token) > 1:
            unit, negate = token[1:], True
        else:
            unit = token
        items.append((unit, negate))
        negate = False
    return items


def _render(items: list[_Item]) -> str:
    """Operators and units in order, then every exclusion as a trailing ``+ -unit``.

    ``simple_query_string`` applies operators left to right, so an exclusion at the end
    narrows everything before it, whatever the analyst's word order.
    """
    kept: list[str] = []
    excluded: list[str] = []
    for unit, negated in items:
        if negated:
            excluded.append(unit)
            if kept and kept[-1] in {"+", "|"}:
                kept.pop()  # the operator that joined the exclusion goes with it
        elif unit in {"+", "|"} and (not kept or kept[-1] in {"+", "|"}):
            continue  # a leading or doubled operator
        else:
            kept.append(unit)
    while kept and kept[-1] in {"+", "|"}:
        kept.pop()
    parts = kept + [f"+ -{unit}" if kept or i else f"-{unit}" for i, unit in enumerate(excluded)]
    return " ".join(parts)


def is_plain(query: str) -> bool:
    """True when ``query`` is words only (no operator, quote, group, exclusion or wildcard), so a
    phrase boost can rank the reports that use the words together first."""
    tokens = _TOKEN.findall(query)
    special = {"AND", "OR", "NOT", "+", "|", "(", ")", '"'}
    return all(t not in special and t[0] not in '-"' and not re.search(r"[*~]", t) for t in tokens)


def text_query(query: str, fields: tuple[str, ...] = TEXT_FIELDS) -> JsonObject:
    """The clause that matches ``query`` in titles, bodies and descriptions."""
    return {
        "simple_query_string": {
            "query": to_simple_query(query),
            "fields": list(fields),
            "default_operator": "or",
            "analyze_wildcard": True,
            "lenient": True,
        }
    }
