"""Throughput of newsflow's indexing path against a raw ``_bulk`` of the same documents.

newsflow adds an ``mget`` per chunk (to skip unchanged documents and bump versions
without scripts) and ``op_type=create`` / ``if_seq_no`` guards. This measures what
that costs, in the same run, on fresh indices with the same mapping:

    .venv/bin/python bench/bench_index.py [--docs 10000] [--chunk 500]

Prints docs/s of both and the ratio newsflow/raw (target >= 0.9), plus the rate of
a re-run where every document is unchanged. Needs the local node (`newsflow es up`)
or NEWSFLOW_ES_URL.
"""

from __future__ import annotations

import argparse
import time
import uuid
from typing import Any

from elasticsearch import Elasticsearch
from elasticsearch.helpers import bulk

from newsflow.es_client import make_client, wait_until_healthy
from newsflow.index import ArticleDoc, IndexNames, IndexOptions, build_document, index_articles, setup_indices
from newsflow.index.templates import component_bodies, detect_text_analyzer
from newsflow.records import Article, StoryAssignment

VOCABULARY = (
    "government minister said on tuesday that the new budget would raise spending on schools "
    "hospitals and roads while opposition leaders warned of higher taxes and slower growth"
)
WORDS = VOCABULARY.split()


def synthetic(n: int) -> list[ArticleDoc]:
    docs = []
    for i in range(n):
        body = " ".join(WORDS[(i + k) % len(WORDS)] for k in range(300))
        url = f"https://outlet{i % 40}.example/news/{i}"
        article = Article(
            url=url,
            canonical_url=url,
            title=f"Budget report {i}: {' '.join(WORDS[i % 20 : i % 20 + 6])}",
            text=body,
            published=f"2024-0{1 + i % 9}-{1 + i % 28:02d}T{i % 24:02d}:00:00Z",
            published_source="meta",
            authors=(f"Reporter {i % 13}",),
            language="en",
            source=f"outlet{i % 40}.example",
            feed=f"feed-{i % 40}",
            tags=("politics", "budget"),
            fetched_at="2024-09-01T00:00:00Z",
            extractor_version="bench",
            content_hash=f"h{i}",
        )
        story = StoryAssignment(
            id=article.id, story_id=f"story-{i // 5}", relation="original" if i % 5 == 0 else "same_story"
        )
        docs.append(ArticleDoc(article, story, dedup_keys=(f"band:{i % 97}",)))
    return docs


def raw_bulk(client: Elasticsearch, index: str, docs: list[ArticleDoc], chunk: int) -> float:
    now = "2024-09-01T00:00:00Z"
    started = time.perf_counter()
    actions = (
        {
            "_op_type": "index",
            "_index": index,
            "_id": d.id,
            "_source": build_document(d, version=1, indexed_at=now),
        }
        for d in docs
    )
    ok, errors = bulk(client, actions, chunk_size=chunk, max_retries=3)
    elapsed = time.perf_counter() - started
    assert ok == len(docs) and not errors, errors
    return elapsed


def newsflow_bulk(
    client: Elasticsearch, names: IndexNames, docs: list[ArticleDoc], chunk: int
) -> tuple[float, str]:
    started = time.perf_counter()
    report = index_articles(client, docs, names=names, options=IndexOptions(chunk_size=chunk))
    elapsed = time.perf_counter() - started
    return (
        elapsed,
        f"created={report.created} updated={report.updated} "
        f"unchanged={report.unchanged} failed={report.failed}",
    )


def fresh_pair(
    client: Elasticsearch, prefix: str, mapping: tuple[dict[str, Any], dict[str, Any]]
) -> tuple[IndexNames, str]:
    """A fresh newsflow alias and a fresh raw index with the same settings and mapping."""
    names = IndexNames.with_prefix(prefix)
    setup_indices(client, names)
    raw = f"{prefix}-raw"
    client.indices.create(index=raw, settings=mapping[0]["settings"], mappings=mapping[1]["mappings"])
    return names, raw


def run_rounds(client: Elasticsearch, prefix: str, docs: list[ArticleDoc], args: argparse.Namespace) -> None:
    mapping = component_bodies("news-articles", text_analyzer=detect_text_analyzer(client), replicas=0)
    # Warm up both paths (JIT, connections) on their own indices: the test node has no _delete_by_query.
    warm_names, warm_raw = fresh_pair(client, f"{prefix}-warm", mapping)
    warm = synthetic(500)
    raw_bulk(client, warm_raw, warm, args.chunk)
    newsflow_bulk(client, warm_names, warm, args.chunk)
    raw_times: list[float] = []
    nf_times: list[float] = []
    nf_report = ""
    for round_no in range(args.rounds):
        # Alternate which path goes first, each round on fresh indices, so neither gets the
        # benefit of a warmer cluster or the cost of the other's background merges.
        names, raw = fresh_pair(client, f"{prefix}-r{round_no}", mapping)
        if round_no % 2 == 0:
            raw_times.append(raw_bulk(client, raw, docs, args.chunk))
        elapsed, nf_report = newsflow_bulk(client, names, docs, args.chunk)
        nf_times.append(elapsed)
        if round_no % 2 == 1:
            raw_times.append(raw_bulk(client, raw, docs, args.chunk))
        client.indices.refresh(index=[raw, names.articles])
        counts = (client.count(index=raw)["count"], client.count(index=names.articles)["count"])
        assert counts == (len(docs), len(docs)), counts
    rerun_s, rerun_report = newsflow_bulk(client, names, docs, args.chunk)
    n = len(docs)
    raw_s, nf_s = min(raw_times), min(nf_times)
    print(f"documents: {n} (chunk {args.chunk}, {args.rounds} alternating rounds); counts verified")
    print("raw rounds (s):      " + " ".join(f"{t:.2f}" for t in raw_times))
    print("newsflow rounds (s): " + " ".join(f"{t:.2f}" for t in nf_times))
    print(f"raw helpers.bulk (index), best:  {raw_s:7.2f}s  {n / raw_s:9.0f} docs/s")
    print(f"newsflow index_articles, best:   {nf_s:7.2f}s  {n / nf_s:9.0f} docs/s  ({nf_report})")
    print(f"newsflow re-run, all unchanged:  {rerun_s:7.2f}s  {n / rerun_s:9.0f} docs/s  ({rerun_report})")
    print(f"ratio newsflow/raw (docs/s, best of each): {raw_s / nf_s:.2f}  (target >= 0.9)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--docs", type=int, default=10_000)
    parser.add_argument("--chunk", type=int, default=500)
    parser.add_argument("--rounds", type=int, default=2, help="alternating rounds; best of each is compared")
    args = parser.parse_args()
    client = make_client(request_timeout=120)
    wait_until_healthy(client, timeout_s=60)
    prefix = f"bench-{uuid.uuid4().hex[:8]}"
    try:
        run_rounds(client, prefix, synthetic(args.docs), args)
    finally:
        client.options(ignore_status=404).indices.delete(index=f"{prefix}*", expand_wildcards="all")
        client.options(ignore_status=404).indices.delete_index_template(name=f"{prefix}*")
        client.options(ignore_status=404).cluster.delete_component_template(name=f"{prefix}*")
        client.close()


if __name__ == "__main__":
    main()
