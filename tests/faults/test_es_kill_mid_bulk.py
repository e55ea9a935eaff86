"""Killing Elasticsearch mid-bulk, then re-running, leaves every article indexed exactly once.

Runs a private node (own state dir, own ports) so the shared node on 9200 is never touched.
Already passing when issue 15 was filed (40,000 of 40,000, 0 duplicates); kept as a drill.
"""

from __future__ import annotations

import os
import shutil
import signal
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import service_missing, stop_with_this_run
from tests.faults.hostile import drill
from tests.faults.private_es import private_node

pytestmark = pytest.mark.integration

N_ARTICLES = 3000
KILL_AFTER = 1000


def _articles() -> list[Any]:
    from newsflow.records import Article

    return [
        Article(
            url=f"https://kill{i % 7}.example/{i}",
            canonical_url=f"https://kill{i % 7}.example/{i}",
            title=f"Report {i} on the harbour works",
            text=f"Body of report {i}. " * 20,
            published=f"2024-03-{1 + i % 28:02d}T12:00:00Z",
            source=f"kill{i % 7}.example",
            content_hash=f"h{i}",
        )
        for i in range(N_ARTICLES)
    ]


def test_sigkill_mid_bulk_then_rerun_indexes_each_article_once(tmp_path: Path) -> None:
    from newsflow import settings
    from newsflow.devstack import local_es
    from newsflow.es_client import make_client
    from newsflow.index import BulkIndexingError, IndexNames, IndexOptions, index_articles, setup_indices

    options = private_node(tmp_path, heap_mb=512, start_timeout_s=110)
    home = local_es.node_home(options)
    try:
        try:
            stop_with_this_run(*local_es.up(options).pids)
        except Exception as exc:
            service_missing(f"could not start a private Elasticsearch node: {exc}")
        conn = settings.EsConnection(url=options.url, external=True)
        client = make_client(conn, max_retries=0, request_timeout=10)
        names = IndexNames.with_prefix("kill")
        setup_indices(client, names)
        articles = _articles()
        index_options = IndexOptions(
            chunk_size=250,
            max_retries=2,
            initial_backoff_s=0.2,
            max_backoff_s=0.5,
            dead_letter_root=str(tmp_path / "archive"),
        )
        killed: list[int] = []

        def kill_after(done: int) -> None:
            if done >= KILL_AFTER and not killed:
                pid = local_es.status(options).pid
                assert pid is not None
                os.killpg(pid, signal.SIGKILL)
                killed.append(done)

        with drill(
            "kill -9 of Elasticsearch mid-bulk",
            tried=f"index {N_ARTICLES} articles, SIGKILL the node after {KILL_AFTER}, restart, index again",
            expected=f"BulkIndexingError ('unavailable', dead letters); after the rerun {N_ARTICLES} "
            "documents, 0 duplicates",
        ) as report_line:
            with pytest.raises(BulkIndexingError) as raised:
                index_articles(client, articles, names=names, options=index_options, on_progress=kill_after)
            assert killed == [KILL_AFTER]
            partial = raised.value.report
            assert partial.failed_by_reason.get("unavailable", 0) > 0
            assert partial.created == KILL_AFTER
            assert partial.dead_letter_path and Path(partial.dead_letter_path).exists()

            # Same state dir: the acknowledged documents survived the kill.
            stop_with_this_run(*local_es.up(options).pids)
            report = index_articles(client, articles, names=names, options=index_options)
            assert report.failed == 0
            assert report.created + report.unchanged == N_ARTICLES
            assert report.unchanged >= KILL_AFTER
            client.indices.refresh(index=names.articles)
            found = client.count(index=names.articles)["count"]
            report_line.found = (
                f"killed after {killed[0]}; rerun created {report.created}, unchanged {report.unchanged}; "
                f"{found} documents for {N_ARTICLES} articles"
            )
            assert found == N_ARTICLES
            client.close()
    finally:
        local_es.down(options)
        shutil.rmtree(home, ignore_errors=True)
