"""extract_article end to end on hand-written pages: reasons, dates and their sources, fallback."""

from __future__ import annotations

from typing import Any

import pytest
from lxml import html as lxml_html

from newsflow.errors import ConfigError, ExtractionError
from newsflow.extract import REASONS, ExtractOptions, FeedHints, extract_article, fallback_article
from newsflow.extract import body as body_module
from newsflow.extract.body import clean_body

PARAGRAPHS = "".join(
    f"<p>Paragraph {i} of the story explains, in plain words, what the council decided about the "
    f"bridge and why residents on both banks of the river were asked for their views first.</p>"
    for i in range(6)
)


def _page(head: str = "", body: str = PARAGRAPHS) -> str:
    return (
        f"<!DOCTYPE html><html><head><title>Bridge vote</title>{head}</head>"
        f"<body><nav><a href='/'>Home</a></nav><article><h1>Bridge vote</h1>{body}</article></body></html>"
    )


JSON_LD_DATE = (
    '<script type="application/ld+json">{"@type": "NewsArticle", "datePublished": "2022-01-02T03:04:05Z"}'
    "</script>"
)


def _reason(html: bytes | str, **kwargs: Any) -> str:
    with pytest.raises(ExtractionError) as info:
        extract_article(html, url=kwargs.pop("url", "https://example.com/x"), **kwargs)
    assert info.value.reason in REASONS
    assert "example.com/x" in str(info.value)
    return info.value.reason


def test_article_fields_and_version() -> None:
    article = extract_article(_page(JSON_LD_DATE).encode(), url="https://Example.com/x/?utm_source=a#top")
    assert article.title == "Bridge vote"
    assert "Paragraph 5 of the story" in article.text
    assert not article.text.startswith("Bridge vote")
    assert (article.published, article.published_source) == ("2022-01-02T03:04:05Z", "json-ld")
    assert article.canonical_url == "https://example.com/x"
    assert article.source == "example.com"
    assert article.extractor_version.startswith("newsflow-extract/")
    assert "+trafilatura/" in article.extractor_version
    assert not article.fallback
    assert len(article.content_hash) == 32


@pytest.mark.parametrize(
    ("html", "reason"),
    [
        (b"", "empty"),
        (b"   \n\t ", "empty"),
        ("", "empty"),
        (b"%PDF-1.7 binary stuff", "not_html"),
        (b'{"json": "document"}', "not_html"),
        ("just some plain text without any markup at all", "not_html"),
        ("<html><body><nav><a href='/'>Home</a></nav></body></html>", "not_article"),
        (_page(body="<p>Too short.</p>"), "too_short"),
    ],
)
def test_unextractable_pages_raise_with_reason(html: bytes | str, reason: str) -> None:
    assert _reason(html) == reason


def test_too_large() -> None:
    assert _reason(_page().encode(), options=ExtractOptions(max_html_bytes=100)) == "too_large"


def test_paywalled_teaser_is_kept_and_marked() -> None:
    ld = (
        '<script type="application/ld+json">{"@type": "NewsArticle", "isAccessibleForFree": "False",'
        ' "datePublished": "2024-01-20T12:00:00Z"}</script>'
    )
    # nothing useful readable: rejected, the feed summary takes over
    assert _reason(_page(ld, "<p>Revenue rose for a fifth straight quarter.</p>")) == "paywall"
    # a readable teaser is the article's text, with the page's own date, and marked
    teaser = extract_article(_page(ld, PARAGRAPHS[:600]), url="https://example.com/x")
    assert teaser.paywalled is True
    assert "Paragraph 1 of the story" in teaser.text
    assert (teaser.published, teaser.published_source) == ("2024-01-20T12:00:00Z", "json-ld")
    # a page marked not free but fully readable is a whole article
    article = extract_article(_page(ld, PARAGRAPHS * 3), url="https://example.com/x")
    assert len(article.text) > 1500
    assert article.paywalled is False


def test_published_priority_page_then_feed_then_last_modified() -> None:
    feed = FeedHints(published="Tue, 10 Jun 2003 04:00:00 GMT")
    dated_url = "https://example.com/2001/02/03/x"
    page_ld = _page(JSON_LD_DATE)
    article = extract_article(page_ld, url=dated_url, feed=feed)
    assert article.published_source == "json-ld"
    # a date the page states (here its URL) beats the feed, which may carry a rebuild time
    article = extract_article(_page(), url=dated_url, feed=feed)
    assert (article.published, article.published_source) == ("2001-02-03T12:00:00Z", "url")
    article = extract_article(_page(), url="https://example.com/x", feed=feed)
    assert (article.published, article.published_source) == ("2003-06-10T04:00:00Z", "feed")
    last_modified = "Wed, 11 Jun 2003 08:00:00 GMT"
    article = extract_article(_page(), url="https://example.com/x", last_modified=last_modified)
    assert (article.published, article.published_source) == ("2003-06-11T08:00:00Z", "http-last-modified")


def test_no_date_is_none_never_the_fetch_time() -> None:
    article = extract_article(
        _page(),
        url="https://example.com/x",
        fetched_at="2024-05-06T07:08:09Z",
    )
    assert (article.published, article.published_source) == (None, "none")
    assert article.fetched_at == "2024-05-06T07:08:09Z"


def test_text_date_source() -> None:
    body = '<div class="dateline">Updated March 3, 2020</div>' + PARAGRAPHS
    article = extract_article(_page(body=body), url="https://example.com/x")
    assert (article.published, article.published_source) == ("2020-03-03T12:00:00Z", "text")
    options = ExtractOptions(search_text_dates=False)
    assert extract_article(_page(body=body), url="https://example.com/x", options=options).published is None


def test_rel_canonical_used_and_stripped_but_home_page_canonical_ignored() -> None:
    head = '<link rel="canonical" href="https://www.example.com/story/1?utm_campaign=z&amp;b=2&amp;a=1">'
    article = extract_article(_page(head), url="https://m.example.com/story/1?fbclid=abc")
    assert article.canonical_url == "https://www.example.com/story/1?a=1&b=2"
    head = '<link rel="canonical" href="https://www.example.com/">'
    article = extract_article(_page(head), url="https://www.example.com/story/1")
    assert article.canonical_url == "https://www.example.com/story/1"


@pytest.mark.parametrize(
    "href", ["http://example.com:99999/story/1", "http://[::1/story/1", "https://[not-an-ip]/x", "//:0/x"]
)
def test_a_canonical_link_that_is_no_url_is_ignored(href: str) -> None:
    """The page's markup is the publisher's, or an attacker's: a canonical link whose port is
    out of range or whose IPv6 host is broken leaves the page's own URL, and no exception."""
    article = extract_article(
        _page(f'<link rel="canonical" href="{href}">'), url="https://example.com/story/1"
    )
    assert article.canonical_url == "https://example.com/story/1"


@pytest.mark.parametrize("charset", ["rot13", "base64", "hex", "zlib", "uu", "bz2", "quopri"])
def test_a_charset_that_is_no_text_encoding_is_ignored(charset: str) -> None:
    """Python's codec registry also holds byte and string transforms; a page naming one as its
    charset (in its markup or its Content-Type) is decoded as if it named none."""
    page = _page(f'<meta charset="{charset}">').encode()
    for content_type in (None, f"text/html; charset={charset}"):
        article = extract_article(page, url="https://example.com/x", content_type=content_type)
        assert article.title == "Bridge vote"


def test_feed_hints_fill_gaps() -> None:
    feed = FeedHints(feed="city-news", title="Feed title", source="City News", tags=("local",))
    article = extract_article(_page(), url="https://example.com/x", feed=feed)
    assert article.feed == "city-news"
    assert article.tags == ("local",)
    assert article.title == "Bridge vote"  # the page's own title wins


def test_fallback_article_from_feed_summary() -> None:
    feed = FeedHints(
        feed="city-news",
        title="Bridge <b>vote</b> delayed",
        summary="<p>The council <script>x()</script>postponed the vote.</p>",
        published="2024-02-03T04:05:06+01:00",
        tags=("local",),
    )
    article = fallback_article(
        "https://example.com/x?utm_source=rss", feed, fetched_at="2024-02-03T05:00:00Z"
    )
    assert article.fallback is True
    assert article.text == "The council postponed the vote."
    assert article.title == "Bridge vote delayed"
    assert (article.published, article.published_source) == ("2024-02-03T03:05:06Z", "feed")
    assert article.canonical_url == "https://example.com/x"
    assert article.extractor_version.startswith("newsflow-extract/")
    bare = fallback_article("https://example.com/y", FeedHints(), fetched_at="2024-01-01T00:00:00Z")
    assert (bare.text, bare.published, bare.published_source) == ("", None, "none")


@pytest.mark.parametrize(
    "kwargs",
    [
        {"favor": "fast"},
        {"min_text_chars": -1},
        {"paywall_max_chars": -5},
        {"max_html_bytes": 0},
        {"adaptive_ratio": 0.5},
        {"adaptive_short_chars": -1},
        {"adaptive_page_share": 1.5},
    ],
)
def test_options_are_validated(kwargs: dict[str, Any]) -> None:
    with pytest.raises(ConfigError):
        ExtractOptions(**kwargs)


def test_feed_hints_tags_validated() -> None:
    with pytest.raises(ConfigError):
        FeedHints(tags="local")  # type: ignore[arg-type]  # the wrong type is the point of the test


def test_clean_body_drops_generic_boilerplate_and_repeated_headline() -> None:
    text = "\n".join(
        [
            "Bridge vote",
            "The council met on Monday.",
            "Read more: Another story entirely",
            "Related Articles",
            "Residents will be asked to read more about it.",
            "Share this article",
            "Follow City News on Twitter and Facebook",
            "© 2024 City News Ltd",
        ],
    )
    cleaned = clean_body(text, ("Bridge vote",))
    assert cleaned == "The council met on Monday.\nResidents will be asked to read more about it."
    assert clean_body(text, ("Bridge vote",), boilerplate=False, drop_title=False) == text


def test_adaptive_adds_effort_only_where_the_page_looks_lost() -> None:
    calls: list[str] = []
    outputs = {
        "precision-fast": "Legal notice only.",
        "precision": "Legal notice, checked.",
        "balanced": "The real story. " * 40,
        "recall": "r",
    }

    def fake_run(tree: Any, url: str | None, options: ExtractOptions, favor: str, *, fast: bool) -> str:
        key = f"{favor}-fast" if fast and favor == "precision" else favor
        calls.append(key)
        return outputs[key]

    tree = lxml_html.fromstring("<html><body><p>" + "Story text. " * 100 + "</p></body></html>")
    text, setting = body_module.raw_body(tree, None, ExtractOptions(), run=fake_run)
    assert (setting, calls) == ("balanced", ["precision-fast", "precision", "balanced"])
    assert text.startswith("The real story.")
    # the main extractor's text looks whole: nothing else runs
    calls.clear()
    outputs["precision-fast"] = "A complete precise story. " * 40
    _, setting = body_module.raw_body(tree, None, ExtractOptions(), run=fake_run)
    assert (setting, calls) == ("precision", ["precision-fast"])
    # the cross-check rescues it: no balanced run
    calls.clear()
    outputs["precision-fast"] = "Teaser."
    outputs["precision"] = "A complete checked story. " * 40
    text, setting = body_module.raw_body(tree, None, ExtractOptions(), run=fake_run)
    assert (setting, calls) == ("precision", ["precision-fast", "precision"])
    assert text.startswith("A complete checked story.")
    # long enough in itself, but a small share of the page's paragraph text: a teaser of a long story
    calls.clear()
    long_page = lxml_html.fromstring("<html><body><p>" + "Story text. " * 1000 + "</p></body></html>")
    body_module.raw_body(long_page, None, ExtractOptions(), run=fake_run)
    assert calls == ["precision-fast", "precision", "balanced"]
    # fast=True never runs the cross-check
    calls.clear()
    body_module.raw_body(long_page, None, ExtractOptions(fast=True), run=fake_run)
    assert calls == ["precision-fast", "balanced"]
    calls.clear()
    body_module.raw_body(tree, None, ExtractOptions(favor="recall"), run=fake_run)
    assert calls == ["recall"]


def _chunk(start: int, count: int) -> str:
    return "".join(
        f"<p>Chunk paragraph {i} keeps telling the same long story about the harbour and its ferry.</p>"
        for i in range(start, start + count)
    )


def test_split_body_blocks_are_joined_in_document_order() -> None:
    from newsflow.extract.body import join_split_body

    page = (
        "<html><body><article><div class='chunks'>"
        f"<div class='grid'><div class='body part'>{_chunk(0, 3)}</div></div>"
        f"<div class='grid'><div class='body part'>{_chunk(3, 3)}</div></div>"
        f"<div class='grid'><div class='body part'>{_chunk(6, 1)}</div></div>"
        "</div></article>"
        f"<footer><div><div><div><div class='body part'>{_chunk(20, 3)}</div></div></div></div></footer>"
        "</body></html>"
    )
    tree = lxml_html.fromstring(page)
    first = "\n".join(
        f"Chunk paragraph {i} keeps telling the same long story about the harbour and its ferry."
        for i in range(3)
    )
    joined = join_split_body(tree, first).splitlines()
    assert [line.split()[2] for line in joined] == [
        "0",
        "1",
        "2",
        "3",
        "4",
        "5",
    ]  # lone paragraph and far block left out
    middle = "\n".join(
        f"Chunk paragraph {i} keeps telling the same long story about the harbour and its ferry."
        for i in range(3, 6)
    )
    assert [line.split()[2] for line in join_split_body(tree, middle).splitlines()] == [
        "0",
        "1",
        "2",
        "3",
        "4",
        "5",
    ]
    assert join_split_body(tree, "unrelated text") == "unrelated text"


def _lines(start: int, count: int) -> str:
    return "\n".join(
        f"Chunk paragraph {i} keeps telling the same long story about the harbour and its ferry."
        for i in range(start, start + count)
    )


def test_split_body_join_stays_in_its_article_and_adds_nothing_twice() -> None:
    from newsflow.extract.body import join_split_body

    # the next story, loaded below in its own <article>, uses the same blocks
    stacked = lxml_html.fromstring(
        "<html><body><div class='feed'>"
        f"<article><div class='grid'><div class='body part'>{_chunk(0, 3)}</div></div></article>"
        f"<article><div class='grid'><div class='body part'>{_chunk(10, 3)}</div></div></article>"
        "</div></body></html>"
    )
    assert join_split_body(stacked, _lines(0, 3)) == _lines(0, 3)
    # paragraphs already in the text, however it broke its lines, are not added again
    split = lxml_html.fromstring(
        "<html><body><article>"
        f"<div class='grid'><div class='body part'>{_chunk(0, 3)}</div></div>"
        f"<div class='grid'><div class='body part'>{_chunk(0, 3)}</div></div>"
        "</article></body></html>"
    )
    rewrapped = _lines(0, 3).replace(" about the harbour", "\nabout the harbour")
    assert join_split_body(split, rewrapped) == rewrapped
