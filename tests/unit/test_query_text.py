"""The analysts' query language becomes simple_query_string; exclusions always narrow."""

from __future__ import annotations

import pytest

from newsflow.errors import InputError
from newsflow.jsontypes import as_object
from newsflow.query_text import is_plain, text_query, to_simple_query


@pytest.mark.parametrize(
    ("typed", "sent"),
    [
        ("Kherson counteroffensive", "Kherson counteroffensive"),
        ("Kherson AND cycle", "Kherson + cycle"),
        ("Bakhmut OR Kherson", "Bakhmut | Kherson"),
        ("Kherson NOT Bakhmut", "Kherson + -Bakhmut"),
        ("Kherson -Bakhmut", "Kherson + -Bakhmut"),
        ("NOT Bakhmut Kherson", "Kherson + -Bakhmut"),
        ('Kherson -"run home"', 'Kherson + -"run home"'),
        ('"run home or die"', '"run home or die"'),
        ("Kher*", "Kher*"),
        ("(Bakhmut OR Arestovych) AND Russian", "(Bakhmut | Arestovych) + Russian"),
        ("x NOT (a OR b)", "x + -(a | b)"),
        ("a + -x | b", "a | b + -x"),
        ("kherson and cycle", "kherson and cycle"),  # lower-case words are words
        ("NOT Bakhmut", "-Bakhmut"),
        ('a "unbalanced', "a unbalanced"),
        ("a) b", "a b"),
        ("AND a OR", "a"),
        ("counter-offensive", "counter-offensive"),  # a hyphen inside a word is no exclusion
    ],
)
def test_translation(typed: str, sent: str) -> None:
    assert to_simple_query(typed) == sent


@pytest.mark.parametrize("bad", ["", "   ", "AND", "NOT", "()", "x" * 2001])
def test_nothing_to_search_is_an_input_error(bad: str) -> None:
    with pytest.raises(InputError):
        to_simple_query(bad)


def test_plain_words_only() -> None:
    assert is_plain("Kherson counter-offensive")
    for query in ("Kherson AND cycle", '"run home"', "Kher*", "Kherson -Bakhmut", "(a b)"):
        assert not is_plain(query), query


def test_clause_never_fails_on_syntax_and_lowercases_prefixes() -> None:
    clause = as_object(text_query("Kher*")["simple_query_string"])
    assert clause["query"] == "Kher*" and clause["analyze_wildcard"] and clause["lenient"]
    assert clause["default_operator"] == "or"
