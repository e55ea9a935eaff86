"""Pure parts of story alerts: rules, ids, documents, and webhook delivery over real local HTTP."""

from __future__ import annotations

import time

import pytest

from newsflow.alerts import AlertReport, AlertRule, WebhookOptions, post_alert
from newsflow.errors import ConfigError, InputError
from newsflow.index.alerts import alert_change, alert_id, rule_id
from tests.receiver import receiver

FAST = WebhookOptions(attempts=3, timeout_s=2.0, backoff_s=0.01, max_total_s=5.0)


def test_rules_are_validated_and_never_show_their_webhook_path() -> None:
    rule = AlertRule(
        "kherson watch", "Kherson AND counteroffensive", "https://user:pw@hooks.example:8443/T0KEN"
    )
    assert rule.webhook_host == "https://hooks.example:8443"
    assert "T0KEN" not in str(rule.to_dict()) and "pw" not in str(rule.to_dict())
    stored_webhook = rule.to_document()["webhook"]  # stored whole: delivery needs it
    assert isinstance(stored_webhook, str) and stored_webhook.endswith("/T0KEN")
    for bad in (
        {"name": "bad/name"},
        {"name": ""},
        {"query": "AND"},
        {"webhook": "ftp://x/"},
        {"webhook": "x"},
        {"webhook": "http://127.0.0.1:99999/x"},  # stored, it broke every listing and every raise
        {"webhook": "http://[::1/x"},
    ):
        args = {"name": "ok", "query": "Kherson", "webhook": None, **bad}
        with pytest.raises(InputError):
            AlertRule(**args)  # type: ignore[arg-type]  # deliberately invalid values


def test_a_stored_rule_that_is_no_longer_valid_is_left_out_of_listings(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A rule stored by an older version (a webhook port out of range) is left out, with a
    warning naming it, rather than failing every listing and every processing run."""
    from newsflow.alerts.rules import list_rules

    class Client:
        def search(self, **_kwargs: object) -> dict[str, object]:
            hits = [
                {"_id": "bad", "_source": {"name": "bad", "query": "x", "webhook": "http://h:99999/t"}},
                {"_id": "ok", "_source": {"name": "ok", "query": "Kherson"}},
            ]
            return {"hits": {"hits": hits}}

    rules = list_rules(Client())  # type: ignore[arg-type]  # only .search is called
    assert [r.name for r in rules] == ["ok"]
    assert "alert rule bad is not usable" in caplog.text


def test_ids_are_stable_per_rule_story_and_change() -> None:
    assert rule_id("Kherson") == rule_id("kherson")
    assert alert_change([], []) == "new"
    assert alert_change(["B", "A"], ["uk"]) == alert_change(["A", "B"], ["uk"]) == "outlets=A,B;languages=uk"
    first = alert_id("kherson", "s-1", "new")
    assert first == alert_id("KHERSON", "s-1", "new")
    assert first != alert_id("kherson", "s-2", "new") != alert_id("kherson", "s-1", alert_change(["A"], []))


def test_report_counts_for_the_run_record() -> None:
    report = AlertReport(run_id="r", rules=2, new_stories=1, updates=1, failures={"webhook_http_500": 1})
    assert report.raised == 2
    counts = report.counts()
    assert counts["alerts_new_stories"] == 1 and counts["alerts_failed"] == {"webhook_http_500": 1}
    assert report.to_dict()["failures"] == {"webhook_http_500": 1}


def test_webhook_delivers_and_retries_a_restarting_receiver() -> None:
    with receiver(lifetime_s=60) as hook:
        hook.statuses.extend([503, 502])
        delivery = post_alert(hook.url, {"alert_id": "a1", "rule": "kherson"}, FAST)
        assert (delivery.status, delivery.attempts) == ("delivered", 3)
        assert [p["status"] for p in hook.posts] == [503, 502, 200]
        assert hook.delivered() == [{"alert_id": "a1", "rule": "kherson"}]


def test_webhook_does_not_retry_a_refusal_and_gives_up_in_bounded_time() -> None:
    with receiver(lifetime_s=60) as hook:
        hook.statuses.append(410)
        refused = post_alert(hook.url, {"alert_id": "a1"}, FAST)
        assert (refused.status, refused.attempts, refused.error) == ("failed", 1, "http_410")
        hook.statuses.extend([500, 500, 500, 500])
        tired = post_alert(hook.url, {"alert_id": "a2"}, FAST)
        assert (tired.status, tired.attempts, tired.error) == ("failed", 3, "http_500")
    started = time.monotonic()
    gone = post_alert("http://127.0.0.1:9/hook", {"alert_id": "a3"}, FAST)  # discard port: nothing answers
    assert gone.status == "failed" and gone.error == "ConnectError"
    assert time.monotonic() - started < 5


def test_webhook_options_are_bounded() -> None:
    with pytest.raises(ConfigError):
        WebhookOptions(attempts=0)
    with pytest.raises(ConfigError):
        WebhookOptions(max_total_s=0)


def test_feed_health_documents() -> None:
    from datetime import UTC, datetime

    from newsflow.index.feed_health import FeedHealth, feed_health_id
    from newsflow.timestamps import iso_z

    doc = FeedHealth(
        "demo",
        "partial",
        error_streak=2,
        checked_at=iso_z(datetime(2026, 11, 22, 6, tzinfo=UTC)),
        last_error="http_404",
    ).to_document()
    assert doc == {
        "feed": "demo",
        "status": "partial",
        "error_streak": 2,
        "in_error": False,
        "last_success": None,
        "last_error": "http_404",
        "last_error_message": None,
        "polls": 0,
        "not_modified": 0,
        "newest_item": None,
        "next_due": None,
        "pages_waiting": 0,
        "checked_at": "2026-11-22T06:00:00Z",
    }
    assert feed_health_id("demo") == feed_health_id("demo") != feed_health_id("demo2")
    with pytest.raises(InputError):
        FeedHealth("demo", "broken", error_streak=0, checked_at="2026-11-22T06:00:00Z")  # type: ignore[arg-type]  # invalid on purpose


def test_alerts_remove_shows_a_names_markup_literally(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """``repr`` of an escaped name doubled the backslash Rich's escape adds, and made the tags
    live again: a name holding ``[link=...]`` printed a terminal hyperlink. It prints as typed."""
    from newsflow import alerts
    from newsflow.cli import main

    monkeypatch.setattr(alerts, "remove_rule", lambda *_args: False)
    for name in ("a [link=http://evil]y[/link] b", "[bold red]x[/]", "x[/]"):
        assert main(["alerts", "remove", name]) == 1
        out = capsys.readouterr().out
        assert repr(name) in " ".join(out.split()) and "no such alert" in out, out
