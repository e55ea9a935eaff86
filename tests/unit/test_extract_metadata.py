"""Metadata from JSON-LD, meta tags, URLs and visible dates, on small hand-written pages."""

from __future__ import annotations

import pytest
from lxml import html as lxml_html

from newsflow.extract.dates import date_from_text, date_from_url, parse_date
from newsflow.extract.metadata import read_metadata, text_date


def _meta(head: str, body: str = "<p>x</p>", url: str | None = "https://news.example.com/a/story"):
    tree = lxml_html.fromstring(f"<html><head>{head}</head><body>{body}</body></html>")
    return read_metadata(tree, url)


def test_json_ld_article_wins_over_meta_tags() -> None:
    meta = _meta(
        """<meta property="article:published_time" content="2020-01-01T00:00:00Z">
        <script type="application/ld+json">
        [{"@type": "BreadcrumbList"},
         {"@type": ["NewsArticle"], "headline": "Bridge reopens",
          "datePublished": "2021-02-03T04:05:06-05:00",
          "dateModified": "2021-02-04T00:00:00Z", "author": {"@type": "Person", "name": "Ann Lee"},
          "publisher": {"name": "Example News"}, "image": {"url": "https://img.example.com/1.jpg"},
          "inLanguage": "es-MX", "isAccessibleForFree": false}]
        </script>"""
    )
    assert meta.title == "Bridge reopens"
    assert (meta.published, meta.published_source) == ("2021-02-03T09:05:06Z", "json-ld")
    assert meta.modified == "2021-02-04T00:00:00Z"
    assert meta.authors == ("Ann Lee",)
    assert meta.site_name == "Example News"
    assert meta.top_image == "https://img.example.com/1.jpg"
    assert meta.language == "es-mx"
    assert meta.accessible_for_free is False


def test_broken_json_ld_is_skipped_and_meta_tags_used() -> None:
    meta = _meta(
        """<script type="application/ld+json">{"@type": "NewsArticle", "headline": </script>
        <meta property="og:title" content="Harbour news">
        <meta property="article:published_time" content="2022-07-08T09:10:11+02:00">
        <meta name="author" content="By Sam Roe, Kim Poe">
        <meta property="og:site_name" content="Harbour Daily">
        <meta property="og:image" content="/img/a.png">
        <meta property="og:locale" content="pt_BR">"""
    )
    assert meta.title == "Harbour news"
    assert (meta.published, meta.published_source) == ("2022-07-08T07:10:11Z", "meta")
    assert meta.authors == ("Sam Roe", "Kim Poe")
    assert meta.site_name == "Harbour Daily"
    assert meta.top_image == "https://news.example.com/img/a.png"
    assert meta.language == "pt-br"
    assert meta.accessible_for_free is None


def test_json_ld_graph_is_searched() -> None:
    meta = _meta(
        """<script type="application/ld+json">{"@graph": [{"@type": "WebSite", "name": "S"},
        {"@type": "BlogPosting", "headline": "Graph post", "datePublished": "2019-05-06"}]}</script>"""
    )
    assert meta.title == "Graph post"
    assert (meta.published, meta.published_source) == ("2019-05-06T00:00:00Z", "json-ld")


def test_url_date_when_markup_has_none() -> None:
    meta = _meta("<title>T</title>", url="https://example.com/news/2018/11/09/some-story")
    assert (meta.published, meta.published_source) == ("2018-11-09T00:00:00Z", "url")
    assert meta.title == "T"


def test_no_date_anywhere_is_none_not_now() -> None:
    meta = _meta("<title>T</title>", url="https://example.com/news/some-story")
    assert (meta.published, meta.published_source) == (None, "none")


def test_rel_canonical_resolved_against_page_url() -> None:
    meta = _meta('<link rel="canonical" href="/a/story?id=3">')
    assert meta.canonical_url == "https://news.example.com/a/story?id=3"
    assert _meta("<title>x</title>").canonical_url is None


def test_html_lang_and_title_fallbacks() -> None:
    tree = lxml_html.fromstring(
        '<html lang="de"><head><title>Seite | Verlag</title></head><body><h1>Schlagzeile</h1></body></html>'
    )
    meta = read_metadata(tree, None)
    assert meta.language == "de"
    assert meta.title == "Schlagzeile"
    assert meta.headings == ("Schlagzeile", "Seite | Verlag")


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("2021-03-04T05:06:07Z", "2021-03-04T05:06:07Z"),
        ("2021-03-04T05:06:07+0200", "2021-03-04T03:06:07Z"),
        ("2021-03-04", "2021-03-04T00:00:00Z"),
        ("Tue, 10 Jun 2003 04:00:00 GMT", "2003-06-10T04:00:00Z"),
        ("March 4, 2021", "2021-03-04T00:00:00Z"),
        ("1870-01-01", None),
        ("yesterday", None),
        ("", None),
        (None, None),
    ],
)
def test_parse_date(raw: str | None, expected: str | None) -> None:
    assert parse_date(raw) == expected


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://e.com/2019/11/19/story", "2019-11-19T00:00:00Z"),
        ("https://e.com/news/2020-02-29-leap-day", "2020-02-29T00:00:00Z"),
        ("https://e.com/archive/20210115/item", "2021-01-15T00:00:00Z"),
        ("https://e.com/2019/02/30/impossible", None),
        ("https://e.com/story?date=2019/11/19", None),
        ("https://e.com/item/123456", None),
        (None, None),
    ],
)
def test_date_from_url(url: str | None, expected: str | None) -> None:
    assert date_from_url(url) == expected


def test_date_from_text_takes_earliest_mention() -> None:
    assert date_from_text("Posted Nov. 19, 2019 - updated 2019-11-21") == "2019-11-19T00:00:00Z"
    assert date_from_text("Published 3rd September 2020") == "2020-09-03T00:00:00Z"
    assert date_from_text("No date here, only 42 numbers") is None


def test_text_date_reads_date_blocks_not_the_story() -> None:
    tree = lxml_html.fromstring(
        "<html><body><p>The treaty of June 1, 1990 was cited.</p>"
        '<div class="post-date">Published on 5 May 2021</div></body></html>'
    )
    assert text_date(tree) == "2021-05-05T00:00:00Z"
    tree = lxml_html.fromstring('<html><body><time datetime="2020-10-10T10:00:00Z">Sat</time></body></html>')
    assert text_date(tree) == "2020-10-10T10:00:00Z"
    assert text_date(lxml_html.fromstring("<html><body><p>May 5, 2021</p></body></html>")) is None
