"""Indexing and story search against the real Elasticsearch node."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import pytest

if TYPE_CHECKING:
    from elasticsearch import Elasticsearch

from tests.conftest import shared_path

pytestmark = pytest.mark.integration

STORY = "story-kherson-counteroffensive"


@pytest.fixture
def names(es_client: Any, es_prefix: str) -> Iterator[Any]:
    """Index names under the test prefix; also drops the component templates conftest does not know."""
    from newsflow.index import IndexNames

    yield IndexNames.with_prefix(es_prefix)
    es_client.options(ignore_status=404).indices.delete_index_template(name=f"{es_prefix}*")
    es_client.options(ignore_status=404).cluster.delete_component_template(name=f"{es_prefix}*")


def _seed_articles() -> list[Any]:
    from newsflow.records import Article

    articles = []
    for n, path in enumerate(sorted(shared_path("seeds").glob("*.txt"))):
        lines = [ln for ln in path.read_text(encoding="utf-8").splitlines() if ln.strip()]
        url = f"https://seed{n}.example/{path.stem}"
        articles.append(
            Article(
                url=url,
                canonical_url=url,
                title=lines[0][:140],
                text="\n".join(lines[1:]),
                published=f"2022-08-29T1{n}:00:00Z",
                published_source="meta",
                language="en",
                source=f"seed{n}.example",
                content_hash=f"seed-{path.stem}",
            )
        )
    assert len(articles) == 2, "../shared/seeds must hold the two seed reports"
    return articles


def _other_articles() -> list[Any]:
    from newsflow.records import Article

    topics = [
        (
            "Central bank holds interest rates",
            "The central bank kept its benchmark rate unchanged on Thursday.",
        ),
        ("Storm floods coastal towns", "Heavy rain flooded streets in several coastal towns overnight."),
        (
            "Football club signs striker",
            "The club confirmed the signing of a young striker for a record fee.",
        ),
    ]
    return [
        Article(
            url=f"https://other{i}.example/a",
            canonical_url=f"https://other{i}.example/a",
            title=title,
            text=text,
            published=f"2022-09-0{i + 1}T08:00:00Z",
            language="en",
            source=f"other{i}.example",
            content_hash=f"other-{i}",
        )
        for i, (title, text) in enumerate(topics)
    ]


def _story_docs() -> list[Any]:
    from newsflow.index import ArticleDoc
    from newsflow.records import StoryAssignment

    seeds = _seed_articles()
    docs = [
        ArticleDoc(
            a,
            StoryAssignment(
                id=a.id,
                story_id=STORY,
                relation="original" if i == 0 else "same_story",
                duplicate_of=None if i == 0 else seeds[0].id,
                score=0.0 if i == 0 else 0.61,
                why=() if i == 0 else ("shared entities: Kherson, Arestovych",),
            ),
            dedup_keys=("band:0:abc", "ent:kherson") if i == 0 else ("band:0:abd",),
            dedup_signals={"minhash_bands": 3},
        )
        for i, a in enumerate(seeds)
    ]
    return docs + [ArticleDoc(a) for a in _other_articles()]


def _options(tmp_path: Path, **kw: Any) -> Any:
    from newsflow.index import IndexOptions

    return IndexOptions(refresh=True, dead_letter_root=str(tmp_path / "archive"), **kw)


def test_story_search_collapses_seed_reports(es_client: Any, names: Any, tmp_path: Path) -> None:
    from newsflow.index import index_articles, setup_indices
    from newsflow.search import search_stories, top_stories

    setup_indices(es_client, names)
    docs = _story_docs()
    report = index_articles(es_client, docs, names=names, options=_options(tmp_path))
    assert (report.created, report.failed) == (len(docs), 0)

    result = search_stories(es_client, "Kherson counter-offensive", index=names.articles)
    assert result.collapsed
    assert len(result.hits) == 1, [h.title for h in result.hits]
    story = result.hits[0]
    assert story.story_id == STORY
    seed_ids = {d.id for d in docs[:2]}
    assert {r.id for r in story.reports} == seed_ids
    published = [r.published for r in story.reports]
    assert published == sorted(p for p in published if p)  # other outlets' reports, oldest first
    assert story.highlights and any("<em>" in f for frags in story.highlights.values() for f in frags)
    assert all(r.highlights for r in story.reports)

    flat = search_stories(es_client, "Kherson counter-offensive", all_reports=True, index=names.articles)
    assert not flat.collapsed
    assert {h.id for h in flat.hits} == seed_ids
    assert all(not h.reports for h in flat.hits)

    newest = search_stories(
        es_client, "Kherson counter-offensive", all_reports=True, sort="newest", index=names.articles
    )
    published = [h.published for h in newest.hits]
    assert published == sorted((p for p in published if p), reverse=True)

    filtered = search_stories(
        es_client, "Kherson", source="seed1.example", all_reports=True, index=names.articles
    )
    assert [h.source for h in filtered.hits] == ["seed1.example"]

    top = top_stories(es_client, index=names.articles, size=3)
    assert top[0].story_id == STORY and top[0].reports == 2 and top[0].sources == 2
    assert top[0].title == docs[0].article.title  # the earliest report represents the story


def test_cli_search_json(es_client: Any, names: Any, tmp_path: Path, capsys: Any, monkeypatch: Any) -> None:
    from newsflow.cli import main
    from newsflow.index import index_articles, setup_indices

    setup_indices(es_client, names)
    index_articles(es_client, _story_docs(), names=names, options=_options(tmp_path))

    assert main(["search", "Kherson counter-offensive", "--json", "--index", names.articles]) == 0
    data = json.loads(capsys.readouterr().out)
    assert len(data["hits"]) == 1 and len(data["hits"][0]["reports"]) == 2
    assert data["hits"][0]["highlights"]

    monkeypatch.setenv("NEWSFLOW_INDEX_ALIAS", names.articles)
    assert (
        main(["search", "Kherson counter-offensive", "--json", "--all-reports", "--since", "2022-08-29"]) == 0
    )
    flat = json.loads(capsys.readouterr().out)
    assert len(flat["hits"]) == 2
    assert main(["search", "Kherson", "--json", "--until", "2022-08-28"]) == 0
    assert json.loads(capsys.readouterr().out)["hits"] == []
    assert main(["stories", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)[0]["reports"] == 2
    assert main(["search", "Kherson", "--index", names.articles]) == 0  # the rich table renders
    assert "seed" in capsys.readouterr().out


def test_reindexing_is_idempotent_and_changes_bump_version(
    es_client: Any, names: Any, tmp_path: Path
) -> None:
    from dataclasses import replace

    from newsflow.index import ArticleDoc, index_articles, setup_indices

    setup_indices(es_client, names)
    docs = _story_docs()
    index_articles(es_client, docs, names=names, options=_options(tmp_path))
    count = es_client.count(index=names.articles)["count"]
    again = index_articles(es_client, docs, names=names, options=_options(tmp_path))
    assert (again.created, again.updated, again.unchanged) == (0, 0, len(docs))
    assert es_client.count(index=names.articles)["count"] == count == len(docs)
    before = es_client.get(index=names.articles, id=docs[2].id)

    changed = replace(docs[2].article, text=docs[2].article.text + " Updated.", content_hash="other-0-v2")
    report = index_articles(es_client, [ArticleDoc(changed)], names=names, options=_options(tmp_path))
    assert (report.updated, report.created) == (1, 0)
    after = es_client.get(index=names.articles, id=docs[2].id)
    assert after["_source"]["version"] == before["_source"]["version"] + 1 == 2
    assert after["_source"]["content_hash"] == "other-0-v2"
    assert es_client.count(index=names.articles)["count"] == count
    untouched = es_client.get(index=names.articles, id=docs[3].id)
    assert (untouched["_source"]["version"], untouched["_version"]) == (1, 1)  # never rewritten


def test_bad_document_goes_to_dead_letter(es_client: Any, names: Any, tmp_path: Path) -> None:
    from newsflow.index import BulkIndexingError, index_articles, setup_indices
    from newsflow.records import Article

    setup_indices(es_client, names)
    good = _other_articles()
    bad = Article(
        url="https://bad.example/x",
        canonical_url="https://bad.example/x",
        title="t",
        text="x",
        published="29th of August",
    )
    report = index_articles(
        es_client, [*good, bad], names=names, options=_options(tmp_path, max_failure_ratio=0.5)
    )
    assert report.created == len(good)
    assert report.failed_by_reason == {"document_parsing_exception": 1}
    assert report.failures[0].id == bad.id and "published" in report.failures[0].error
    assert report.dead_letter_path is not None
    dead = Path(report.dead_letter_path)
    assert dead.is_relative_to(tmp_path / "archive" / "dead-letter")
    lines = [json.loads(line) for line in dead.read_text().splitlines()]
    assert [(r["id"], r["document"]["published"]) for r in lines] == [(bad.id, "29th of August")]
    assert es_client.count(index=names.articles)["count"] == len(good)

    with pytest.raises(BulkIndexingError) as raised:
        index_articles(es_client, [bad], names=names, options=_options(tmp_path, max_failure_ratio=0.0))
    assert raised.value.report.failed == 1


def test_missing_alias_is_refused(es_client: Any, names: Any) -> None:
    from newsflow.errors import IndexingError
    from newsflow.index import index_articles

    with pytest.raises(IndexingError, match="newsflow index setup"):
        index_articles(es_client, _other_articles(), names=names)
    assert not es_client.indices.exists(index=names.articles)


def test_migrate_switches_alias_atomically(es_client: Any, names: Any, tmp_path: Path) -> None:
    from newsflow.index import index_articles, migrate, setup_indices
    from newsflow.search import search_stories

    setup_indices(es_client, names)
    docs = _story_docs()
    index_articles(es_client, docs, names=names, options=_options(tmp_path))
    moved = migrate(es_client, names.articles, batch_size=2)
    assert (moved.source_index, moved.target_index) == (
        f"{names.articles}-000001",
        f"{names.articles}-000002",
    )
    assert moved.copied == len(docs)
    assert list(es_client.indices.get_alias(name=names.articles)) == [moved.target_index]
    assert es_client.count(index=names.articles)["count"] == len(docs)
    assert len(search_stories(es_client, "Kherson counter-offensive", index=names.articles).hits) == 1
    again = index_articles(es_client, docs, names=names, options=_options(tmp_path))
    assert again.unchanged == len(docs)


def test_concurrent_writer_conflict_is_reread_not_clobbered(
    es_client: Any, names: Any, tmp_path: Path
) -> None:
    """A write that lands between our mget and our bulk causes a 409; we re-read and decide again."""
    from dataclasses import replace

    from newsflow.index import ArticleDoc, index_articles, setup_indices
    from newsflow.index.documents import build_document

    setup_indices(es_client, names)
    first, second = _other_articles()[:2]
    index_articles(es_client, [first], names=names, options=_options(tmp_path))
    interfered: list[str] = []

    class InterferingClient:
        """The real client, but another writer acts right after our first read of stored versions."""

        def __getattr__(self, name: str) -> Any:
            return getattr(es_client, name)

        def mget(self, **kwargs: Any) -> Any:
            found = es_client.mget(**kwargs)
            if not interfered:  # another writer updates `first` and creates `second` right now
                rival = replace(first, title="Rival title", content_hash="rival")
                es_client.index(
                    index=names.articles,
                    id=first.id,
                    document=build_document(ArticleDoc(rival), version=2, indexed_at="2024-01-01T00:00:00Z"),
                )
                es_client.index(
                    index=names.articles,
                    id=second.id,
                    op_type="create",
                    document=build_document(ArticleDoc(second), version=1, indexed_at="2024-01-01T00:00:00Z"),
                )
                interfered.append("yes")
            return found

    mine = replace(first, title="My title", content_hash="mine")
    report = index_articles(
        cast("Elasticsearch", InterferingClient()), [mine, second], names=names, options=_options(tmp_path)
    )
    assert interfered
    assert report.failed == 0
    assert (report.updated, report.unchanged, report.created) == (
        1,
        1,
        0,
    )  # second: rival's copy is identical
    stored = es_client.get(index=names.articles, id=first.id)["_source"]
    assert (stored["title"], stored["version"]) == ("My title", 3)  # built on the rival's version 2
    assert es_client.count(index=names.articles)["count"] == 2


def test_setup_adds_new_template_fields_to_an_existing_index(
    es_client: Any, names: Any, tmp_path: Path
) -> None:
    """An index made before ``charset`` existed takes documents carrying it once setup runs again."""
    import shutil

    from newsflow import settings
    from newsflow.index import SetupOptions, index_articles, setup_indices
    from newsflow.records import Article

    old_seeds = tmp_path / "seeds"
    shutil.copytree(settings.seeds_dir() / "elasticsearch", old_seeds)
    mappings = old_seeds / "news-articles.mappings.json"
    data = json.loads(mappings.read_text(encoding="utf-8"))
    for field in ("charset", "charset_source"):
        del data["mappings"]["properties"][field]
    mappings.write_text(json.dumps(data), encoding="utf-8")
    old = setup_indices(es_client, names, SetupOptions(seeds=old_seeds))
    assert old.created_indices
    article = Article(
        url="https://charset.example/a",
        canonical_url="https://charset.example/a",
        title="Münchner Tag",
        text="A report read as cp1252 after its UTF-8 label failed. " * 5,
        charset="cp1252",
        charset_source="redetected",
    )
    setup_indices(es_client, names)  # the current templates: adds the two fields to the old index
    report = index_articles(es_client, [article], names=names, options=_options(tmp_path))
    assert report.failed == 0 and report.created == 1
    properties = es_client.indices.get_mapping(index=old.articles_index)[old.articles_index]["mappings"]
    assert {"charset", "charset_source"} <= set(properties["properties"])
