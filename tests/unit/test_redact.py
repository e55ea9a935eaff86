"""Credentials in URLs and in text quoting them are masked; everything else is kept."""

from __future__ import annotations

import logging

import pytest

from newsflow.redact import RedactingFilter, redact_text, redact_url
from newsflow.settings import EsConnection


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("http://user:pass@host:9200", "http://user:***@host:9200"),
        ("https://tok3n@host/x?api_key=abc&q=1", "https://***@host/x?api_key=***&q=1"),
        ("http://u:p%40ss@h/", "http://u:***@h/"),
        ("http://a@b@h/", "http://***@h/"),
        ("http://host:9200/path?q=harbour", "http://host:9200/path?q=harbour"),
        ("http://user:s3/cret@127.0.0.1:9399", "http://user:***@127.0.0.1:9399"),
        ("http://user:s3?cr#et@127.0.0.1:9399/x", "http://user:***@127.0.0.1:9399/x"),
        ("https://medium.com/@writer/a-story", "https://medium.com/@writer/a-story"),
        ("https://news.example:8443/@writer/a-story", "https://news.example:8443/@writer/a-story"),
        (
            "https://s3.example/obj?X-Amz-Signature=abc&X-Amz-Date=1",
            "https://s3.example/obj?X-Amz-Signature=***&X-Amz-Date=1",
        ),
    ],
)
def test_redact_url(url: str, shown: str) -> None:
    assert redact_url(url) == shown


def test_redact_text_masks_every_quoted_url_only() -> None:
    text = "GET http://elastic:s3cret@10.0.0.1:9200/_search failed; see https://x/?token=zz&a=b, bob@x.org"
    assert redact_text(text) == (
        "GET http://elastic:***@10.0.0.1:9200/_search failed; see https://x/?token=***&a=b, bob@x.org"
    )
    assert redact_text("http://u:p@ss@h/x") == "http://u:***@h/x"
    assert redact_text("refused: http://alice:pa/ss@feeds.example/rss (401)") == (
        "refused: http://alice:***@feeds.example/rss (401)"
    )


def test_es_connection_never_shows_the_password() -> None:
    conn = EsConnection(url="https://elastic:hunter2@es.example:9243", external=True, password="other")
    assert "hunter2" not in repr(conn) and "other" not in repr(conn)
    assert conn.display_url == "https://elastic:***@es.example:9243"


def test_logging_filter_masks_arguments(caplog: pytest.LogCaptureFixture) -> None:
    logger = logging.getLogger("test.redact")
    caplog.handler.addFilter(RedactingFilter())
    with caplog.at_level(logging.INFO):
        logger.info("using %s", "http://elastic:hunter2@es.example")
    assert "hunter2" not in caplog.text and "elastic:***@es.example" in caplog.text


def test_a_logged_traceback_is_masked(caplog: pytest.LogCaptureFixture) -> None:
    logger = logging.getLogger("test.redact")
    caplog.handler.addFilter(RedactingFilter())
    try:
        raise ValueError("Could not parse URL 'http://elastic:hunter2@es.example:99999'")
    except ValueError:
        logger.exception("failed")
    assert "hunter2" not in caplog.text and "elastic:***@es.example" in caplog.text


def test_a_bug_in_a_command_shows_its_traceback_masked(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """An exception no command expected still reaches the user as a traceback (it is a bug to
    report), but with the credentials it quotes masked and its escape sequences made visible."""
    from newsflow.cli import main
    from newsflow.dedup import batch

    def broken(*_args: object) -> object:
        raise RuntimeError("boom at http://elastic:hunter2@es.example:9200 \x1b]8;;http://evil\x07")

    monkeypatch.setattr(batch, "read_articles", broken)
    assert main(["cluster", "--in", "a.jsonl", "--out", "b.jsonl"]) == 1
    err = capsys.readouterr().err
    assert "Traceback" in err and "RuntimeError: boom" in err
    assert "hunter2" not in err and "\x1b" not in err and "elastic:***@es.example" in err


@pytest.mark.parametrize(
    "url",
    [
        "http://user:s3cret@127.0.0.1:99999",
        "http://user:s3/cret@127.0.0.1:9399",
        "http://user:s3cret@[::1:9399",
    ],
)
def test_a_malformed_es_url_is_a_clear_error_that_masks_the_password(
    url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from newsflow.cli import main

    monkeypatch.setenv("NEWSFLOW_ES_URL", url)
    assert main(["es", "status"]) == 2
    err = capsys.readouterr().err
    assert "NEWSFLOW_ES_URL" in err and "Traceback" not in err
    assert "s3cret" not in err and "cret" not in err
