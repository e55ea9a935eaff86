"""Quotations as story evidence.

Different outlets reporting one event quote the same speakers, often with different
punctuation and cut at different points, so a quote is keyed by the hashes of its
4-word shingles rather than by its whole text.
"""

from __future__ import annotations

import re

from newsflow.dedup.text import short_hash, tokens

# Every quotation is matched, short ones too, so opening and closing marks stay paired; a
# quotation ends at its closing mark or at the end of its line (a multi-paragraph quote
# reopens on the next line without closing the previous one).
_QUOTE_RE = re.compile(r"[\"“”«»„]([^\"“”«»„\n]{1,600})(?:[\"“”«»„]|$)", re.MULTILINE)
QUOTE_SHINGLE = 4


def quote_keys(text: str, limit: int) -> tuple[str, ...]:
    """Sorted hashes of the 4-word shingles inside quotation marks (at most ``limit``)."""
    keys: set[str] = set()
    for match in _QUOTE_RE.finditer(text):
        words = tokens(match.group(1))
        for i in range(len(words) - QUOTE_SHINGLE + 1):
            keys.add(short_hash(" ".join(words[i : i + QUOTE_SHINGLE])))
    return tuple(sorted(keys)[:limit])
