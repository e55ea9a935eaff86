"""Deduplication and same-event story clustering.

Per-article signals are computed once by a pure function (``signals.compute_signals``)
into a small JSON-serialisable record, so any store (in memory here, Elasticsearch
later) can hold them and hand them back as candidates. Pair decisions (``weighting``,
``features``, ``similarity``) and the story partition (``clusterer``) are pure functions of
those records; ``state.DedupState`` only wires them to a ``CandidateSource``.
"""

from __future__ import annotations

from newsflow.dedup.candidates import CandidateSource, InMemoryCandidateSource
from newsflow.dedup.options import DedupOptions
from newsflow.dedup.signals import ArticleSignals, compute_signals
from newsflow.dedup.state import DedupResult, DedupState, MergeEvent, SplitEvent

__all__ = [
    "ArticleSignals",
    "CandidateSource",
    "DedupOptions",
    "DedupResult",
    "DedupState",
    "InMemoryCandidateSource",
    "MergeEvent",
    "SplitEvent",
    "compute_signals",
]
