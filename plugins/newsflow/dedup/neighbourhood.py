"""Dedup state from Elasticsearch: the held articles a batch must be compared with.

Workers keep nothing between batches. For each article of a batch the index is
asked for its best candidates, as the in-memory source ranks them: articles
sharing a look-up key (sketch bands, names, quote shingles, lede terms), rare keys counting
most (BM25 on the keyword field), URL and content-hash keys at any time, the
rest within the time window. Those candidates come back with the whole stories
they belong to, each article with its stored signals, story fields and the edges
found when it arrived, so only the batch is scored and the held stories keep the
structure they were built with. A random sample of the index supplies the term
statistics: the neighbourhood is all alike, and counting it would make the very
terms a story shares look common.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from newsflow.dedup.corrections import Correction
from newsflow.dedup.options import DedupOptions
from newsflow.dedup.signals import COUNTED_FIELDS, ArticleSignals, stored_counted_keys
from newsflow.dedup.similarity import Edge
from newsflow.dedup.stored import SOURCE_FIELDS, hit_to_records
from newsflow.errors import ServiceError
from newsflow.index.generations import mget_across
from newsflow.records import StoryAssignment, stable_id

if TYPE_CHECKING:
    from elasticsearch import Elasticsearch

log = logging.getLogger(__name__)
SAMPLE_SIZE = 1000  # held articles a batch counts its term statistics over, besides its own

_ANYTIME_PREFIXES = ("u:", "h:")
_MSEARCH_CHUNK = 200
_MSEARCH_FILTER = ["responses.error", "responses.hits.hits.sort", "responses.hits.hits.fields"]
STORY_PAGE = 5000  # held articles per story-read request (the default result window is 10,000)


@dataclass(frozen=True, slots=True)
class Neighbourhood:
    signals: tuple[ArticleSignals, ...]
    assignments: dict[str, StoryAssignment]
    edges: tuple[Edge, ...] = ()  # stored edges between held articles
    # A random sample of the index for term statistics, as (id, counted keys).
    background: tuple[tuple[str, frozenset[str]], ...] = ()
    capped: bool = False  # the cap left some candidates' stories unread or read in part
    corrections: tuple[Correction, ...] = ()  # an analyst's, naming the batch or a held article


def neighbourhood_cap(options: DedupOptions, batch_articles: int) -> int:
    """Held articles one look-up may load: a share per batch article, so a large batch (a
    process unit of 1,000 pages) reads its candidates' stories whole as a small one does."""
    return max(options.min_neighbourhood, options.neighbourhood_per_article * batch_articles)


def _chunks(items: Sequence[Any], size: int) -> Iterable[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _in_window(sig: ArticleSignals, options: DedupOptions) -> dict[str, Any] | None:
    published = sig.published_at()
    if published is None:
        return None
    # The widest window: a held article's date may be low-confidence (each pair's own window
    # is applied when it is scored).
    pad = timedelta(hours=options.low_confidence_window_hours)
    bounds = {"gte": (published - pad).isoformat(), "lte": (published + pad).isoformat()}
    in_window = {"range": {"published": bounds}}
    # Undated held articles have no window to fall outside of.
    undated = {"bool": {"must_not": {"exists": {"field": "published"}}}}
    return {"bool": {"should": [in_window, undated], "minimum_should_match": 1}}


def index_query_keys(sig: ArticleSignals, options: DedupOptions) -> list[str]:
    """The keys an index look-up asks for: every band, URL and hash key, the article's top
    names (most frequent first), the lowest quote keys (a consistent sample: two articles
    sharing a quotation share its lowest hashes) and the lede's first terms."""
    keys = [f"b:{k}" for k in sig.band_keys]
    keys += [f"e:{k}" for k in sig.entities[: options.index_query_entities]]
    keys += [f"q:{k}" for k in sig.quote_keys[: options.index_query_quotes]]
    keys += [f"l:{t}" for t in sig.lede_keys]
    keys.append(f"h:{sig.content_hash}")
    if sig.canonical_url:
        keys.append(f"u:{sig.canonical_url}")
    return keys


def candidate_query(sig: ArticleSignals, options: DedupOptions) -> dict[str, Any] | None:
    """The held articles worth scoring against ``sig``: best first by the rarity of shared keys."""
    keys = sorted(set(index_query_keys(sig, options)))
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
        # Keyword keys carry no norms, so many candidates tie on score; Lucene would break
        # ties by segment order, which merges change, and the look-up would not repeat.
        "sort": [{"_score": "desc"}, {"id": "asc"}],
        # The id is the sort's tie-break value and the story comes from doc values: fetching
        # ``_id`` would decompress each hit's stored source.
        "_source": False,
        "stored_fields": "_none_",
        "docvalue_fields": ["story_id"],
        "track_total_hits": False,
    }


def _ranked_in_chunk(
    client: Elasticsearch,
    index: str,
    chunk: Sequence[ArticleSignals],
    options: DedupOptions,
    exclude: frozenset[str],
) -> dict[str, tuple[float, str | None]]:
    """Best score and story id of each held candidate of ``chunk`` (one ``msearch`` per 200)."""
    out: dict[str, tuple[float, str | None]] = {}
    queries = [q for q in (candidate_query(s, options) for s in chunk) if q is not None]
    for part in _chunks(queries, _MSEARCH_CHUNK):
        searches: list[dict[str, Any]] = []
        for body in part:
            searches += [{}, body]
        # Only what is read comes back: a batch's look-ups return tens of thousands of hits, and
        # parsing each one's index name, ``_id``, ``_score`` and shard header held the GIL the
        # main thread needs. Filtering drops a look-up without hits entirely, so the responses
        # are not matched to the queries by position (nothing here needs that).
        response = client.msearch(index=index, searches=searches, filter_path=_MSEARCH_FILTER)
        for item in response.get("responses") or ():
            if "error" in item:
                raise ServiceError(
                    f"dedup candidate look-up failed in {index!r}: {item['error']}; check the cluster, "
                    "then retry the batch (nothing was written yet)"
                )
            for hit in (item.get("hits") or {}).get("hits") or ():
                score, hit_id = hit["sort"]
                if hit_id is None:  # no ``id`` field: not an article document newsflow wrote
                    log.warning("dedup: a look-up hit in %r has no id field; skipped", index)
                elif hit_id not in exclude:
                    score = float(score)
                    if hit_id not in out or score > out[hit_id][0]:
                        out[hit_id] = (score, ((hit.get("fields") or {}).get("story_id") or [None])[0])
    return out


def _merge_ranked(parts: Iterable[dict[str, tuple[float, str | None]]]) -> list[tuple[str, str | None]]:
    best: dict[str, tuple[float, str | None]] = {}
    for part in parts:
        for doc_id, (score, story) in part.items():
            if doc_id not in best or score > best[doc_id][0]:
                best[doc_id] = (score, story)
    return [(i, best[i][1]) for i in sorted(best, key=lambda i: (-best[i][0], i))]


def term_sample(
    client: Elasticsearch, index: str, batch_ids: Sequence[str], size: int
) -> list[tuple[str, frozenset[str]]]:
    """A uniform sample of the index as (id, counted keys): term statistics need nothing else.

    Article ids are hashes of URLs, so the ids that follow a point drawn from the batch are
    a uniform sample, and the same on any index holding the same articles (``random_score``
    salts by index name and shard, so a copy of the index would weigh terms differently).
    """
    if size <= 0:
        return []
    start = stable_id("".join(sorted(batch_ids)))
    hits: list[dict[str, Any]] = []
    for part in ({"gte": start}, {"lt": start}):  # from the point to the end, then wrap
        response = client.search(
            index=index,
            query={"bool": {"filter": [{"exists": {"field": "dedup_keys"}}, {"range": {"id": part}}]}},
            sort=[{"id": "asc"}],
            size=size - len(hits),
            source_includes=[f"dedup_signals.{f}" for f in COUNTED_FIELDS],
            track_total_hits=False,
        )
        hits += response["hits"]["hits"]
        if len(hits) >= size:
            break
    out = []
    for hit in hits:
        stored = (hit.get("_source") or {}).get("dedup_signals")
        if stored:
            out.append((str(stored.get("id", hit["_id"])), stored_counted_keys(stored)))
    return out


def _stored_assignments(client: Elasticsearch, index: str, batch_ids: Sequence[str]) -> list[StoryAssignment]:
    docs = mget_across(client, index, list(batch_ids), source_includes=SOURCE_FIELDS)
    out = []
    for doc in docs:
        records = hit_to_records(doc) if doc.get("found") else None
        if records is not None and records[1] is not None:
            out.append(records[1])
    return out


def load_neighbourhood(
    client: Elasticsearch,
    index: str,
    batch: Iterable[Sequence[ArticleSignals]],
    options: DedupOptions,
    *,
    batch_ids: Sequence[str],
    max_articles: int | None = None,
    sample_size: int = SAMPLE_SIZE,
    also: Sequence[str] = (),
    corrections_index: str | None = None,
) -> Neighbourhood:
    """Each batch article's best held candidates (plus ``also``), every member of their
    stories, and a sample. At most ``max_articles`` (by default ``neighbourhood_cap``).
    With ``corrections_index``, also the corrections naming any of them.

    ``batch`` yields the batch's signals in chunks and may compute them lazily: each chunk
    is searched while the next is computed, and the sample and the batch's own stored
    stories (which need only ``batch_ids``) are fetched meanwhile too.
    """
    exclude = frozenset(batch_ids)
    if max_articles is None:
        max_articles = neighbourhood_cap(options, len(exclude))
    with ThreadPoolExecutor(max_workers=3, thread_name_prefix="dedup-lookup") as pool:
        sampled = pool.submit(term_sample, client, index, batch_ids, sample_size)
        own = pool.submit(_stored_assignments, client, index, batch_ids)
        searched = [pool.submit(_ranked_in_chunk, client, index, chunk, options, exclude) for chunk in batch]
        ranked = _merge_ranked(f.result() for f in searched)
        found, capped = _candidates_and_stories(client, index, ranked, max_articles=max_articles, also=also)
        background = tuple(sampled.result())
        own_assignments = own.result()
    corrections: tuple[Correction, ...] = ()
    if corrections_index is not None:
        corrections, partners_capped = _with_corrections(
            client, index, corrections_index, found, exclude, max_articles=max_articles
        )
        capped = capped or partners_capped
    signals = tuple(sorted((s for s, _, _ in found.values()), key=lambda s: s.id))
    assignments = {s.id: a for s, a, _ in found.values() if a is not None}
    # The batch's own stored stories (a rerun, a retry): what its new stories are compared with.
    assignments.update((a.id, a) for a in own_assignments)
    edges = {(e.a, e.b): e for _, _, stored in found.values() for e in stored}
    log.info(
        "dedup neighbourhood: %s held articles in %s stories, %s stored edges, %s sampled for statistics",
        len(signals),
        len({a.story_id for a in assignments.values()}),
        len(edges),
        len(background),
    )
    return Neighbourhood(
        signals=signals,
        assignments=assignments,
        edges=tuple(edges.values()),
        background=background,
        capped=capped,
        corrections=corrections,
    )


def _with_corrections(
    client: Elasticsearch,
    index: str,
    corrections_index: str,
    found: dict[str, tuple[ArticleSignals, StoryAssignment | None, list[Edge]]],
    batch: frozenset[str],
    *,
    max_articles: int,
) -> tuple[tuple[Correction, ...], bool]:
    """The corrections naming the batch or anything ``found``, and into ``found`` the stories
    of together partners the look-up did not reach (another story told in other words): a
    rerun of one article of a story an analyst joined must meet the rest of it. Also whether
    the cap cut those stories short."""
    from newsflow.index.corrections import corrections_touching

    read = {c.id: c for c in corrections_touching(client, corrections_index, [*found, *batch])}
    partners = {i for c in read.values() if c.verdict == "together" for i in (c.a, c.b)}
    missing = sorted(partners - set(found) - batch)
    if not missing:
        return tuple(read.values()), False
    room = max(max_articles - len(found), len(missing))
    more, capped = _candidates_and_stories(client, index, [], max_articles=room, also=missing)
    added = [i for i in more if i not in found]
    found.update((i, more[i]) for i in added)
    read.update((c.id, c) for c in corrections_touching(client, corrections_index, added))
    return tuple(read.values()), capped


def _candidates_and_stories(
    client: Elasticsearch,
    index: str,
    ranked: list[tuple[str, str | None]],
    *,
    max_articles: int,
    also: Sequence[str],
) -> tuple[dict[str, tuple[ArticleSignals, StoryAssignment | None, list[Edge]]], bool]:
    """Every member of the candidates' stories, each fetched once: the look-up already told
    each candidate's story, so stories are read whole and only story-less ids by ``mget``.
    Also whether ``max_articles`` cut the read short (then some stories are read in part)."""
    found: dict[str, tuple[ArticleSignals, StoryAssignment | None, list[Edge]]] = {}
    capped = False
    # Articles to score again come with their stories too (after the candidates').
    found.update(_mget_records(client, index, list(dict.fromkeys(also))))
    ranked = [*ranked, *((i, a.story_id if a is not None else None) for i, (_, a, _) in found.items())]
    stories: list[str] = []  # best candidate's rank first, so a cap keeps the most relevant
    seen_stories: set[str] = set()
    for _, story_id in ranked:
        if story_id is not None and story_id not in seen_stories:
            seen_stories.add(story_id)
            stories.append(story_id)
    for chunk in _chunks(stories, 500):
        capped = read_stories(client, index, list(chunk), found, max_articles)
        if capped:
            break
    if capped:
        log.warning(
            "dedup neighbourhood capped at %s held articles: some of the candidates' stories are read "
            "in part, and the batch may split them (raise DedupOptions.neighbourhood_per_article)",
            max_articles,
        )
    # Candidates without a story (indexed before stories existed), or whose story changed
    # since the look-up (a concurrent merge), are read by id.
    missing = [i for i, _ in ranked if i not in found]
    found.update(_mget_records(client, index, list(dict.fromkeys(missing))))
    return found, capped


def read_stories(
    client: Elasticsearch,
    index: str,
    stories: list[str],
    found: dict[str, tuple[ArticleSignals, StoryAssignment | None, list[Edge]]],
    max_articles: int,
) -> bool:
    """Every member of ``stories`` into ``found``, in pages by id (a search returns at most
    the index's result window), until ``found`` holds ``max_articles``; True if that cut it."""
    after: list[Any] | None = None
    while True:
        room = max(0, max_articles - len(found))
        # One more than there is room for: a full page alone cannot tell a cut from a fit
        # (with no room left, one hit says whether anything was left out).
        size = min(room + 1, STORY_PAGE)
        page: dict[str, Any] = {"search_after": after} if after is not None else {}
        response = client.search(
            index=index,
            query={"terms": {"story_id": stories}},
            size=size,
            sort=[{"id": "asc"}],
            source_includes=SOURCE_FIELDS,
            track_total_hits=False,
            **page,
        )
        hits = response["hits"]["hits"]
        for hit in hits:
            records = hit_to_records(hit)
            if records is None or records[0].id in found:
                continue
            if len(found) >= max_articles:
                return True
            found[records[0].id] = records
        if len(hits) < size:
            return False
        after = hits[-1]["sort"]


def _mget_records(
    client: Elasticsearch, index: str, ids: Sequence[str]
) -> dict[str, tuple[ArticleSignals, StoryAssignment | None, list[Edge]]]:
    out = {}
    for chunk in _chunks(ids, 1000):
        for doc in mget_across(client, index, list(chunk), source_includes=SOURCE_FIELDS):
            records = hit_to_records(doc) if doc.get("found") else None
            if records is not None:
                out[records[0].id] = records
    return out
