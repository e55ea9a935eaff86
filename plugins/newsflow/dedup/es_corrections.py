"""An analyst's corrections applied to the stories in the index (``dedup.corrections``).

A correction changes no score: the stories it names are decided again from the edges they
hold, with the corrections in force, and only the articles that moved are rewritten. The
neighbourhood is read as a batch's is (``dedup.neighbourhood``), so what a correction does
now is what every later batch touching those stories will decide too.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import TYPE_CHECKING

from newsflow.dedup.candidates import InMemoryCandidateSource
from newsflow.dedup.collector import collector_paused
from newsflow.dedup.corrections import Correction, Corrections
from newsflow.dedup.neighbourhood import Neighbourhood, load_neighbourhood
from newsflow.dedup.options import DedupOptions
from newsflow.dedup.similarity import Edge
from newsflow.dedup.state import DedupState
from newsflow.dedup.story_index import CorrectionReport
from newsflow.errors import InputError
from newsflow.index import IndexNames
from newsflow.index.corrections import record_corrections, require_corrections_alias
from newsflow.index.generations import mget_across
from newsflow.index.stories import rewrite_stories
from newsflow.index.story_merges import record_merges, require_merges_alias

if TYPE_CHECKING:
    from elasticsearch import Elasticsearch


def apply_corrections(
    client: Elasticsearch,
    names: IndexNames,
    corrections: Sequence[Correction],
    options: DedupOptions,
    *,
    run_id: str = "",
) -> CorrectionReport:
    """Record corrections, then decide again the stories of the articles they name, with the
    edges they have, and rewrite whatever moved.

    Articles the index does not hold are an error before anything is written. A batch that
    loaded its neighbourhood before the corrections were recorded may undo their effect on the
    stories it touches; the next batch touching them, or the command run again, restores it.
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
        result = state.repartition(named)
    rewrite_stories(client, names.articles, result.assignments).count_into(counts, "moved")
    sizes = Counter(a.story_id for a in state.assignments([s.id for s in around.signals]).values())
    counts["stories:merged"] += record_merges(
        client, result.merges, run_id=run_id, members=dict(sizes), names=names
    )
    return CorrectionReport(
        recorded=tuple(corrections),
        moved={a.id: a for a in result.assignments},
        merges=result.merges,
        counts=+counts,
    )


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
    # The stored assignments are what the partition is compared with, so the state reports
    # the merges and renames a batch causes (and none when the batch is a rerun).
    source.put_assignments(list(held.assignments.values()))
    return source
