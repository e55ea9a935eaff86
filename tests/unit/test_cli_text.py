"""What the CLI prints from the index is made safe; dates, delays and filters read as meant."""

from __future__ import annotations

import logging

import pytest
from rich.console import Console

from newsflow.cli.untrusted import VisibleControlsFilter, safe
from newsflow.errors import InputError
from newsflow.facets import resolve_values


def _render(markup: str) -> str:
    console = Console(width=200, color_system=None, record=True)
    console.print(markup, end="")
    return console.export_text()


@pytest.mark.parametrize(
    ("raw", "shown"),
    [
        ("[link=https://evil.example]click[/link]", "[link=https://evil.example]click[/link]"),
        ("[bold red]Breaking[/]", "[bold red]Breaking[/]"),
        # Control characters and bidi overrides are shown as escapes, never obeyed.
        ("Kherson\x1b[2J\x1b]8;;https://x\x07 report", "Kherson\\x1b[2J\\x1b]8;;https://x\\x07 report"),
        ("line one\nline two\ttab", "line one line two tab"),
        ("abc\u202edcba", "abc\\u202edcba"),
        ("a backslash before markup \\", "a backslash before markup \\"),
    ],
)
def test_untrusted_text_prints_literally(raw: str, shown: str) -> None:
    # The CLI puts its own markup after untrusted text; it must stay markup, the text stay text.
    assert _render(safe(raw) + "[dim]|[/]") == shown + "|"


def test_delay_and_when() -> None:
    from newsflow.cli.search_cmd import delay, short_id, when

    assert when("2022-08-30T07:15:00Z") == "2022-08-30 07:15"
    assert when(None) == ""
    assert delay(3 * 3600 + 50 * 60) == "+3h50m"
    assert delay(5 * 60) == "+5m"
    assert delay(-7200) == "-2h00m"
    assert delay(2 * 86400 + 3600) == "+2d1h"
    assert delay(None) == ""
    assert short_id("s-248037d8067bd6bc1b5f191806fa9149") == "s-248037d806"


def test_filter_values_ignore_case_and_spacing_and_unknown_ones_name_the_closest() -> None:
    known = {"Northern Herald": 2, "Southern Courier": 3, "BBC News": 1}
    assert resolve_values(["northern  herald", "BBC NEWS"], known, what="outlet", listing="x") == [
        "Northern Herald",
        "BBC News",
    ]
    with pytest.raises(InputError, match=r"'Nothern Herald'.*closest: 'Northern Herald'.*see sources"):
        resolve_values(["Nothern Herald"], known, what="outlet", listing="see sources")
    with pytest.raises(InputError, match="nothing close"):
        resolve_values(["zzz"], known, what="outlet", listing="see sources")


def test_log_lines_show_escapes_rather_than_obey_them() -> None:
    """A warning quoting an article id or a server's reason phrase reaches the terminal the
    CLI writes to: its escape sequences are shown, as in the CLI's own output."""
    record = logging.LogRecord(
        "x", logging.WARNING, __file__, 1, "%s: text cut", ("evil\x1b[31mred\u202e",), None
    )
    assert VisibleControlsFilter().filter(record)
    assert record.getMessage() == "evil\\x1b[31mred\\u202e: text cut"
