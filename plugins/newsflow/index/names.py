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
ALERTS_ALIAS = "newsflow-alerts"
ALERT_RULES_ALIAS = "newsflow-alert-rules"
FEED_HEALTH_ALIAS = "newsflow-feed-health"
CORRECTIONS_ALIAS = "newsflow-story-corrections"
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
    alerts: str = ALERTS_ALIAS  # alerts raised (one document per alert, Kibana shows them)
    alert_rules: str = ALERT_RULES_ALIAS  # the stored alert queries
    feed_health: str = FEED_HEALTH_ALIAS  # one document per feed: its latest poll outcome
    corrections: str = CORRECTIONS_ALIAS  # an analyst's story corrections, one per pair of articles

    def __post_init__(self) -> None:
        _check(self.articles, "article alias", "NEWSFLOW_INDEX_ALIAS")
        _check(self.runs, "run-metrics alias", "NEWSFLOW_RUNS_ALIAS")
        _check(self.merges, "story-merges alias", "NEWSFLOW_MERGES_ALIAS")
        _check(self.alerts, "alerts alias", "NEWSFLOW_ALERTS_ALIAS")
        _check(self.alert_rules, "alert-rules alias", "NEWSFLOW_ALERT_RULES_ALIAS")
        _check(self.feed_health, "feed-health alias", "NEWSFLOW_FEED_HEALTH_ALIAS")
        _check(self.corrections, "story-corrections alias", "NEWSFLOW_CORRECTIONS_ALIAS")
        every = self.all()
        if len(set(every)) < len(every):
            raise ConfigError(f"the index aliases ({', '.join(repr(a) for a in every)}) must all differ")

    def all(self) -> tuple[str, ...]:
        return (
            self.articles,
            self.runs,
            self.merges,
            self.alerts,
            self.alert_rules,
            self.feed_health,
            self.corrections,
        )

    def as_env(self) -> dict[str, str]:
        """The environment in which ``from_env()`` gives these names: what a test or a service
        started for other names hands its processes, so none of them writes the default aliases."""
        return {
            "NEWSFLOW_INDEX_ALIAS": self.articles,
            "NEWSFLOW_RUNS_ALIAS": self.runs,
            "NEWSFLOW_MERGES_ALIAS": self.merges,
            "NEWSFLOW_ALERTS_ALIAS": self.alerts,
            "NEWSFLOW_ALERT_RULES_ALIAS": self.alert_rules,
            "NEWSFLOW_FEED_HEALTH_ALIAS": self.feed_health,
            "NEWSFLOW_CORRECTIONS_ALIAS": self.corrections,
        }

    def alias_for(self, kind: str) -> str:
        """The alias of an index kind (a template name under ``seeds/elasticsearch/``)."""
        by_kind = {
            ARTICLES_ALIAS: self.articles,
            RUNS_ALIAS: self.runs,
            MERGES_ALIAS: self.merges,
            ALERTS_ALIAS: self.alerts,
            ALERT_RULES_ALIAS: self.alert_rules,
            FEED_HEALTH_ALIAS: self.feed_health,
            CORRECTIONS_ALIAS: self.corrections,
        }
        if kind not in by_kind:
            raise ConfigError(f"unknown index kind {kind!r}; known: {', '.join(by_kind)}")
        return by_kind[kind]

    @classmethod
    def from_env(
        cls, articles: str | None = None, runs: str | None = None, merges: str | None = None
    ) -> IndexNames:
        """Explicit names win, then ``NEWSFLOW_INDEX_ALIAS`` / ``NEWSFLOW_RUNS_ALIAS`` /
        ``NEWSFLOW_MERGES_ALIAS`` / ``NEWSFLOW_ALERTS_ALIAS`` / ``NEWSFLOW_ALERT_RULES_ALIAS`` /
        ``NEWSFLOW_FEED_HEALTH_ALIAS`` / ``NEWSFLOW_CORRECTIONS_ALIAS``, then defaults."""
        env = os.environ.get
        return cls(
            articles=articles or env("NEWSFLOW_INDEX_ALIAS") or ARTICLES_ALIAS,
            runs=runs or env("NEWSFLOW_RUNS_ALIAS") or RUNS_ALIAS,
            merges=merges or env("NEWSFLOW_MERGES_ALIAS") or MERGES_ALIAS,
            alerts=env("NEWSFLOW_ALERTS_ALIAS") or ALERTS_ALIAS,
            alert_rules=env("NEWSFLOW_ALERT_RULES_ALIAS") or ALERT_RULES_ALIAS,
            feed_health=env("NEWSFLOW_FEED_HEALTH_ALIAS") or FEED_HEALTH_ALIAS,
            corrections=env("NEWSFLOW_CORRECTIONS_ALIAS") or CORRECTIONS_ALIAS,
        )

    @classmethod
    def with_prefix(cls, prefix: str) -> IndexNames:
        """Names under a prefix (tests, side-by-side deployments)."""
        return cls(
            articles=f"{prefix}-{ARTICLES_ALIAS}",
            runs=f"{prefix}-{RUNS_ALIAS}",
            merges=f"{prefix}-{MERGES_ALIAS}",
            alerts=f"{prefix}-{ALERTS_ALIAS}",
            alert_rules=f"{prefix}-{ALERT_RULES_ALIAS}",
            feed_health=f"{prefix}-{FEED_HEALTH_ALIAS}",
            corrections=f"{prefix}-{CORRECTIONS_ALIAS}",
        )


def generation_index(alias: str, generation: int) -> str:
    return f"{alias}-{generation:0{GENERATION_DIGITS}d}"


def generation_of(alias: str, index: str) -> int | None:
    """The ``N`` of ``<alias>-00000N``, or None for an index not named after the alias."""
    match = re.fullmatch(re.escape(alias) + rf"-(\d{{{GENERATION_DIGITS},}})", index)
    return int(match.group(1)) if match else None
