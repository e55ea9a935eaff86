"""``newsflow fetch-feed`` against the local fixture site."""

from __future__ import annotations

import pytest

from newsflow.cli import main
from tests.site.server import NewsSite

pytest_plugins = ["tests.site.conftest_plugin"]


def test_fetch_feed_shows_entries(news_site: NewsSite, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["fetch-feed", f"{news_site.base_url}/feeds/atom.xml", "--allow-private"])
    out = capsys.readouterr().out
    assert code == 0
    assert "Atom one" in out and "/extra/atom-1.html" in out and "2026-11-01T12:00:00Z" in out


def test_fetch_feed_reports_parse_errors(news_site: NewsSite, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["fetch-feed", f"{news_site.base_url}/feeds/bomb.xml", "--allow-private"]) == 1
    assert "entity_declarations" in capsys.readouterr().out


def test_fetch_feed_refuses_private_without_flag(
    news_site: NewsSite, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["fetch-feed", f"{news_site.base_url}/feeds/atom.xml"]) == 2
    assert "refused_private_address" in capsys.readouterr().err
    assert news_site.hits["/feeds/atom.xml"] == 0


def test_fetch_feed_never_shows_the_credentials_of_its_url(capsys: pytest.CaptureFixture[str]) -> None:
    """A feed with no title is headed by its URL, and its relative links resolve against that
    URL: neither shows the password or the key the operator put in it."""
    from tests.faults.hostile import Request, serving

    feed = (
        b'<?xml version="1.0"?><rss version="2.0"><channel>'
        b"<item><title>One</title><link>/rel/a</link></item></channel></rss>"
    )

    def serve(request: Request) -> None:
        request.respond(200, feed, "application/rss+xml")

    with serving({"/notitle.xml": serve}, lifetime=60) as site:
        url = f"http://alice:s3cret@127.0.0.1:{site.port}/notitle.xml?api_key=K3Y"
        assert main(["fetch-feed", url, "--allow-private"]) == 0
    out = capsys.readouterr().out
    assert "s3cret" not in out and "K3Y" not in out
    assert "alice:***@127.0.0.1" in out and "/rel/a" in out
