"""Stories across batches and workers: dedup state lives in Elasticsearch, not in memory."""

from __future__ import annotations

import hashlib
from typing import Any

import pytest

from tests.conftest import shared_path

pytestmark = pytest.mark.integration


def _options() -> Any:
    from newsflow.dedup import DedupOptions

    return DedupOptions()


OPTIONS = _options()  # the shipped defaults, as the pipeline uses them

BAKHMUT = (
    "Ukrainian forces said on Wednesday they had repelled a Russian assault on the eastern town of "
    "Bakhmut in the Donetsk region, after a night of shelling that damaged a school and two apartment "
    "blocks. The General Staff in Kyiv said Russian units had tried to advance on the town from the "
    "south-east and were pushed back with losses. Regional governor Pavlo Kyrylenko said three "
    "civilians were wounded and urged remaining residents to evacuate before winter. Russia's defence "
    "ministry said its troops had improved their positions around the town but gave no details."
)


def _article(url: str, title: str, text: str, published: str, source: str) -> Any:
    from newsflow.records import Article
    from newsflow.urls import canonicalize_url

    return Article(
        url=url,
        canonical_url=canonicalize_url(url),
        title=title,
        text=text,
        published=published,
        published_source="meta",
        source=source,
        content_hash=f"h-{abs(hash(text))}",
    )


@pytest.fixture
def seeds() -> list[Any]:
    paths = sorted(shared_path("seeds").glob("*.txt"))
    assert len(paths) == 2
    return [
        _article(
            f"https://outlet-{i}.example/kherson",
            f"Kherson report {i}",
            p.read_text(encoding="utf-8"),
            f"2022-08-30T{7 + 3 * i:02d}:00:00Z",
            f"outlet-{i}",
        )
        for i, p in enumerate(paths)
    ]


@pytest.fixture
def names(es_client: Any, es_prefix: str) -> Any:
    from newsflow.index import IndexNames, setup_indices

    names = IndexNames.with_prefix(es_prefix)
    setup_indices(es_client, names)
    return names


@pytest.fixture
def stories(es_client: Any, names: Any) -> Any:
    from newsflow.dedup.es_stories import ElasticStories

    return ElasticStories(es_client, names)


@pytest.fixture
def index(stories: Any) -> Any:
    from newsflow.dedup.story_index import StoryIndex

    return StoryIndex(stories)


def _stories(es_client: Any, alias: str) -> dict[str, str]:
    es_client.indices.refresh(index=alias)
    hits = es_client.search(index=alias, size=100, source_includes=["canonical_url", "story_id"])["hits"][
        "hits"
    ]
    return {h["_source"]["canonical_url"]: h["_source"]["story_id"] for h in hits}


def test_a_later_batch_joins_the_story_held_in_the_index(
    es_client: Any, names: Any, seeds: list[Any], stories: Any, index: Any
) -> None:
    bakhmut = _article(
        "https://outlet-0.example/bakhmut", "Bakhmut", BAKHMUT, "2022-08-31T09:40:00Z", "outlet-0"
    )
    index.add([seeds[0], bakhmut], run_id="batch-1")
    index.add([seeds[1]], run_id="batch-2")
    stories = _stories(es_client, names.articles)
    assert stories[seeds[0].canonical_url] == stories[seeds[1].canonical_url]
    assert stories[bakhmut.canonical_url] != stories[seeds[0].canonical_url]
    doc = es_client.get(index=names.articles, id=seeds[1].id)["_source"]
    assert doc["relation"] == "same_story"
    assert doc["dedup_keys"] and doc["dedup_signals"]


def test_two_workers_racing_end_in_one_story(
    es_client: Any, names: Any, seeds: list[Any], stories: Any, index: Any
) -> None:
    """Both workers decide before either has indexed (the race), then each reconciles."""
    from newsflow.dedup.es_stories import story_documents
    from newsflow.index import index_articles

    decided = [stories.decide([s], OPTIONS) for s in seeds]
    assert decided[0].assignments[seeds[0].id].story_id != decided[1].assignments[seeds[1].id].story_id
    for article, first_pass in zip(seeds, decided, strict=True):
        index_articles(es_client, story_documents([article], first_pass), names=names, run_id="race")
    # Given its first pass, a reconcile runs in full only when something it saw changed:
    # here each worker's candidates now include the other's article.
    for article, first in zip(seeds, decided, strict=True):
        stories.reconcile([article], OPTIONS, first=first)
    stories = _stories(es_client, names.articles)
    assert len(set(stories.values())) == 1
    # Re-running either batch changes nothing, and records the merge the race needed, once.
    before = _stories(es_client, names.articles)
    index.add([seeds[1]], run_id="rerun")
    index.add([seeds[0]], run_id="rerun-2")
    assert _stories(es_client, names.articles) == before
    es_client.indices.refresh(index=names.articles)
    assert es_client.count(index=names.articles)["count"] == 2
    assert _merges(es_client, names) == []  # the reconcile calls above did not record (no run)


def test_a_reconcile_runs_again_only_when_a_held_article_moved(
    es_client: Any, names: Any, seeds: list[Any], stories: Any, index: Any
) -> None:
    from newsflow.dedup.es_stories import story_documents
    from newsflow.index import index_articles

    index.add([seeds[0]], run_id="batch-1")
    first = stories.decide([seeds[1]], OPTIONS)
    assert seeds[0].id in first.held_stories
    index_articles(es_client, story_documents([seeds[1]], first), names=names, run_id="batch-2")
    again, writes = stories.reconcile([seeds[1]], OPTIONS, first=first)
    assert (writes.updated, again.assignments) == (0, {})  # nothing it saw has changed
    # Another worker moves the held report elsewhere after this batch's first pass.
    es_client.update(index=names.articles, id=seeds[0].id, doc={"story_id": "s-elsewhere"}, refresh=True)
    again, writes = stories.reconcile([seeds[1]], OPTIONS, first=first)
    assert seeds[1].id in again.assignments and writes.updated >= 1 and writes.failed == 0
    stories = _stories(es_client, names.articles)
    assert stories[seeds[0].canonical_url] == stories[seeds[1].canonical_url] != "s-elsewhere"


def test_a_story_read_in_part_is_counted_never_silent(
    es_client: Any, names: Any, seeds: list[Any], stories: Any, monkeypatch: Any
) -> None:
    """The look-up reads a candidate's whole story up to a cap that grows with the batch; a
    cut read is counted (the batch may split that story), and at the defaults a small story
    is read whole."""
    from dataclasses import replace

    from newsflow.dedup import DedupOptions
    from newsflow.dedup.neighbourhood import neighbourhood_cap
    from newsflow.dedup.story_index import StoryIndex

    assert neighbourhood_cap(OPTIONS, 10) == OPTIONS.min_neighbourhood
    large = neighbourhood_cap(OPTIONS, 1000)
    assert large == 1000 * OPTIONS.neighbourhood_per_article > OPTIONS.min_neighbourhood
    copies = [
        replace(
            seeds[0],
            url=f"https://outlet-{n}.example/kherson-copy",
            canonical_url=f"https://outlet-{n}.example/kherson-copy",
            source=f"outlet-{n}",
        )
        for n in (2, 3, 4)
    ]
    held = StoryIndex(stories, OPTIONS).add([seeds[0], *copies], run_id="batch-1")
    (story,) = {a.story_id for a in held.assignments.values()}
    # Read in pages of two (a story may outgrow the index's result window): whole when it
    # fits exactly, and a cut is told from a fit.
    from newsflow.dedup import neighbourhood

    monkeypatch.setattr(neighbourhood, "STORY_PAGE", 2)
    for cap, expect_cut, expect_read in ((10, False, 4), (4, False, 4), (3, True, 3)):
        found: dict[str, Any] = {}
        es_client.indices.refresh(index=names.articles)
        was_cut = neighbourhood.read_stories(es_client, names.articles, [story], found, cap)
        assert (was_cut, len(found)) == (expect_cut, expect_read)
    monkeypatch.undo()
    whole = StoryIndex(stories, OPTIONS).add([seeds[1]], run_id="batch-2")
    assert "stories:neighbourhood_capped" not in whole.counts
    assert whole.counts["stories:held_compared"] == 4
    tight = DedupOptions(min_neighbourhood=2, neighbourhood_per_article=2)
    cut = StoryIndex(stories, tight).add([seeds[1]], run_id="batch-3")
    assert cut.counts["stories:neighbourhood_capped"] >= 1
    # The candidates the cut left out are still read (alone), so none is lost from view.
    assert cut.counts["stories:held_compared"] >= 2


def _merges(es_client: Any, names: Any) -> list[dict[str, Any]]:
    es_client.indices.refresh(index=names.merges)
    hits = es_client.search(index=names.merges, size=100)["hits"]["hits"]
    return sorted((h["_source"] for h in hits), key=lambda m: m["recorded_at"])


def test_a_race_between_workers_is_recorded_as_one_merge(
    es_client: Any, names: Any, seeds: list[Any], stories: Any, index: Any
) -> None:
    """Two workers each started a story for one seed; the next run over either links them."""
    from newsflow.dedup.es_stories import story_documents
    from newsflow.index import index_articles

    decided = [stories.decide([s], OPTIONS) for s in seeds]
    early = decided[0].assignments[seeds[0].id].story_id
    late = decided[1].assignments[seeds[1].id].story_id
    for article, first_pass in zip(seeds, decided, strict=True):
        index_articles(es_client, story_documents([article], first_pass), names=names, run_id="race")
    assert set(_stories(es_client, names.articles).values()) == {early, late}
    index.add([seeds[1]], run_id="worker-2-retry")
    index.add([seeds[1]], run_id="worker-2-retry-again")
    assert set(_stories(es_client, names.articles).values()) == {early}
    merges = _merges(es_client, names)
    assert [(m["kind"], m["story_id"], sorted(m["merged"]), m["members"]) for m in merges] == [
        ("merge", early, sorted([early, late]), 2)
    ]
    assert merges[0]["run_id"] == "worker-2-retry"


def test_an_earlier_report_renames_the_story_and_the_history_finds_it(  # noqa: PLR0917 - fixtures
    es_client: Any, names: Any, seeds: list[Any], stories: Any, index: Any, capsys: Any, monkeypatch: Any
) -> None:
    """The representative is the earliest report, so an earlier late-comer renames the story."""
    import json

    from newsflow.cli import main

    index.add([seeds[1]], run_id="late-report-first")
    old = _stories(es_client, names.articles)[seeds[1].canonical_url]
    index.add([seeds[0]], run_id="earlier-report")
    new = _stories(es_client, names.articles)[seeds[0].canonical_url]
    assert old != new
    assert set(_stories(es_client, names.articles).values()) == {new}
    merges = _merges(es_client, names)
    assert [(m["kind"], m["story_id"], m["merged"], m["by"], m["members"]) for m in merges] == [
        ("rename", new, [old], [seeds[0].id], 2)
    ]
    assert merges[0]["run_id"] == "earlier-report"
    # Re-running the batch records nothing new.
    index.add([seeds[0]], run_id="earlier-report-again")
    assert len(_merges(es_client, names)) == 1

    monkeypatch.setenv("NEWSFLOW_MERGES_ALIAS", names.merges)
    monkeypatch.setenv("NEWSFLOW_INDEX_ALIAS", names.articles)
    assert main(["stories", "--history", old, "--json"]) == 0
    history = json.loads(capsys.readouterr().out)
    assert [h["story_id"] for h in history] == [new]
    # The old id leads to the story's timeline; an id nobody knows is an error, not "current".
    assert main(["story", old, "--json"]) == 0
    timeline = json.loads(capsys.readouterr().out)
    assert timeline["story_id"] == new and [m["old"] for m in timeline["moves"]] == [old]
    assert [r["id"] for r in timeline["reports"]] == [seeds[0].id, seeds[1].id]
    assert main(["stories", "--history", "s-nobody-knows"]) == 1
    assert "unknown story id" in capsys.readouterr().out
    assert main(["stories", "--history", new]) == 0
    assert "is current" in capsys.readouterr().out


def test_a_rerun_keeps_the_stored_stories_and_writes_nothing(
    es_client: Any, names: Any, seeds: list[Any], index: Any
) -> None:
    """A backfill of an unchanged batch neither re-decides its stories nor writes its documents,
    so a story that a later batch moved stays moved (no stale story fields are put back)."""
    from dataclasses import replace

    from newsflow.index.stories import rewrite_stories
    from newsflow.records import StoryAssignment

    bakhmut = _article(
        "https://outlet-0.example/bakhmut", "Bakhmut", BAKHMUT, "2022-08-31T09:40:00Z", "outlet-0"
    )
    index.add([seeds[0], bakhmut], run_id="batch-1")
    index.add([seeds[1]], run_id="batch-2")
    # What a later batch's merge does to a held article: its story moves.
    moved = StoryAssignment(bakhmut.id, "s-merged-later", "same_story", seeds[0].id, 0.8, ("p=0.80",))
    assert rewrite_stories(es_client, names.articles, [moved]).updated == 1
    before = _stories(es_client, names.articles)
    versions = {a.id: es_client.get(index=names.articles, id=a.id)["_source"]["version"] for a in seeds}

    again = index.add([seeds[0], bakhmut], run_id="backfill", keep_stored=True)
    assert again.counts["stories:kept_unchanged"] == 2, again.counts
    assert again.index is not None and (again.index.created, again.index.updated, again.index.unchanged) == (
        0,
        0,
        2,
    )
    assert again.assignments[bakhmut.id].story_id == "s-merged-later"
    assert _stories(es_client, names.articles) == before
    assert {
        a.id: es_client.get(index=names.articles, id=a.id)["_source"]["version"] for a in seeds
    } == versions

    # An article whose extraction changed is decided and written again.
    retitled = replace(seeds[0], title="Kherson report 0, updated")
    changed = index.add([retitled], run_id="backfill-2", keep_stored=True)
    assert changed.counts.get("stories:kept_unchanged", 0) == 0, changed.counts
    assert changed.index is not None and changed.index.updated == 1
    assert es_client.get(index=names.articles, id=retitled.id)["_source"]["title"] == retitled.title


def test_the_term_sample_is_the_same_on_any_copy_of_the_index(es_client: Any, es_prefix: str) -> None:
    """Stories must not depend on an index's name: the quality gate runs on a fresh prefix."""
    from newsflow.dedup.es_stories import ElasticStories
    from newsflow.dedup.neighbourhood import term_sample
    from newsflow.dedup.story_index import StoryIndex
    from newsflow.index import IndexNames, setup_indices

    articles = [
        _article(
            f"https://outlet-{i}.example/report-{i}",
            f"Report {i}",
            f"{BAKHMUT} Item {i} of the digest names district {i * 7} and unit {i * 13}.",
            "2022-08-31T09:40:00Z",
            f"outlet-{i}",
        )
        for i in range(12)
    ]
    ids = sorted(a.id for a in articles)
    # A batch whose point falls among the last ids, so the sample has to wrap around.
    points = ((f"batch {n}", hashlib.sha256(f"batch {n}".encode()).hexdigest()[:32]) for n in range(10_000))
    batch = next([key] for key, point in points if ids[-3] < point <= ids[-2])
    samples = []
    for copy in ("a", "b"):
        names = IndexNames.with_prefix(f"{es_prefix}-{copy}")
        setup_indices(es_client, names)
        StoryIndex(ElasticStories(es_client, names)).add(articles, run_id=f"copy-{copy}")
        es_client.indices.refresh(index=names.articles)
        samples.append([doc_id for doc_id, _ in term_sample(es_client, names.articles, batch, 5)])
    assert samples[0] == samples[1]
    assert len(set(samples[0])) == 5
    # The ids that follow the batch's point, then the first ones.
    assert samples[0] == [*ids[-2:], *ids[:3]]


def test_a_failed_candidate_look_up_stops_the_batch_before_anything_is_written(
    es_client: Any, es_prefix: str
) -> None:
    """The look-up asks only for the fields it reads (``filter_path``); a search's error must
    still come back through that filter, not read as "no candidates"."""
    from newsflow.dedup import compute_signals
    from newsflow.dedup.neighbourhood import load_neighbourhood
    from newsflow.errors import ServiceError

    sig = compute_signals("new", BAKHMUT, OPTIONS, published="2022-08-31T09:40:00Z")
    with pytest.raises(ServiceError, match=r"candidate look-up failed.*no such index"):
        load_neighbourhood(es_client, f"{es_prefix}-missing", [[sig]], OPTIONS, batch_ids=["new"])


def test_a_batch_is_decided_with_the_collector_paused_and_restored_after(
    es_client: Any, seeds: list[Any], stories: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The neighbourhood's million short-lived objects are built and scored without the
    cyclic collector scanning them (``dedup.collector``; docs/scaling.md, "The collector"),
    and the collector runs again once the batch is decided."""
    import gc

    from newsflow.dedup.neighbourhood import load_neighbourhood as real_load
    from newsflow.dedup.state import DedupState

    seen: dict[str, bool] = {}
    real_add = DedupState.add

    def load(*args: Any, **kwargs: Any) -> Any:
        seen["loading"] = gc.isenabled()
        return real_load(*args, **kwargs)

    def add(self: Any, *args: Any, **kwargs: Any) -> Any:
        seen["scoring"] = gc.isenabled()
        return real_add(self, *args, **kwargs)

    monkeypatch.setattr("newsflow.dedup.es_stories.load_neighbourhood", load)
    monkeypatch.setattr(DedupState, "add", add)
    gc.enable()
    first = stories.decide(seeds, OPTIONS)
    assert seen == {"loading": False, "scoring": False}
    assert gc.isenabled()
    assert len(first.assignments) == len(seeds)
