"""Who wrote the article: the names the markup gives, else the page's visible byline.

JSON-LD's ``author`` (or ``creator``) comes first, then the author meta tags. Either may hold
several bylines in one string, a "By" in front, or an address instead of a name, so every
value is cut into clean names here (``split_authors``). When the markup names nobody, or only
addresses, the byline the page prints is read as trafilatura finds it (``byline``).
"""

from __future__ import annotations

import re
from typing import Any

from newsflow.extract.textnorm import clean_text

# "By", and the same word in other bylines ("Von", "Par", "Por", "Av", "Door", "Autor", and
# "Text", "Текст": "text by"), before a name; but for "by", only before a capital, so "von der
# Leyen" keeps its "von".
_BY_PREFIX = re.compile(
    r"^\s*(by|von|par|por|av|door|autor|autorin|author|автор|text|texto|tekst|текст)\b:?\s+", re.I
)
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.\w+")
# Two bylines in one field are joined by a comma, "&", ";" or the word for "and" in the
# page's language: "Felix Schröder und Jörg Soldwisch", "Trine Jørgensen og Tôrtia Reimer".
# Only words that never sit inside a name: Spanish "y" and Italian "e" join double surnames
# ("Ortega y Gasset"), and "en" is also Spanish and French for "in" ("Redacción en Madrid").
_AUTHOR_SPLIT = re.compile(r"\s*(?:,|&|;|\b(?:and|und|og|och|et|ve|oraz|és|и)\b)\s*", re.I)
# An author's initials after the name, as German-language papers sign: "Elena Oberholzer (obe)".
_SHORTHAND = re.compile(r"\s*\([a-zäöüß.]{2,6}\)$")
_BYLINE_TAIL = re.compile(
    r"(?:\s+(?:published|updated|posted|monday|tuesday|wednesday|thursday|friday|saturday|sunday|january"
    r"|february|march|april|may|june|july|august|september|october|november|december))+\s*$",
    re.I,
)
_COMMENTER = re.compile(r"\bcommented\b", re.I)


def authors_of(marked: list[str], meta: list[str], tree: Any) -> tuple[str, ...]:
    """Authors from JSON-LD (``marked``), else the meta tags, else the visible byline of ``tree``."""
    authors = split_authors(marked) or split_authors(meta)
    if not authors or all(_EMAIL.fullmatch(a) for a in authors):
        authors = byline(tree) or authors
    return authors


def _without_by(text: str) -> str:
    found = _BY_PREFIX.match(text)
    if found and (found.group(1).lower() == "by" or text[found.end() : found.end() + 1].isupper()):
        return text[found.end() :]
    return text


def split_authors(raw: list[str]) -> tuple[str, ...]:
    """Each name in ``raw`` once (case aside), without a "By" or initials; links and long text skipped."""
    seen: dict[str, None] = {}
    for item in raw:
        text = clean_text(item)
        if not text or text.startswith(("http://", "https://")) or len(text) > 100:
            continue
        text = _without_by(text)
        for part in _AUTHOR_SPLIT.split(text):
            name = _SHORTHAND.sub("", part.strip())
            if name and name.lower() not in {n.lower() for n in seen}:
                seen[name] = None
    return tuple(seen)


def byline(tree: Any) -> tuple[str, ...]:
    """The authors the page's visible byline names, as trafilatura finds it (its author XPaths).

    Asked only when the markup names no author, or only an address
    (``d.kuckelkorn@boersen-zeitung.de``): 15 of fundus_ml's 179 pages and 66 of AEB's 181.
    On fundus_ml it gave the checked authors on six of them and lost none
    (``bench/eval_extract.py``, 2026-12-07); on AEB it costs 2.8 ms a page on average, as
    trafilatura reads a copy of the whole tree.
    """
    from trafilatura.metadata import extract_author

    found = extract_author(tree)  # works on a copy of the tree
    if not found:
        return ()
    # A byline's text runs on into what the page prints beside it: "Jeff Foust Monday",
    # "Detroit News wire services Published"; and a comment's "Colin Rust commented on" reads
    # as one (seen on AEB's pages).
    names = (_BYLINE_TAIL.sub("", name) for name in found.split(";") if not _COMMENTER.search(name))
    return split_authors([name for name in names if name])
