"""Readers of Elasticsearch answers, given documents of odd shape that other writers (an older
version, a hand edit, a lone value where the mapping also takes a list) can leave behind.

Each part read for its type: an odd one reads as missing, never as a crash deep in a reader
and never as a value of another meaning (a string taken as its characters).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING

import pytest

from newsflow.index.names import IndexNames

if TYPE_CHECKING:
    from elasticsearch import Elasticsearch

NAMES = IndexNames()
Answer = Callable[[dict[str, object]], dict[str, object]]


class _Indices:
    def refresh(self, **_kwargs: object) -> None:
        """Nothing to make visible: the answers are canned."""


class _Client:
    """Only what the readers call: ``search`` answered per alias, and the alert writes."""

    def __init__(self, answers: dict[str, Answer]) -> None:
        self.answers = answers
        self.indices = _Indices()
        self.written: list[dict[str, object]] = []

    def search(self, *, index: str, **body: object) -> dict[str, object]:
        return self.answers[index](body)

    def index(self, **kwargs: object) -> None:
        self.written.append(kwargs)


def _client(answers: dict[str, Answer]) -> Elasticsearch:
    return _Client(answers)  # type: ignore[return-value]  # a stand-in: only the calls above are made


def _hits(*hits: object, total: int | None = None) -> dict[str, object]:
    return {"hits": {"total": {"value": len(hits) if total is None else total}, "hits": list(hits)}}


def test_a_hit_whose_source_is_no_object_reads_as_a_hit_without_fields() -> None:
    from newsflow.reports import hit_from_es

    hit = hit_from_es(
        {"_id": "a", "_source": ["not", "an", "object"], "highlight": {"title": "<em>one</em>"}}
    )
    assert (hit.id, hit.title, hit.url, hit.published) == ("a", "", None, None)
    assert hit.highlights == {"title": ("<em>one</em>",)}  # one fragment, not one per character


def test_a_rule_whose_webhook_is_stored_as_a_list_is_left_out_with_a_warning(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A list reached the URL check, whose error no listing expected: every ``alerts list`` and
    every batch's alerting failed on one such rule. Read as no webhook, the rule would raise
    alerts that nobody is sent; it is left out and named, as a rule with a bad URL is."""
    from newsflow.alerts.rules import list_rules

    stored = {"name": "kherson", "query": "Kherson", "webhook": ["http://hooks.example/t"]}
    fine = {"name": "odesa", "query": "Odesa"}
    answer = _hits({"_id": "r", "_source": stored}, {"_id": "s", "_source": fine})
    with caplog.at_level(logging.WARNING, logger="newsflow.alerts.rules"):
        rules = list_rules(_client({NAMES.alert_rules: lambda _: answer}), NAMES)
    assert [(r.name, r.webhook) for r in rules] == [("odesa", None)]
    assert any(
        "alert rule r is not usable" in r.getMessage() and "list" in r.getMessage() for r in caplog.records
    )


def test_a_merge_listing_an_id_as_a_lone_string_moves_only_that_id() -> None:
    """``in`` on a lone string matched every id it contains: ``s-ab`` followed a merge of ``s-abc``."""
    from newsflow.story_view import follow_story

    merges = [
        {"_id": "m1", "_source": {"story_id": "s-new", "merged": "s-abc", "recorded_at": ["2024-01-01"]}},
        {"_id": "m2", "_source": {"story_id": "s-new", "merged": "s-ab", "recorded_at": 1700000000000}},
    ]
    answers: dict[str, Answer] = {
        NAMES.articles: lambda body: _hits(total=0 if body["query"] == {"term": {"story_id": "s-ab"}} else 3),
        NAMES.merges: lambda body: _hits(*(m for m in merges if "s-ab" in str(body["query"]))),
    }
    current, moves = follow_story(_client(answers), "s-ab", NAMES)
    assert current == "s-new" and len(moves) == 1
    assert moves[0].recorded_at == "2023-11-14T22:13:20Z"  # epoch milliseconds, as a date field takes them

    answers[NAMES.merges] = lambda _: _hits(merges[0])
    assert follow_story(_client(answers), "s-ab", NAMES) == ("s-ab", ())
    bad_date = {"story_id": "s-new", "merged": ["s-ab"], "recorded_at": ["2024-01-01"]}
    answers[NAMES.merges] = lambda _: _hits({"_id": "m3", "_source": bad_date})
    assert follow_story(_client(answers), "s-ab", NAMES)[1][0].recorded_at is None  # not a list


def test_feed_health_and_run_records_without_a_source_object_read_as_records_saying_nothing() -> None:
    from newsflow.feed_status import feed_health
    from newsflow.run_history import latest_runs

    health = _hits({"_id": "x", "_source": ["odd"]}, {"_id": "y", "_source": {"feed": "herald"}})
    rows = feed_health(_client({NAMES.feed_health: lambda _: health}), NAMES)
    assert sorted(row.feed for row in rows) == ["?", "herald"]

    bucket = {"key": "poll", "latest": _hits({"_id": "r"}, {"_id": "s", "_source": {"run_id": "poll/a"}})}
    runs = latest_runs(
        _client({NAMES.runs: lambda _: {"aggregations": {"dags": {"buckets": [bucket]}}}}), NAMES
    )
    assert sorted(r.run_id for r in runs["poll"]) == ["?", "poll/a"]


def test_outlets_an_earlier_alert_stored_as_a_lone_string_are_not_news_again() -> None:
    """A lone string was taken as its characters, so the story's known outlet looked new and
    every batch raised another ``update`` alert for it."""
    from newsflow.alerts import raise_alerts

    rule = {"name": "kherson", "query": "Kherson"}
    first = {"_id": "a1", "_source": {"title": "Kherson", "source": "Herald", "story_id": "s-1"}}
    story = {
        "key": "s-1",
        "doc_count": 1,
        "first": _hits(first),
        "outlets": {"buckets": [{"key": "Herald"}]},
        "languages": {"buckets": [{"key": "en"}]},
    }
    prior = {"rule": "kherson", "story_id": "s-1", "outlets": "Herald", "languages": "en", "delivery": "none"}
    client = _client(
        {
            NAMES.alert_rules: lambda _: _hits({"_id": "r", "_source": rule}),
            NAMES.articles: lambda body: (
                {"aggregations": {"stories": {"buckets": [story]}}} if "aggs" in body else _hits(first)
            ),
            NAMES.merges: lambda _: _hits(),
            NAMES.alerts: lambda _: _hits({"_id": "old", "_source": prior}),
        }
    )
    report = raise_alerts(client, NAMES, ["a1"], "run-1")
    assert (report.stories, report.unchanged, report.updates, report.alert_ids) == (1, 1, 0, ())
