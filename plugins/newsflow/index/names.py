"""Index, alias and template names, in one place so tests and deployments can move them.

Readers and writers only ever use the aliases; the physical ``<alias>-00000N``
indices exist so a mapping change is a new index plus an atomic alias switch.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass

from newsflow.errors import ConfigError

ARTICLES_ALIAS = "news-articles"
RUNS_ALIAS = "newsflow-runs"
MERGES_ALIAS = "newsflow-story-merges"
_NAME_RE = re.compile(r"^[a-z0-9][a-z0-9._-]*$")
GENERATION_DIGITS = 6


def _check(name: str, what: str, env: str) -> None:
    if not _NAME_RE.match(name) or len(name) > 200:
        raise ConfigError(
            f"{what} {name!r} is not a valid Elasticsearch name (lowercase letters, digits, '-', '_', '.'); "
            f"fix {env} or the --index option"
        )


@dataclass(frozen=True, slots=True)
class IndexNames:
    """The aliases newsflow writes to; everything else is derived from them."""

    articles: str = ARTICLES_ALIAS
    runs: str = RUNS_ALIAS
    merges: str = MERGES_ALIAS

    def __post_init__(self) -> None:
        _check(self.articles, "article alias", "NEWSFLOW_INDEX_ALIAS")
        _check(self.runs, "run-metrics alias", "NEWSFLOW_RUNS_ALIAS")
        _check(self.merges, "story-merges alias", "NEWSFLOW_MERGES_ALIAS")
        if len({self.articles, self.runs, self.merges}) < 3:
            raise ConfigError(
                f"the article, run-metrics and story-merges aliases ({self.articles!r}, {self.runs!r}, "
                f"{self.merges!r}) must all differ"
            )

    @classmethod
    def from_env(
        cls, articles: str | None = None, runs: str | None = None, merges: str | None = None
    ) -> IndexNames:
        """Explicit names win, then ``NEWSFLOW_INDEX_ALIAS`` / ``NEWSFLOW_RUNS_ALIAS`` /
        ``NEWSFLOW_MERGES_ALIAS``, then defaults."""
        return cls(
            articles=articles or os.environ.get("NEWSFLOW_INDEX_ALIAS") or ARTICLES_ALIAS,
            runs=runs or os.environ.get("NEWSFLOW_RUNS_ALIAS") or RUNS_ALIAS,
            merges=merges or os.environ.get("NEWSFLOW_MERGES_ALIAS") or MERGES_ALIAS,
        )

    @classmethod
    def with_prefix(cls, prefix: str) -> IndexNames:
        """Names under a prefix (tests, side-by-side deployments)."""
        return cls(
            articles=f"{prefix}-{ARTICLES_ALIAS}",
            runs=f"{prefix}-{RUNS_ALIAS}",
            merges=f"{prefix}-{MERGES_ALIAS}",
        )


def generation_index(alias: str, generation: int) -> str:
    return f"{alias}-{generation:0{GENERATION_DIGITS}d}"


def generation_of(alias: str, index: str) -> int | None:
    """The ``N`` of ``<alias>-00000N``, or None for an index not named after the alias."""
    match = re.fullmatch(re.escape(alias) + rf"-(\d{{{GENERATION_DIGITS},}})", index)
    return int(match.group(1)) if match else None
