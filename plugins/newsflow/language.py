"""Language tags and language detection, shared by extraction, stories and search.

Pages tag themselves in many spellings (``en-gb``, ``EN_US``, ``de, en``), and many do
not tag themselves at all. Stories compare words, and search filters by language, so
every stage needs the same answer to "which language is this?": a primary subtag
(``en``) for matching, and the full tag (``en-GB``) for display.

Detection uses py3langid, whose model ships inside its wheel (nothing is downloaded at
run time). It is loaded once per process on first use (about a second).
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass
from functools import lru_cache
from typing import Protocol

# A primary subtag is 2-3 letters (ISO 639); then optional script / region / variants.
_TAG_RE = re.compile(r"^[A-Za-z]{2,3}(?:[-_][A-Za-z0-9]{1,8})*$")
DETECT_CHARS = 2000  # detection reads at most this much text: more costs time, not accuracy
MIN_DETECT_CHARS = 20  # below this a guess is mostly noise
MIN_CONFIDENCE = 0.5  # a detection below this probability is not used


@dataclass(frozen=True, slots=True)
class Detected:
    """A language found in text: primary subtag and the model's probability."""

    language: str
    confidence: float


def normalize_tag(tag: str | None) -> str | None:
    """A BCP 47-style tag with conventional case (``en-gb`` -> ``en-GB``), or None if invalid.

    Takes the first tag of a list (``"de, en"``), accepts ``_`` for ``-``.
    """
    if not tag:
        return None
    first = tag.split(",")[0].split(";")[0].strip()
    if not _TAG_RE.match(first):
        return None
    parts = first.replace("_", "-").split("-")
    out = [parts[0].lower()]
    for part in parts[1:]:
        if len(part) == 4 and part.isalpha():
            out.append(part.title())  # script: Hans, Latn
        elif len(part) in (2, 3) and (part.isalpha() or part.isdigit()):
            out.append(part.upper())  # region: GB, 419
        else:
            out.append(part.lower())
    return "-".join(out)


def primary_language(tag: str | None) -> str | None:
    """The primary subtag of a tag, lower case (``en-GB`` -> ``en``); None if invalid."""
    normal = normalize_tag(tag)
    return normal.split("-")[0] if normal else None


class _Classifier(Protocol):
    def classify(self, text: str) -> tuple[str, float]: ...


_lock = threading.Lock()


@lru_cache(maxsize=1)
def _identifier() -> _Classifier:
    from py3langid.langid import MODEL_FILE, LanguageIdentifier

    with _lock:
        identifier: _Classifier = LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)
    return identifier


def detect_language(text: str) -> Detected | None:
    """The language of ``text``, or None when the text is too short or the guess too weak."""
    sample = text[:DETECT_CHARS]
    if len(sample.strip()) < MIN_DETECT_CHARS:
        return None
    language, probability = _identifier().classify(sample)
    if probability < MIN_CONFIDENCE:
        return None
    return Detected(language=str(language), confidence=round(float(probability), 4))
