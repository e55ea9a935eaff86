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
