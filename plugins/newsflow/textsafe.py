"""Strings that can always be encoded: lone surrogates out of parsed input.

JSON may spell a lone UTF-16 surrogate (``"\\ud800"``) and some XML parsers turn a
character reference like ``&#xD800;`` into one. Python keeps it in a ``str``, and the
first ``.encode("utf-8")`` far downstream (an archive sidecar, a hash, a file, the
console) raises, taking whatever batch it was in down with it. Parsers of untrusted
input pass their strings through here, so what they hand on is always encodable.
"""

from __future__ import annotations

import re
from typing import TypeVar, cast

from newsflow.jsontypes import JsonValue

_SURROGATE = re.compile("[\ud800-\udfff]")
REPLACEMENT = "\ufffd"
# What a terminal obeys rather than shows, as a regex character class: C0 controls but tab and
# newline, DEL, C1 controls (0x9b is a one-byte CSI), and bidi embeddings, overrides and
# isolates (they reorder what the reader sees). Text is shown with these made visible (the
# CLI) or dropped (feed health's one-line messages).
TERMINAL_CONTROLS = "\x00-\x08\x0b-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069"
J = TypeVar("J", bound=JsonValue)


def has_lone_surrogates(text: str) -> bool:
    return _SURROGATE.search(text) is not None


def clean_surrogates(text: str) -> str:
    """``text`` with every lone surrogate replaced by U+FFFD (paired ones were already joined)."""
    return _SURROGATE.sub(REPLACEMENT, text)


def without_lone_surrogates(value: J) -> tuple[J, int]:
    """A copy of parsed JSON with lone surrogates replaced in every string (keys too), and how many.

    The copy has the shape of ``value`` (a string stays a string, an object an object), so the
    caller keeps what it knew of the type and narrows the rest as before."""
    count = 0

    def clean(text: str) -> str:
        nonlocal count
        cleaned, n = _SURROGATE.subn(REPLACEMENT, text)
        count += n
        return cleaned

    def walk(node: JsonValue, depth: int) -> JsonValue:
        if isinstance(node, str):
            return clean(node)
        if depth > 1000:  # json.loads stops far earlier; never recurse without a bound
            return node
        if isinstance(node, dict):
            return {clean(k): walk(v, depth + 1) for k, v in node.items()}
        if isinstance(node, list):
            return [walk(v, depth + 1) for v in node]
        return node

    # walk keeps each node's kind (str -> str, dict -> dict, list -> list, anything else as it
    # is), so the copy is a J whenever value is.
    return cast("J", walk(value, 0)), count
