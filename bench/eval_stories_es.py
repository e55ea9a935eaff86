"""Story quality of the pipeline's path (Elasticsearch neighbourhood), on ECB+ plus the two seeds.

    .venv/bin/python bench/eval_stories_es.py [--batch 100] [--seed 0] [--out STORIES.jsonl]

The quality gate in tests/quality measures the offline path (``newsflow cluster``). The
pipeline decides with the same pair model but sees only what the index hands it: each
article's best candidates, their stories and stored edges, statistics from a sample. This
script feeds the articles in shuffled batches through ``StoryIndex`` (Elasticsearch) on a
real node (the local one is started if NEWSFLOW_ES_URL is unset), reads the story ids back,
and scores them with ../shared/eval/score_clustering.py. It reads ../shared and writes
nothing into the repository.
"""

from __future__ import annotations

import argparse
import json
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.es_scratch import fresh_indices
from newsflow.records import Article, content_hash

SHARED = Path(__file__).resolve().parents[1] / ".." / "shared"


def _articles() -> tuple[list[Article], dict[str, str]]:
    """Articles keyed by URL-derived ids, and each one's original id (for the scorer)."""
    rows = [json.loads(x) for x in (SHARED / "eval/clustering/ecbplus.jsonl").open(encoding="utf-8")]
    items = [(str(r["doc_id"]), r["text"]) for r in rows]
    seeds = sorted((SHARED / "seeds").glob("*.txt"))
    items += [(f"seed:{p.stem}", p.read_text(encoding="utf-8")) for p in seeds]
    articles, original = [], {}
    for doc_id, text in items:
        url = f"https://eval.invalid/{doc_id}"
        article = Article(
            url=url,
            canonical_url=url,
            title="",
            text=text,
            content_hash=content_hash(text),
        )
        articles.append(article)
        original[article.id] = doc_id
    return articles, original


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--batch", type=int, default=100)
    parser.add_argument("--seed", type=int, default=0, help="shuffle seed (order of arrival)")
    parser.add_argument("--out", type=Path, help="also keep the predicted stories here")
    args = parser.parse_args()
    if not SHARED.is_dir():
        print(f"../shared not found at {SHARED}; this evaluation needs its ECB+ file", file=sys.stderr)
        return 2

    from newsflow.dedup.es_stories import ElasticStories
    from newsflow.dedup.story_index import StoryIndex

    articles, original = _articles()
    random.Random(args.seed).shuffle(articles)
    client, names, prefix = fresh_indices("eval-stories")
    story_index = StoryIndex(ElasticStories(client, names, visibility_margin_s=0.0))  # one writer
    started = time.perf_counter()
    try:
        for start in range(0, len(articles), args.batch):
            chunk = articles[start : start + args.batch]
            story_index.add(chunk, run_id=f"eval-{start}")
        client.indices.refresh(index=names.articles)
        hits = client.search(
            index=names.articles, size=10_000, source_includes=["story_id"], query={"match_all": {}}
        )["hits"]["hits"]
        stories = {h["_id"]: h["_source"]["story_id"] for h in hits}
        merges = client.count(index=names.merges)["count"]
    finally:
        quiet = client.options(ignore_status=404)
        quiet.indices.delete(index=f"{prefix}*", expand_wildcards="all")
        quiet.indices.delete_index_template(name=f"{prefix}*")
        quiet.cluster.delete_component_template(name=f"{prefix}*")
        client.close()
    elapsed = time.perf_counter() - started
    out = args.out or Path(tempfile.mkdtemp(prefix="eval-stories-")) / "stories.jsonl"
    with out.open("w", encoding="utf-8") as fh:
        for article_id, story_id in sorted(stories.items()):
            fh.write(json.dumps({"id": original[article_id], "story_id": story_id}) + "\n")
    seeds = {stories[a] for a, o in original.items() if o.startswith("seed:")}
    seed_story = next(iter(seeds)) if len(seeds) == 1 else None
    others = sum(1 for a, s in stories.items() if s == seed_story and not original[a].startswith("seed:"))
    print(
        f"{len(stories)} articles in batches of {args.batch} (seed {args.seed}): "
        f"{elapsed:.0f} s, {merges} merges"
    )
    print(f"seeds in one story: {len(seeds) == 1}; other articles in it: {others}")
    gold = SHARED / "eval/clustering/ecbplus.jsonl"
    scorer = SHARED / "eval/score_clustering.py"
    result = subprocess.run(
        [sys.executable, str(scorer), "--gold", str(gold), "--gold-key", "event_cluster", "--pred", str(out)],
        check=False,
        capture_output=True,
        text=True,
    )
    print(result.stdout.strip() or result.stderr.strip())
    return result.returncode


if __name__ == "__main__":
    raise SystemExit(main())
