"""Input files read in bounded pieces: a line or a file past its limit is named, never held whole."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from newsflow import inputfiles
from newsflow.cli import main
from newsflow.errors import InputError
from newsflow.feeds import check_registry
from newsflow.inputfiles import bounded_lines, read_small


def test_a_line_past_the_limit_is_skipped_and_the_next_keep_their_numbers() -> None:
    data = b'{"a": 1}\n' + b"x" * 50 + b"\n" + b'{"b": 2}\n' + b"y" * 7 + b"\n" + b"no break at the end"
    lines = list(bounded_lines(io.BytesIO(data), "f.jsonl", max_line=20))
    assert lines == [
        (1, b'{"a": 1}\n'),
        (2, None),
        (3, b'{"b": 2}\n'),
        (4, b"yyyyyyy\n"),
        (5, b"no break at the end"),
    ]


def test_no_line_break_within_the_skip_limit_refuses_the_file(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(inputfiles, "MAX_SKIP_BYTES", 100)
    monkeypatch.setattr(inputfiles, "CHUNK_BYTES", 16)
    with pytest.raises(InputError, match="line 2 runs past"):
        list(bounded_lines(io.BytesIO(b"ok\n" + b"z" * 1000), "f.jsonl", max_line=10))


def test_a_small_file_past_its_limit_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "feeds.yaml"
    path.write_bytes(b"x" * 101)
    with pytest.raises(InputError, match="not the small file"):
        read_small(path, 100)
    assert read_small(path, 101) == b"x" * 101


def test_commands_refuse_a_device_that_never_ends(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``/dev/zero`` has no size and no line break: each command names what is wrong, in
    bounded memory and time, instead of reading it until memory runs out."""
    monkeypatch.setattr(inputfiles, "MAX_SKIP_BYTES", 1 << 20)
    out = tmp_path / "out.jsonl"
    assert main(["cluster", "--in", "/dev/zero", "--out", str(out)]) == 2
    assert "no line break" in capsys.readouterr().err
    manifest = tmp_path / "m.jsonl"
    manifest.write_text('{"id": "z", "path": "/dev/zero"}\n', encoding="utf-8")
    assert main(["extract", "--batch", str(manifest), "--out", str(out), "--workers", "1"]) == 1
    assert "too_large" in capsys.readouterr().err
    assert "not the small file" in str(check_registry("/dev/zero")[0])
    articles = tmp_path / "articles.jsonl"
    articles.write_text('{"id": "a", "text": "' + "word " * 100 + '"}\n{"id": "b", "text": "short"}\n')
    monkeypatch.setattr(inputfiles, "MAX_LINE_BYTES", 200)
    assert main(["cluster", "--in", str(articles), "--out", str(out)]) == 0
    assert "line_too_long" in capsys.readouterr().err
    assert [line for line in out.read_text().splitlines() if '"b"' in line], "the next line is read"
    deep = tmp_path / "deep.yaml"
    deep.write_text("feeds: " + "[" * 5000 + "]" * 5000, encoding="utf-8")
    assert "nested too deep" in str(check_registry(deep)[0])
