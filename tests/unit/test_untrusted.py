"""Untrusted text printed through Rich: markup shown, control sequences made visible."""

from __future__ import annotations

import io
import json

import pytest
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


def test_every_json_output_escapes_what_a_terminal_obeys_and_masks_credentials(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """``--json`` prints what the index holds: a title with a one-byte CSI or a bidi override,
    an article URL or a run's failure quoting a password. The JSON reads back the same but
    for the credentials, and shows nothing a terminal would obey."""
    from newsflow.cli.untrusted import print_json

    value = {"title": "Bidi \u202eevil \u009b31m", "url": "https://user:hunter2@evil.example/b?token=SEKRET1"}
    print_json(value)
    out = capsys.readouterr().out
    assert "\u202e" not in out and "\u009b" not in out
    assert "hunter2" not in out and "SEKRET1" not in out
    assert json.loads(out)["title"] == value["title"]


def test_a_run_records_reasons_are_masked_as_read() -> None:
    from newsflow.run_history import RunSummary

    record = RunSummary.from_source(
        {"run_id": "r", "status_reasons": ["GET https://u:hunter2@x.example/ failed"]}
    )
    assert record.status_reasons == ("GET https://u:***@x.example/ failed",)


def test_rollover_conditions_are_checked_as_elasticsearch_reads_them() -> None:
    from newsflow.errors import ConfigError
    from newsflow.index.generations import RolloverConditions

    for bad in ({"max_primary_shard_size": "garbage"}, {"max_age": "a week"}):
        with pytest.raises(ConfigError):
            RolloverConditions(**bad)  # type: ignore[arg-type]  # deliberately invalid values
    RolloverConditions(max_primary_shard_size="500MB", max_age="12h")
