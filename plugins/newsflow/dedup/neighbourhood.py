"""Dedup state from Elasticsearch: the held articles a batch must be compared with.

Workers keep nothing between batches. For each article of a batch the index is
asked for its best candidates, as the in-memory source ranks them: articles
sharing a look-up key (sketch bands, names, quote shingles), rare keys counting
most (BM25 on the keyword field), URL and content-hash keys at any time, the
rest within the time window. Those candidates come back with the whole stories
they belong to, each article with its stored signals, story fields and the edges
found when it arrived, so only the batch is scored and the held stories keep the
structure they were built with. A random sample of the index supplies the term
statistics: the neighbourhood is all alike, and counting it would make the very
terms a story shares look common.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from newsflow.dedup.options import DedupOptions
from newsflow.dedup.signals import ArticleSignals
from newsflow.dedup.similarity import Edge
from newsflow.errors import ServiceError
from newsflow.records import StoryAssignment

if TYPE_CHECKING:
    from elasticsearch import Elasticsearch

log = logging.getLogger(__name__)

_ANYTIME_PREFIXES = ("u:", "h:")
_SOURCE_FIELDS = ["dedup_signals", "story_id", "relation", "duplicate_of", "score", "why"]
_MSEARCH_CHUNK = 200


@dataclass(frozen=True, slots=True)
class Neighbourhood:
    signals: tuple[ArticleSignals, ...]
    assignments: dict[str, StoryAssignment]
    edges: tuple[Edge, ...] = ()  # stored edges between held articles
    background: tuple[ArticleSignals, ...] = ()  # a random sample of the index, for term statistics


def edges_to_stored(edges: Iterable[Edge]) -> list[list[Any]]:
    """Compact form kept inside ``dedup_signals`` (an unindexed object, so no mapping change)."""
    return [[e.a, e.b, e.kind, round(e.score, 6), list(e.why)] for e in edges]


def edges_from_stored(raw: Any) -> list[Edge]:
    out = []
    for item in raw or ():
        try:
            a, b, kind, score, why = item
            out.append(Edge(str(a), str(b), kind, float(score), tuple(str(w) for w in why)))
        except (TypeError, ValueError):
            log.warning("dedup: ignoring a malformed stored edge %r", item)
    return out


def _chunks(items: Sequence[Any], size: int) -> Iterable[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _in_window(sig: ArticleSignals, options: DedupOptions) -> dict[str, Any] | None:
    published = sig.published_at()
    if published is None:
        return None
    pad = timedelta(hours=options.window_hours)
    bounds = {"gte": (published - pad).isoformat(), "lte": (published + pad).isoformat()}
    in_window = {"range": {"published": bounds}}
    # Undated held articles have no window to fall outside of.
    undated = {"bool": {"must_not": {"exists": {"field": "published"}}}}
    return {"bool": {"should": [in_window, undated], "minimum_should_match": 1}}


def candidate_query(sig: ArticleSignals, options: DedupOptions) -> dict[str, Any] | None:
    """The held articles worth scoring against ``sig``: best first by the rarity of shared keys."""
    keys = sorted(set(sig.query_keys()))
    anytime = [k for k in keys if k.startswith(_ANYTIME_PREFIXES)]
    windowed = [k for k in keys if not k.startswith(_ANYTIME_PREFIXES)]
    should: list[dict[str, Any]] = []
    if anytime:
        # The same URL or text is always a candidate, ahead of everything else.
        should.append({"constant_score": {"filter": {"terms": {"dedup_keys": anytime}}, "boost": 1000.0}})
    if len(windowed) >= options.min_shared_keys:
        clause: dict[str, Any] = {
            "bool": {
                "should": [{"term": {"dedup_keys": k}} for k in windowed],
                "minimum_should_match": options.min_shared_keys,
            }
        }
        window = _in_window(sig, options)
        if window is not None:
            clause = {"bool": {"must": [clause], "filter": [window]}}
        should.append(clause)
    if not should:
        return None
    return {
        "query": {
            "bool": {
                "should": should,
                "minimum_should_match": 1,
                "must_not": [{"ids": {"values": [sig.id]}}],
            }
        },
        "size": options.index_candidates,
        "_source": False,
        "track_total_hits": False,
    }


def _hit_to_records(hit: dict[str, Any]) -> tuple[ArticleSignals, StoryAssignment | None, list[Edge]] | None:
    source = hit.get("_source") or {}
    stored = source.get("dedup_signals")
    if not stored:
        return None
    signals = ArticleSignals.from_dict(stored)
    assignment = None
    if source.get("story_id"):
        assignment = StoryAssignment(
            id=signals.id,
            story_id=source["story_id"],
            relation=source.get("relation") or "original",
            duplicate_of=source.get("duplicate_of"),
            score=float(source.get("score") or 0.0),
            why=tuple(source.get("why") or ()),
        )
    return signals, assignment, edges_from_stored(stored.get("edges"))


def candidate_ids(
    client: Elasticsearch, index: str, batch: Sequence[ArticleSignals], options: DedupOptions
) -> list[str]:
    queries = [q for q in (candidate_query(s, options) for s in batch) if q is not None]
    batch_ids = {s.id for s in batch}
    ranked: dict[str, float] = {}
    for chunk in _chunks(queries, _MSEARCH_CHUNK):
        searches: list[dict[str, Any]] = []
        for body in chunk:
            searches += [{}, body]
        response = client.msearch(index=index, searches=searches)
        for item in response["responses"]:
            if "error" in item:
                raise ServiceError(
                    f"dedup candidate look-up failed in {index!r}: {item['error']}; check the cluster, "
                    "then retry the batch (nothing was written yet)"
                )
            for hit in item["hits"]["hits"]:
                if hit["_id"] not in batch_ids:
                    ranked[hit["_id"]] = max(ranked.get(hit["_id"], 0.0), float(hit.get("_score") or 0.0))
    return sorted(ranked, key=lambda i: (-ranked[i], i))


def _background(
    client: Elasticsearch, index: str, batch: Sequence[ArticleSignals], size: int
) -> list[ArticleSignals]:
    if size <= 0:
        return []
    # Seeded by the batch, so a rerun of the same batch on the same index draws the same sample.
    seed = int(hashlib.sha256("".join(sorted(s.id for s in batch)).encode()).hexdigest()[:8], 16)
    response = client.search(
        index=index,
        query={
            "function_score": {
                "query": {"exists": {"field": "dedup_keys"}},
                "random_score": {"seed": seed, "field": "_seq_no"},
            }
        },
        size=size,
        source_includes=["dedup_signals"],
        track_total_hits=False,
    )
    out = []
    for hit in response["hits"]["hits"]:
        stored = (hit.get("_source") or {}).get("dedup_signals")
        if stored:
            out.append(ArticleSignals.from_dict(stored))
    return out


def load_neighbourhood(
    client: Elasticsearch,
    index: str,
    batch: Sequence[ArticleSignals],
    options: DedupOptions,
    *,
    max_articles: int = 5000,
    sample_size: int = 1000,
    also: Sequence[str] = (),
) -> Neighbourhood:
    """Each batch article's best held candidates (plus ``also``), every member of their
    stories, and a sample."""
    found: dict[str, tuple[ArticleSignals, StoryAssignment | None, list[Edge]]] = {}
    wanted = candidate_ids(client, index, batch, options)
    listed = set(wanted)
    wanted += [i for i in also if i not in listed]
    if len(wanted) > max_articles:
        log.warning("dedup neighbourhood capped at %s of %s candidates", max_articles, len(wanted))
        wanted = wanted[:max_articles]
    for chunk in _chunks(wanted, 1000):
        response = client.mget(index=index, ids=list(chunk), source_includes=_SOURCE_FIELDS)
        for doc in response["docs"]:
            records = _hit_to_records(doc) if doc.get("found") else None
            if records is not None:
                found[records[0].id] = records
    stories = sorted({a.story_id for _, a, _ in found.values() if a is not None})
    for chunk in _chunks(stories, 500):
        room = max_articles - len(found)
        if room <= 0:
            log.warning("dedup neighbourhood capped at %s articles; stories may be partial", max_articles)
            break
        response = client.search(
            index=index, query={"terms": {"story_id": list(chunk)}}, size=room, source_includes=_SOURCE_FIELDS
        )
        for hit in response["hits"]["hits"]:
            records = _hit_to_records(hit)
            if records is not None:
                found.setdefault(records[0].id, records)
    signals = tuple(sorted((s for s, _, _ in found.values()), key=lambda s: s.id))
    assignments = {s.id: a for s, a, _ in found.values() if a is not None}
    # The batch's own stored stories (a rerun, a retry): what its new stories are compared with.
    response = client.mget(index=index, ids=[s.id for s in batch], source_includes=_SOURCE_FIELDS)
    for doc in response["docs"]:
        records = _hit_to_records(doc) if doc.get("found") else None
        if records is not None and records[1] is not None:
            assignments[records[0].id] = records[1]
    edges = {(e.a, e.b): e for _, _, stored in found.values() for e in stored}
    background = tuple(_background(client, index, batch, sample_size))
    log.info(
        "dedup neighbourhood: %s held articles in %s stories, %s stored edges, %s sampled for statistics",
        len(signals),
        len(stories),
        len(edges),
        len(background),
    )
    return Neighbourhood(
        signals=signals,
        assignments=assignments,
        edges=tuple(edges.values()),
        background=background,
    )
