"""robots.txt read as RFC 9309 says (protego), where the stdlib parser reads it differently."""

from __future__ import annotations

import pytest

from newsflow.politeness import RobotsCache

ROBOTS = b"""\
User-agent: *
Disallow: /private
Allow: /private/press
Disallow: /*.pdf$
Disallow: /search?

User-agent: newsflow
Disallow: /private
Allow: /private/press
Disallow: /*.pdf$
Crawl-delay: 3
"""


@pytest.mark.parametrize(
    ("path", "allowed"),
    [
        ("/news/today.html", True),
        ("/private/diary.html", False),
        ("/private/press/release.html", True),  # the longer (more specific) rule wins, not the first
        ("/files/report.pdf", False),  # '*' and '$' are patterns, not literal characters
        ("/files/report.pdf.html", True),
    ],
)
def test_rfc9309_matching(path: str, allowed: bool) -> None:
    cache = RobotsCache(lambda _url: (200, ROBOTS), "newsflow")
    assert cache.allowed(f"https://news.example{path}") is allowed


def test_crawl_delay_of_our_group() -> None:
    cache = RobotsCache(lambda _url: (200, ROBOTS), "newsflow")
    assert cache.crawl_delay("https://news.example/x") == 3.0
    assert (
        RobotsCache(lambda _url: (200, b"User-agent: *\nDisallow:\n"), "newsflow").crawl_delay(
            "https://news.example/x"
        )
        is None
    )


def test_robots_txt_is_the_sites_asked_for_without_credentials() -> None:
    """A feed URL may carry a user and password; its site's robots.txt is one file, cached
    once, asked for (and logged, and reported) without them."""
    asked: list[str] = []

    def fetch(url: str) -> tuple[int, bytes]:
        asked.append(url)
        return 200, ROBOTS

    cache = RobotsCache(fetch, "newsflow")
    cache.allowed("https://alice:s3cret@news.example:8443/feed.xml")
    cache.allowed("https://news.example:8443/story/1")
    assert asked == ["https://news.example:8443/robots.txt"]
