"""Processing folds pages that name one canonical URL into one article, and counts the fold."""

from __future__ import annotations

import logging
from typing import Any

import pytest

from newsflow.archive.batch import ArchivedPage, BatchContents
from newsflow.archive.records import ArchivedResponse
from newsflow.counts import Counts
from newsflow.extract import extract_article
from newsflow.feed_registry import FeedRegistry
from newsflow.flows import process
from newsflow.flows.process import extract_batches

PARAGRAPH = (
    "The harbour authority approved the new ferry timetable on Monday after a review of "
    "passenger numbers, and officials said the changes would start next month. "
)


def _page(url: str, canonical: str, title: str) -> ArchivedPage:
    body = (
        f'<html lang="en"><head><title>{title}</title><link rel="canonical" href="{canonical}">'
        '<meta property="article:published_time" content="2026-11-20T08:00:00Z"></head>'
        f"<body><article><h1>{title}</h1>" + f"<p>{PARAGRAPH * 3}</p>" * 4 + "</article></body></html>"
    ).encode()
    response = ArchivedResponse(
        ref=f"{url}#0",
        url=url,
        requested_url=url,
        status=200,
        headers=(("content-type", "text/html; charset=utf-8"),),
        body=body,
        fetched_at="2026-11-20T09:00:00Z",
        kind="page",
        feed=None,
    )
    return ArchivedPage(response=response, entry=None)


def test_pages_sharing_a_canonical_url_are_one_article_and_the_fold_is_counted() -> None:
    canonical = "https://news.example.org/2026/11/20/ferry-timetable"
    pages = (
        _page("http://127.0.0.1:8000/copy-1.html", canonical, "Ferry timetable approved"),
        _page("http://127.0.0.1:8000/copy-2.html", canonical, "Ferry timetable approved"),
        _page("http://127.0.0.1:8000/other.html", "https://news.example.org/other", "Harbour fees rise"),
    )
    counts = Counts()
    articles = extract_batches(
        [BatchContents(pages=pages, failures=(), files=())], FeedRegistry("feeds.yaml", ()), counts
    )
    assert counts["pages_read"] == 3 and counts["extracted"] == 3
    assert len(articles) == 2, [a.canonical_url for a in articles]
    assert counts["pages_skipped:same_canonical_url"] == 1, dict(counts.items())


def test_a_page_extraction_crashes_on_is_counted_and_the_batch_goes_on(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """A bug that one hostile page meets is logged with its traceback and counted under
    ``rejected:extract_crash``; the batch's other pages are still extracted, so the task does
    not fail on every retry over the same archived page."""

    def crashes_on_one(html: bytes | str, **kwargs: Any) -> Any:
        if "bad.html" in str(kwargs.get("url")):
            raise RuntimeError("a bug")
        return extract_article(html, **kwargs)

    monkeypatch.setattr(process, "extract_article", crashes_on_one)
    pages = (
        _page("http://127.0.0.1:8000/bad.html", "https://news.example.org/bad", "Ferry timetable approved"),
        _page("http://127.0.0.1:8000/good.html", "https://news.example.org/good", "Harbour fees rise"),
    )
    counts = Counts()
    with caplog.at_level(logging.ERROR, logger="newsflow.flows.process"):
        articles = extract_batches(
            [BatchContents(pages=pages, failures=(), files=())], FeedRegistry("feeds.yaml", ()), counts
        )
    assert [a.canonical_url for a in articles] == ["https://news.example.org/good"]
    assert counts["rejected:extract_crash"] == 1 and counts["extracted"] == 1
    assert "RuntimeError: a bug" in caplog.text and "bad.html" in caplog.text
