"""Untrusted text (titles, URLs, outlet names) made safe to print with Rich.

Feeds and pages are written by strangers: a title can carry Rich markup (``[link=...]``),
terminal escape sequences, or bidirectional overrides that make a line read differently
from what it contains. Everything the CLI prints from the index goes through ``safe``.
"""

from __future__ import annotations

import re

from rich.markup import escape

# C0/C1 controls (ESC starts terminal sequences) and the bidirectional embedding/override/
# isolate marks (U+202A-U+202E, U+2066-U+2069) that can reorder what a reader sees.
_CONTROLS = re.compile("[\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
_SPACES = re.compile(r"\s+")


def safe(text: str) -> str:
    """``text`` on one line, without control characters, with Rich markup escaped."""
    cleaned = _CONTROLS.sub(lambda m: " " if m.group() in "\t\n\r" else "", text)
    return escape(_SPACES.sub(" ", cleaned).strip())
