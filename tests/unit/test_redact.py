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
