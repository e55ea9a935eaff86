"""Bytes to text for HTML whose declared charset may be missing or wrong.

Order of trust: byte-order mark, the HTTP ``Content-Type`` charset, the
document's own ``<meta>`` declaration, then detection. A declared legacy charset
(Western single-byte, or a multi-byte one such as GB2312 or Shift_JIS) is overridden
when the bytes are valid UTF-8 with non-ASCII content: real text in a legacy encoding
is practically never valid UTF-8, while pages re-saved as UTF-8 often keep their old
label (the most common mislabelling on the web). Decoding never raises:
undecodable bytes become U+FFFD so a bad page costs a few characters, not the page.
"""

from __future__ import annotations

import codecs
import logging
import re

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
_WIDE = frozenset({"utf-16", "utf-16-le", "utf-16-be", "utf-32", "utf-32-le", "utf-32-be"})
# Detection scores of equally plausible single-byte codepages tie; the web's legacy default breaks it.
_TIE = 0.02


def _codec(name: str | None) -> str | None:
    if not name:
        return None
    try:
        return codecs.lookup(name.strip().strip("\"'")).name
    except LookupError:
        logger.debug("unknown charset %r ignored", name)
        return None


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


def decode_html(data: bytes, content_type: str | None = None) -> str:
    """Decode an HTML response body; ``content_type`` is the HTTP header value if known."""
    for bom, name in _BOMS:
        if data.startswith(bom):
            return data.decode(name, errors="replace")
    declared = charset_from_content_type(content_type) or declared_charset(data)
    if declared in _WIDE and b"\x00" not in data[:200]:
        declared = None  # an ASCII-compatible document cannot really be UTF-16: the label is wrong
    if declared is not None:
        if declared != "utf-8" and declared not in _WIDE and _is_utf8_with_non_ascii(data):
            return data.decode("utf-8")
        return data.decode(declared, errors="replace")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass

    return data.decode(_detect(data), errors="replace")


def _detect(data: bytes) -> str:
    """charset_normalizer's pick, preferring windows-1252 among equally good single-byte guesses."""
    from charset_normalizer import from_bytes

    matches = list(from_bytes(data[:200_000]))
    if not matches:
        return "cp1252"
    best = matches[0]
    for match in matches:
        if (
            _codec(match.encoding) == "cp1252"
            and match.chaos <= best.chaos + _TIE
            and match.coherence >= best.coherence - _TIE
        ):
            return "cp1252"
    return _codec(best.encoding) or "cp1252"
