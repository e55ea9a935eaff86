"""One normal form for every piece of text a record stores.

Pages escape text twice (a JSON-LD headline holding ``&#039;``, a meta tag holding
``&amp;quot;``), pad it with runs of spaces, tabs and no-break spaces, and mix NFC
with NFD. Search, stories and readers all compare these strings, so each stored
string goes through here: named and numeric entities decoded (only complete ones,
``&name;`` / ``&#39;``, so ``R&D`` or ``Smith&notes`` stay as written), whitespace
collapsed, Unicode NFC.
"""

from __future__ import annotations

import html
import re
import unicodedata

_ENTITY = re.compile(r"&(?:#[0-9]{1,7}|#[xX][0-9a-fA-F]{1,6}|[A-Za-z][A-Za-z0-9]{1,31});")
_SPACE = re.compile(r"\s+")
_MAX_ROUNDS = 3  # "&amp;amp;#039;" needs three; more is never seen and would loop on garbage


def decode_entities(text: str) -> str:
    """Complete HTML entities decoded, repeatedly for double-escaped text."""
    for _ in range(_MAX_ROUNDS):
        if "&" not in text:
            break
        decoded = _ENTITY.sub(lambda m: html.unescape(m.group(0)), text)
        if decoded == text:
            break
        text = decoded
    return text


def clean_text(value: object) -> str | None:
    """A one-line string in normal form, or None for non-strings and blank strings."""
    if not isinstance(value, str):
        return None
    text = _SPACE.sub(" ", decode_entities(value)).strip()
    return unicodedata.normalize("NFC", text) if text else None


def clean_lines(text: str) -> str:
    """Multi-line text (a body) in normal form: each line cleaned, blank lines dropped."""
    return "\n".join(line for raw in text.splitlines() if (line := clean_text(raw)))
