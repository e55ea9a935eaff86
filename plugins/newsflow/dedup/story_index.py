"""``StoryIndex``: the one owner of story state, over Elasticsearch or in memory.

Everything about stories goes through it: computing signals, finding each new article's
candidates and the stories they belong to, scoring and re-partitioning, rewriting held
articles whose story moved, reconciling with batches that ran at the same time, and
recording merges. A backend says where the held articles live:

- ``MemoryStories``: an in-process ``DedupState`` (``newsflow cluster``, tests, offline
  evaluation);
- ``ElasticStories`` (``dedup.es_stories``): the article index, through ``index/`` for
  every write, so workers keep nothing between batches.

Both decide with the same code (``DedupState`` over an ``InMemoryCandidateSource``); the
Elasticsearch backend first loads the batch's neighbourhood into one.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from newsflow.dedup.corrections import Correction, Corrections
from newsflow.dedup.options import DedupOptions
from newsflow.dedup.signals import ArticleSignals, compute_signals
from newsflow.dedup.similarity import Edge
from newsflow.dedup.state import DedupState, MergeEvent, SplitEvent
from newsflow.index.outcome import IndexReport
from newsflow.records import StoryAssignment, date_confidence

log = logging.getLogger(__name__)

SIGNAL_CHUNK = 200  # articles whose signals are computed (and looked up) together


class StoryInput(Protocol):
    """What stories need of an article (``records.Article`` and ``batch.InputArticle`` have it)."""

    @property
    def id(self) -> str: ...

    @property
    def text(self) -> str: ...

    @property
    def title(self) -> str: ...

    @property
    def canonical_url(self) -> str | None: ...

    @property
    def published(self) -> str | None: ...

    @property
    def source(self) -> str | None: ...

    @property
    def language(self) -> str | None: ...

    @property
    def published_source(self) -> str: ...


def signals_of(article: StoryInput, options: DedupOptions) -> ArticleSignals:
    return compute_signals(
        article.id,
        article.text,
        options,
        title=article.title,
        canonical_url=article.canonical_url,
        published=article.published,
        source=article.source,
        language=article.language,
        published_confidence=date_confidence(article.published_source),
    )


def signal_chunks(articles: Sequence[StoryInput], options: DedupOptions) -> Iterator[list[ArticleSignals]]:
    """Signals in chunks, computed lazily: a backend may look up one chunk while the next is made."""
    for start in range(0, len(articles), SIGNAL_CHUNK):
        yield [signals_of(a, options) for a in articles[start : start + SIGNAL_CHUNK]]


@dataclass(frozen=True, slots=True)
class StoryPass:
    """One pass of decisions about a batch against the held articles it reached."""

    assignments: dict[str, StoryAssignment]  # the batch's articles
    signals: dict[str, ArticleSignals]  # the batch's articles
    changed_held: tuple[StoryAssignment, ...] = ()  # held articles whose story fields changed
    held: int = 0  # held articles compared with
    merges: tuple[MergeEvent, ...] = ()
    story_sizes: dict[str, int] = field(default_factory=dict)
    edges: dict[str, tuple[Edge, ...]] = field(default_factory=dict)  # article id -> edges stored with it
    held_stories: dict[str, str] = field(default_factory=dict)  # held article -> story after this pass
    loaded_after: str = ""  # ISO time: writes after it may have been invisible to this pass
    capped: bool = False  # the look-up's cap left some held stories unread or read in part
    splits: tuple[SplitEvent, ...] = ()


@dataclass(frozen=True, slots=True)
class StoryReport:
    """What adding a batch did: the batch's stories, the merges and splits, and counts by reason."""

    assignments: dict[str, StoryAssignment]
    merges: tuple[MergeEvent, ...]
    counts: dict[str, int]  # relation:*, stories:*, and write failures by reason
    index: IndexReport | None = None  # how the batch's documents were written (Elasticsearch)
    splits: tuple[SplitEvent, ...] = ()


@dataclass(frozen=True, slots=True)
class CorrectionReport:
    """What recording corrections did: the stories of the articles they moved, and counts."""

    recorded: tuple[Correction, ...]
    moved: dict[str, StoryAssignment]  # articles whose story fields changed
    merges: tuple[MergeEvent, ...]
    counts: dict[str, int]  # corrections:<verdict>, stories:moved, and write failures by reason
    splits: tuple[SplitEvent, ...] = ()


class StoryBackend(Protocol):
    def add(
        self, articles: Sequence[StoryInput], options: DedupOptions, *, run_id: str, keep_stored: bool = False
    ) -> StoryReport: ...

    def correct(
        self, corrections: Sequence[Correction], options: DedupOptions, *, run_id: str = ""
    ) -> CorrectionReport: ...


class StoryIndex:
    """Options plus a backend; ``add`` is the one call a caller makes per batch."""

    def __init__(self, backend: StoryBackend, options: DedupOptions | None = None) -> None:
        self.backend = backend
        self.options = options or DedupOptions()

    @classmethod
    def in_memory(cls, options: DedupOptions | None = None) -> StoryIndex:
        options = options or DedupOptions()
        return cls(MemoryStories(options), options)

    def add(
        self, articles: Sequence[StoryInput], *, run_id: str = "", keep_stored: bool = False
    ) -> StoryReport:
        """Decide the stories of a batch, write them, and return what happened.

        ``keep_stored`` (a backfill or reprocess): articles stored exactly as the batch brings
        them back keep their stories and are not written again (``dedup.unchanged``). Without
        it a rerun decides again, which is how a retry heals a race its crashed try left.
        """
        return self.backend.add(articles, self.options, run_id=run_id, keep_stored=keep_stored)

    def correct(self, corrections: Sequence[Correction], *, run_id: str = "") -> CorrectionReport:
        """Record an analyst's corrections (``dedup.corrections``) and decide again the stories
        of the articles they name; every later batch respects them too."""
        return self.backend.correct(corrections, self.options, run_id=run_id)


def relation_counts(assignments: Sequence[StoryAssignment]) -> Counter[str]:
    return Counter(f"relation:{a.relation}" for a in assignments)


class MemoryStories:
    """Held articles in process memory; a batch's earlier stories may be merged or renamed."""

    def __init__(self, options: DedupOptions) -> None:
        self.state = DedupState(options)
        self.recorded: list[Correction] = []  # every word, in the order given; ``Corrections.of`` picks

    def add(
        self,
        articles: Sequence[StoryInput],
        options: DedupOptions,
        *,
        run_id: str = "",
        keep_stored: bool = False,  # nothing is stored before a batch in memory: nothing to keep
    ) -> StoryReport:
        signals = [s for chunk in signal_chunks(articles, options) for s in chunk]
        for sig in signals:
            if sig.truncated:
                log.warning("%s: text cut to %d characters for stories", sig.id, options.max_text_chars)
        result = self.state.add(signals)
        batch = self.state.assignments([s.id for s in signals])
        counts = relation_counts(list(batch.values()))
        counts["stories:merged"] = len(result.merges)
        counts["stories:split"] = len(result.splits)
        counts["stories:truncated"] = sum(1 for s in signals if s.truncated)
        return StoryReport(assignments=batch, merges=result.merges, counts=+counts, splits=result.splits)

    def correct(
        self,
        corrections: Sequence[Correction],
        options: DedupOptions | None = None,  # the state's own options decide in memory
        *,
        run_id: str = "",
    ) -> CorrectionReport:
        """Corrections of articles not held yet wait for them (``newsflow cluster --corrections``
        records them before the first batch)."""
        self.recorded.extend(corrections)
        self.state.corrections = Corrections.of(self.recorded)
        named = list(dict.fromkeys(i for c in corrections for i in (c.a, c.b)))
        result = self.state.repartition(named)
        counts = Counter(f"corrections:{c.verdict}" for c in corrections)
        counts["stories:moved"] = len(result.assignments)
        counts["stories:merged"] = len(result.merges)
        counts["stories:split"] = len(result.splits)
        log.info("corrections: %s (%s articles named)", dict(counts), len(named))
        return CorrectionReport(
            recorded=tuple(corrections),
            moved={a.id: a for a in result.assignments},
            merges=result.merges,
            counts=+counts,
            splits=result.splits,
        )

    def assignments(self, ids: Sequence[str]) -> dict[str, StoryAssignment]:
        return self.state.assignments(ids)
