"""Batch extraction and the ``newsflow extract`` command on hand-written pages."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest

from newsflow.cli import main
from newsflow.extract.batch import OUTPUT_FIELDS, read_manifest, run_batch

GOLDEN = Path(__file__).resolve().parents[1] / "golden" / "extract"
NEWS = GOLDEN / "news_jsonld.html"


def _write_manifest(tmp_path: Path) -> Path:
    (tmp_path / "pages").mkdir()
    (tmp_path / "pages" / "news.html.gz").write_bytes(gzip.compress(NEWS.read_bytes()))
    (tmp_path / "pages" / "empty.html").write_bytes(b"")
    lines = [
        json.dumps({"id": "news", "path": "pages/news.html.gz", "url": "https://gazette.example.org/n"}),
        "{not json",
        json.dumps({"id": "nopath"}),
        json.dumps(["a", "list"]),
        "",
        json.dumps({"id": 7, "path": "pages/empty.html"}),
        json.dumps({"id": "missing", "path": str(tmp_path / "nowhere.html")}),
        json.dumps({"id": "badurl", "path": "pages/empty.html", "url": 5}),
    ]
    manifest = tmp_path / "manifest.jsonl"
    manifest.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return manifest


def test_read_manifest_reports_bad_lines_with_numbers(tmp_path: Path) -> None:
    entries, problems = read_manifest(_write_manifest(tmp_path))
    assert [e.id for e in entries] == ["news", "7", "missing"]
    assert entries[0].path == tmp_path / "pages" / "news.html.gz"
    assert [p.split(":")[1] for p in problems] == ["2", "3", "4", "8"]


@pytest.mark.parametrize("workers", [1, 2])
def test_run_batch_never_crashes_and_counts_reasons(tmp_path: Path, workers: int) -> None:
    out = tmp_path / "out.jsonl"
    seen: list[str] = []
    summary = run_batch(
        _write_manifest(tmp_path), out, workers=workers, on_row=lambda row: seen.append(str(row["id"]))
    )
    rows = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert [r["id"] for r in rows] == ["news", "7", "missing"] == seen
    assert all(tuple(r) == OUTPUT_FIELDS for r in rows)
    news = rows[0]
    assert news["error"] is None
    assert news["title"] == "Harbour ferry returns after winter repairs"
    assert news["published_source"] == "json-ld"
    assert news["authors"] == ["Mara Quill", "Tobias Fenn"]
    assert news["canonical_url"] == "https://gazette.example.org/local/2024/03/11/harbour-ferry-returns"
    assert rows[1]["error"].startswith("empty: ")
    assert rows[2]["error"].startswith("unreadable: ")
    assert summary.total == 7
    assert summary.extracted == 1
    assert summary.errors == {"empty": 1, "unreadable": 1, "bad_manifest_line": 4}


def test_cli_single_page_prints_full_record(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["extract", str(NEWS), "--url", "https://gazette.example.org/n?utm_source=x"]) == 0
    record = json.loads(capsys.readouterr().out)
    assert record["title"] == "Harbour ferry returns after winter repairs"
    assert record["published"] == "2024-03-11T07:30:00Z"
    assert record["id"] and record["extractor_version"].startswith("newsflow-extract/")
    assert record["fallback"] is False


def test_cli_single_page_error_names_the_file(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["extract", str(GOLDEN / "gallery_not_article.html")]) == 2
    assert "gallery_not_article.html" in capsys.readouterr().err


def test_cli_batch(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "out.jsonl"
    code = main(["extract", "--batch", str(_write_manifest(tmp_path)), "--out", str(out), "--workers", "1"])
    assert code == 0
    assert len(out.read_text(encoding="utf-8").splitlines()) == 3
    err = capsys.readouterr().err
    assert "manifest.jsonl:2" in err
    assert "bad_manifest_line" in err


@pytest.mark.parametrize(
    "argv",
    [
        ["extract"],
        ["extract", "--batch", "m.jsonl"],
        ["extract", "page.html", "--batch", "m.jsonl", "--out", "o.jsonl"],
        ["extract", "does-not-exist.html"],
        ["extract", "--batch", "does-not-exist.jsonl", "--out", "o.jsonl"],
    ],
)
def test_cli_usage_errors(argv: list[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert main(argv) == 2


def test_cli_refuses_what_it_cannot_use_with_an_error_not_a_traceback(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A URL that is none, the manifest as its own output, an output that cannot be written, and
    a page that never ends (a device reports no size): each a clear error, no traceback."""
    manifest = _write_manifest(tmp_path)
    (tmp_path / "folder").mkdir()
    before = manifest.read_bytes()
    for argv in (
        ["extract", str(NEWS), "--url", "http://[::1"],
        ["extract", str(NEWS), "--url", "http://example.com:99999/x"],
        ["extract", "--batch", str(manifest), "--out", str(manifest)],
        ["extract", "--batch", str(manifest), "--out", str(tmp_path / "folder")],
        ["extract", "/dev/zero"],
    ):
        assert main(argv) == 2, argv
        err = capsys.readouterr().err
        assert "Traceback" not in err and err.strip(), argv
    assert manifest.read_bytes() == before, "the manifest is left as it was"


def test_cli_batch_says_when_nothing_was_extracted(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    manifest = tmp_path / "m.jsonl"
    manifest.write_bytes(
        b"\xef\xbb\xbf" + json.dumps({"id": "gone", "path": "nowhere.html"}).encode() + b"\n"
    )
    assert (
        main(["extract", "--batch", str(manifest), "--out", str(tmp_path / "o.jsonl"), "--workers", "1"]) == 1
    )
    err = capsys.readouterr().err
    assert "no page was extracted" in err and "bad manifest line" not in err, (
        "the byte-order mark is no bad line"
    )


def test_cli_single_page_writes_what_a_terminal_obeys_as_json_escapes(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A title holding a one-byte CSI (U+009B) and a right-to-left override reaches the terminal
    as JSON escapes, and reads back as the same title."""
    title = "Council vote \u009b31m red \u202eevil"
    paragraph = (
        "<p>" + "The harbour works reopened on Monday after the storm, the council said. " * 6 + "</p>"
    )
    page = tmp_path / "p.html"
    page.write_text(
        f"<html><head><title>{title}</title></head><body><article><h1>{title}</h1>{paragraph * 4}"
        "</article></body></html>",
        encoding="utf-8",
    )
    assert main(["extract", str(page)]) == 0
    out = capsys.readouterr().out
    assert "\u009b" not in out and "\u202e" not in out and "\\u009b" in out
    assert json.loads(out)["title"] == title
