"""Extraction stage: raw HTML to ``newsflow.records.Article``.

Public API: ``extract_article``, ``fallback_article``, ``ExtractOptions``, ``FeedHints``,
``REASONS``, ``extractor_version``, and for consumers of ``Article.published_source``:
``DATE_SOURCES`` (every source, most trusted first) and ``date_confidence(source)``
(``"high"`` for the publisher's declared timestamp, JSON-LD or meta tags; ``"low"`` for a
``<time>`` element, a day, a guess or a bound; ``"none"`` for no date).

``ExtractionError.reason`` codes (``REASONS`` holds the same list with explanations):
``empty`` (no body), ``not_html`` (binary, JSON, plain text, unparseable), ``too_large``
(above ``max_html_bytes``), ``not_article`` (no main text, or a short one on a page not
marked as an article), ``too_short`` (an article page with less than ``min_text_chars``)
and ``paywall`` (marked not free, and not even ``min_text_chars`` readable; a longer teaser
is kept as an article with ``paywalled=True``). The batch runner adds
``unreadable`` (file), ``crash`` (a bug, logged) and ``bad_manifest_line``. For every
reason the caller can keep the entry with ``fallback_article(url, feed_hints)``.
"""

from __future__ import annotations

from newsflow.extract.article import extract_article, extractor_version, fallback_article, summary_text
from newsflow.extract.options import REASONS, ExtractOptions, FeedHints
from newsflow.records import DATE_SOURCES, date_confidence

__all__ = [
    "DATE_SOURCES",
    "REASONS",
    "ExtractOptions",
    "FeedHints",
    "date_confidence",
    "extract_article",
    "extractor_version",
    "fallback_article",
    "summary_text",
]
