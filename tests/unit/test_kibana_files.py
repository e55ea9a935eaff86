"""Saved-object files of another shape are refused by file and line, never by a traceback."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from newsflow.cli import main
from newsflow.errors import InputError
from newsflow.jsontypes import JsonObject
from newsflow.kibana_files import load_saved_objects

GOOD = {"id": "v", "type": "visualization", "attributes": {"title": "t", "visState": '{"aggs": []}'}}


@pytest.mark.parametrize(
    ("obj", "said"),
    [
        ({"id": "a", "type": "x", "attributes": []}, "attributes is an object"),
        ({"id": 1, "type": "x", "attributes": {}}, "non-empty strings"),
        ({**GOOD, "references": {"id": "x"}}, "references is a list"),
        ({**GOOD, "references": [["index-pattern", "x"]]}, "references is a list"),
        ({**GOOD, "attributes": {"visState": "{bad"}}, "visState is not valid JSON"),
        ({**GOOD, "attributes": {"visState": "[1]"}}, "visState holds a JSON dict"),
        ({**GOOD, "attributes": {"visState": '{"aggs": [1]}'}}, "visState lists objects"),
        ({**GOOD, "attributes": {"panelsJSON": '{"a": 1}'}}, "panelsJSON holds a JSON list"),
        ({**GOOD, "attributes": {"kibanaSavedObjectMeta": {"searchSourceJSON": "[]"}}}, "searchSourceJSON"),
        ({**GOOD, "attributes": {"sort": 5}}, "columns and sort are lists"),
        ({**GOOD, "attributes": {"title": {"x": 1}}}, "title is a string"),
    ],
)
def test_an_object_of_another_shape_is_refused_by_line(obj: object, said: str, tmp_path: Path) -> None:
    path = tmp_path / "objects.ndjson"
    path.write_text(json.dumps(GOOD) + "\n" + json.dumps(obj) + "\n", encoding="utf-8")
    with pytest.raises(InputError, match=said) as info:
        load_saved_objects(path)
    assert f"{path}:2" in str(info.value)


def test_unreadable_files_are_clear_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "latin1.ndjson").write_bytes(b"\xff\xfe")
    bom = tmp_path / "bom.ndjson"
    bom.write_bytes(b"\xef\xbb\xbf" + json.dumps(GOOD).encode() + b"\n")
    assert [o["id"] for o in load_saved_objects(bom)] == ["v"], "a byte-order mark is not part of line 1"
    for path in (tmp_path / "latin1.ndjson", tmp_path / "missing.ndjson", tmp_path):
        assert main(["kibana", "check", "--file", str(path)]) == 2
        err = capsys.readouterr().err
        assert "cannot be read" in " ".join(err.split()) and "Traceback" not in err


def test_the_checks_read_an_object_of_another_shape_as_using_nothing() -> None:
    """``check_saved_objects`` is public: an object that did not come through ``load_saved_objects``
    (a meta that is not an object, a query that is a string, a flat sort) reads as using no field."""
    from newsflow.kibana import check_saved_objects, fields_used

    odd: JsonObject = {
        "id": "s",
        "type": "search",
        "attributes": {
            "sort": ["title", "desc"],
            "kibanaSavedObjectMeta": "not an object",
            "visState": '{"aggs": {"field": "x"}}',
        },
        "references": "none",
    }
    meta = {"searchSourceJSON": '{"query": "x:1"}'}
    query_as_text: JsonObject = {**odd, "attributes": {"kibanaSavedObjectMeta": meta}}
    assert fields_used(odd) == fields_used(query_as_text) == set()
    assert check_saved_objects([odd, query_as_text], {}) == ["duplicate id 's'"]
