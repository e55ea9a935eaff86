"""Processing folds pages that name one canonical URL into one article, and counts the fold."""

from __future__ import annotations

from newsflow.archive.batch import ArchivedPage, BatchContents
from newsflow.archive.records import ArchivedResponse
from newsflow.counts import Counts
from newsflow.feed_registry import FeedRegistry
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
