"""Pure parts of the indexing stage: names, templates, documents, options, dead letters, run metrics."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from newsflow.errors import ConfigError, InputError
from newsflow.index import ArticleDoc, IndexNames, IndexOptions, build_document
from newsflow.index.dead_letter import dead_letter_path, write_dead_letters
from newsflow.index.names import generation_index, generation_of
from newsflow.index.run_metrics import run_metrics_document, run_metrics_id
from newsflow.index.templates import component_bodies, load_seed
from newsflow.jsontypes import as_object
from newsflow.records import Article, StoryAssignment, content_hash

ARTICLE = Article(
    url="https://example.org/a?utm_source=x",
    canonical_url="https://example.org/a",
    title="Title",
    text="Body text",
    published="2024-05-01T10:00:00Z",
    authors=("A. Writer",),
    tags=("politics",),
    source="example.org",
    content_hash="h1",
)


def test_names_from_env_and_prefix(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NEWSFLOW_INDEX_ALIAS", "alt-articles")
    assert IndexNames.from_env().articles == "alt-articles"
    assert IndexNames.from_env("cli-articles").articles == "cli-articles"
    assert IndexNames.with_prefix("t1").runs == "t1-newsflow-runs"
    with pytest.raises(ConfigError, match="NEWSFLOW_INDEX_ALIAS"):
        IndexNames(articles="Bad Name")
    with pytest.raises(ConfigError):
        IndexNames(articles="same", runs="same")
    monkeypatch.setenv("NEWSFLOW_MERGES_ALIAS", "alt-merges")
    assert IndexNames.from_env().merges == "alt-merges"
    assert IndexNames.with_prefix("t1").merges == "t1-newsflow-story-merges"
    with pytest.raises(ConfigError, match="must all differ"):
        IndexNames(runs="same", merges="same")
    monkeypatch.setenv("NEWSFLOW_ALERTS_ALIAS", "alt-alerts")
    assert IndexNames.from_env().alerts == "alt-alerts"
    prefixed = IndexNames.with_prefix("t1")
    assert prefixed.all() == (
        "t1-news-articles",
        "t1-newsflow-runs",
        "t1-newsflow-story-merges",
        "t1-newsflow-alerts",
        "t1-newsflow-alert-rules",
        "t1-newsflow-feed-health",
        "t1-newsflow-story-corrections",
    )
    assert prefixed.alias_for("newsflow-feed-health") == "t1-newsflow-feed-health"
    assert prefixed.alias_for("newsflow-story-corrections") == "t1-newsflow-story-corrections"
    with pytest.raises(ConfigError, match="NEWSFLOW_FEED_HEALTH_ALIAS"):
        IndexNames(feed_health="Bad Name")
    with pytest.raises(ConfigError, match="NEWSFLOW_CORRECTIONS_ALIAS"):
        IndexNames(corrections="Bad Name")
    with pytest.raises(ConfigError, match="must all differ"):
        IndexNames(alerts="same", alert_rules="same")
    with pytest.raises(ConfigError, match="unknown index kind"):
        prefixed.alias_for("nope")


def test_merge_records_are_stable_per_merge_and_say_what_happened() -> None:
    from datetime import UTC, datetime

    from newsflow.dedup import MergeEvent
    from newsflow.index.story_merges import merge_document, merge_id

    assert merge_id("s-a", ["s-a", "s-b"]) == merge_id("s-a", ["s-b", "s-a"])
    assert merge_id("s-a", ["s-a", "s-b"]) != merge_id("s-b", ["s-a", "s-b"])
    when = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    event = MergeEvent("s-a", ("s-a", "s-b"), ("c",))
    merge = merge_document(event, run_id="r1", members=3, recorded_at=when)
    assert merge == {
        "story_id": "s-a",
        "merged": ["s-a", "s-b"],
        "kind": "merge",
        "by": ["c"],
        "members": 3,
        "run_id": "r1",
        "recorded_at": "2026-01-02T03:04:05.000Z",
    }
    rename = merge_document(MergeEvent("s-c", ("s-a",), ("c",)), run_id="r1", members=2, recorded_at=when)
    assert rename["kind"] == "rename"


def test_generations() -> None:
    assert generation_index("news-articles", 1) == "news-articles-000001"
    assert generation_of("news-articles", "news-articles-000012") == 12
    assert generation_of("news-articles", "news-articles-x") is None
    assert generation_of("news", "news-articles-000001") is None


def test_every_article_field_is_mapped_and_analyzer_filled() -> None:
    for analyzer in ("english", "standard"):
        settings_body, mappings_body = component_bodies("news-articles", text_analyzer=analyzer, replicas=0)
        props = mappings_body["mappings"]["properties"]
        assert mappings_body["mappings"]["dynamic"] == "strict"
        assert props["title"]["analyzer"] == props["text"]["analyzer"] == analyzer
        assert settings_body["settings"]["index"]["number_of_replicas"] == 0
        assert "_comment" not in json.dumps([settings_body, mappings_body])
    english = component_bodies("news-articles", text_analyzer="english", replicas=1)[1]
    standard = component_bodies("news-articles", text_analyzer="standard", replicas=1)[1]
    assert json.dumps(english).replace('"english"', '"standard"') == json.dumps(
        standard
    )  # otherwise identical
    doc = build_document(ArticleDoc(ARTICLE), version=1, indexed_at="2024-05-01T11:00:00Z")
    assert set(doc) <= set(standard["mappings"]["properties"])
    for name in (
        "dedup_keys",
        "dedup_signals",
        "story_id",
        "relation",
        "duplicate_of",
        "score",
        "why",
        "version",
    ):
        assert name in standard["mappings"]["properties"]
    runs = as_object(load_seed("newsflow-runs", "mappings")["mappings"])
    doc_runs = run_metrics_document("r", "s", {"indexed": 1}, "2024-01-01T00:00:00Z", "2024-01-01T00:00:01Z")
    assert set(doc_runs) <= set(as_object(runs["properties"]))


def test_document_story_fields_and_fingerprint() -> None:
    plain = build_document(ArticleDoc(ARTICLE), version=1, indexed_at="t1")
    assert (plain["story_id"], plain["relation"], plain["id"]) == (ARTICLE.id, "original", ARTICLE.id)
    assert plain["authors"] == ["A. Writer"] and plain["tags"] == ["politics"]
    later = build_document(ArticleDoc(ARTICLE), version=7, indexed_at="t2")
    assert later["doc_fingerprint"] == plain["doc_fingerprint"]  # bookkeeping does not count as a change
    story = StoryAssignment(
        id=ARTICLE.id, story_id="s9", relation="same_story", duplicate_of="x", score=0.5, why=("title",)
    )
    assigned = build_document(ArticleDoc(ARTICLE, story, ("k1",), {"a": 1}), version=1, indexed_at="t1")
    assert assigned["doc_fingerprint"] != plain["doc_fingerprint"]
    assert (assigned["story_id"], assigned["why"], assigned["dedup_keys"]) == ("s9", ["title"], ["k1"])
    from dataclasses import replace

    edited = build_document(ArticleDoc(replace(ARTICLE, text="New body")), version=1, indexed_at="t1")
    assert edited["doc_fingerprint"] != plain["doc_fingerprint"]
    no_hash = build_document(ArticleDoc(replace(ARTICLE, content_hash="")), version=1, indexed_at="t1")
    assert no_hash["content_hash"] == content_hash(ARTICLE.text)
    with pytest.raises(InputError, match="does not belong"):
        ArticleDoc(ARTICLE, StoryAssignment(id="other", story_id="s", relation="original"))


def test_index_options_validation_and_backoff() -> None:
    options = IndexOptions(initial_backoff_s=0.5, max_backoff_s=3)
    assert [options.backoff(n) for n in (1, 2, 3, 4, 5)] == [0.5, 1.0, 2.0, 3.0, 3.0]
    for bad in ({"chunk_size": 0}, {"max_failure_ratio": 1.5}, {"max_retries": -1}, {"max_backoff_s": 0.1}):
        with pytest.raises(ConfigError):
            IndexOptions(**bad)


def test_dead_letter_path_and_append(tmp_path: Path) -> None:
    when = datetime(2024, 5, 1, tzinfo=UTC)
    path = dead_letter_path("scheduled__2024/05:01", when=when, root=str(tmp_path))
    assert path == f"{tmp_path}/dead-letter/2024/05/01/scheduled__2024_05_01.jsonl"
    assert write_dead_letters(path, [{"id": "a"}]) == 1
    assert write_dead_letters(path, [{"id": "b"}, {"id": "c"}]) == 2
    assert [json.loads(x)["id"] for x in Path(path).read_text().splitlines()] == ["a", "b", "c"]
    memory = dead_letter_path("run", when=when, root="memory://archive")
    write_dead_letters(memory, [{"id": "a"}])
    write_dead_letters(memory, [{"id": "b"}])
    import fsspec

    with fsspec.open(memory, "r") as f:
        assert [json.loads(x)["id"] for x in f.read().splitlines()] == ["a", "b"]


def test_run_metrics_document() -> None:
    doc = run_metrics_document(
        "run-1",
        "extract",
        {"extracted": 8, "rejected": {"paywall": 2, "empty": 1}},
        datetime(2024, 1, 1, 0, 0, tzinfo=UTC),
        "2024-01-01T00:02:00Z",
        dag_id="news",
    )
    assert doc["counts"] == {"extracted": 8, "rejected": 3}
    assert doc["breakdown"] == {"rejected": {"paywall": 2, "empty": 1}}
    assert doc["duration_s"] == 120.0 and doc["started"] == "2024-01-01T00:00:00.000Z"
    # The same id in every process and version (a rerun upserts its document): pinned.
    assert run_metrics_id("run-1", "extract") == "d148f3b13f8eafe92a44a5d148682ac2"
    assert run_metrics_id("run-1", "extract") != run_metrics_id("run-1", "index")
    with pytest.raises(InputError, match="not an integer"):
        run_metrics_document("r", "s", {"x": 1.5}, "2024-01-01T00:00:00Z", "2024-01-01T00:00:00Z")  # type: ignore[dict-item]  # deliberately wrong


def test_names_as_env_round_trip(monkeypatch: pytest.MonkeyPatch) -> None:
    prefixed = IndexNames.with_prefix("t2")
    assert sorted(prefixed.as_env().values()) == sorted(prefixed.all())
    for variable, alias in prefixed.as_env().items():
        monkeypatch.setenv(variable, alias)
    assert IndexNames.from_env() == prefixed
