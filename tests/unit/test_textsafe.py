"""Lone surrogates out of parsed JSON: every string cleaned, keys too, and the copy keeps its shape."""

from __future__ import annotations

import json

from newsflow.textsafe import REPLACEMENT, without_lone_surrogates


def test_strings_and_keys_are_cleaned_and_counted() -> None:
    parsed = json.loads('{"\\ud800k": ["a\\udc00", {"n": 1, "t": "\\ud801\\ud802"}], "ok": null}')
    cleaned, replaced = without_lone_surrogates(parsed)
    assert replaced == 4
    assert cleaned == {f"{REPLACEMENT}k": [f"a{REPLACEMENT}", {"n": 1, "t": REPLACEMENT * 2}], "ok": None}
    json.dumps(cleaned, ensure_ascii=False).encode("utf-8")  # raised before the cleaning


def test_a_clean_value_is_kept_as_it_is() -> None:
    assert without_lone_surrogates("plain") == ("plain", 0)
    assert without_lone_surrogates([1, 2.5, True, None]) == ([1, 2.5, True, None], 0)
