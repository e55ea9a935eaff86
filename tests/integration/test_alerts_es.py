"""Story alerts end to end at the function level: real Elasticsearch, real stories, a real
webhook receiver on 127.0.0.1.

The Kherson story (the two seed reports plus a syndicated copy: three matching reports)
must raise exactly one alert; a rerun raises nothing; a syndicated copy from a known
outlet raises nothing; a new outlet raises exactly one update.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from tests.articles import make_article
from tests.receiver import Receiver, receiver

pytestmark = pytest.mark.integration


@pytest.fixture
def hook() -> Iterator[Receiver]:
    with receiver(lifetime_s=300) as running:
        yield running


def _options() -> Any:
    from newsflow.alerts import AlertOptions, WebhookOptions

    return AlertOptions(webhook=WebhookOptions(attempts=3, timeout_s=2.0, backoff_s=0.05, max_total_s=8.0))


def _alerts(es_client: Any, story_names: Any) -> list[dict[str, Any]]:
    es_client.indices.refresh(index=story_names.alerts)
    hits = es_client.search(index=story_names.alerts, size=100, sort=[{"raised_at": "asc"}, {"kind": "asc"}])
    return [{"_id": h["_id"], **h["_source"]} for h in hits["hits"]["hits"]]


def _raise(es_client: Any, story_names: Any, articles: list[Any], run_id: str) -> Any:
    from newsflow.alerts import raise_alerts

    return raise_alerts(es_client, story_names, [a.id for a in articles], run_id, options=_options())


def test_kherson_fires_once_reruns_nothing_and_a_new_outlet_one_update(  # noqa: PLR0917 - fixtures
    es_client: Any, story_names: Any, story_index: Any, hook: Receiver, kherson: list[Any], others: list[Any]
) -> None:
    from newsflow.alerts import AlertRule, add_rule

    add_rule(es_client, AlertRule("kherson", "Kherson", hook.url), story_names)
    add_rule(es_client, AlertRule("cycling", "cycl*"), story_names)  # no webhook: the index only

    batch = [*kherson, *others]
    result = story_index.add(batch, run_id="process__run-1")
    story_ids = {result.assignments[a.id].story_id for a in kherson}
    assert len(story_ids) == 1, "the three Kherson reports must be one story"
    (story_id,) = story_ids

    first = _raise(es_client, story_names, batch, "process__run-1")
    assert (first.rules, first.articles) == (2, 5)
    assert first.matched_articles == 4  # three Kherson reports, one cycling report
    assert (first.new_stories, first.updates, first.delivered) == (2, 0, 1)
    assert first.failures == {}
    posts = hook.wait_for(1)
    assert len(posts) == 1, "three matching reports of one story raise ONE alert"
    alert = posts[0]
    assert alert["rule"] == "kherson" and alert["kind"] == "new_story" and alert["story_id"] == story_id
    assert alert["first_source"] == "Northern Herald" and alert["first_published"] == "2022-08-30T07:15:00Z"
    assert alert["outlets"] == ["Northern Herald", "Southern Courier"] and alert["reports"] == 3
    assert sorted(alert["article_ids"]) == sorted(a.id for a in kherson)
    assert "T0KEN" not in json.dumps(_alerts(es_client, story_names))  # the webhook URL is not stored
    stored = {a["rule"]: a for a in _alerts(es_client, story_names)}
    assert stored["kherson"]["delivery"] == "delivered" and stored["kherson"]["delivery_attempts"] == 1
    assert stored["kherson"]["_id"] == alert["alert_id"]
    assert stored["cycling"]["delivery"] == "none"

    # A rerun of the same batch (stories and alerts) fires nothing.
    story_index.add(batch, run_id="process__run-1")
    again = _raise(es_client, story_names, batch, "process__run-1-retry")
    assert (again.new_stories, again.updates, again.unchanged, again.delivered) == (0, 0, 2, 0)
    assert len(hook.delivered()) == 1 and len(_alerts(es_client, story_names)) == 2

    # Another syndicated copy from an outlet already in the story fires nothing.
    copy = make_article(
        "https://southern-courier.example/2022/08/30/kherson-breakthrough-wire",
        kherson[1].title,
        kherson[1].text,
        "2022-08-30T13:00:00Z",
        "Southern Courier",
        content_hash="seed-001",
    )
    story_index.add([copy], run_id="process__run-2")
    quiet = _raise(es_client, story_names, [copy], "process__run-2")
    assert (quiet.matched_articles, quiet.new_stories, quiet.updates, quiet.unchanged) == (1, 0, 0, 1)
    assert len(hook.delivered()) == 1

    # A new outlet fires one update, delivered although the receiver first answers 503.
    gazette = make_article(
        "https://eastern-gazette.example/news/kherson-counteroffensive",
        kherson[1].title,
        kherson[1].text,
        "2022-08-30T15:00:00Z",
        "Eastern Gazette",
        content_hash="seed-001",
    )
    added = story_index.add([gazette], run_id="process__run-3")
    assert added.assignments[gazette.id].story_id == story_id
    hook.statuses.append(503)
    update = _raise(es_client, story_names, [gazette], "process__run-3")
    assert (update.new_stories, update.updates, update.delivered) == (0, 1, 1)
    posts = hook.wait_for(2)
    assert len(posts) == 2
    assert posts[1]["kind"] == "update" and posts[1]["new_outlets"] == ["Eastern Gazette"]
    assert posts[1]["outlets"] == ["Northern Herald", "Southern Courier", "Eastern Gazette"]
    stored_update = next(a for a in _alerts(es_client, story_names) if a["kind"] == "update")
    assert stored_update["delivery_attempts"] == 2  # one 503, then delivered
    # ... and only once.
    assert _raise(es_client, story_names, [gazette], "process__run-3-retry").raised == 0
    assert len(hook.delivered()) == 2


def test_failed_delivery_is_recorded_and_retried_by_the_next_run(
    es_client: Any, story_names: Any, story_index: Any, hook: Receiver, others: list[Any]
) -> None:
    from newsflow.alerts import AlertRule, add_rule

    add_rule(es_client, AlertRule("bakhmut", "Bakhmut AND shelling", hook.url), story_names)
    story_index.add(others, run_id="run-a")
    hook.statuses.append(404)  # a refusal is not retried within the run
    refused = _raise(es_client, story_names, others, "run-a")
    assert (refused.new_stories, refused.delivered, refused.delivery_failed) == (1, 0, 1)
    assert refused.failures == {"webhook_http_404": 1}
    (stored,) = _alerts(es_client, story_names)
    assert (stored["delivery"], stored["delivery_error"]) == ("failed", "http_404")
    retried = _raise(es_client, story_names, others, "run-b")
    assert (retried.new_stories, retried.redelivered, retried.delivery_failed) == (0, 1, 0)
    (stored,) = _alerts(es_client, story_names)
    assert stored["delivery"] == "delivered" and stored["delivered_at"]
    assert [p["json"]["alert_id"] for p in hook.posts] == [stored["_id"], stored["_id"]]
    assert _raise(es_client, story_names, others, "run-c").redelivered == 0


def test_unreachable_webhook_gives_up_within_its_bound(
    es_client: Any, story_names: Any, story_index: Any, others: list[Any]
) -> None:
    import socket
    import time

    from newsflow.alerts import AlertRule, add_rule

    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        closed = probe.getsockname()[1]
    add_rule(es_client, AlertRule("cycling", "cycle", f"http://127.0.0.1:{closed}/hook"), story_names)
    story_index.add(others, run_id="run-a")
    started = time.monotonic()
    report = _raise(es_client, story_names, others, "run-a")
    assert time.monotonic() - started < 30
    assert (report.new_stories, report.delivery_failed) == (1, 1)
    assert report.failures == {"webhook_ConnectError": 1}
    (stored,) = _alerts(es_client, story_names)
    assert stored["delivery"] == "failed" and stored["delivery_attempts"] == 3


def test_no_rules_and_no_ids_raise_nothing(
    es_client: Any, story_names: Any, story_index: Any, others: list[Any]
) -> None:
    from newsflow.alerts import raise_alerts

    story_index.add(others, run_id="run-a")
    assert raise_alerts(es_client, story_names, [], "run-a").to_dict()["rules"] == 0
    report = raise_alerts(es_client, story_names, [a.id for a in others], "run-a")
    assert (report.rules, report.articles, report.raised) == (0, 2, 0)


def test_cli_add_list_remove_raised(  # noqa: PLR0917 - fixtures
    es_client: Any,
    story_names: Any,
    story_index: Any,
    hook: Receiver,
    kherson: list[Any],
    capsys: Any,
    monkeypatch: Any,
) -> None:
    from newsflow.cli import main

    monkeypatch.setenv("COLUMNS", "250")  # one table row per line, so the output can be read back
    monkeypatch.setenv("NEWSFLOW_INDEX_ALIAS", story_names.articles)
    monkeypatch.setenv("NEWSFLOW_ALERTS_ALIAS", story_names.alerts)
    monkeypatch.setenv("NEWSFLOW_ALERT_RULES_ALIAS", story_names.alert_rules)
    monkeypatch.setenv("NEWSFLOW_MERGES_ALIAS", story_names.merges)
    assert main(["alerts", "add", "kherson", "Kherson AND counteroffensive", "--webhook", hook.url]) == 0
    assert main(["alerts", "add", "kherson", "Kherson"]) == 2  # the name is taken
    assert "--replace" in capsys.readouterr().err
    assert main(["alerts", "add", "bad name!", "Kherson"]) == 2
    assert main(["alerts", "add", "x", "Kherson", "--webhook", "ftp://example.org/"]) == 2
    capsys.readouterr()
    story_index.add(kherson, run_id="run-1")
    assert _raise(es_client, story_names, kherson, "run-1").new_stories == 1
    assert main(["alerts", "list"]) == 0
    listed = capsys.readouterr().out
    assert "kherson" in listed and "127.0.0.1" in listed
    assert "T0KEN" not in listed  # the webhook is shown by host only
    assert main(["alerts", "list", "--json"]) == 0
    (rule,) = json.loads(capsys.readouterr().out)
    assert rule["alerts"] == 1 and "T0KEN" not in rule["webhook"]
    assert main(["alerts", "raised", "--json"]) == 0
    (raised,) = json.loads(capsys.readouterr().out)
    assert raised["kind"] == "new_story" and raised["delivery"] == "delivered"
    assert main(["alerts", "remove", "KHERSON"]) == 0
    assert main(["alerts", "remove", "kherson"]) == 1
    assert "no such alert" in capsys.readouterr().out
    assert main(["alerts", "list", "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == []
