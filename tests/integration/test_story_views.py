"""Story-first search output, filters, the story timeline and id history, on real stories."""

from __future__ import annotations

import json
from typing import Any

import pytest

pytestmark = pytest.mark.integration


@pytest.fixture
def indexed(
    story_index: Any, kherson: list[Any], others: list[Any], story_names: Any, monkeypatch: Any
) -> Any:
    """The Kherson story and two others through the real story stage; the CLI reads these names."""
    story_index.add([*kherson, *others], run_id="views-1")
    monkeypatch.setenv("NEWSFLOW_INDEX_ALIAS", story_names.articles)
    monkeypatch.setenv("NEWSFLOW_MERGES_ALIAS", story_names.merges)
    monkeypatch.setenv("COLUMNS", "250")  # one table row per line
    return story_names


def _json(capsys: Any) -> Any:
    return json.loads(capsys.readouterr().out)


def test_the_first_report_heads_its_story_whatever_matched(
    es_client: Any, indexed: Any, kherson: list[Any], capsys: Any
) -> None:
    from newsflow.cli import main
    from newsflow.search import search_stories

    herald, courier, _ = kherson
    # "brigades" is only in the Southern Courier report: the story is still headed by the
    # Northern Herald report, which was first.
    result = search_stories(es_client, "brigades", index=indexed.articles)
    (hit,) = result.hits
    assert hit.id == courier.id and hit.story_id is not None
    head = result.head(hit)
    assert head is not None and head.first.id == herald.id
    assert (head.reports, head.outlets) == (3, ("Northern Herald", "Southern Courier"))
    assert main(["search", "brigades"]) == 0
    row = next(line for line in capsys.readouterr().out.splitlines() if "2022-08-30" in line)
    assert "2022-08-30 07:15" in row and "Northern Herald" in row and hit.story_id[:12] in row
    assert "same_story" in row  # how the best match joined the story

    assert main(["search", "Kherson", "--all-reports"]) == 0
    lines = [ln for ln in capsys.readouterr().out.splitlines() if "2022-08-30" in ln]
    assert len(lines) == 3
    assert "Northern Herald" in lines[0] and "original" in lines[0] and hit.story_id[:12] in lines[0]
    assert "same_story" in lines[1] and "+3h50m" in lines[1]
    assert "exact" in lines[2] and "+5h15m" in lines[2]
    assert sum(hit.story_id[:12] in ln for ln in lines) == 1  # the story id once, on its first row

    assert main(["search", "brigades", "--all-reports"]) == 0
    out = capsys.readouterr().out
    assert "first report; did not match" in out and "Northern Herald" in out


def test_filters_ignore_case_and_name_close_matches(indexed: Any, capsys: Any) -> None:
    from newsflow.cli import main

    assert main(["search", "Kherson", "--all-reports", "--json", "--source", "northern HERALD"]) == 0
    assert {h["source"] for h in _json(capsys)["hits"]} == {"Northern Herald"}
    assert main(["search", "Kherson", "--all-reports", "--json", "--source", "Nothern Herald"]) == 2
    err = capsys.readouterr().err
    assert "closest: 'Northern Herald'" in err and "newsflow sources" in err
    for lang in ("EN", "en-GB", "en_us"):
        assert main(["search", "Kherson", "--all-reports", "--json", "--lang", lang]) == 0
        assert len(_json(capsys)["hits"]) == 3, lang
    assert main(["search", "Kherson", "--json", "--lang", "de"]) == 2
    assert "languages held: en (5)" in capsys.readouterr().err
    assert main(["sources", "--json"]) == 0
    sources = {s["source"]: s for s in _json(capsys)}
    assert sources["Southern Courier"]["reports"] == 3 and sources["Northern Herald"]["stories"] == 2


@pytest.mark.parametrize(
    ("query", "titles"),
    [
        ("Kherson AND cycle", set()),
        ("Kherson OR cycle", {"Kherson", "cycle lanes"}),
        ("Kher*", {"Kherson"}),
        ("Ukraine NOT Kherson", {"Bakhmut"}),
        ("Ukraine -Kherson", {"Bakhmut"}),
        ('"run home or die"', {"Kherson"}),
    ],
)
def test_query_operators(indexed: Any, capsys: Any, query: str, titles: set[str]) -> None:
    from newsflow.cli import main

    assert main(["search", query, "--json"]) == 0
    found = {
        t for h in _json(capsys)["hits"] for t in ("Kherson", "cycle lanes", "Bakhmut") if t in h["title"]
    }
    assert found == titles


def test_story_timeline_by_id_prefix_and_article(indexed: Any, kherson: list[Any], capsys: Any) -> None:
    from newsflow.cli import main

    herald, courier, wire = kherson
    assert main(["search", "Kherson", "--json"]) == 0
    story_id = _json(capsys)["hits"][0]["story_id"]
    for asked in (story_id, story_id[:12], wire.id):
        assert main(["story", asked, "--json"]) == 0
        timeline = _json(capsys)
        assert timeline["story_id"] == story_id, asked
        assert [r["id"] for r in timeline["reports"]] == [herald.id, courier.id, wire.id]
        assert timeline["via_article"] is (asked == wire.id)
    assert main(["story", story_id]) == 0
    out = capsys.readouterr().out
    assert "first reported by Northern Herald at 2022-08-30 07:15 UTC" in out
    rows = [ln for ln in out.splitlines() if "2022-08-30 " in ln and "│" in ln]
    assert "+3h50m" in rows[1] and "p=" in rows[1]  # who followed, when, and why
    assert "exact" in rows[2] and "content_hash" in rows[2] and "Northern Herald" in rows[2]
    assert main(["story", "s-0000000000nobody"]) == 1
    assert "unknown story" in capsys.readouterr().out
    assert main(["story", "s-"]) == 1  # too short to be a prefix


def test_history_and_missing_merges_alias(indexed: Any, capsys: Any) -> None:
    from newsflow.cli import main

    assert main(["search", "Kherson", "--json"]) == 0
    story_id = _json(capsys)["hits"][0]["story_id"]
    assert main(["stories", "--history", story_id]) == 0
    assert "is current: 3 reports" in capsys.readouterr().out
    assert main(["stories", "--history", "s-unknown"]) == 1
    assert main(["stories", "--history", "s-unknown", "--json"]) == 1
    assert main(["stories", "--history", story_id, "--merges-index", "nope"]) == 2
    err = capsys.readouterr().err
    assert "'nope' does not exist" in err and "Traceback" not in err
    assert main(["stories", "--json"]) == 0
    top = _json(capsys)[0]
    assert (top["story_id"], top["source"], top["first_published"]) == (
        story_id,
        "Northern Herald",
        "2022-08-30T07:15:00Z",  # the first report's own date, as search shows it
    )
