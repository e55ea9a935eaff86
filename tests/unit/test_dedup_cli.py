"""``newsflow cluster`` on awkward input: every bad line is counted, none stops the batch."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from newsflow.cli import main
from newsflow.dedup.batch import ReadReport, parse_lines

REID_1 = (
    "Actress Tara Reid checked herself into Promises Treatment Center in Malibu, her rep Jack Ketsoyan said. "
    '"We appreciate your respect to her and her family\'s privacy at this time," Ketsoyan told People.'
)
REID_2 = (
    "Tara Reid has entered rehab at the Promises clinic in Malibu. Her spokesman Jack Ketsoyan asked for "
    '"respect to her and her family\'s privacy at this time". Reid is best known for American Pie.'
)


def _line(obj: object) -> bytes:
    return json.dumps(obj).encode("utf-8") + b"\n"


def test_cluster_cli_handles_bad_lines_and_reports_counts(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    src = tmp_path / "articles.jsonl"
    src.write_bytes(
        _line({"id": "r1", "text": REID_1, "url": "https://a.example/reid?utm_source=x"})
        + _line({"id": "r2", "text": REID_2, "published": "not a date"})
        + _line({"id": "r1", "text": "a second r1 is skipped"})
        + _line({"id": "empty", "text": "   "})
        + b'{"id": "broken", "text": \n'
        + _line({"text": "no id"})
        + b'{"id": "latin1", "text": "Caf\xe9 owner Jean Dupont opened a new shop in Lyon on Monday."}\n'
        + _line({"id": "big", "text": "Huge " + "filler words here " * 20_000})
        + _line({"id": "z-copy", "text": REID_1, "url": "https://a.example/reid"})
        + b"\n"
    )
    out = tmp_path / "stories.jsonl"
    assert main(["cluster", "--in", str(src), "--out", str(out)]) == 0
    rows = {r["id"]: r for r in map(json.loads, out.read_text(encoding="utf-8").splitlines())}
    assert set(rows) == {"r1", "r2", "latin1", "big", "z-copy"}
    assert rows["r1"]["story_id"] == rows["r2"]["story_id"] == rows["z-copy"]["story_id"]
    # Same length, no dates: the smaller id ("r1") represents the story, the copy points to it.
    assert rows["z-copy"]["relation"] == "same_url" and rows["z-copy"]["duplicate_of"] == "r1"
    assert rows["latin1"]["story_id"] != rows["r1"]["story_id"]
    assert set(rows["r1"]) == {"id", "story_id", "relation", "duplicate_of", "score", "why"}
    err = capsys.readouterr().err
    for reason in (
        "bad_json 1",
        "duplicate_id 1",
        "empty_text 1",
        "missing_id 1",
        "non_utf8_replaced 1",
        "truncated 1",
        "bad_published 1",
    ):
        assert reason in err


def test_missing_input_is_a_clear_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["cluster", "--in", str(tmp_path / "nope.jsonl"), "--out", str(tmp_path / "o.jsonl")])
    assert code == 2
    assert "nope.jsonl" in capsys.readouterr().err


def test_parse_lines_keeps_first_of_duplicate_ids() -> None:
    report = ReadReport()
    items = list(
        parse_lines([_line({"id": 7, "text": "first"}), _line({"id": "7", "text": "second"})], report)
    )
    assert [(a.id, a.text) for a in items] == [("7", "first")]
    assert report.counts == {"duplicate_id": 1}


def test_cluster_cli_reads_a_byte_order_mark_and_never_writes_over_its_input(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    src = tmp_path / "articles.jsonl"
    src.write_bytes(
        b"\xef\xbb\xbf" + _line({"id": "r1", "text": REID_1}) + _line({"id": "r2", "text": REID_2})
    )
    before = src.read_bytes()
    assert main(["cluster", "--in", str(src), "--out", str(src)]) == 2
    said = " ".join(capsys.readouterr().err.split())  # the console wraps long lines
    assert "is the input" in said and src.read_bytes() == before
    (tmp_path / "folder").mkdir()
    out = tmp_path / "stories.jsonl"
    assert main(["cluster", "--in", str(src), "--out", str(out), "--merges", str(tmp_path / "folder")]) == 2
    err = capsys.readouterr().err
    said = " ".join(err.split())  # the console wraps long lines
    assert "folder: cannot be written" in said and "Traceback" not in err, "the file that failed is named"
    assert main(["cluster", "--in", str(src), "--out", str(out)]) == 0
    assert len({json.loads(line)["story_id"] for line in out.read_text().splitlines()}) == 1
    assert "bad_json" not in capsys.readouterr().err, "the byte-order mark is not part of line 1"


def test_cluster_cli_respects_an_analyst_s_corrections_and_counts_bad_ones(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    src = tmp_path / "articles.jsonl"
    src.write_bytes(_line({"id": "r1", "text": REID_1}) + _line({"id": "r2", "text": REID_2}))
    out = tmp_path / "stories.jsonl"

    def stories(*extra: str) -> dict[str, str]:
        assert main(["cluster", "--in", str(src), "--out", str(out), *extra]) == 0
        return {r["id"]: r["story_id"] for r in map(json.loads, out.read_text(encoding="utf-8").splitlines())}

    assert stories()["r1"] == stories()["r2"]
    corrections = tmp_path / "corrections.jsonl"
    corrections.write_bytes(
        _line({"a": "r2", "b": "r1", "verdict": "apart", "note": "two events"})
        + b"not json\n"
        + _line({"a": "r1", "b": "r1", "verdict": "apart"})
        + _line(["a list"])
    )
    parted = stories("--corrections", str(corrections))
    assert parted["r1"] != parted["r2"]
    err = " ".join(capsys.readouterr().err.split())  # as printed, whatever the terminal's width
    assert "corrections: read 4, respected 1; skipped: bad_correction 1, bad_json 1, not_object 1" in err
    # As `newsflow correct list --json` prints them: one JSON array.
    corrections.write_text(
        json.dumps([{"a": "r1", "b": "r2", "verdict": "apart"}], indent=2), encoding="utf-8"
    )
    parted = stories("--corrections", str(corrections))
    assert parted["r1"] != parted["r2"]
    corrections.write_text(json.dumps([{"a": "r1", "b": "r2", "verdict": "withdrawn"}]), encoding="utf-8")
    assert len(set(stories("--corrections", str(corrections)).values())) == 1
