"""Raw page to ``Article``: decode, read metadata, extract the body, decide date and language.

The publish date is never the fetch time: it comes from the page (JSON-LD, meta tags,
a ``<time>`` element, the URL, a date written in the page), then the feed entry, then
the HTTP ``Last-Modified`` header, or it stays empty ("none"); ``published`` explains
the order and ``date_confidence`` how far each source is trusted. The language is the
page's tag checked against the text (``pagelang``). Pages that hold no article raise
``ExtractionError`` with a reason code (see ``REASONS``); ``fallback_article`` then
keeps the entry alive from its feed summary.
"""

from __future__ import annotations

import logging
import re
from functools import cache
from typing import Any
from urllib.parse import urlsplit

from newsflow.errors import ExtractionError
from newsflow.extract.body import extract_body
from newsflow.extract.dates import parse_date
from newsflow.extract.decode import DecodedPage, decode_page
from newsflow.extract.metadata import PageMetadata, read_metadata
from newsflow.extract.options import ExtractOptions, FeedHints
from newsflow.extract.pagelang import page_language
from newsflow.extract.published import published_date
from newsflow.extract.textnorm import clean_text
from newsflow.records import Article, PublishedSource, content_hash
from newsflow.urls import canonicalize_url, host_of

logger = logging.getLogger(__name__)

# Bump when extraction rules change, so re-extracted records can be told apart.
# 1.2: mislabelled charsets re-detected; charset and its source recorded
# 1.3: headline between disagreeing JSON-LD/og titles; link-only list items and kicker headlines dropped
# 1.4: words after link icons and subheadings inside jump marks kept
# 1.5: client-rendered pages read from the HTML their scripts ship
# 1.6: the lead paragraph a page sets apart opens the body
STAGE_VERSION = "1.6"
DEFAULT_OPTIONS = ExtractOptions()

_TAG = re.compile(
    r"<\s*(?:!doctype|html|head|body|meta|title|div|p|article|main|section|span|a|h[1-6])\b", re.I
)
_BINARY_MAGIC = (b"%PDF", b"\x89PNG", b"GIF8", b"\xff\xd8\xff", b"PK\x03\x04", b"\x1f\x8b", b"OggS", b"ID3")


@cache
def extractor_version() -> str:
    """``newsflow-extract/<stage>+trafilatura/<version>``, stored in every record."""
    import trafilatura

    return f"newsflow-extract/{STAGE_VERSION}+trafilatura/{trafilatura.__version__}"


def _name(url: str | None) -> str:
    return url or "page without URL"


def _to_text(
    html: bytes | str, url: str | None, content_type: str | None, options: ExtractOptions
) -> tuple[str, DecodedPage | None]:
    decoded: DecodedPage | None = None
    if isinstance(html, bytes):
        if len(html) > options.max_html_bytes:
            raise ExtractionError(
                f"{_name(url)}: body is {len(html)} bytes, above max_html_bytes={options.max_html_bytes}; "
                "raise the limit if such pages are expected",
                reason="too_large",
            )
        if not html.strip():
            raise ExtractionError(f"{_name(url)}: empty response body; refetch the page", reason="empty")
        if html.lstrip()[:8].startswith(_BINARY_MAGIC):
            raise ExtractionError(f"{_name(url)}: binary content, not HTML", reason="not_html")
        decoded = decode_page(html, content_type)
        html = decoded.text
    elif len(html) > options.max_html_bytes:
        raise ExtractionError(
            f"{_name(url)}: page is {len(html)} characters, above max_html_bytes={options.max_html_bytes}",
            reason="too_large",
        )
    if not html.strip():
        raise ExtractionError(f"{_name(url)}: empty response body; refetch the page", reason="empty")
    head = html[:65536]
    if "\x00" in head or _TAG.search(head) is None:
        raise ExtractionError(
            f"{_name(url)}: content is not HTML (no HTML tags found); check the fetched content type",
            reason="not_html",
        )
    return html, decoded


def _parse(text: str, url: str | None) -> Any:
    from trafilatura.utils import load_html

    tree = load_html(text)
    if tree is None:
        raise ExtractionError(f"{_name(url)}: the HTML could not be parsed", reason="not_html")
    return tree


def _canonical(meta: PageMetadata, url: str | None) -> str:
    """rel=canonical unless it is clearly not this article (another scheme, no host, the site's
    home page) or no URL at all."""
    candidate = meta.canonical_url
    if candidate:
        page_path = urlsplit(url).path if url else ""
        try:
            parts = urlsplit(candidate)
            home = parts.path in ("", "/") and page_path not in ("", "/")
            if parts.scheme in ("http", "https") and parts.hostname and not home:
                return canonicalize_url(candidate)
        except ValueError:  # the page's markup: a port out of range, a broken IPv6 host
            pass
        logger.debug("ignoring rel=canonical %r for %s", candidate, url)
    return canonicalize_url(url) if url else ""


def _paywalled(body: str, meta: PageMetadata, options: ExtractOptions) -> bool:
    """Marked not free and only a teaser readable. The teaser is kept as the article's text (with
    the page's own title, date and language, which the feed lacks): both dev sets count a paywalled
    page's teaser as its body, and rejecting such pages lost on both."""
    return meta.accessible_for_free is False and len(body) < options.paywall_max_chars


def _check_body(body: str, meta: PageMetadata, url: str | None, options: ExtractOptions) -> None:
    if _paywalled(body, meta, options) and len(body) < options.min_text_chars:
        raise ExtractionError(
            f"{_name(url)}: page is marked not free and only {len(body)} characters are readable; "
            "use the feed summary (fallback_article)",
            reason="paywall",
        )
    if not body or (len(body) < options.min_text_chars and not meta.article_marked):
        raise ExtractionError(
            f"{_name(url)}: no main content found ({len(body)} characters; index, media or error page?); "
            "use the feed summary (fallback_article)",
            reason="not_article",
        )
    if len(body) < options.min_text_chars:
        raise ExtractionError(
            f"{_name(url)}: main text is {len(body)} characters, below min_text_chars="
            f"{options.min_text_chars}; use the feed summary (fallback_article)",
            reason="too_short",
        )


def extract_article(
    html: bytes | str,
    *,
    url: str | None,
    options: ExtractOptions = DEFAULT_OPTIONS,
    feed: FeedHints | None = None,
    fetched_at: str | None = None,
    content_type: str | None = None,
    last_modified: str | None = None,
) -> Article:
    """Extract one article; raises ``ExtractionError`` (with ``.reason``) when the page holds none.

    ``content_type`` and ``last_modified`` are the HTTP header values (the charset is trusted
    over the page's; ``Last-Modified`` is the publish date of last resort). ``fetched_at``
    bounds the publish date from above; it is never a publish date itself.
    """
    text, decoded = _to_text(html, url, content_type, options)
    tree = _parse(text, url)
    meta = read_metadata(tree, url)
    body = extract_body(tree, url, options, meta.headings)
    _check_body(body, meta, url, options)
    language, language_tag = page_language(meta.language, body)
    published, source = published_date(
        meta,
        tree,
        url,
        feed_published=feed.published if feed else None,
        last_modified=last_modified,
        fetched_at=fetched_at,
        search_text=options.search_text_dates,
        month_first=language_tag in ("en", "en-US"),
    )
    canonical = _canonical(meta, url)
    tags = tuple(dict.fromkeys((*(feed.tags if feed else ()), *meta.tags)))
    return Article(
        url=url or "",
        canonical_url=canonical,
        title=meta.title or (summary_text(feed.title) if feed else ""),
        text=body,
        published=published,
        published_source=source,
        modified=meta.modified,
        authors=meta.authors,
        language=language,
        language_tag=language_tag,
        paywalled=_paywalled(body, meta, options),
        site_name=meta.site_name,
        description=meta.description,
        top_image=meta.top_image,
        source=host_of(canonical or url or "") or (feed.source if feed else None) or None,
        feed=feed.feed if feed else None,
        tags=tags,
        fetched_at=parse_date(fetched_at) if fetched_at else None,
        extractor_version=extractor_version(),
        content_hash=content_hash(body),
        charset=decoded.charset if decoded else None,
        charset_source=decoded.source if decoded else None,
    )


def summary_text(summary: str | None) -> str:
    """Plain text of a feed summary or title, which is often an HTML fragment or escaped twice."""
    if not summary or not summary.strip():
        return ""
    if "<" not in summary:
        return clean_text(summary) or ""
    from lxml import html as lxml_html

    try:
        fragment = lxml_html.fragment_fromstring(summary, create_parent="div")
    except Exception:  # lxml raises several parser errors on broken fragments; fall back to tag stripping
        return clean_text(re.sub(r"<[^>]+>", " ", summary)) or ""
    for bad in fragment.xpath(".//script|.//style"):
        bad.drop_tree()
    return clean_text(fragment.text_content()) or ""


def fallback_article(
    url: str,
    feed: FeedHints,
    *,
    fetched_at: str | None = None,
) -> Article:
    """The article as the feed described it, for pages that could not be extracted (``fallback=True``).

    ``fetched_at`` is kept as bookkeeping; it is never the publish date.
    """
    text = summary_text(feed.summary)
    title = summary_text(feed.title)
    published = parse_date(feed.published)
    source: PublishedSource = "feed" if published is not None else "none"
    language, language_tag = page_language(feed.language, f"{title}\n{text}")
    canonical = canonicalize_url(url) if url else ""
    return Article(
        url=url,
        canonical_url=canonical,
        title=title,
        text=text,
        published=published,
        published_source=source,
        language=language,
        language_tag=language_tag,
        source=host_of(canonical) or feed.source or None,
        feed=feed.feed,
        tags=feed.tags,
        fetched_at=parse_date(fetched_at) if fetched_at else None,
        extractor_version=extractor_version(),
        fallback=True,
        content_hash=content_hash(text),
    )
