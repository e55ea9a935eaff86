"""Story quality on the three dev corpora, through the offline path (``DedupState``).

Floors are the figures the shipped model measured (``bench/eval_stories.py``), rounded
down; the scorers are the shared ones. They are below the targets of the stories issue
(ECB+ F1 0.95, NeuS 0.85, SemEval same-language 0.80 at P 0.90): the closing note of
that issue says why. Shuffled input must meet the same floors, and the seed pair must
be one story of exactly two. No article text is copied into the repo.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.quality

FLOORS = {  # corpus: (F1, precision); SemEval on same-language pairs
    "ecbplus": (0.92, 0.97),
    # NeuS chains stories through weak edges on common names: since whole joinable groups
    # are re-partitioned (not cut at max_component), recall is up and precision down; the
    # fragment rule chosen with the model (docs/stories.md) trades a little more of it.
    "neus_dev": (0.72, 0.80),
    "semeval_dev": (0.75, 0.80),
}
# SemEval's pairs in two languages: linked by names across languages, never at the cost of
# same-language stories (docs/stories.md); the TF-IDF baseline reaches F1 0.378 here.
CROSS_LANGUAGE_FLOOR = (0.68, 0.80)


@pytest.fixture(scope="module")
def corpora(shared_dir: Path) -> dict[str, Any]:
    from bench.story_corpora import all_corpora

    return {c.name: c for c in all_corpora()}


@pytest.fixture(scope="module")
def runs(corpora: dict[str, Any]) -> dict[tuple[str, int | None], dict[str, str]]:
    """Stories of every corpus, in file order and shuffled (seed 7)."""
    from bench.eval_stories import shuffled
    from bench.storyfit import stories_through_dedup
    from newsflow.dedup import DedupOptions

    options = DedupOptions()
    return {
        (name, seed): stories_through_dedup(shuffled(corpus, seed), options)
        for name, corpus in corpora.items()
        for seed in (None, 7)
    }


@pytest.mark.parametrize("seed", [None, 7], ids=["file-order", "shuffled"])
@pytest.mark.parametrize("name", sorted(FLOORS))
def test_each_corpus_meets_its_floor(
    name: str, seed: int | None, corpora: dict[str, Any], runs: dict[tuple[str, int | None], dict[str, str]]
) -> None:
    from bench.storyfit import evaluate

    corpus = corpora[name]
    scores = evaluate(corpus, runs[(name, seed)], "same" if corpus.pairs else None)
    f1_floor, precision_floor = FLOORS[name]
    print(f"{name} ({seed=}): P {scores.precision:.4f} R {scores.recall:.4f} F1 {scores.f1:.4f}")
    assert scores.precision >= precision_floor
    assert scores.f1 >= f1_floor


@pytest.mark.parametrize("seed", [None, 7], ids=["file-order", "shuffled"])
def test_reports_in_two_languages_meet_their_floor(
    seed: int | None, corpora: dict[str, Any], runs: dict[tuple[str, int | None], dict[str, str]]
) -> None:
    from bench.storyfit import evaluate

    scores = evaluate(corpora["semeval_dev"], runs[("semeval_dev", seed)], "cross")
    print(f"cross-language ({seed=}): P {scores.precision:.4f} R {scores.recall:.4f} F1 {scores.f1:.4f}")
    assert scores.precision >= CROSS_LANGUAGE_FLOOR[1]
    assert scores.f1 >= CROSS_LANGUAGE_FLOOR[0]


@pytest.mark.parametrize("seed", [None, 7], ids=["file-order", "shuffled"])
def test_seed_reports_form_one_story_of_their_own(
    seed: int | None, runs: dict[tuple[str, int | None], dict[str, str]]
) -> None:
    stories = runs[("ecbplus", seed)]
    seeds = sorted(i for i in stories if i.startswith("seed:"))
    assert len(seeds) == 2
    assert stories[seeds[0]] == stories[seeds[1]], "the two seed reports are in different stories"
    assert sorted(i for i, s in stories.items() if s == stories[seeds[0]]) == seeds


def test_shuffled_batch_gives_the_same_ecbplus_partition(
    runs: dict[tuple[str, int | None], dict[str, str]],
) -> None:
    # Story ids too: they derive from the representative, whatever the order of arrival.
    assert runs[("ecbplus", 7)] == runs[("ecbplus", None)]


# Articles per pipeline batch: a process unit is filled to 1,000 pages (flows.options.PAGES_PER_TASK),
# and a quiet hour gives smaller units.
ES_BATCHES = (200, 1000)
# The pipeline's path weighs terms by a sample of the index and sees each article's best
# candidates with their stories, so it measures a little below the offline path. It is
# deterministic: the same articles in the same order give the same stories on any index.
ES_FLOORS = {
    "ecbplus": (0.92, 0.97),
    "neus_dev": (0.72, 0.80),
    "semeval_dev": (0.74, 0.80),
}


@pytest.mark.integration
@pytest.mark.parametrize("batch", ES_BATCHES)
@pytest.mark.parametrize("name", sorted(FLOORS))
def test_the_elasticsearch_path_meets_the_same_floors(
    name: str, batch: int, corpora: dict[str, Any], es_client: Any, es_prefix: str
) -> None:
    """The pipeline sees only what the index hands it (candidates, their stories, stored edges)."""
    import random

    from bench.storyfit import evaluate
    from newsflow.dedup import DedupOptions
    from newsflow.dedup.es_stories import ElasticStories
    from newsflow.dedup.story_index import MemoryStories, StoryIndex
    from newsflow.index import IndexNames, setup_indices
    from newsflow.records import Article, content_hash

    corpus = corpora[name]
    names = IndexNames.with_prefix(es_prefix)
    setup_indices(es_client, names)
    original: dict[str, str] = {}
    articles = []
    for item in corpus.articles:
        url = f"https://eval.invalid/{item.id}"
        article = Article(
            url=url,
            canonical_url=url,
            title=item.title,
            text=item.text,
            language=item.language,
            content_hash=content_hash(item.text),
        )
        original[article.id] = item.id
        articles.append(article)
    random.Random(3).shuffle(articles)
    # One writer, batch after batch: no write can be invisible to a pass, and without the
    # margin for other workers, which batches are scored twice would depend on the clock.
    index = StoryIndex(ElasticStories(es_client, names, visibility_margin_s=0.0))
    held = MemoryStories(DedupOptions())
    memory = StoryIndex(held)
    failed = capped = 0
    for start in range(0, len(articles), batch):
        report = index.add(articles[start : start + batch], run_id=f"quality-{start}")
        failed += sum(n for key, n in report.counts.items() if "_failed:" in key)
        capped += report.counts.get("stories:neighbourhood_capped", 0)
        assert report.index is not None and report.index.failed == 0
        if name == "ecbplus":  # compared below
            memory.add(articles[start : start + batch])
    assert failed == 0
    assert capped == 0  # every batch read its candidates' stories whole
    es_client.indices.refresh(index=names.articles)
    stories: dict[str, str] = {}
    for hit in _scan(es_client, names.articles):
        stories[original[hit["_id"]]] = hit["_source"]["story_id"]
    assert len(stories) == len(articles)
    if name == "ecbplus":
        # The index hands each batch what it needs: the same batches in memory, where every
        # held article is at hand, make the same stories. So the arrivals in which the model's
        # selection checks the precision floors (storyselect.ARRIVAL_SEEDS) are what the
        # pipeline makes. (ECB+ is smaller than the index's term sample, 1000 articles; on
        # the larger corpora the sample's statistics differ a little from all of them.)
        in_memory = {original[i]: a.story_id for i, a in held.assignments(list(original)).items()}
        assert _partition(in_memory) == _partition(stories)
    scores = evaluate(corpus, stories, "same" if corpus.pairs else None)
    f1_floor, precision_floor = ES_FLOORS[name]
    print(
        f"{name} through Elasticsearch, batches of {batch}: "
        f"P {scores.precision:.4f} R {scores.recall:.4f} F1 {scores.f1:.4f}"
    )
    assert scores.precision >= precision_floor
    assert scores.f1 >= f1_floor
    if name == "ecbplus":
        seeds = sorted(i for i in stories if i.startswith("seed:"))
        assert len({stories[i] for i in seeds}) == 1
        assert sorted(i for i, s in stories.items() if s == stories[seeds[0]]) == seeds


def _partition(stories: dict[str, str]) -> set[frozenset[str]]:
    groups: dict[str, set[str]] = {}
    for article, story in stories.items():
        groups.setdefault(story, set()).add(article)
    return {frozenset(group) for group in groups.values()}


def _scan(client: Any, index: str) -> list[dict[str, Any]]:
    from elasticsearch.helpers import scan

    return list(scan(client, index=index, _source_includes=["story_id"], query={"query": {"match_all": {}}}))
