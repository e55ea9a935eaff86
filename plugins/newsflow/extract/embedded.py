"""Article text a page ships inside its scripts rather than its markup.

Client-rendered pages (Next.js, React Query and similar hydration) send an empty shell
and the story as an HTML string inside a ``<script>``; some publishers also declare the
text as JSON-LD ``articleBody``, which trafilatura's own fallback already reads. For the
first kind trafilatura finds nothing, and the article would be rejected as ``not_article``
and fall back to its feed summary. Only then (``body.extract_body``) is the shipped HTML
read: it is returned as a small HTML document for trafilatura to clean like any page, so
captions and ad slots in it go the usual way.

The pages are untrusted: only string literals that hold paragraph markup are decoded,
and a page's scripts are read up to a bounded size.
"""

from __future__ import annotations

import json
import logging
import re
from typing import Any

from lxml import etree
from lxml import html as lxml_html

logger = logging.getLogger(__name__)

# A JSON string literal long enough to hold a story (escapes kept whole, so a \" never ends it).
_LITERAL = re.compile(r'"((?:[^"\\]|\\.){200,})"', re.S)
_PARAGRAPH = re.compile(r"<p[\s>]|\\u003cp[\s>]", re.I)
_MIN_PARAGRAPHS = 2
_MAX_SCRIPT_CHARS = 4_000_000  # all inline scripts together; a page's own data is far smaller


def embedded_document(tree: Any) -> str | None:
    """An HTML document holding the article as the page's scripts ship it, if they do."""
    fragment = _hydration_html(tree)
    return None if fragment is None else f"<html><body><article>{fragment}</article></body></html>"


def _hydration_html(tree: Any) -> str | None:
    """The decoded string literal, in the page's inline scripts, with the most text in ``<p>``."""
    best: tuple[int, str] | None = None
    budget = _MAX_SCRIPT_CHARS
    for script in tree.iter("script"):
        if script.get("src") or "ld+json" in (script.get("type") or ""):
            continue
        code = script.text or ""
        if budget <= 0:
            break
        code, budget = code[:budget], budget - len(code)
        if len(_PARAGRAPH.findall(code)) < _MIN_PARAGRAPHS:
            continue
        for match in _LITERAL.finditer(code):
            raw = match.group(1)
            if len(_PARAGRAPH.findall(raw)) < _MIN_PARAGRAPHS:
                continue
            try:
                value = json.loads(f'"{raw}"')
            except ValueError:  # a JavaScript string that is not valid JSON: not ours to guess at
                continue
            chars = _paragraph_chars(value)
            if chars and (best is None or chars > best[0]):
                best = (chars, value)
    if best is not None:
        logger.debug("page ships its text in a script: %d characters in paragraphs", best[0])
    return None if best is None else best[1]


def _paragraph_chars(fragment: str) -> int:
    try:
        root = lxml_html.fragment_fromstring(fragment, create_parent="div")
    except (etree.ParserError, ValueError):
        return 0
    return sum(len("".join(p.itertext()).strip()) for p in root.iter("p"))
