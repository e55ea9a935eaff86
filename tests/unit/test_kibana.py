"""Kibana saved objects are structurally valid, and the import client speaks Kibana's protocol."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
KIBANA_DIR = REPO / "seeds" / "kibana"
ES_DIR = REPO / "seeds" / "elasticsearch"


def _objects() -> list[dict[str, Any]]:
    objs = []
    for path in sorted(KIBANA_DIR.glob("*.ndjson")):
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip():
                objs.append(json.loads(line))  # every line must be valid JSON
    assert objs, "seeds/kibana holds no saved objects"
    return objs


def _declared(kind: str) -> dict[str, dict[str, Any]]:
    """Field path -> mapping spec, read straight from the seed file (sub-fields included)."""
    mapping = json.loads((ES_DIR / f"{kind}.mappings.json").read_text())["mappings"]

    def walk(props: dict[str, Any], prefix: str) -> Iterator[tuple[str, dict[str, Any]]]:
        for name, spec in props.items():
            yield prefix + name, spec
            for sub, sub_spec in spec.get("fields", {}).items():
                yield f"{prefix}{name}.{sub}", sub_spec
            yield from walk(spec.get("properties", {}), f"{prefix}{name}.")

    return dict(walk(mapping["properties"], ""))


def _index_fields() -> dict[str, dict[str, dict[str, Any]]]:
    from newsflow.index.templates import KINDS

    return {kind: _declared(kind) for kind in KINDS}


def test_ids_unique_and_references_resolve() -> None:
    objs = _objects()
    keys = [(o["type"], o["id"]) for o in objs]
    assert len(keys) == len(set(keys))
    assert len({o["id"] for o in objs}) == len(objs)
    for obj in objs:
        for ref in obj.get("references", []):
            assert (ref["type"], ref["id"]) in keys, f"{obj['id']} -> {ref}"


def test_data_views_match_aliases_and_time_fields() -> None:
    views = {o["attributes"]["title"]: o["attributes"] for o in _objects() if o["type"] == "index-pattern"}
    assert views["news-articles"]["timeFieldName"] == "published"
    assert views["newsflow-runs"]["timeFieldName"] == "finished"
    assert views["newsflow-story-merges"]["timeFieldName"] == "recorded_at"
    assert views["newsflow-alerts"]["timeFieldName"] == "raised_at"
    assert views["newsflow-feed-health"]["timeFieldName"] == "checked_at"
    assert views["newsflow-story-corrections"]["timeFieldName"] == "recorded_at"
    fields = _index_fields()
    for title, attrs in views.items():
        assert fields[title][attrs["timeFieldName"]]["type"] == "date"


def test_every_field_used_is_mapped() -> None:
    from newsflow.kibana import check_saved_objects, fields_used

    objs = _objects()
    assert check_saved_objects(objs, _index_fields()) == []
    used = set().union(*(fields_used(o) for o in objs))
    assert {"published", "source", "relation", "story_id", "title.raw", "stage"} <= used
    # Run health reads what process runs write (not the fetched/indexed they never wrote).
    assert {"counts.pages_read", "counts.index_created", "counts.index_failed"} <= used
    assert not {"counts.fetched", "counts.indexed", "counts.failed"} & used


def test_checker_catches_unmapped_fields_and_dangling_references() -> None:
    from newsflow.kibana import check_saved_objects

    objs = _objects()
    broken = json.loads(json.dumps(objs))
    vis = next(o for o in broken if o["type"] == "visualization")
    state = json.loads(vis["attributes"]["visState"])
    state["aggs"][-1]["params"]["field"] = "no_such_field"
    vis["attributes"]["visState"] = json.dumps(state)
    dash = next(o for o in broken if o["type"] == "dashboard")
    dash["references"].append({"id": "gone", "name": "panel_x", "type": "visualization"})
    problems = check_saved_objects(broken, _index_fields())
    assert any("no_such_field" in p for p in problems)
    assert any("'gone'" in p for p in problems)
    assert check_saved_objects([*objs, objs[0]], _index_fields())  # duplicate id


def test_expected_searches_and_dashboard_panels() -> None:
    objs = _objects()
    searches = {o["attributes"]["title"]: o for o in objs if o["type"] == "search"}
    assert {"Stories (one report per story)", "All reports", "Story merges, renames and splits"} <= set(
        searches
    )
    stories_query = json.loads(
        searches["Stories (one report per story)"]["attributes"]["kibanaSavedObjectMeta"]["searchSourceJSON"]
    )["query"]["query"]
    assert "relation" in stories_query and "original" in stories_query
    (dashboard,) = [o for o in objs if o["type"] == "dashboard"]
    panels = json.loads(dashboard["attributes"]["panelsJSON"])
    refs = {r["name"]: r["id"] for r in dashboard["references"]}
    shown = {refs[p["panelRefName"]] for p in panels}
    by_id = {o["id"]: o for o in objs}
    titles = {by_id[i]["attributes"]["title"].lower() for i in shown}
    for needle in (
        "over time",
        "per source",
        "duplicates",
        "biggest stories",
        "run health",
        "alerts",
        "feeds",
    ):
        assert any(needle in t for t in titles), needle
    run_views = {r["id"] for i in shown for r in by_id[i]["references"]}
    assert {"newsflow-articles", "newsflow-runs", "newsflow-alerts", "newsflow-feed-health"} <= run_views
    for i in shown:
        state = json.loads(by_id[i]["attributes"]["visState"])
        assert state["type"] and state["aggs"]


def test_cli_check_passes_on_the_repository_objects() -> None:
    from newsflow.cli import main

    assert main(["kibana", "check"]) == 0


def test_dashboard_opens_on_a_range_that_shows_the_demo_data() -> None:
    from datetime import datetime

    (dashboard,) = [o for o in _objects() if o["type"] == "dashboard"]
    attrs = dashboard["attributes"]
    assert attrs["timeRestore"] is True
    start = datetime.fromisoformat(attrs["timeFrom"].replace("Z", "+00:00"))
    assert start <= datetime.fromisoformat("2022-08-29T00:00:00+00:00")  # the demo's reports: 2022-08-30/31
    assert attrs["timeTo"] == "now"  # and everything since, live runs and alerts included


def test_checker_catches_fields_of_the_wrong_type() -> None:
    from newsflow.kibana import check_saved_objects

    broken = json.loads(json.dumps(_objects()))
    vis = next(o for o in broken if o["id"] == "newsflow-vis-run-counts")
    state = json.loads(vis["attributes"]["visState"])
    state["aggs"][0]["params"]["field"] = "stage"  # a sum over a keyword
    state["aggs"][-1]["params"]["field"] = "duration_s"  # a date histogram over a number
    vis["attributes"]["visState"] = json.dumps(state)
    problems = check_saved_objects(broken, _index_fields())
    assert any("'stage' for sum" in p for p in problems), problems
    assert any("'duration_s' for date_histogram" in p for p in problems), problems
    search = next(o for o in broken if o["id"] == "newsflow-search-all-reports")
    search["attributes"]["sort"] = [["dedup_signals", "desc"]]  # an object, not a field with values
    assert any("'dedup_signals' for sort" in p for p in check_saved_objects(broken, _index_fields()))


# --- the fields must appear in documents newsflow really writes ----------------------------------


class _Recorder:
    """Stands in for the Elasticsearch client in one place only: it keeps the run-metrics
    document that the processing step's record function builds, so the test reads what the
    pipeline would send, not a copy of its field names."""

    def __init__(self) -> None:
        self.documents: list[dict[str, Any]] = []

    def index(self, *, index: str, id: str, document: dict[str, Any], refresh: bool = False) -> None:
        self.documents.append(document)


def _written_documents() -> dict[str, list[dict[str, Any]]]:
    from datetime import UTC, datetime

    from newsflow.counts import Counts
    from newsflow.dedup import MergeEvent, SplitEvent
    from newsflow.dedup.corrections import Correction
    from newsflow.flows.runs import BatchResult, RunInfo, RunKind, record_run
    from newsflow.index import ArticleDoc, IndexReport, build_document
    from newsflow.index.alerts import alert_document, delivery_fields
    from newsflow.index.feed_health import FeedHealth
    from newsflow.index.run_metrics import run_metrics_document
    from newsflow.index.story_merges import merge_document, split_document
    from newsflow.records import Article, StoryAssignment

    article = Article(
        url="https://example.org/a",
        canonical_url="https://example.org/a",
        title="Ukraine claims breakthrough near Kherson",
        text="Ukraine claims its troops have broken through.",
        published="2022-08-30T11:05:00Z",
        published_source="meta",
        modified="2022-08-30T12:00:00Z",
        authors=("A. Writer",),
        language="en",
        language_tag="en-GB",
        site_name="Southern Courier",
        description="A breakthrough",
        top_image="https://example.org/a.jpg",
        source="Southern Courier",
        feed="demo-southern-courier",
        tags=("world",),
        fetched_at="2026-11-22T06:00:00Z",
        extractor_version="x1",
        archive_ref="warc/a.warc.gz#0",
        content_hash="h1",
    )
    story = StoryAssignment(article.id, "s-first", "same_story", None, 0.88, ("p=0.88",))
    doc = build_document(
        ArticleDoc(article, story, ("band:1",), {"minhash_bands": 1}),
        version=1,
        indexed_at="2026-11-22T06:01:00Z",
    )
    # The processing step's counts: its own tally (pages read, extracted, rejected by reason,
    # fallbacks) and the index report as ``index_*`` (flows.process), nested by record_run.
    report = IndexReport(run_id="r1", alias="news-articles", created=3, updated=1, unchanged=1)
    counts: dict[str, int] = {"pages_read": 6, "extracted": 5, "rejected:http_404": 1, "fallback": 1}
    counts.update({f"index_{k}": v for k, v in report.to_dict().items() if isinstance(v, int)})
    counts["index_failed"] = 1
    recorder = _Recorder()
    started = datetime(2026, 11, 22, 6, tzinfo=UTC)
    record_run(
        recorder,  # type: ignore[arg-type]  # only .index is called; see _Recorder
        RunInfo("newsflow_process/asset_triggered__1", "newsflow_process", RunKind.ASSET_TRIGGERED, started),
        "process",
        [BatchResult(batches=("b1",), files=("f1",), counts=Counts(counts))],
    )
    poll = run_metrics_document(
        "scheduled__1",
        "poll",
        {"feeds_polled": 2, "feeds_failed": 1, "new_entries": 5},
        "2026-11-22T06:00:00Z",
        "2026-11-22T06:00:20Z",
        dag_id="newsflow_poll",
        status="partial",
    )
    merge = merge_document(MergeEvent("s-new", ("s-old",), (article.id,)), run_id="r1", members=2)
    split = split_document(SplitEvent("s-part", "s-new", (article.id,)), run_id="r1", members=1)
    correction = Correction.of(
        article.id, "b" * 32, "apart", by="ana", note="two events", at="2026-11-22T06:03:00.000Z"
    ).to_dict()
    alert = alert_document(
        rule="kherson",
        query="Kherson",
        kind="update",
        story_id="s-first",
        first={"title": article.title, "url": article.url, "published": article.published, "source": "A"},
        outlets=["A", "Southern Courier"],
        languages=["en"],
        new_outlets=["Southern Courier"],
        new_languages=["en"],
        reports=3,
        article_ids=[article.id],
        run_id="r1",
        webhook_host="http://127.0.0.1:9",
        raised_at="2026-11-22T06:02:00.000Z",
    )
    alert.update(
        delivery_fields(delivery="delivered", attempts=1, error=None, delivered_at="2026-11-22T06:02:01Z")
    )
    health = FeedHealth(
        "demo-northern-herald",
        "failed",
        error_streak=3,
        checked_at="2026-11-22T06:00:00Z",
        last_success="2026-11-22T05:00:00Z",
        last_error="http_404",
    ).to_document()
    return {
        "news-articles": [doc],
        "newsflow-runs": [*recorder.documents, poll],
        "newsflow-story-merges": [merge, split],
        "newsflow-alerts": [alert],
        "newsflow-feed-health": [health],
        "newsflow-story-corrections": [correction],
    }


def _paths(value: Any, prefix: str = "") -> dict[str, list[Any]]:
    """Dotted path -> the non-null values found there (lists flattened)."""
    found: dict[str, list[Any]] = {}
    items = value if isinstance(value, list) else [value]
    for item in items:
        if isinstance(item, dict):
            for key, sub in item.items():
                for path, values in _paths(sub, f"{prefix}{key}.").items():
                    found.setdefault(path, []).extend(values)
        elif item is not None and prefix:
            found.setdefault(prefix.rstrip("."), []).append(item)
    return found


def test_every_field_kibana_uses_is_in_documents_newsflow_writes() -> None:
    from datetime import datetime

    from newsflow.kibana import DATES, NUMERIC, fields_used

    objs = _objects()
    written = {kind: _paths(docs) for kind, docs in _written_documents().items()}
    fields = _index_fields()
    views = {o["id"]: o["attributes"]["title"] for o in objs if o["type"] == "index-pattern"}
    checked = 0
    for obj in objs:
        view_ids = [obj["id"]] if obj["type"] == "index-pattern" else []
        view_ids += [r["id"] for r in obj.get("references", []) if r["type"] == "index-pattern"]
        for view in view_ids:
            kind = views[view]
            for name in fields_used(obj):
                spec = fields[kind][name]
                parent, _, sub = name.rpartition(".")
                source_path = parent if sub in fields[kind].get(parent, {}).get("fields", {}) else name
                values = written[kind].get(source_path)
                assert values, f"{obj['id']} uses {name!r}, which no {kind} document newsflow writes has"
                if spec.get("type") in NUMERIC:
                    assert all(isinstance(v, int | float) and not isinstance(v, bool) for v in values), name
                if spec.get("type") in DATES:
                    for v in values:
                        datetime.fromisoformat(str(v).replace("Z", "+00:00"))
                checked += 1
    assert checked > 40
