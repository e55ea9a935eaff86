"""The extraction stage's options and the feed's hints about an entry.

Both are frozen values so they can cross process boundaries (batch workers,
Airflow tasks) and be logged next to the records they produced.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from newsflow.errors import ConfigError

Favor = Literal["adaptive", "precision", "balanced", "recall"]

# Every reason ``ExtractionError.reason`` can carry, and what it means. Counted in
# batch summaries; the fallback article built from the feed entry records it too.
REASONS: dict[str, str] = {
    "empty": "the response body is empty or only whitespace",
    "not_html": "the body is not HTML (binary, PDF, JSON, plain text) or cannot be parsed",
    "too_large": "the body is larger than ExtractOptions.max_html_bytes",
    "not_article": "no main text, or a short one on a page not marked as an article (index, media, error)",
    "too_short": "the page is marked as an article but its main text is shorter than min_text_chars",
    "paywall": "the page declares itself not free and less than min_text_chars of it is readable",
}


@dataclass(frozen=True, slots=True)
class ExtractOptions:
    """How hard to look for the article body and what counts as one.

    ``favor="adaptive"`` runs trafilatura's main extractor tuned for precision, and adds
    its readability/jusText cross-check, then its balanced setting, only where the result
    looks lost (see ``newsflow.extract.body``), which measured better than any single
    setting on the evaluation pages, at little more than the cost of one run.
    """

    favor: Favor = "adaptive"
    # never run trafilatura's readability/jusText cross-check, not even where the main extractor
    # looks lost: faster on pages that need it, but those pages then fail harder
    fast: bool = False
    min_text_chars: int = 120
    paywall_max_chars: int = 1500  # a page marked not free with less readable text is a teaser (paywalled)
    include_tables: bool = True
    clean_boilerplate: bool = True
    join_split_body: bool = True
    drop_title_line: bool = True
    keep_lead: bool = True  # open the body with the lead paragraph the page sets apart (extract/lead.py)
    search_text_dates: bool = True
    max_html_bytes: int = 20_000_000
    # adaptive: the precise run is "lost" when shorter than this many characters, or than this
    # share of the text in the page's <p> elements (it kept a teaser of a long story) ...
    adaptive_short_chars: int = 500
    adaptive_page_share: float = 0.3
    # ... and the balanced run is at least this many times longer.
    adaptive_ratio: float = 2.0

    def __post_init__(self) -> None:
        if self.favor not in ("adaptive", "precision", "balanced", "recall"):
            raise ConfigError(
                f"ExtractOptions.favor={self.favor!r} is not one of adaptive, precision, balanced, recall"
            )
        if self.min_text_chars < 0:
            raise ConfigError(f"ExtractOptions.min_text_chars={self.min_text_chars} must be >= 0")
        if self.paywall_max_chars < 0:
            raise ConfigError(f"ExtractOptions.paywall_max_chars={self.paywall_max_chars} must be >= 0")
        if self.max_html_bytes <= 0:
            raise ConfigError(f"ExtractOptions.max_html_bytes={self.max_html_bytes} must be > 0")
        if self.adaptive_short_chars < 0:
            raise ConfigError(f"ExtractOptions.adaptive_short_chars={self.adaptive_short_chars} must be >= 0")
        if not 0.0 <= self.adaptive_page_share <= 1.0:
            raise ConfigError(
                f"ExtractOptions.adaptive_page_share={self.adaptive_page_share} must be in 0..1"
            )
        if self.adaptive_ratio < 1.0:
            raise ConfigError(f"ExtractOptions.adaptive_ratio={self.adaptive_ratio} must be >= 1.0")


@dataclass(frozen=True, slots=True)
class FeedHints:
    """What the feed said about the entry, used to fill gaps and to build a fallback."""

    feed: str | None = None  # feed registry name
    title: str | None = None
    summary: str | None = None  # may contain HTML
    published: str | None = None  # any common date format; normalised to ISO 8601 UTC
    source: str | None = None  # outlet name as the feed states it
    tags: tuple[str, ...] = ()
    language: str | None = None  # the feed's declared language, checked against the text like a page's

    def __post_init__(self) -> None:
        if isinstance(self.tags, str | bytes) or not all(isinstance(t, str) for t in self.tags):
            raise ConfigError(f"FeedHints.tags must be a tuple of strings, got {self.tags!r}")
