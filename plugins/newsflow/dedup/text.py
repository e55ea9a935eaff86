"""Tokenising and normalising shared by every signal, so they agree on what a word is.

Words are runs of letters and digits in any script, with the combining marks written on
them: Hindi's vowel signs are part of its words, and "Müller" sent decomposed (u plus a
combining diaeresis) is the same word as "Müller" sent composed (text is compared in NFC).
Chinese, Japanese, Thai, Lao, Khmer and Burmese are written without spaces between words,
so a run of those scripts is cut into overlapping character bigrams, the usual unit for
comparing such text without a dictionary. Stopwords are per language (``stopwordsiso``),
with the English list below kept for English and for text whose language is unknown.
"""

from __future__ import annotations

import hashlib
import itertools
import re
import unicodedata
from functools import lru_cache

RIGHT_QUOTE = "\u2019"  # typographic apostrophe, unified with "'"


# Combining marks of the Basic Multilingual Plane, as a character class (as ``entities``
# lists upper-case letters): ``\w`` does not match them, so without this a Hindi word broke
# at each vowel sign.
_MARKS = re.escape(
    "".join(c for c in map(chr, range(0x10000)) if unicodedata.category(c) in ("Mn", "Mc", "Me"))
)


# Marks a writer may leave out: Hebrew points and cantillation, Arabic vowel marks, and the
# tatweel that stretches Arabic words. Two outlets write "أيضاً" and "أيضا" for one word,
# so these are dropped; other scripts' marks are part of the spelling and are kept.
_OPTIONAL_MARKS_RE = re.compile(
    "[\u0591-\u05bd\u05bf\u05c1\u05c2\u05c4\u05c5\u05c7\u0610-\u061a\u0640\u064b-\u065f\u0670]"
)
_WORD = rf"[^\W_]+(?:[{_MARKS}]+[^\W_]*)*"
WORD_RE = re.compile(rf"{_WORD}(?:['\u2019]{_WORD})?")
# Han ideographs (with extension A and compatibility forms), Japanese kana, and the
# scripts of South-East Asia written without spaces: Thai, Lao, Burmese, Khmer.
_UNSPACED = "\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\u0e00-\u0eff\u1000-\u109f\u1780-\u17ff"
_UNSPACED_RE = re.compile(f"[{_UNSPACED}]")
_UNSPACED_SPLIT_RE = re.compile(f"([{_UNSPACED}]+)")
_SENTENCE_SPLIT_RE = re.compile(r"(?<=[.!?\n])\s+")

# A small English function-word list plus news boilerplate words (weekdays, "said"):
# these carry no information about which event an article reports.
STOPWORDS = frozenset(
    [
        "a",
        "about",
        "above",
        "after",
        "again",
        "against",
        "all",
        "am",
        "an",
        "and",
        "any",
        "are",
        "as",
        "at",
        "be",
        "because",
        "been",
        "before",
        "being",
        "below",
        "between",
        "both",
        "but",
        "by",
        "can",
        "could",
        "did",
        "do",
        "does",
        "doing",
        "down",
        "during",
        "each",
        "few",
        "for",
        "from",
        "further",
        "had",
        "has",
        "have",
        "having",
        "he",
        "her",
        "here",
        "hers",
        "herself",
        "him",
        "himself",
        "his",
        "how",
        "i",
        "if",
        "in",
        "into",
        "is",
        "it",
        "its",
        "itself",
        "just",
        "me",
        "more",
        "most",
        "my",
        "myself",
        "no",
        "nor",
        "not",
        "now",
        "of",
        "off",
        "on",
        "once",
        "only",
        "or",
        "other",
        "our",
        "ours",
        "ourselves",
        "out",
        "over",
        "own",
        "same",
        "she",
        "should",
        "so",
        "some",
        "such",
        "than",
        "that",
        "the",
        "their",
        "theirs",
        "them",
        "themselves",
        "then",
        "there",
        "these",
        "they",
        "this",
        "those",
        "through",
        "to",
        "too",
        "under",
        "until",
        "up",
        "very",
        "was",
        "we",
        "were",
        "what",
        "when",
        "where",
        "which",
        "while",
        "who",
        "whom",
        "why",
        "will",
        "with",
        "would",
        "you",
        "your",
        "yours",
        "yourself",
        "yourselves",
        "said",
        "says",
        "say",
        "told",
        "also",
        "new",
        "one",
        "two",
        "may",
        "might",
        "must",
        "shall",
        "us",
        "mr",
        "mrs",
        "ms",
        "per",
        "cent",
        "percent",
        "via",
        "like",
        "get",
        "got",
        "year",
        "years",
        "day",
        "days",
        "time",
        "week",
        "weeks",
        "monday",
        "tuesday",
        "wednesday",
        "thursday",
        "friday",
        "saturday",
        "sunday",
        "today",
        "yesterday",
        "tomorrow",
        "last",
        "first",
        "according",
    ]
)


def tokens(text: str) -> list[str]:
    """Lower-cased word tokens; apostrophes are unified so quotes from different outlets match.

    Text is composed first (NFC) and optional marks are dropped; runs of unspaced scripts
    become their character bigrams (see module docstring).
    """
    folded = _OPTIONAL_MARKS_RE.sub("", unicodedata.normalize("NFC", text).casefold())
    words = [w.replace(RIGHT_QUOTE, "'") for w in WORD_RE.findall(folded)]
    if not any(_UNSPACED_RE.search(w) for w in words):
        return words
    out: list[str] = []
    for word in words:
        if not _UNSPACED_RE.search(word):
            out.append(word)
            continue
        for part in _UNSPACED_SPLIT_RE.split(word):
            if not part:
                continue
            if _UNSPACED_RE.match(part) and len(part) > 1:
                out.extend(map("".join, itertools.pairwise(part)))
            else:
                out.append(part)
    return out


# Languages whose words inflect at the end (cases, agreement, suffixes) and are written
# with spaces: their content terms are compared by their first ``STEM_CHARS`` characters,
# a stemmer that needs no dictionary ("Regierung", "Regierungen" -> "regie"). English keeps
# whole words (what the model was first fitted with); Arabic and Hebrew inflect at the front.
PREFIX_STEMMED = frozenset(
    [
        "bg",
        "cs",
        "da",
        "de",
        "es",
        "et",
        "fi",
        "fr",
        "hr",
        "hu",
        "it",
        "lt",
        "lv",
        "nb",
        "nl",
        "nn",
        "no",
        "pl",
        "pt",
        "ro",
        "ru",
        "sk",
        "sl",
        "sr",
        "sv",
        "tr",
        "uk",
    ]
)
STEM_CHARS = 5


def stem(words: list[str], language: str | None) -> list[str]:
    """``words`` as compared for ``language`` (see ``PREFIX_STEMMED``)."""
    if language not in PREFIX_STEMMED:
        return words
    return [w[:STEM_CHARS] for w in words]


@lru_cache(maxsize=64)
def stopwords(language: str | None) -> frozenset[str]:
    """Function words of ``language`` (a primary subtag), plus the English list.

    English keeps the list above, which the story model was fitted with; an unknown or
    unlisted language gets the English list alone (English words are common in any news).
    """
    if not language or language == "en":
        return STOPWORDS
    import stopwordsiso

    listed = stopwordsiso.stopwords(language) if stopwordsiso.has_lang(language) else set()
    return STOPWORDS | frozenset(tokens(" ".join(listed)))


def sentences(text: str) -> list[str]:
    return [s for s in _SENTENCE_SPLIT_RE.split(text) if s]


def _digest(value: str) -> bytes:
    """64 bits of ``value`` that every process and worker agrees on (``hash`` is salted)."""
    return hashlib.blake2b(value.encode("utf-8"), digest_size=8).digest()


def short_hash(value: str) -> str:
    """A compact stable key for a phrase (quote shingles), safe to store as a keyword."""
    return _digest(value).hex()


def int_hash(value: str) -> int:
    """``short_hash`` as a signed 64-bit integer, for sorting keys in numpy arrays."""
    return int.from_bytes(_digest(value), "little", signed=True)
