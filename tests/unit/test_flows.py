"""The flows' planners, the one due rule, and the run record: plain functions, no services."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from newsflow.archive import ArchiveBatch, ArchiveOptions, page_counts
from newsflow.counts import Counts
from newsflow.feedstate import FeedState, JsonFeedStateStore
from newsflow.fetch import FetchResult
from newsflow.flows.options import FlowOptions
from newsflow.flows.plan import pack
from newsflow.flows.poll import plan_poll
from newsflow.flows.process import plan_process
from newsflow.flows.runs import BatchResult, RunInfo, RunKind, run_record
from newsflow.timestamps import iso_z
from tests.responses import html_response

WHEN = datetime(2026, 3, 2, 18, 0, tzinfo=UTC)


# --- packing: never drop work --------------------------------------------------------------------


def test_pack_keeps_groups_whole_and_fills_units() -> None:
    plan = pack([["a1", "a2"], ["b1"], ["c1", "c2", "c3"], ["d1"]], size=3, limit=10)
    assert plan.units == (("a1", "a2", "b1"), ("c1", "c2", "c3"), ("d1",))
    assert (plan.items, plan.unit_size, plan.merged) == (7, 3, 0)
    assert pack([], 3, 10).units == ()


@pytest.mark.parametrize(("items", "size", "limit"), [(1024 * 8 + 5, 8, 1024), (300, 2, 64), (65, 1, 64)])
def test_past_the_map_limit_units_grow_and_nothing_is_dropped(items: int, size: int, limit: int) -> None:
    groups = [[f"item-{n}"] for n in range(items)]
    plan = pack(groups, size, limit)
    assert len(plan.units) <= limit
    assert [x for unit in plan.units for x in unit] == [g[0] for g in groups], "every item, in order, once"
    assert plan.unit_size > size and plan.merged == sum(len(u) - size for u in plan.units if len(u) > size)
    assert plan.merged > 0


def test_pack_by_weight_fills_units_and_caps_their_items() -> None:
    pages = {"a": 300, "b": 200, "c": 600, "d": 5, "e": 5, "f": 5, "g": 1200}
    plan = pack([[x] for x in "abcdefg"], 1000, 10, weigh=pages.__getitem__, most=3)
    assert plan.for_xcom() == [["a", "b"], ["c", "d", "e"], ["f"], ["g"]], "pages, then the cap"
    assert (plan.items, plan.unit_size, plan.merged) == (7, 1000, 0), "a heavy item alone is not a merge"


def test_pack_by_weight_past_the_map_limit_grows_both_bounds() -> None:
    pages = {f"b{n}": 1 for n in range(9)}
    plan = pack([[x] for x in pages], 1000, 3, weigh=pages.__getitem__, most=2)
    assert len(plan.units) == 3 and [x for u in plan.units for x in u] == list(pages)
    assert plan.merged == 3, "one batch beyond the cap of two in each unit"


# --- the due rule ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("when", "due"),
    [
        (WHEN, True),  # a retried task or a cleared run: the last poll's own logical time
        (WHEN + timedelta(microseconds=400_000), True),  # the same run (stamps are kept to the second)
        (WHEN + timedelta(minutes=5), False),  # within the interval
        (WHEN + timedelta(minutes=15), True),  # the interval has passed
        (WHEN - timedelta(hours=1), False),  # a run dated before the last poll cannot poll the past
    ],
)
def test_one_due_rule(when: datetime, due: bool) -> None:
    state = FeedState(name="f", last_fetch=iso_z(WHEN))
    assert state.is_due(15 * 60, when) is due
    assert FeedState(name="f").is_due(15 * 60, when), "a feed never polled is due"
    assert FeedState(name="f", last_fetch="garbage").is_due(15 * 60, when)


# --- planners -------------------------------------------------------------------------------------


def _options(tmp_path: Path, feeds: dict[str, str], **overrides: object) -> FlowOptions:
    registry = tmp_path / "feeds.yaml"
    registry.write_text(
        "feeds:\n"
        + "".join(
            f"  - name: {name}\n    url: {url}\n    language: en\n    poll_interval: 15m\n    tags: [t]\n"
            for name, url in feeds.items()
        )
    )
    # ``overrides`` are a test's fields of several types: checked by FlowOptions itself.
    return FlowOptions(registry=str(registry), archive_root=str(tmp_path / "archive"), **overrides)  # type: ignore[arg-type]  # see above


def test_plan_poll_shards_by_host_and_asks_the_due_rule(tmp_path: Path) -> None:
    feeds = {
        "a-world": "https://a.example/world.xml",
        "a-sport": "https://www.a.example/sport.xml",
        "b-main": "https://b.example/rss",
        "c-main": "https://c.example/rss",
    }
    options = _options(tmp_path, feeds, feeds_per_batch=2)
    assert plan_poll(options, WHEN).for_xcom() == [["a-world", "a-sport"], ["b-main", "c-main"]]
    store = JsonFeedStateStore.under_archive(options.archive_root)
    store.put(FeedState(name="b-main", last_fetch=iso_z(WHEN)))
    store.put(FeedState(name="c-main", last_fetch=iso_z(WHEN - timedelta(hours=1))))
    soon = plan_poll(options, WHEN + timedelta(minutes=5))
    assert soon.for_xcom() == [["a-world", "a-sport"], ["c-main"]], "b-main was polled 5 minutes ago"
    assert plan_poll(options, WHEN).for_xcom()[-1] == ["b-main", "c-main"], "a rerun of b-main's run polls it"
    pinged = plan_poll(options, WHEN + timedelta(minutes=5), pinged=["b-main", "b-main"])
    assert pinged.for_xcom() == [["b-main"]], "a ping polls its feeds alone, whatever their interval"


def _archive_batch(root: str, when: datetime, feeds: list[str], pages: int = 1) -> ArchiveBatch:
    batch = ArchiveBatch.for_poll(root, when, feeds)

    def fetched(url: str) -> FetchResult:
        return html_response(url, fetched_at=when)

    with batch.writer(ArchiveOptions(root)) as writer:
        writer.write(fetched("https://a.example/rss"), kind="feed")
        for n in range(pages):
            result = fetched(f"https://a.example/x{n}")
            writer.write(result, kind="page", canonical_url=result.url)
    return batch


def test_plan_process_from_events_or_the_data_interval(tmp_path: Path) -> None:
    options = _options(tmp_path, {"a": "https://a.example/rss"}, batches_per_task=2)
    root = options.archive_root
    batches = [_archive_batch(root, WHEN + timedelta(minutes=5 * n), [f"f{n}"]) for n in range(5)]
    later = _archive_batch(root, WHEN + timedelta(hours=1), ["late"])
    window = (WHEN, WHEN + timedelta(hours=1))
    plan = plan_process(options, window=window)
    assert plan.for_xcom() == [[b.ref for b in batches[:2]], [b.ref for b in batches[2:4]], [batches[4].ref]]
    assert later.ref not in {ref for unit in plan.units for ref in unit}, "the window's end is exclusive"
    # An asset event names batches; an event from before batch references names files.
    assert plan_process(options, batch_refs=[later.ref], events=1).for_xcom() == [[later.ref]]
    legacy_event = plan_process(options, files=[*later.files()[0], "/not/an/archive/file.txt"], events=1)
    assert legacy_event.for_xcom() == [[later.ref]]
    assert plan_process(options, events=1).units == (), "an event naming nothing plans nothing"
    tight = FlowOptions(registry=options.registry, archive_root=root, batches_per_task=1, max_tasks=2)
    many = plan_process(tight, window=window)
    assert len(many.units) == 2 and many.items == 5 and many.merged > 0


def test_plan_process_fills_units_by_pages(tmp_path: Path) -> None:
    options = _options(tmp_path, {"a": "https://a.example/rss"}, pages_per_task=5, batches_per_task=3)
    root = options.archive_root
    sizes = [2, 2, 1, 1, 1, 9, 0]
    batches = [
        _archive_batch(root, WHEN + timedelta(minutes=n), [f"f{n}"], pages=p) for n, p in enumerate(sizes)
    ]
    refs = [b.ref for b in batches]
    assert page_counts(batches) == dict(zip(refs, sizes, strict=True)), "pages from the index, feeds left out"
    plan = plan_process(options, window=(WHEN, WHEN + timedelta(hours=1)))
    assert plan.for_xcom() == [refs[0:3], refs[3:5], [refs[5]], [refs[6]]]


# --- runs and their record ------------------------------------------------------------------------


def test_run_kind_is_airflow_run_type_compared_as_an_enum() -> None:
    class FakeDagRunType:  # the task SDK's run type: a str enum whose value is "backfill"
        value = "backfill"

    assert RunKind.of(FakeDagRunType()) is RunKind.BACKFILL
    assert RunKind.of("scheduled") is RunKind.SCHEDULED
    assert RunKind.of("DagRunType.BACKFILL") is RunKind.OTHER, "never guessed from the printed form"
    run = RunInfo("d/r", "d", RunKind.BACKFILL, WHEN)
    assert run.reprocesses and not RunInfo("d/r", "d", RunKind.SCHEDULED, WHEN).reprocesses
    assert RunInfo("d/r", "d", RunKind.MANUAL, WHEN, reprocess=True).reprocesses


def test_batch_results_cross_xcom_and_merge_into_the_run_record() -> None:
    one = BatchResult(("b1",), ("f1",), Counts({"pages_read": 3, "rejected:paywall": 1}), seconds=1.25)
    two = BatchResult(("b2",), ("f2",), Counts({"pages_read": 2, "rejected:http_404": 2}), seconds=0.5)
    payload = one.to_xcom()
    assert json.loads(json.dumps(payload)) == payload
    assert payload["counts"] == {"pages_read": 3, "rejected:paywall": 1, "seconds": 1.25}
    assert BatchResult.from_xcom(payload) == one
    record = run_record([one, two], planned_units=3)
    assert record.counts.nested() == {
        "pages_read": 5,
        "rejected": {"http_404": 2, "paywall": 1},
        "units_missing": 1,
    }
    assert record.extra == {"batches": 2, "seconds": 1.75, "planned_units": 3}
    assert record.to_xcom()["counts"] == {
        "pages_read": 5,
        "rejected:http_404": 2,
        "rejected:paywall": 1,
        "units_missing": 1,
    }


def test_unit_sizes_come_from_the_environment_and_bad_values_fail_clearly(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from newsflow.errors import ConfigError

    assert FlowOptions.from_env().batches_per_task == FlowOptions().batches_per_task
    for name, value in (
        ("NEWSFLOW_FEEDS_PER_BATCH", "5"),
        ("NEWSFLOW_BATCHES_PER_TASK", "16"),
        ("NEWSFLOW_PAGES_PER_TASK", "400"),
        ("NEWSFLOW_MAX_TASKS", "800"),
        ("NEWSFLOW_SEEN_DAYS", "3"),
    ):
        monkeypatch.setenv(name, value)
    options = FlowOptions.from_env()
    sizes = (options.feeds_per_batch, options.batches_per_task, options.pages_per_task, options.max_tasks)
    assert (*sizes, options.seen_days) == (5, 16, 400, 800, 3)
    monkeypatch.setenv("NEWSFLOW_MAX_TASKS", "5000")
    with pytest.raises(ConfigError, match="max_tasks=5000"):
        FlowOptions.from_env()
    monkeypatch.setenv("NEWSFLOW_MAX_TASKS", "many")
    with pytest.raises(ConfigError, match="NEWSFLOW_MAX_TASKS='many' is not a whole number"):
        FlowOptions.from_env()
