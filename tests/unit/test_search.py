"""Pure parts of story search: date parsing and the request bodies."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from newsflow.errors import InputError
from newsflow.search import build_search_body, build_top_stories_body, parse_when

NOW = datetime(2024, 8, 29, 15, 30, tzinfo=UTC)


@pytest.mark.parametrize(
    ("text", "end", "expected"),
    [
        ("7d", False, datetime(2024, 8, 22, 15, 30, tzinfo=UTC)),
        ("12h", False, datetime(2024, 8, 29, 3, 30, tzinfo=UTC)),
        ("30m", False, datetime(2024, 8, 29, 15, 0, tzinfo=UTC)),
        ("2w", False, datetime(2024, 8, 15, 15, 30, tzinfo=UTC)),
        ("today", False, datetime(2024, 8, 29, tzinfo=UTC)),
        ("yesterday", True, datetime(2024, 8, 29, tzinfo=UTC)),
        ("2024-08-01", False, datetime(2024, 8, 1, tzinfo=UTC)),
        ("2024-08-01", True, datetime(2024, 8, 2, tzinfo=UTC)),
        ("2024-08-01T10:00:00Z", False, datetime(2024, 8, 1, 10, tzinfo=UTC)),
        ("2024-08-01T10:00:00+02:00", False, datetime(2024, 8, 1, 8, tzinfo=UTC)),
    ],
)
def test_parse_when(text: str, end: bool, expected: datetime) -> None:
    assert parse_when(text, now=NOW, end=end) == expected


@pytest.mark.parametrize("bad", ["last week", "7x", "2024-13-01", ""])
def test_parse_when_rejects_with_hint(bad: str) -> None:
    with pytest.raises(InputError, match="7d"):
        parse_when(bad, now=NOW)


def test_story_search_body_collapses_by_default() -> None:
    body = build_search_body("Kherson", since=datetime(2024, 8, 1, tzinfo=UTC), source="bbc.co.uk", lang="en")
    assert body["collapse"]["field"] == "story_id"
    inner = body["collapse"]["inner_hits"]
    assert inner["sort"][0]["published"]["order"] == "asc" and inner["highlight"]
    clause = body["query"]["bool"]["must"][0]["simple_query_string"]
    assert clause["fields"][0].startswith("title^") and "text" in clause["fields"]
    assert clause["query"] == "Kherson"
    filters = body["query"]["bool"]["filter"]
    assert {"range": {"published": {"gte": "2024-08-01T00:00:00Z"}}} in filters
    assert {"terms": {"source": ["bbc.co.uk"]}} in filters
    assert {"term": {"language": "en"}} in filters
    assert "sort" not in body


@pytest.mark.parametrize("lang", ["en", "EN", "en-GB", "en_us"])
def test_language_filter_is_the_primary_code(lang: str) -> None:
    body = build_search_body("Kherson", lang=lang)
    assert {"term": {"language": "en"}} in body["query"]["bool"]["filter"]


def test_language_filter_rejects_what_is_not_a_code() -> None:
    with pytest.raises(InputError, match="language code"):
        build_search_body("Kherson", lang="English language")


def test_all_reports_and_newest() -> None:
    body = build_search_body("Kherson", all_reports=True, sort="newest")
    assert "collapse" not in body
    assert body["sort"][0] == {"published": {"order": "desc", "missing": "_last"}}


@pytest.mark.parametrize(
    "kwargs", [{"query": "  "}, {"query": "x", "size": 0}, {"query": "x", "sort": "oldest"}]
)
def test_search_body_validation(kwargs: dict[str, object]) -> None:
    with pytest.raises(InputError):
        build_search_body(**kwargs)  # type: ignore[arg-type]  # deliberately invalid arguments


def test_top_stories_body() -> None:
    body = build_top_stories_body(until=datetime(2024, 9, 1, tzinfo=UTC), size=5)
    stories = body["aggs"]["stories"]
    assert stories["terms"]["field"] == "story_id" and stories["terms"]["size"] == 5
    assert stories["aggs"]["sources"] == {"cardinality": {"field": "source"}}
    assert stories["aggs"]["representative"]["top_hits"]["size"] == 1
    assert body["query"]["bool"]["filter"] == [{"range": {"published": {"lt": "2024-09-01T00:00:00Z"}}}]


def test_operators_reach_the_query_and_plain_words_get_a_phrase_boost() -> None:
    body = build_search_body("Kherson AND cycle")
    assert body["query"]["bool"]["must"][0]["simple_query_string"]["query"] == "Kherson + cycle"
    assert body["query"]["bool"]["should"] == []
    plain = build_search_body("Kherson counteroffensive")
    assert plain["query"]["bool"]["should"][0]["match_phrase"]["text"]["query"] == "Kherson counteroffensive"


def test_reports_of_a_story_come_oldest_first_with_a_stable_tie_break() -> None:
    inner = build_search_body("Kherson")["collapse"]["inner_hits"]
    assert inner["sort"] == [{"published": {"order": "asc", "missing": "_last"}}, {"id": "asc"}]
    assert {"why", "duplicate_of", "score"} <= set(inner["_source"])


def test_a_hit_of_odd_types_reads_as_missing_fields_not_as_an_error() -> None:
    """The mapping takes a date as epoch milliseconds and any field as a list of its type; a
    hit another writer left so is shown, its odd fields as missing, the date as ISO."""
    from newsflow.reports import hit_from_es

    hit = hit_from_es(
        {
            "_id": "a",
            "_score": [1.0],
            "_source": {
                "title": ["two", "titles"],
                "published": 1700000000000,
                "score": [0.1, 0.2],
                "why": 5,
                "source": ["a", "b"],
                "relation": ["original"],
                "duplicate_of": {"x": 1},
                "url": 7,
            },
        }
    )
    assert hit.published == "2023-11-14T22:13:20Z"
    assert (hit.title, hit.score, hit.link_score, hit.why, hit.source, hit.relation, hit.url) == (
        "",
        None,
        None,
        (),
        None,
        None,
        None,
    )
    assert hit_from_es({"_id": "b", "_source": {"published": ["2024-01-01"]}}).published is None
