"""Drill: one of three Elasticsearch nodes is ``kill -9``'d while a processing run writes.

A local three-node cluster (``newsflow es up --nodes 3``: one zip, own ports and data
dirs) holds the article index with one replica. The fixture site is polled into an
archive, then its batches are processed unit by unit through the same flow functions
the DAG tasks call; shortly after the second unit starts, the node holding the article
index's primary shard is killed (SIGKILL to its process group: no hand-over). A unit
that fails is retried as Airflow would retry its task. A reader searches the alias the
whole time. Expected: every served article exactly once, every search answered.

The cluster's first port is ``NEWSFLOW_ES_CLUSTER_PORT`` (default: ``NEWSFLOW_ES_PORT`` + 1);
the drill stops the cluster at the end.
"""

from __future__ import annotations

import contextlib
import os
import threading
import time
import uuid
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from bench.fixture_feeds import generate_site, registry_yaml
from tests.conftest import service_missing, stop_with_this_run
from tests.e2e.stack import delete_indices, fixture_sites, patched_env, patient

if TYPE_CHECKING:
    from elasticsearch import Elasticsearch

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(900)]

FEEDS, ARTICLES = 6, 25  # six units of 25 pages: the kill lands with most of the run still to do
MAX_TRIES = 3


class Reader(threading.Thread):
    """Searches the alias every 0.3 s until stopped; counts answers and errors."""

    def __init__(self, client: Elasticsearch, alias: str) -> None:
        super().__init__(daemon=True)
        self.client, self.alias = client, alias
        self.answers = 0
        self.answers_after_kill = 0
        self.errors: list[str] = []
        self.killed = threading.Event()
        self.stop = threading.Event()

    def run(self) -> None:
        while not self.stop.is_set():
            try:
                self.client.search(index=self.alias, size=1, query={"match": {"title": "council"}})
                self.answers += 1
                if self.killed.is_set():
                    self.answers_after_kill += 1
            except Exception as exc:  # every failure is the drill's finding, kept and reported
                self.errors.append(f"{type(exc).__name__}: {exc}"[:200])
            self.stop.wait(0.3)


def _cluster_options() -> Any:
    from newsflow import settings
    from newsflow.devstack import local_es

    port = int(os.environ.get("NEWSFLOW_ES_CLUSTER_PORT") or settings.local_es_port() + 1)
    return local_es.LocalEsOptions(http_port=port, nodes=3, start_timeout_s=patient(300))


def _primary_node(client: Elasticsearch, alias: str) -> int:
    answer: Any = client.cat.shards(index=alias, format="json", h="index,prirep,state,node").body
    rows: list[dict[str, Any]] = list(answer)
    primaries = [r for r in rows if r["prirep"] == "p" and r["state"] == "STARTED"]
    assert primaries, f"no started primary for {alias}: {rows}"
    return int(str(primaries[0]["node"]).rsplit("-", 1)[1])


def _wait_replicas_assigned(client: Elasticsearch, alias: str, timeout_s: float) -> None:
    deadline = time.monotonic() + patient(timeout_s)
    while time.monotonic() < deadline:
        health = client.cluster.health(index=alias, timeout="2s")
        if health["status"] == "green":
            return
        time.sleep(1)
    pytest.fail(f"{alias} did not get its replica assigned within {patient(timeout_s):.0f}s")


def test_losing_a_node_mid_run_loses_and_duplicates_nothing(tmp_path: Path) -> None:
    from newsflow import settings
    from newsflow.devstack import local_es
    from newsflow.errors import ServiceError
    from newsflow.es_client import make_client
    from newsflow.fetch_policy import allow_list_from_env
    from newsflow.flows import poll, process
    from newsflow.flows.options import FlowOptions
    from newsflow.flows.runs import RunInfo, RunKind
    from newsflow.index import IndexNames, setup_indices
    from newsflow.urls import canonicalize_url

    started = time.monotonic()
    options = _cluster_options()
    try:
        stop_with_this_run(*local_es.up(options).pids)
    except ServiceError as exc:
        service_missing(f"a three-node Elasticsearch cluster could not start: {exc}")
    conn = settings.EsConnection(url=",".join(options.urls), external=False)
    client = make_client(conn, max_retries=8)
    reader_client = make_client(conn, max_retries=8)
    prefix = f"drill-{uuid.uuid4().hex[:8]}"
    names = IndexNames.with_prefix(prefix)
    when = datetime.now(UTC).replace(microsecond=0)
    site = tmp_path / "site"
    feeds = generate_site(site, feeds=FEEDS, articles_per_feed=ARTICLES, hosts=FEEDS, now=when)
    reader = Reader(reader_client, names.articles)
    try:
        with contextlib.ExitStack() as stack:
            port, _ = stack.enter_context(fixture_sites(site, hosts=FEEDS))
            registry = tmp_path / "feeds.yaml"
            registry.write_text(registry_yaml(feeds, port))
            env = {
                "NEWSFLOW_INDEX_ALIAS": names.articles,
                "NEWSFLOW_RUNS_ALIAS": names.runs,
                "NEWSFLOW_MERGES_ALIAS": names.merges,
            }
            stack.enter_context(patched_env(env))
            setup_indices(client, names)
            settings_body = client.indices.get_settings(index=names.articles)
            replicas = {s["settings"]["index"]["number_of_replicas"] for s in settings_body.values()}
            assert replicas == {"1"}, f"the article index on three nodes must have 1 replica, has {replicas}"
            _wait_replicas_assigned(client, names.articles, 120)

            flow = FlowOptions(
                registry=str(registry),
                archive_root=str(tmp_path / "archive"),
                feeds_per_batch=1,
                batches_per_task=1,
                allow_private_hosts=allow_list_from_env(f"127.0.0.0/8:{port}"),
                polite_delay_s=0.0,
            )
            polled = [poll.poll_batch(flow, unit, when) for unit in poll.plan_poll(flow, when).units]
            refs = sorted({ref for result in polled for ref in result.batches})
            units = process.plan_process(flow, batch_refs=refs, events=1).units  # as an asset event
            assert len(units) == FEEDS, f"expected one unit per feed, planned {units}"

            victim = _primary_node(client, names.articles)
            run = RunInfo(
                run_id=f"newsflow_process/{prefix}",
                dag_id="newsflow_process",
                kind=RunKind.MANUAL,
                logical=when,
            )
            reader.start()
            second_started = threading.Event()
            killed_at: list[float] = []

            def kill_soon() -> None:
                second_started.wait()
                time.sleep(0.5)
                local_es.kill_node(options, victim)
                killed_at.append(time.monotonic())
                reader.killed.set()

            killer = threading.Thread(target=kill_soon, daemon=True)
            killer.start()
            tries: Counter[int] = Counter()
            unit_done_at: list[float] = []
            for number, unit in enumerate(units):
                if number == 1:
                    second_started.set()
                while True:
                    tries[number] += 1
                    try:
                        result = process.process_batch(flow, unit, run=run, client=client)
                    except Exception as exc:  # Airflow would retry the task; so does the drill
                        assert tries[number] < MAX_TRIES, f"unit {number} failed {MAX_TRIES} times: {exc}"
                        time.sleep(5)
                        continue
                    assert result.counts.to_dict().get("index_failed", 0) == 0, (
                        f"unit {number}: {result.counts}"
                    )
                    break
                unit_done_at.append(time.monotonic())
            killer.join(timeout=patient(60))
            assert killed_at, "the node was never killed"
            in_flight = unit_done_at[1] > killed_at[0]
            # The reader searches the healed cluster too: a few more answers, polled for.
            enough, deadline = reader.answers_after_kill + 3, time.monotonic() + patient(60)
            while reader.answers_after_kill < enough and time.monotonic() < deadline:
                time.sleep(0.1)
            reader.stop.set()
            reader.join(timeout=30)

            expected = {
                canonicalize_url(article.url(f"http://{feed.host}:{port}"))
                for feed in feeds
                for article in feed.articles
            }
            client.indices.refresh(index=names.articles)
            hits = client.search(
                index=names.articles, size=10000, source_includes=["canonical_url"], track_total_hits=True
            )["hits"]
            found = [hit["_source"]["canonical_url"] for hit in hits["hits"]]
            duplicated = sorted(url for url, n in Counter(found).items() if n > 1)
            print(
                f"\nnode-loss drill: killed node {victim} (primary of {names.articles}) "
                f"{'while unit 2 was in flight' if in_flight else 'after unit 2'}; "
                f"tries per unit {dict(sorted(tries.items()))}\n"
                f"documents expected {len(expected)}, found {len(found)} "
                f"({len(set(found))} distinct, {len(duplicated)} duplicated, "
                f"{len(expected - set(found))} missing); total hits {hits['total']['value']}\n"
                f"searches answered {reader.answers} ({reader.answers_after_kill} after the kill), "
                f"failed {len(reader.errors)}; drill took {time.monotonic() - started:.0f}s"
            )
            assert not duplicated, f"duplicated documents: {duplicated[:5]}"
            assert set(found) == expected, f"missing: {sorted(expected - set(found))[:5]}"
            assert hits["total"]["value"] == len(expected)
            assert reader.errors == [], f"searches failed during the drill: {reader.errors[:3]}"
            assert reader.answers_after_kill > 0, "no search ran after the kill"
            health = client.cluster.health(timeout="5s")
            assert int(health["number_of_nodes"]) == 2
    finally:
        reader.stop.set()
        with contextlib.suppress(Exception):
            delete_indices(client, prefix)
        client.close()
        reader_client.close()
        local_es.down(options)
