"""Text from outside (feeds, pages, URLs, paths, servers' errors) made safe to print.

Rich reads ``[...]`` as markup, so a URL or a file name holding ``[/y]`` raises
``MarkupError`` instead of being shown, and a terminal obeys escape sequences, so a
feed title holding ``ESC ]`` can retitle the window, hide text or fake output. Every
command prints such text through ``escape_untrusted``: control characters, bidi
overrides and lone surrogates are shown as visible ``\\x1b``-style escapes, and the
rest is escaped for Rich markup.
"""

from __future__ import annotations

import json
import logging
import re
import sys

from rich.markup import escape

from newsflow.redact import redact_text
from newsflow.textsafe import TERMINAL_CONTROLS

# What a terminal obeys (``textsafe.TERMINAL_CONTROLS``), and lone surrogates (the console
# cannot encode them and would raise).
_UNSAFE = re.compile(f"[{TERMINAL_CONTROLS}\ud800-\udfff]")
# Line breaks of every kind (CR would return to the start of the line and overwrite it).
_BREAKS = re.compile(r"[\t\n\r\x0b\x0c\x85\u2028\u2029]+")


def _visible(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def plain_untrusted(value: object, *, one_line: bool = False) -> str:
    """``value`` with control characters shown as escapes, for output that is not Rich markup.

    ``one_line`` first turns every run of line breaks and tabs into one space, for table
    cells and titles, where a line break in a feed title could fake another line of output.
    """
    text = str(value)
    if one_line:
        text = _BREAKS.sub(" ", text)
    return _UNSAFE.sub(_visible, text)


def print_json(value: object, *, indent: int | None = 2) -> None:
    """``value`` as JSON on stdout, as every ``--json`` prints it: what a terminal obeys, and
    lone surrogates, written as JSON escapes (the same data when read back), and credentials in
    the URLs it quotes masked (``redact_text``)."""
    text = redact_text(json.dumps(value, indent=indent, ensure_ascii=False, default=str))
    sys.stdout.write(_UNSAFE.sub(lambda match: f"\\u{ord(match.group()):04x}", text) + "\n")


def escape_untrusted(value: object, *, one_line: bool = False) -> str:
    """``value`` ready to embed in Rich markup: escapes shown, brackets not read as tags."""
    return escape(plain_untrusted(value, one_line=one_line))


def safe(value: object) -> str:
    """One line of untrusted text for a table cell or a title (``escape_untrusted``, one line)."""
    return escape_untrusted(value, one_line=True)


class VisibleControlsFilter(logging.Filter):
    """Log lines quote what they are about (an article id, a server's reason phrase, a path):
    the CLI's logs reach the same terminal as its output, so escapes are made visible there too."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        shown = plain_untrusted(message)
        if shown != message:
            record.msg, record.args = shown, None
        if record.exc_text:
            record.exc_text = plain_untrusted(record.exc_text)
        return True
