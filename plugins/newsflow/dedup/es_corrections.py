"""An analyst's corrections applied to the stories in the index (``dedup.corrections``).

A correction changes no score: the stories it names are decided again from the edges they
hold, with the corrections in force, and only the articles that moved are rewritten. The
neighbourhood is read as a batch's is (``dedup.neighbourhood``), so what a correction does
now is what every later batch touching those stories will decide too.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Sequence
from datetime import timedelta
from typing import TYPE_CHECKING

from newsflow.dedup.candidates import InMemoryCandidateSource
from newsflow.dedup.changes import VISIBILITY_MARGIN_S, indexed_since, moved_since
from newsflow.dedup.collector import collector_paused
from newsflow.dedup.corrections import Correction, Corrections
from newsflow.dedup.neighbourhood import Neighbourhood, load_neighbourhood
from newsflow.dedup.options import DedupOptions
from newsflow.dedup.similarity import Edge
from newsflow.dedup.state import DedupResult, DedupState, MergeEvent, SplitEvent
from newsflow.dedup.story_index import CorrectionReport
from newsflow.errors import InputError
from newsflow.index import IndexNames
from newsflow.index.corrections import record_corrections, require_corrections_alias
from newsflow.index.generations import mget_across
from newsflow.index.stories import rewrite_stories
from newsflow.index.story_merges import record_history, require_merges_alias
from newsflow.records import StoryAssignment
from newsflow.timestamps import iso_z, now_utc

if TYPE_CHECKING:
    from elasticsearch import Elasticsearch

log = logging.getLogger(__name__)

_ROUNDS = 3  # decisions of a correction's stories, while racing batches keep changing them


def apply_corrections(
    client: Elasticsearch,
    names: IndexNames,
    corrections: Sequence[Correction],
    options: DedupOptions,
    *,
    run_id: str = "",
    visibility_margin_s: float = VISIBILITY_MARGIN_S,
) -> CorrectionReport:
    """Record corrections, then decide again the stories of the articles they name, with the
    edges they have, and rewrite whatever moved.

    Articles the index does not hold are an error before anything is written. A batch that
    loaded its neighbourhood before the corrections were recorded sees them when it reconciles
    and decides again (``dedup.changes``); if it indexed or moved articles of these stories
    after this look-up, the stories are decided again here, with its work (up to ``_ROUNDS``
    times).
    """
    counts: Counter[str] = Counter()
    if not corrections:
        return CorrectionReport((), {}, (), {})
    require_corrections_alias(client, names.corrections)
    require_merges_alias(client, names)
    named = list(dict.fromkeys(i for c in corrections for i in (c.a, c.b)))
    docs = mget_across(client, names.articles, named, source_includes=["id"])
    held = {str(d.get("_id")) for d in docs if d.get("found")}
    unknown = [i for i in named if i not in held]
    if unknown:
        raise InputError(
            f"{len(unknown)} article id(s) are not in {names.articles!r}: {', '.join(unknown[:5])}; "
            "nothing was recorded (`newsflow story ID` shows a story's articles)"
        )
    counts["corrections:recorded"] += record_corrections(client, names.corrections, corrections)
    counts.update(f"corrections:{c.verdict}" for c in corrections)
    moved: dict[str, StoryAssignment] = {}
    merges: dict[tuple[str, tuple[str, ...]], MergeEvent] = {}
    splits: dict[tuple[str, str], SplitEvent] = {}
    for round_ in range(_ROUNDS):
        if round_:
            counts["corrections:decided_again"] += 1
        # Not a decision: writes after this moment may have been invisible to the look-up.
        loaded_after = iso_z(now_utc() - timedelta(seconds=visibility_margin_s), "microseconds")
        state, around, result = _decide_again(client, names, named, options)
        rewrite_stories(client, names.articles, result.assignments).count_into(counts, "moved")
        moved.update((a.id, a) for a in result.assignments)
        merges.update(((m.story_id, m.merged), m) for m in result.merges)
        splits.update(((p.story_id, p.split_from), p) for p in result.splits)
        left = state.assignments([s.id for s in around.signals])
        sizes = Counter(a.story_id for a in left.values())
        # A batch that loaded these stories before the corrections were recorded may have
        # indexed or moved articles since, without them: decide again with its work.
        client.indices.refresh(index=names.articles)
        known = [s.id for s in around.signals]
        stories = {a.story_id for a in left.values()} | {a.story_id for a in around.assignments.values()}
        raced = indexed_since(client, names.articles, loaded_after, known=known, stories=stories)
        if not raced and not moved_since(client, names.articles, {i: a.story_id for i, a in left.items()}):
            break
    else:
        # The next batch touching these stories decides them with the corrections, as it would
        # anyway; the analyst is told (``newsflow correct`` prints the counts).
        counts["corrections:still_racing"] += 1
        log.warning(
            "stories of %d corrected articles kept changing while decided %d times", len(named), _ROUNDS
        )
    counts.update(
        record_history(
            client, merges.values(), splits.values(), run_id=run_id, members=dict(sizes), names=names
        )
    )
    return CorrectionReport(
        recorded=tuple(corrections),
        moved=moved,
        merges=tuple(merges.values()),
        counts=+counts,
        splits=tuple(splits.values()),
    )


def _decide_again(
    client: Elasticsearch, names: IndexNames, named: list[str], options: DedupOptions
) -> tuple[DedupState, Neighbourhood, DedupResult]:
    with collector_paused():
        around = load_neighbourhood(
            client,
            names.articles,
            (),
            options,
            batch_ids=[],
            also=named,
            corrections_index=names.corrections,
        )
        source = held_source(around, batch=set(), rescored=set(), only_keys=frozenset())
        state = DedupState(options, source, Corrections.of(around.corrections))
        return state, around, state.repartition(named)


def held_source(
    held: Neighbourhood, *, batch: set[str], rescored: set[str], only_keys: frozenset[str]
) -> InMemoryCandidateSource:
    """The neighbourhood as the in-memory source ``DedupState`` decides with: its articles but
    the ``batch`` and the ``rescored`` (they arrive as new) with their stored edges (a rescored
    article's own are found again; those others keep to it stay), their stored stories, and
    term statistics from the index's sample (see ``dedup.neighbourhood``). ``only_keys``: the
    look-up keys anything will be searched by (none: nothing is scored)."""
    source = InMemoryCandidateSource(only_keys=only_keys)
    for doc_id, keys in held.background:
        source.count_keys(doc_id, keys)
    held_ids = {h.id for h in held.signals if h.id not in batch}
    owned: dict[str, list[Edge]] = {}
    for edge in held.edges:
        if edge.a in held_ids and edge.b in held_ids:
            owned.setdefault(edge.a, []).append(edge)
    for h in held.signals:
        if h.id in held_ids and h.id not in rescored:
            source.put(h, owned.get(h.id, []))
    # Whether a held article's own look-up was cut is not stored: any of its pairs may be
    # unscored for want of a slot (``dedup.unscored``).
    source.mark_cut(held_ids)
    # The stored assignments are what the partition is compared with, so the state reports
    # the merges and renames a batch causes (and none when the batch is a rerun).
    source.put_assignments(list(held.assignments.values()))
    return source
