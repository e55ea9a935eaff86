"""Untrusted text printed through Rich: markup shown, control sequences made visible."""

from __future__ import annotations

import io

from rich.console import Console
from rich.table import Table

from newsflow.cli.untrusted import escape_untrusted, plain_untrusted


def _render(markup: str) -> str:
    out = io.StringIO()
    Console(file=out, force_terminal=True, width=200, color_system=None).print(markup, highlight=False)
    return out.getvalue()


def test_markup_is_shown_literally() -> None:
    for text in ("http://x/[/y]", "[bold]not bold[/bold]", "[link=http://evil]x[/link]"):
        assert _render(escape_untrusted(text)).rstrip("\n") == text
    # a trailing backslash is doubled so it cannot escape markup that follows it
    assert _render(f"[red]{escape_untrusted('dir' + chr(92))}[/red]").startswith("dir" + chr(92))


def test_control_sequences_become_visible() -> None:
    hostile = "Red \x1b[31malert\x1b]0;pwned\x07 \x9b2J \u202eevil \ud800 tab\there\nline"
    shown = plain_untrusted(hostile)
    assert "\x1b" not in shown and "\x9b" not in shown and "\u202e" not in shown and "\ud800" not in shown
    assert "\\x1b[31m" in shown and "\\x9b" in shown and "\\u202e" in shown and "\\ud800" in shown
    assert "\t" in shown and "\n" in shown
    one_line = plain_untrusted(hostile + "\r\nfake: line", one_line=True)
    assert "\n" not in one_line and "\r" not in one_line and "tab here line fake: line" in one_line
    assert "\x1b" not in _render(escape_untrusted(hostile)).replace("\x1b[0m", "")


def test_table_cells_with_escaped_text_render() -> None:
    table = Table(title=escape_untrusted("feed [/y] title", one_line=True))
    table.add_column("t")
    table.add_row(escape_untrusted("[/x] \x1b[2J", one_line=True))
    out = io.StringIO()
    Console(file=out, width=120, color_system=None).print(table)
    assert "[/y]" in out.getvalue() and "\\x1b[2J" in out.getvalue()
