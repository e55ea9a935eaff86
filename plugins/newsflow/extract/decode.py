"""Bytes to text for HTML whose declared charset may be missing or wrong.

Order of trust: byte-order mark, the HTTP ``Content-Type`` charset, the
document's own ``<meta>`` declaration, then detection. A declared legacy charset
(Western single-byte, or a multi-byte one such as GB2312 or Shift_JIS) is overridden
when the bytes are valid UTF-8 with non-ASCII content: real text in a legacy encoding
is practically never valid UTF-8, while pages re-saved as UTF-8 often keep their old
label (the most common mislabelling on the web). The reverse mislabelling, a page
declared UTF-8 but written in cp1252 or Latin-1, fails to decode as UTF-8 at almost
every accented letter: it is re-detected instead of being turned into U+FFFD, unless
the page is mostly valid UTF-8 with a few broken bytes. The charset chosen and what
decided it are returned with the text (``decode_page``). Decoding never raises:
undecodable bytes become U+FFFD so a bad page costs a few characters, not the page.
"""

from __future__ import annotations

import codecs
import logging
import re
from dataclasses import dataclass
from typing import Literal

logger = logging.getLogger(__name__)

_BOMS = (
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)
_HEADER_CHARSET = re.compile(r"charset\s*=\s*[\"']?\s*([\w.:-]+)", re.I)
_META_CHARSET = re.compile(rb"<meta[^>]+charset\s*=\s*[\"']?\s*([\w.:-]+)", re.I)
_SNIFF_BYTES = 4096
# What decided a page's charset, recorded on the article (``Article.charset_source``):
# a byte-order mark, the HTTP header, the page's <meta>, bytes that are valid UTF-8
# (no label, or a legacy label UTF-8 overrides), detection where nothing was declared,
# or detection because the declared charset did not decode the bytes (a mislabelled page).
CharsetSource = Literal["bom", "http-header", "meta", "utf-8-valid", "detected", "redetected"]
_WIDE = frozenset({"utf-16", "utf-16-le", "utf-16-be", "utf-32", "utf-32-le", "utf-32-be"})
# Detection scores of equally plausible single-byte codepages tie; the web's legacy default breaks it.
_TIE = 0.02
_MISLABELLED_TIE = 0.1


def _codec(name: str | None) -> str | None:
    if not name:
        return None
    try:
        codec = codecs.lookup(name.strip().strip("\"'")).name
        b"a".decode(codec, "ignore")  # a LookupError for codecs that are not text encodings (rot13, zlib)
    except LookupError:
        logger.debug("unknown charset %r ignored", name)
        return None
    return codec


def charset_from_content_type(content_type: str | None) -> str | None:
    """The codec named by an HTTP ``Content-Type`` header value, if any and known."""
    if not content_type:
        return None
    match = _HEADER_CHARSET.search(content_type)
    return _codec(match.group(1)) if match else None


def declared_charset(data: bytes) -> str | None:
    """The codec the document declares in a ``<meta>`` tag near its start, if known."""
    match = _META_CHARSET.search(data[:_SNIFF_BYTES])
    return _codec(match.group(1).decode("ascii", "ignore")) if match else None


def _is_utf8_with_non_ascii(data: bytes) -> bool:
    if data.isascii():
        return False
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


@dataclass(frozen=True, slots=True)
class DecodedPage:
    """A page's text, the charset it was read in, and what decided that charset."""

    text: str
    charset: str
    source: CharsetSource


def _mostly_utf8(data: bytes) -> bool:
    """True for UTF-8 text with a few broken sequences (a cut or a pasted byte): keep it UTF-8.

    A page really in a single-byte charset fails at nearly every non-ASCII byte, so its
    broken sequences outnumber the valid multi-byte characters.
    """
    text = data.decode("utf-8", errors="replace")
    broken = text.count("\ufffd")
    valid = sum(1 for c in text if c > "\x7f") - broken
    return valid > broken


def decode_page(data: bytes, content_type: str | None = None) -> DecodedPage:
    """Decode an HTML response body; ``content_type`` is the HTTP header value if known."""
    for bom, name in _BOMS:
        if data.startswith(bom):
            return DecodedPage(data.decode(name, errors="replace"), name, "bom")
    header = charset_from_content_type(content_type)
    declared = header or declared_charset(data)
    if declared in _WIDE and b"\x00" not in data[:200]:
        declared = None  # an ASCII-compatible document cannot really be UTF-16: the label is wrong
    if declared is None:
        return _undeclared(data)
    if declared != "utf-8" and declared not in _WIDE and _is_utf8_with_non_ascii(data):
        return DecodedPage(data.decode("utf-8"), "utf-8", "utf-8-valid")
    source: CharsetSource = "http-header" if header else "meta"
    try:
        return DecodedPage(data.decode(declared), declared, source)
    except UnicodeDecodeError:
        keep = declared == "utf-8" and _mostly_utf8(data)
    if keep:
        return DecodedPage(data.decode("utf-8", errors="replace"), "utf-8", source)
    detected = _detect(data, mislabelled_utf8=declared == "utf-8")
    logger.info("declared charset %s (%s) does not fit the bytes; detected %s", declared, source, detected)
    return DecodedPage(data.decode(detected, errors="replace"), detected, "redetected")


def _undeclared(data: bytes) -> DecodedPage:
    try:
        return DecodedPage(data.decode("utf-8"), "utf-8", "utf-8-valid")
    except UnicodeDecodeError:
        detected = _detect(data)
        return DecodedPage(data.decode(detected, errors="replace"), detected, "detected")


def decode_html(data: bytes, content_type: str | None = None) -> str:
    """``decode_page``'s text alone."""
    return decode_page(data, content_type).text


def _detect(data: bytes, *, mislabelled_utf8: bool = False) -> str:
    """charset_normalizer's pick, preferring windows-1252 among equally good single-byte guesses.

    ``mislabelled_utf8``: the page said UTF-8 and is not. Such pages were nearly always
    written by a Western editor (cp1252/Latin-1), and on a short page the language
    coherence of single-byte candidates is noisy (Baltic cp775 can beat cp1252 on
    "Münchner Tag" by 0.04), so cp1252 wins ties of chaos within a wider coherence margin.
    """
    from charset_normalizer import from_bytes

    matches = list(from_bytes(data[:200_000]))
    if not matches:
        return "cp1252"
    best = matches[0]
    for match in matches:
        if (
            _codec(match.encoding) == "cp1252"
            and match.chaos <= best.chaos + _TIE
            and match.coherence >= best.coherence - (_MISLABELLED_TIE if mislabelled_utf8 else _TIE)
        ):
            return "cp1252"
    chosen = _codec(best.encoding) or "cp1252"
    if mislabelled_utf8 and chosen != "cp1252":
        # charset_normalizer lists one of several codecs that read these bytes the same way
        # (cp1250 for German); the same letters in cp1252 are the likelier truth.
        try:
            if data.decode("cp1252") == data.decode(chosen):
                return "cp1252"
        except (UnicodeDecodeError, LookupError):
            pass
    return chosen
