"""The one frozen options object of the dedup stage.

Every threshold lives here, validated up front, so a bad value fails at start-up with
a ConfigError naming the field rather than silently producing odd stories.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from newsflow.dedup.model import PairModel, load_model
from newsflow.errors import ConfigError

# A refitted pair model (``newsflow refit``) the pipeline and the commands use instead of the
# shipped one. Every worker must read the same file.
PAIR_MODEL_ENV = "NEWSFLOW_PAIR_MODEL"


@dataclass(frozen=True, slots=True)
class DedupOptions:
    """Parameters of signal computation, candidate retrieval and story decisions.

    The pair model and its link and fragment thresholds are fitted data (``model.py``); the
    rest are costs and windows that do not depend on a corpus.
    """

    num_perm: int = 64  # MinHash permutations
    bands: int = 16  # LSH bands; rows per band = num_perm // bands
    shingle_size: int = 3  # words per shingle for near-duplicate detection
    near_duplicate_jaccard: float = 0.5  # estimated shingle Jaccard at or above: near-duplicate
    max_terms: int = 200  # distinct content terms kept per article for term-weighted similarity
    max_entities: int = 120  # entity keys kept per article
    max_quote_keys: int = 200  # quote-shingle hashes kept per article
    max_text_chars: int = 200_000  # longer texts are cut here (and the cut is noted)
    window_hours: float = 48.0  # articles further apart in publish time are never the same story
    # ... unless one date is low-confidence (not declared by the page itself: a <time>
    # element, the URL, the text, the feed, Last-Modified): such a date widens the window.
    low_confidence_window_hours: float = 96.0
    edge_threshold: float = 0.3  # pair probability kept as a graph edge (links stories for re-partition)
    link_threshold: float | None = None  # average-link: groups merge while mean probability >= this
    # (None: the threshold fitted with the model)
    model_path: str | None = None  # a refitted pair model to use instead of the shipped one
    fragment_size: int = 3  # groups this small may then join a larger, strongly linked group ...
    fragment_mean: float | None = None  # ... if their mean pair probability to it is at least this ...
    fragment_max: float | None = None  # ... and their strongest pair to it at least this
    # (None: the values chosen with the model)
    max_candidates: int = 60  # candidates scored per new article (best by shared keys)
    index_candidates: int = 20  # candidates fetched per article from the index (plus their stories)
    index_query_entities: int = 20  # an index look-up asks for this many of the article's top names ...
    index_query_quotes: int = 12  # ... and this many quote keys (each key costs a seek per segment)
    min_shared_keys: int = 1  # candidates must share at least this many query keys (2 costs recall)
    max_key_df_fraction: float = 0.05  # keys held by more than this share of articles are not queried
    min_key_df_cap: int = 50  # ... but never skip a key held by fewer articles than this
    max_key_df: int = 1000  # ... and always skip one held by more (bounds the per-article cost)
    stats_refresh_fraction: float = 0.05  # re-weight held articles once the collection grew this much
    max_component: int = 2000  # a larger joinable group is re-partitioned around the new article only
    # An index look-up loads whole stories: at most this many held articles per batch article,
    # and never fewer than ``min_neighbourhood`` (a story read in part may be split by the batch).
    neighbourhood_per_article: int = 20
    min_neighbourhood: int = 5000

    def __post_init__(self) -> None:
        if self.num_perm <= 0 or self.bands <= 0 or self.num_perm % self.bands:
            raise ConfigError(
                f"dedup options: num_perm ({self.num_perm}) must be a positive multiple of bands "
                f"({self.bands}); pick e.g. num_perm=64, bands=16"
            )
        if self.shingle_size < 1:
            raise ConfigError(f"dedup options: shingle_size must be >= 1, got {self.shingle_size}")
        self.model  # noqa: B018 - loads and validates the model up front
        # Named as the caller sets them (a threshold in force comes from its field or the model).
        for name, value in (
            ("near_duplicate_jaccard", self.near_duplicate_jaccard),
            ("edge_threshold", self.edge_threshold),
            ("link_threshold", self.link),
            ("max_key_df_fraction", self.max_key_df_fraction),
            ("stats_refresh_fraction", self.stats_refresh_fraction),
            ("fragment_mean", self.join_mean),
            ("fragment_max", self.join_max),
        ):
            if not 0.0 < value <= 1.0:
                raise ConfigError(f"dedup options: {name} must be in (0, 1], got {value}")
        if self.edge_threshold > self.link:
            raise ConfigError(
                f"dedup options: edge_threshold ({self.edge_threshold}) must not exceed "
                f"link_threshold ({self.link}), or linked stories could never be compared"
            )
        if self.fragment_size < 0:
            raise ConfigError(
                f"dedup options: fragment_size must be >= 0 (0 = off), got {self.fragment_size}"
            )
        if not 0 < self.window_hours <= self.low_confidence_window_hours:
            raise ConfigError(
                f"dedup options: need 0 < window_hours ({self.window_hours}) <= "
                f"low_confidence_window_hours ({self.low_confidence_window_hours})"
            )
        for name in (
            "max_terms",
            "max_entities",
            "max_quote_keys",
            "max_text_chars",
            "max_candidates",
            "index_candidates",
            "index_query_entities",
            "index_query_quotes",
            "min_shared_keys",
            "min_key_df_cap",
            "max_key_df",
            "max_component",
            "neighbourhood_per_article",
            "min_neighbourhood",
        ):
            if getattr(self, name) < 1:
                raise ConfigError(f"dedup options: {name} must be >= 1, got {getattr(self, name)}")

    @classmethod
    def from_env(cls) -> DedupOptions:
        """The defaults, with the pair model ``NEWSFLOW_PAIR_MODEL`` names when it is set, read
        now so a bad path fails before any work."""
        path = os.environ.get(PAIR_MODEL_ENV, "").strip()
        options = cls(model_path=path or None)
        if path:
            _ = options.model
        return options

    @property
    def model(self) -> PairModel:
        return load_model(self.model_path)

    @property
    def link(self) -> float:
        """The link threshold in force: the given one, else the model's."""
        return self.model.link_threshold if self.link_threshold is None else self.link_threshold

    @property
    def join_mean(self) -> float:
        """The fragment rule's mean in force: the given one, else the model's."""
        return self.model.fragment_mean if self.fragment_mean is None else self.fragment_mean

    @property
    def join_max(self) -> float:
        """The fragment rule's strongest pair in force: the given one, else the model's."""
        return self.model.fragment_max if self.fragment_max is None else self.fragment_max

    def window_for(self, *confidences: str) -> float:
        """The publish-time window of a pair: wider when either date is low-confidence."""
        return self.low_confidence_window_hours if "low" in confidences else self.window_hours

    @property
    def rows_per_band(self) -> int:
        return self.num_perm // self.bands
