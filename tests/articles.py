"""Articles for story tests, built the way extraction hands them on."""

from __future__ import annotations

from typing import Any


def make_article(url: str, title: str, text: str, published: str, source: str, **kw: Any) -> Any:
    from newsflow.records import Article
    from newsflow.urls import canonicalize_url

    return Article(
        url=url,
        canonical_url=canonicalize_url(url),
        title=title,
        text=text,
        published=published,
        published_source="meta",
        language=kw.pop("language", "en"),
        source=source,
        content_hash=kw.pop("content_hash", f"h-{abs(hash((text, title)))}"),
        **kw,
    )
