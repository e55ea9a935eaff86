"""An analyst's corrections through Elasticsearch: recorded once per pair, applied at once,
and held by every later batch and rerun (the in-memory backend: tests/unit/test_story_corrections.py)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.articles import make_article

pytestmark = pytest.mark.integration


def _stories(es_client: Any, alias: str) -> dict[str, str]:
    es_client.indices.refresh(index=alias)
    hits = es_client.search(index=alias, size=100, source_includes=["id", "story_id"])["hits"]["hits"]
    return {h["_source"]["id"]: h["_source"]["story_id"] for h in hits}


def _count(es_client: Any, alias: str) -> int:
    es_client.indices.refresh(index=alias)
    return int(es_client.count(index=alias)["count"])


def test_apart_splits_the_story_and_every_later_batch_keeps_it_split(
    es_client: Any, story_names: Any, story_index: Any, kherson: list[Any], others: list[Any]
) -> None:
    from newsflow.dedup.corrections import Correction

    herald, courier, wire = kherson
    story_index.add([*kherson, *others], run_id="batch-1")
    before = _stories(es_client, story_names.articles)
    assert before[herald.id] == before[courier.id] == before[wire.id]

    report = story_index.correct(
        [Correction.of(courier.id, herald.id, "apart", by="analyst", note="two events")]
    )
    after = _stories(es_client, story_names.articles)
    assert after[courier.id] != after[herald.id]
    assert after[wire.id] == after[herald.id] == before[herald.id]  # the copy stays with its original
    assert set(report.moved) == {courier.id}
    assert report.merges == ()  # the story lives on under its id: nothing to redirect
    assert report.counts["corrections:recorded"] == 1
    assert _count(es_client, story_names.corrections) == 1
    # The split is history, not a redirect: the report that left, and for which story.
    assert report.counts["stories:split"] == 1
    assert _count(es_client, story_names.merges) == 1
    (split,) = [h["_source"] for h in es_client.search(index=story_names.merges)["hits"]["hits"]]
    assert (split["kind"], split["split_from"], split["story_id"], split["by"], split["merged"]) == (
        "split",
        before[herald.id],
        after[courier.id],
        [courier.id],
        [],
    )

    # A rerun decides the batch again, and a new outlet's copy of the courier's report
    # reaches both stories: the correction holds in each.
    story_index.add([*kherson, *others], run_id="batch-1-rerun")
    copy = make_article(
        "https://eastern-post.example/2022/08/30/kherson",
        courier.title,
        courier.text,
        "2022-08-30T13:00:00Z",
        "Eastern Post",
        content_hash=courier.content_hash,
    )
    story_index.add([copy], run_id="batch-2")
    later = _stories(es_client, story_names.articles)
    assert later[courier.id] == later[copy.id] != later[herald.id]
    assert later[herald.id] == later[wire.id]

    # Said again, nothing new is recorded; withdrawn, the model's story comes back.
    story_index.correct([Correction.of(herald.id, courier.id, "apart")])
    assert _count(es_client, story_names.corrections) == 1
    story_index.correct([Correction.of(herald.id, courier.id, "withdrawn")])
    back = _stories(es_client, story_names.articles)
    assert back[courier.id] == back[herald.id] == back[copy.id] == back[wire.id]
    assert _count(es_client, story_names.corrections) == 1  # the record is kept, as withdrawn


def test_together_joins_two_stories_and_records_the_merge(
    es_client: Any, story_names: Any, story_index: Any, kherson: list[Any], others: list[Any]
) -> None:
    from newsflow.dedup.corrections import TOGETHER_WHY, Correction

    herald = kherson[0]
    bakhmut, cycling = others
    story_index.add([*kherson, *others], run_id="batch-1")
    before = _stories(es_client, story_names.articles)
    assert before[cycling.id] != before[herald.id]
    report = story_index.correct([Correction.of(cycling.id, herald.id, "together")])
    after = _stories(es_client, story_names.articles)
    assert after[cycling.id] == after[herald.id] == after[kherson[1].id]
    assert after[bakhmut.id] != after[herald.id]  # Bakhmut stays its own story
    assert report.merges and set(report.merges[0].merged) == {before[cycling.id], before[herald.id]}
    assert _count(es_client, story_names.merges) == 1
    doc = es_client.get(index=story_names.articles, id=cycling.id)["_source"]
    assert doc["why"] == [TOGETHER_WHY]
    # A rerun of the batch keeps them together, and so does one of the cycling report alone,
    # whose look-up finds nothing of the Kherson story: it is read because of the correction.
    story_index.add([*kherson, *others], run_id="batch-1-rerun")
    assert _stories(es_client, story_names.articles) == after
    story_index.add([cycling], run_id="cycling-alone")
    assert _stories(es_client, story_names.articles) == after


def test_a_correction_of_an_unknown_article_records_nothing(
    es_client: Any, story_names: Any, story_index: Any, kherson: list[Any]
) -> None:
    from newsflow.dedup.corrections import Correction
    from newsflow.errors import InputError

    story_index.add(kherson, run_id="batch-1")
    before = _stories(es_client, story_names.articles)
    with pytest.raises(InputError, match=r"not in .*nothing was recorded"):
        story_index.correct([Correction.of(kherson[0].id, "0" * 32, "apart")])
    es_client.indices.refresh(index=story_names.corrections)
    assert _count(es_client, story_names.corrections) == 0
    assert _stories(es_client, story_names.articles) == before


def test_the_cli_names_articles_as_the_story_table_shows_them(  # noqa: PLR0917 - fixtures
    es_client: Any, story_names: Any, story_index: Any, kherson: list[Any], capsys: Any, monkeypatch: Any
) -> None:
    """`newsflow story` shows each report's article id; `newsflow correct` takes its first
    characters or the article's URL, applies the correction and lists it."""
    import json

    from newsflow.cli import main

    for variable, alias in story_names.as_env().items():
        monkeypatch.setenv(variable, alias)
    monkeypatch.setenv("COLUMNS", "250")
    herald, courier, _ = kherson
    story_index.add(kherson, run_id="batch-1")
    assert main(["story", herald.id]) == 0
    assert courier.id[:12] in capsys.readouterr().out

    assert (
        main(["correct", "apart", courier.id[:12], herald.url, "--note", "[b]two[/b] events", "--by", "ana"])
        == 0
    )
    out = capsys.readouterr().out
    assert "recorded: apart" in out and "1 article(s) moved" in out
    assert "Southern Courier" in out and courier.id[:12] in out
    stories = _stories(es_client, story_names.articles)
    assert stories[courier.id] != stories[herald.id]

    es_client.indices.refresh(index=story_names.merges)  # the history is searchable within a second
    assert main(["story", herald.id]) == 0  # the story says it was corrected, and by whom
    shown = " ".join(capsys.readouterr().out.split())
    pair = f"{min(herald.id, courier.id)[:12]} apart {max(herald.id, courier.id)[:12]}"
    assert f"by ana: {pair}: [b]two[/b] events" in shown
    assert f"1 report(s) left for story {stories[courier.id]} ({courier.id[:12]}; run" in shown
    assert main(["story", courier.id]) == 0  # and the part that left says where it came from
    assert f"came from story {stories[herald.id]}" in " ".join(capsys.readouterr().out.split())
    assert main(["stories", "--history", stories[herald.id]]) == 0
    history = " ".join(capsys.readouterr().out.split())
    assert "is current" in history and "split" in history and f"moved: {courier.id}" in history

    assert main(["correct", "list", "--article", herald.id[:8], "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert [(c["verdict"], c["by"], c["note"]) for c in listed] == [("apart", "ana", "[b]two[/b] events")]
    assert main(["correct", "list"]) == 0
    assert "[b]two[/b] events" in capsys.readouterr().out  # shown as written, never as markup

    # An article nobody holds: a clear error, exit 2, nothing recorded.
    assert main(["correct", "together", courier.id, "https://nowhere.example/none"]) == 2
    assert "no article in" in capsys.readouterr().err
    assert _count(es_client, story_names.corrections) == 1


def test_every_correction_touching_the_articles_is_read_page_by_page(
    es_client: Any, story_names: Any
) -> None:
    from newsflow.dedup.corrections import Correction
    from newsflow.index import corrections as stored

    hub = "a" * 32
    others = [f"{n:032x}" for n in range(1, 8)]
    stored.record_corrections(
        es_client, story_names.corrections, [Correction.of(hub, o, "apart") for o in others]
    )
    found = stored.corrections_touching(es_client, story_names.corrections, [hub], page=2)
    assert sorted(c.b if c.a == hub else c.a for c in found) == others
    assert stored.corrections_touching(es_client, f"{story_names.corrections}-missing", [hub]) == []


def test_detach_keeps_an_article_apart_from_each_other_report_of_its_story(  # noqa: PLR0917 - fixtures
    es_client: Any, story_names: Any, story_index: Any, kherson: list[Any], capsys: Any, monkeypatch: Any
) -> None:
    import json

    from newsflow.cli import main

    for variable, alias in story_names.as_env().items():
        monkeypatch.setenv(variable, alias)
    herald, courier, wire = kherson
    story_index.add(kherson, run_id="batch-1")
    assert main(["correct", "detach", courier.url, "--json"]) == 0
    answer = json.loads(capsys.readouterr().out)
    assert answer["articles"] == [courier.id] and set(answer["moved"]) == {courier.id}
    stories = _stories(es_client, story_names.articles)
    assert stories[courier.id] not in {stories[herald.id], stories[wire.id]}
    splits = [(p["split_from"], p["story_id"], p["moved"]) for p in answer["splits"]]
    assert splits == [(stories[herald.id], stories[courier.id], [courier.id])]
    assert stories[herald.id] == stories[wire.id]
    assert _count(es_client, story_names.corrections) == 2  # one per other report, each withdrawable
    # Alone in its story now: nothing to detach from, a clear error.
    assert main(["correct", "detach", courier.id]) == 2
    assert "alone in its story" in capsys.readouterr().err


def test_a_merges_index_set_up_before_splits_is_refused_before_any_work(
    es_client: Any, es_prefix: str, kherson: list[Any]
) -> None:
    """Its strict mapping would refuse a split mid-batch; the batch says to run the setup, which
    adds the field, and then runs."""
    from newsflow.dedup.es_stories import ElasticStories
    from newsflow.dedup.story_index import StoryIndex
    from newsflow.errors import IndexingError
    from newsflow.index import IndexNames, setup_indices

    names = IndexNames.with_prefix(f"{es_prefix}-old")
    setup_indices(es_client, names)
    for index in es_client.indices.get_alias(name=names.merges):
        es_client.indices.delete(index=index)
    es_client.indices.create(  # a name no template matches, so its mapping is only this
        index=f"{es_prefix}-legacy-merges",
        mappings={"dynamic": "strict", "properties": {"story_id": {"type": "keyword"}}},
        aliases={names.merges: {"is_write_index": True}},
    )
    stories = StoryIndex(ElasticStories(es_client, names))
    with pytest.raises(IndexingError, match=r"has no split_from field.*newsflow index setup"):
        stories.add(kherson, run_id="batch-1")
    es_client.indices.refresh(index=names.articles)
    assert es_client.count(index=names.articles)["count"] == 0  # refused before any write
    setup_indices(es_client, names)
    assert stories.add(kherson, run_id="batch-1").index is not None
