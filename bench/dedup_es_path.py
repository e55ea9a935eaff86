"""The pipeline's path for ``bench_dedup.py --es``: each batch of synthetic articles decided
against its neighbourhood in a real Elasticsearch index, indexed and reconciled, as
``StoryIndex.add`` does on ``ElasticStories``, with the dedup phases timed.
"""

from __future__ import annotations

import contextlib
import gc
import sys
import tempfile
import time
from collections.abc import Iterator
from typing import TYPE_CHECKING

from bench.es_scratch import fresh_indices
from newsflow.dedup import DedupOptions
from newsflow.dedup.batch import InputArticle
from newsflow.dedup.changes import VISIBILITY_MARGIN_S
from newsflow.records import Article, content_hash

if TYPE_CHECKING:
    from elasticsearch import Elasticsearch

    from bench.bench_dedup import ExtractionClock
    from newsflow.dedup.story_index import StoryPass
    from newsflow.index import IndexNames


def as_article(item: InputArticle) -> Article:
    url = f"https://synthetic.invalid/{item.id}"
    return Article(
        url=url,
        canonical_url=url,
        title=item.title or "",
        text=item.text,
        published=item.published,
        published_source="meta",
        # Extraction states the language (``extract.pagelang``, inside the timed baseline),
        # so the story stage reuses it on the pipeline's path instead of detecting it again.
        language="en",
        source=f"outlet-{int(item.id.rsplit('-', 1)[1]) % 40}",
        content_hash=content_hash(item.text),
    )


# (held, first-pass ms/article, reconcile ms/article, full reconciles, neighbourhood per
# batch, this process's CPU ms/article over both passes)
EsRow = tuple[int, float, float, int, float, float]


def _checkpoint(
    held: int,
    first_s: float,
    second_s: float,
    *,
    full: int,
    n: int,
    hood: float,
    cpu_s: float,
    clock: ExtractionClock | None,
) -> EsRow:
    """A table row for the ``n`` articles since the last checkpoint, also printed as progress."""
    first_ms, second_ms = first_s * 1000 / n, second_s * 1000 / n
    if clock is not None:  # progress for long runs; the table follows at the end
        print(
            f"  {held} held: {first_ms + second_ms:.2f} ms/article, "
            f"{(first_ms + second_ms) / clock.ms_per_page:.0%} of extraction so far",
            file=sys.stderr,
            flush=True,
        )
    return held, first_ms, second_ms, full, hood, cpu_s * 1000 / n


class Collections:
    """Python's garbage collections inside ``counting``, by generation, and their time: what
    pausing the collector while a batch is decided saves (``dedup.collector``)."""

    def __init__(self) -> None:
        """Listens from here on, until ``close``."""
        self.counts = [0, 0, 0]
        self.seconds = 0.0
        self._on = False
        self._started: float | None = None
        gc.callbacks.append(self.callback)

    def close(self) -> None:
        gc.callbacks.remove(self.callback)

    def callback(self, phase: str, info: dict[str, int]) -> None:
        if not self._on:
            return
        if phase == "start":
            self._started = time.perf_counter()
        elif self._started is not None:
            self.counts[info["generation"]] += 1
            self.seconds += time.perf_counter() - self._started
            self._started = None

    @contextlib.contextmanager
    def counting(self) -> Iterator[None]:
        self._on = True
        try:
            yield
        finally:
            self._on = False


def _wait_out_margin(seconds: float, clock: ExtractionClock | None) -> None:
    """Runs that do not overlap: wait out the window in which a write may still be invisible,
    so the reconcile can take its cheap path (not timed). The wait times extraction pages
    meanwhile, in the same conditions as the batches."""
    started = time.perf_counter()
    if clock is not None:
        clock.measure(20)
    time.sleep(max(0.0, seconds - (time.perf_counter() - started)))


def _record_history(client: Elasticsearch, names: IndexNames, *passes: StoryPass) -> None:
    """Merges and splits, as ``ElasticStories.add`` records them after its reconcile."""
    from newsflow.index.story_merges import record_history

    merges = [m for p in passes for m in p.merges]
    record_history(client, merges, [s for p in passes for s in p.splits], run_id="bench", names=names)


def run_es(
    synthetic: list[InputArticle],
    batch: int,
    checkpoints: set[int],
    *,
    spaced: bool,
    clock: ExtractionClock | None = None,
) -> tuple[float, float, list[EsRow], dict[str, str], Collections]:
    """Returns (dedup seconds, indexing seconds, ``EsRow`` rows, each article's story, the
    collections during the dedup phases).

    Beside wall time, each row has the CPU time this process spent in the dedup phases (all
    its threads; Elasticsearch's own work is in another process): what a worker pays per
    article, where the wall time also holds waiting on the node, which on this machine
    shares the worker's two cores and in production runs on its own."""
    from newsflow.dedup.es_stories import ElasticStories, story_documents
    from newsflow.index import IndexOptions, index_articles
    from newsflow.index.stories import rewrite_stories

    client, names, prefix = fresh_indices("bench-dedup")
    options = IndexOptions(dead_letter_root=tempfile.mkdtemp(prefix="bench-dedup-"))
    backend = ElasticStories(client, names)
    dedup_options = DedupOptions()
    rows: list[EsRow] = []
    dedup_s = index_s = first_s = second_s = cpu_s = 0.0
    held = window_n = window_held = full = 0
    collections = Collections()
    try:
        items = [as_article(a) for a in synthetic]
        url_to_syn = {a.id: s.id for a, s in zip(items, synthetic, strict=True)}
        for start in range(0, len(items), batch):
            chunk = items[start : start + batch]
            if spaced and start:
                _wait_out_margin(VISIBILITY_MARGIN_S + 1, clock)
            t0, c0 = time.perf_counter(), time.process_time()
            with collections.counting():
                stories = backend.decide(chunk, dedup_options)
                rewrite_stories(client, names.articles, stories.changed_held)
            t1, c1 = time.perf_counter(), time.process_time()
            docs = story_documents(chunk, stories)
            index_articles(client, docs, names=names, options=options, run_id="bench")
            t2, c2 = time.perf_counter(), time.process_time()
            with collections.counting():
                again, _ = backend.reconcile(chunk, dedup_options, first=stories)
                _record_history(client, names, stories, again)
            t3, c3 = time.perf_counter(), time.process_time()
            cpu_s += (c1 - c0) + (c3 - c2)
            full += bool(again.assignments)
            dedup_s += (t1 - t0) + (t3 - t2)
            index_s += t2 - t1
            first_s += t1 - t0
            second_s += t3 - t2
            window_n += len(chunk)
            window_held += stories.held
            held += len(chunk)
            if held in checkpoints:
                rows.append(
                    _checkpoint(
                        held,
                        first_s,
                        second_s,
                        full=full,
                        n=window_n,
                        hood=window_held / window_n * batch,
                        cpu_s=cpu_s,
                        clock=clock,
                    )
                )
                first_s = second_s = cpu_s = 0.0
                window_n = window_held = full = 0
        found = _stories_found(client, names.articles, url_to_syn)
    finally:
        collections.close()
        client.options(ignore_status=404).indices.delete(index=f"{prefix}*", expand_wildcards="all")
        client.close()
    return dedup_s, index_s, rows, found, collections


def _stories_found(client: Elasticsearch, index: str, url_to_syn: dict[str, str]) -> dict[str, str]:
    from elasticsearch.helpers import scan

    client.indices.refresh(index=index)
    hits = scan(client, index=index, query={"query": {"match_all": {}}}, _source=["story_id"])
    return {url_to_syn[hit["_id"]]: hit["_source"]["story_id"] for hit in hits}
