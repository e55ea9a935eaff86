"""Names, numbers and dates: what tells one event from another of the same kind.

Two rehab stories share "rehab", "treatment" and "rep"; what differs is *who*, *where*
and *how many*. Names are found with a capitalisation heuristic (no downloaded model):
runs of capitalised words, ignoring a capitalised function word that merely starts a
sentence.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter

from newsflow.dedup.text import RIGHT_QUOTE, STOPWORDS, sentences

# Upper-case letters of every script in the Basic Multilingual Plane (Müller, Łódź, Путин),
# as a character class; a name word is one of them followed by letters, "'" or "-".
_UPPER = re.escape("".join(c for c in map(chr, range(0x10000)) if c.isupper()))
_NAME_WORD = rf"[{_UPPER}](?:[^\W\d_]|['\u2019\-])+"
_CAPITAL_RUN_RE = re.compile(rf"\b{_NAME_WORD}(?:\s+{_NAME_WORD})*")
_NUMBER_RE = re.compile(r"(?<![\w.])\d[\d,]*(?:\.\d+)?(?![\w])")
_MONTH = (
    r"(?:Jan(?:uary)?|Feb(?:ruary)?|Mar(?:ch)?|Apr(?:il)?|May|June?|July?|Aug(?:ust)?|"
    r"Sep(?:t(?:ember)?)?|Oct(?:ober)?|Nov(?:ember)?|Dec(?:ember)?)\.?"
)
_DATE_RE = re.compile(
    rf"\b{_MONTH}\s+(?:\d{{1,2}}\s*,?\s*)?((?:19|20)\d\d)\b"
    rf"|\b\d{{1,2}}\s+{_MONTH}\s*,?\s*((?:19|20)\d\d)\b"
    r"|\b((?:19|20)\d\d)[-/]\d\d[-/]\d\d\b"
)
# Small counts and list numbering are everywhere; they say nothing about the event.
_TRIVIAL_NUMBERS = frozenset(str(n) for n in range(11))


def _clean(word: str) -> str:
    word = word.replace(RIGHT_QUOTE, "'").lower()
    return word.removesuffix("'s").strip("'-")


def entity_counts(text: str, stop: frozenset[str] = STOPWORDS) -> Counter[str]:
    """Counts of single-word name keys and multi-word name phrases in ``text``.

    ``stop`` holds the function words of the text's language (a capitalised one that
    starts a sentence is not a name).
    """
    counts: Counter[str] = Counter()
    # Composed, so a name sent decomposed (a letter and a combining mark) is still one word.
    for sentence in sentences(unicodedata.normalize("NFC", text)):
        for match in _CAPITAL_RUN_RE.finditer(sentence):
            words = match.group(0).split()
            if match.start() == 0:
                # Sentence-initial capitals are only names when they are not function words.
                words = [w for w in words if w.lower() not in stop]
            keys = [_clean(w) for w in words]
            keys = [k for k in keys if len(k) > 1 and k not in stop]
            counts.update(keys)
            if len(keys) > 1:
                counts[" ".join(keys)] += 1
    return counts


def number_keys(text: str) -> tuple[str, ...]:
    """Distinct non-trivial numbers, normalised (thousands separators dropped)."""
    found = {m.group(0).replace(",", "").rstrip(".") for m in _NUMBER_RE.finditer(text)}
    return tuple(sorted(n for n in found if n and n not in _TRIVIAL_NUMBERS))


def date_years(text: str) -> tuple[str, ...]:
    """Years of explicit calendar dates ("March 4, 2009", "2013-10-04"), not bare years."""
    years = {next(g for g in m.groups() if g) for m in _DATE_RE.finditer(text)}
    return tuple(sorted(years))
