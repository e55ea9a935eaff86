"""The Elasticsearch backend of ``StoryIndex``: held articles live in the article index.

Workers keep nothing between batches. A batch is decided against its neighbourhood
(``neighbourhood.load_neighbourhood``: each article's best candidates with their whole
stories and stored edges, plus a sample for term statistics), so only the batch is
scored and a batch's cost does not grow with the stories it touches. Then, all through
``index/``: held articles whose story moved are rewritten, the batch is indexed with its
story fields and signals, the batch is reconciled with any batch that ran at the same
time, and merges are recorded.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import replace
from datetime import timedelta
from typing import TYPE_CHECKING

from newsflow.dedup.changes import VISIBILITY_MARGIN_S, indexed_since, moved_since
from newsflow.dedup.collector import collector_paused
from newsflow.dedup.corrections import Correction, Corrections
from newsflow.dedup.es_corrections import apply_corrections, held_source
from newsflow.dedup.neighbourhood import Neighbourhood, load_neighbourhood
from newsflow.dedup.options import DedupOptions
from newsflow.dedup.signals import ArticleSignals
from newsflow.dedup.state import DedupState
from newsflow.dedup.stored import edges_to_stored
from newsflow.dedup.story_index import (
    CorrectionReport,
    StoryInput,
    StoryPass,
    StoryReport,
    relation_counts,
    signal_chunks,
)
from newsflow.dedup.unchanged import stored_unchanged
from newsflow.errors import InputError
from newsflow.index import ArticleDoc, IndexNames, index_articles
from newsflow.index.corrections import corrections_since
from newsflow.index.stories import StoryWrites, rewrite_stories, store_edges
from newsflow.index.story_merges import record_history, require_merges_alias
from newsflow.records import Article, StoryAssignment
from newsflow.timestamps import iso_z, now_utc

if TYPE_CHECKING:
    from elasticsearch import Elasticsearch

log = logging.getLogger(__name__)


def _same_story_fields(a: StoryAssignment, b: StoryAssignment | None) -> bool:
    return b is not None and (a.story_id, a.relation, a.duplicate_of) == (
        b.story_id,
        b.relation,
        b.duplicate_of,
    )


class ElasticStories:
    """Story state in the article index (see the module docstring)."""

    def __init__(
        self,
        client: Elasticsearch,
        names: IndexNames | None = None,
        *,
        visibility_margin_s: float = VISIBILITY_MARGIN_S,
    ) -> None:
        """``visibility_margin_s``: how long before a pass loaded another worker's write may
        still have been invisible to it. A reconcile scores such articles again, so with one
        worker a smaller margin changes nothing but which batches are scored twice."""
        self.client = client
        self.names = names or IndexNames.from_env()
        self.visibility_margin_s = visibility_margin_s

    # ------------------------------------------------------------------ one call per batch

    def add(
        self, articles: Sequence[StoryInput], options: DedupOptions, *, run_id: str, keep_stored: bool = False
    ) -> StoryReport:
        """Stories -> rewrite held -> index -> reconcile -> record merges and splits.

        ``keep_stored``: articles stored exactly as this batch brings them keep their stories
        and are not written (``dedup.unchanged``), so a backfill does not re-decide the past.
        """
        counts: Counter[str] = Counter()
        require_merges_alias(self.client, self.names)
        every = [_as_article(a) for a in articles]
        kept = stored_unchanged(self.client, self.names.articles, every) if keep_stored else {}
        batch = [a for a in every if a.id not in kept]
        counts["stories:kept_unchanged"] += len(kept)
        counts.update(relation_counts(list(kept.values())))
        first = self.decide(batch, options)
        counts.update(relation_counts(list(first.assignments.values())))
        counts["stories:held_compared"] += first.held
        counts["stories:neighbourhood_capped"] += first.capped
        rewrite_stories(self.client, self.names.articles, first.changed_held).count_into(
            counts, "held_rewritten"
        )
        report = index_articles(
            self.client, story_documents(batch, first), names=self.names, run_id=run_id.replace("/", "_")
        )
        report = replace(report, unchanged=report.unchanged + len(kept))
        merges = {(m.story_id, m.merged): m for m in first.merges}
        splits = {(p.story_id, p.split_from): p for p in first.splits}
        sizes = dict(first.story_sizes)
        assignments = {**kept, **first.assignments}
        if batch:
            again, writes = self.reconcile(batch, options, first=first)
            writes.count_into(counts, "reconciled")
            counts["stories:neighbourhood_capped"] += again.capped
            merges.update({(m.story_id, m.merged): m for m in again.merges})
            splits.update({(p.story_id, p.split_from): p for p in again.splits})
            sizes.update(again.story_sizes)
            assignments.update(again.assignments)
        counts.update(
            record_history(
                self.client, merges.values(), splits.values(), run_id=run_id, members=sizes, names=self.names
            )
        )
        return StoryReport(
            assignments=assignments,
            merges=tuple(merges.values()),
            counts=+counts,
            index=report,
            splits=tuple(splits.values()),
        )

    # ------------------------------------------------------------------ the two passes

    def decide(
        self, articles: Sequence[Article], options: DedupOptions, *, rescore: Sequence[str] = ()
    ) -> StoryPass:
        """Stories of ``articles`` against their neighbourhood in the index; nothing is written.

        Held articles named in ``rescore`` are scored again as if they arrived after the
        batch (a racing batch's articles, see ``reconcile``).
        """
        return self._decide(signal_chunks(articles, options), [a.id for a in articles], options, rescore)

    def _decide(
        self,
        chunks: Iterable[list[ArticleSignals]],
        batch_ids: list[str],
        options: DedupOptions,
        rescore: Sequence[str],
    ) -> StoryPass:
        if not batch_ids:
            return StoryPass({}, {})
        computed: dict[str, ArticleSignals] = {}

        def remembered() -> Iterable[list[ArticleSignals]]:
            for chunk in chunks:
                computed.update((s.id, s) for s in chunk)
                yield chunk

        # Not a pipeline decision: the moment after which another worker's writes may have
        # been invisible to this pass.
        loaded_after = iso_z(now_utc() - timedelta(seconds=self.visibility_margin_s), "microseconds")
        # The neighbourhood is a million short-lived objects; the collector would scan them
        # (and everything else held) over and over while they are built (``collector``).
        with collector_paused():
            held = load_neighbourhood(
                self.client,
                self.names.articles,
                remembered(),
                options,
                batch_ids=list(dict.fromkeys(batch_ids)),
                also=rescore,
                corrections_index=self.names.corrections,
            )
            return _assign(computed, held, set(rescore), options, loaded_after)

    # ------------------------------------------------------------------ an analyst's word

    def correct(
        self, corrections: Sequence[Correction], options: DedupOptions, *, run_id: str = ""
    ) -> CorrectionReport:
        """Record corrections and decide again the stories they name (``dedup.es_corrections``)."""
        return apply_corrections(
            self.client,
            self.names,
            corrections,
            options,
            run_id=run_id,
            visibility_margin_s=self.visibility_margin_s,
        )

    # ------------------------------------------------------------------ racing batches

    def reconcile(
        self, articles: Sequence[Article], options: DedupOptions, *, first: StoryPass | None = None
    ) -> tuple[StoryPass, StoryWrites]:
        """Decide the batch again now that it is indexed, and rewrite whatever moved.

        A batch processed at the same time as ours could not see ours, nor we it. Whichever
        of the two reconciles last sees both (each reconciles only after its own batch is
        indexed and refreshed), and story ids derive from the representative, so both end in
        the same stories. Given the first pass, the second runs only if something it saw has
        changed; the common case, no race, costs two counts and one search (``dedup.changes``).
        """
        alias = self.names.articles
        self.client.indices.refresh(index=alias)
        recent: list[str] = []
        if first is not None:
            recent, stale = self._changes_since(first)
            if not recent and not stale:
                return StoryPass({}, {}), StoryWrites()
        # The other batch's linked articles are scored again too: had they arrived after ours,
        # they would have been compared with ours, whichever of the two ranks the other higher.
        if first is not None:
            ready = list(first.signals.values())
            again = self._decide([ready], [s.id for s in ready], options, recent)
        else:
            again = self.decide(articles, options, rescore=recent)
        writes = rewrite_stories(self.client, alias, [*again.assignments.values(), *again.changed_held])
        edges = {i: edges_to_stored(i, e) for i, e in again.edges.items() if e}
        writes = writes + store_edges(self.client, alias, edges)
        return again, writes

    def _changes_since(self, first: StoryPass) -> tuple[list[str], bool]:
        """Articles linked to the batch (by a key, or by joining one of its stories) that someone
        else indexed after the first pass loaded, and whether the pass must run again anyway: a
        held article it loaded has since moved to another story, or an analyst has since
        recorded a correction naming the batch or a held article."""
        keys = {k for sig in first.signals.values() for k in sig.query_keys()}
        stories = {a.story_id for a in first.assignments.values()} | set(first.held_stories.values())
        known = [*first.signals, *first.held_stories]
        recent = indexed_since(
            self.client, self.names.articles, first.loaded_after, known=known, keys=keys, stories=stories
        )
        if corrections_since(self.client, self.names.corrections, known, first.loaded_after):
            return recent, True
        return recent, moved_since(self.client, self.names.articles, first.held_stories)


def _as_article(item: StoryInput) -> Article:
    if not isinstance(item, Article):
        raise InputError(
            f"the Elasticsearch story index writes article documents; {item.id!r} is a "
            f"{type(item).__name__}, not an Article"
        )
    return item


def _assign(
    signals: dict[str, ArticleSignals],
    held: Neighbourhood,
    again: set[str],
    options: DedupOptions,
    loaded_after: str,
) -> StoryPass:
    """Decide the batch against its neighbourhood with the same ``DedupState`` as in memory."""
    again -= set(signals)
    held_signals = [h for h in held.signals if h.id not in signals]
    held_ids = {h.id for h in held_signals}
    scored_again = [h for h in held_signals if h.id in again]
    held_signals = [h for h in held_signals if h.id not in again]
    new = [*signals.values(), *scored_again]
    source = held_source(
        held, batch=set(signals), rescored=again, only_keys=frozenset(k for s in new for k in s.query_keys())
    )
    source.count(new)
    state = DedupState(options, source, Corrections.of(held.corrections))
    outcome = state.add(new)
    result = state.assignments([*signals, *held_ids])
    changed = tuple(
        a
        for a in outcome.assignments
        if a.id in held_ids and not _same_story_fields(a, held.assignments.get(a.id))
    )
    sizes: Counter[str] = Counter(a.story_id for a in result.values())
    return StoryPass(
        assignments={i: result[i] for i in signals if i in result},
        signals=signals,
        changed_held=changed,
        held=len(held_signals),
        merges=outcome.merges,
        splits=outcome.splits,
        story_sizes=dict(sizes),
        edges={i: tuple(source.edges_of([i])) for i in [*signals, *(h.id for h in scored_again)]},
        # As this pass leaves them (it rewrites the held articles whose story changed).
        held_stories={i: result[i].story_id for i in held_ids if i in result},
        loaded_after=loaded_after,
        capped=held.capped,
    )


def story_documents(articles: Sequence[Article], stories: StoryPass) -> list[ArticleDoc]:
    """The documents of a batch with the story fields, look-up keys and signals of a pass."""
    docs = []
    for article in articles:
        sig = stories.signals.get(article.id)
        stored = None
        if sig is not None:
            stored = {
                **sig.to_dict(),
                "edges": edges_to_stored(article.id, stories.edges.get(article.id, ())),
            }
        docs.append(
            ArticleDoc(
                article=article,
                story=stories.assignments.get(article.id),
                dedup_keys=tuple(sig.query_keys()) if sig is not None else (),
                dedup_signals=stored,
            )
        )
    return docs
