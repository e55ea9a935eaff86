"""Where a page lives, as a feed's state remembers it (``FeedState.page_sites``)."""

from __future__ import annotations

import pytest

from newsflow.urls import site_of


@pytest.mark.parametrize(
    ("url", "site"),
    [
        ("https://www.bbc.co.uk/news/1", "https://www.bbc.co.uk"),
        ("http://localhost:8080/a?b=c", "http://localhost:8080"),
        ("https://reader:secret@News.Example.com:8443/a", "https://news.example.com:8443"),  # no password
        ("https://example.com:notaport/a", "https://example.com"),
        ("mailto:desk@example.com", ""),
        ("", ""),
    ],
)
def test_a_site_is_scheme_host_and_port(url: str, site: str) -> None:
    assert site_of(url) == site
