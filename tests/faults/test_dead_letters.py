"""Elasticsearch goes away in the middle of a batch: nothing is dropped, and the replay puts it back once.

Issue 15, item 6: after a failed bulk chunk the rest of the batch was neither written nor
dead-lettered, dead-letter lines stayed after their documents were indexed, and nothing
replayed them. Here a real node sits behind a proxy on 127.0.0.1 that dies after the first
chunk; then ``newsflow index replay-dead-letters`` (the same function every processing run
calls) writes them again, marks each line done, never overwrites a newer version, and a
second replay finds nothing to do.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from tests.articles import make_article
from tests.faults.hostile import drill
from tests.faults.proxy import cutting_proxy

pytestmark = pytest.mark.integration

N_ARTICLES = 7
CHUNK = 2


def _articles(tag: str = "") -> list[Any]:
    return [
        make_article(
            f"https://proxy.example/{n}",
            f"Harbour report {n}",
            f"The harbour works report number {n} {tag}. " * 12,
            f"2024-03-{1 + n:02d}T12:00:00Z",
            "Proxy Gazette",
        )
        for n in range(N_ARTICLES)
    ]


def _count(es_client: Any, alias: str) -> int:
    es_client.indices.refresh(index=alias)
    return int(es_client.count(index=alias)["count"])


def test_cluster_gone_mid_batch_then_replay_writes_each_document_once(
    es_client: Any, names: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from newsflow import settings
    from newsflow.cli import main
    from newsflow.es_client import make_client
    from newsflow.index import BulkIndexingError, IndexOptions, index_articles

    port = int(settings.es_connection().url.rsplit(":", 1)[1].rstrip("/"))
    options = IndexOptions(
        chunk_size=CHUNK,
        max_retries=1,
        initial_backoff_s=0.1,
        max_backoff_s=0.2,
        dead_letter_root=str(tmp_path / "archive"),
    )
    articles = _articles()
    with drill(
        "Elasticsearch gone after the first chunk",
        tried=f"{N_ARTICLES} articles in chunks of {CHUNK} through a proxy that dies at the second bulk "
        "request (every lookup before the first bulk goes through)",
        expected=f"BulkIndexingError; {CHUNK} indexed, {N_ARTICLES - CHUNK} dead-lettered "
        f"({CHUNK} unavailable, {N_ARTICLES - 2 * CHUNK} not_attempted), none dropped",
        bound=60,
    ) as report:
        with cutting_proxy(port, cut_after=1, lifetime=120, only=b"/_bulk") as proxy:
            client = make_client(settings.EsConnection(url=proxy.url, external=True), max_retries=1)
            with pytest.raises(BulkIndexingError) as raised:
                index_articles(client, articles, names=names, options=options, run_id="proxy-run")
            client.close()
        partial = raised.value.report
        assert partial.dead_letter_path is not None
        lines = [json.loads(x) for x in Path(partial.dead_letter_path).read_text().splitlines()]
        reasons = sorted(line["reason"] for line in lines)
        report.found = (
            f"{partial.created} created; {len(lines)} dead letters {dict(partial.failed_by_reason)}; "
            f"error: {str(raised.value)[:90]}"
        )
        assert partial.created == CHUNK and _count(es_client, names.articles) == CHUNK
        assert reasons == ["not_attempted"] * (N_ARTICLES - 2 * CHUNK) + ["unavailable"] * CHUNK
        assert {line["id"] for line in lines} | {a.id for a in articles[:CHUNK]} == {a.id for a in articles}
        assert all(line["document"]["story_id"] for line in lines), "the document as it was to be written"

    # A later report rewrote one of the lost articles before the replay: it must stay as it is now.
    newer = _articles("rewritten")[N_ARTICLES - 1]
    index_articles(es_client, [newer], names=names, options=IndexOptions(refresh=True))
    with drill(
        "replay dead letters (newsflow index replay-dead-letters)",
        tried="replay the dead letters with the node reachable, then replay again",
        expected=f"{N_ARTICLES - CHUNK - 1} replayed, 1 superseded (a newer write kept), every line marked "
        "done; the second replay writes nothing",
        bound=60,
    ) as report:
        capsys.readouterr()
        assert main(["index", "replay-dead-letters", "--dry-run", "--json"]) == 0
        waiting = json.loads(capsys.readouterr().out)
        assert sum(row["waiting"] for row in waiting["waiting"]) == N_ARTICLES - CHUNK
        assert main(["index", "replay-dead-letters", "--run", "proxy-run", "--json"]) == 0
        first = json.loads(capsys.readouterr().out)["counts"]
        assert main(["index", "replay-dead-letters", "--json"]) == 0
        second = json.loads(capsys.readouterr().out)
        report.found = f"first replay {first}; second replay waited {second['waiting_before']}"
        assert first["dead_letters_replayed"] == N_ARTICLES - CHUNK - 1
        assert first["dead_letters_superseded"] == 1
        assert second["waiting_before"] == 0 and "dead_letters_replayed" not in second["counts"]
    assert _count(es_client, names.articles) == N_ARTICLES
    stored = es_client.get(index=names.articles, id=newer.id)["_source"]
    assert "rewritten" in stored["text"], "the replay put an older version back"
    versions = es_client.search(index=names.articles, size=50, source_includes=["version"])["hits"]["hits"]
    assert {h["_source"]["version"] for h in versions} == {1}, "each document written once"


def test_a_refused_document_keeps_waiting_and_fails_the_command(
    es_client: Any, names: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from newsflow.cli import main
    from newsflow.index import IndexOptions, index_articles
    from newsflow.records import Article

    bad = Article(
        url="https://bad.example/x",
        canonical_url="https://bad.example/x",
        title="t",
        text="x",
        published="29th of August",
    )
    options = IndexOptions(max_failure_ratio=1.0, dead_letter_root=str(tmp_path / "archive"))
    index_articles(es_client, [bad], names=names, options=options, run_id="bad-run")
    with drill(
        "replay of a document the mapping refuses",
        tried='a dead letter whose "published" is "29th of August" (the date mapping refuses it), '
        "replayed twice",
        expected="rc 1 both times, failed again (document_parsing_exception), still waiting, "
        "no second dead letter written",
    ) as report:
        capsys.readouterr()
        codes = [main(["index", "replay-dead-letters"]), main(["index", "replay-dead-letters"])]
        out = capsys.readouterr().out
        letters = list((tmp_path / "archive" / "dead-letter").rglob("*.jsonl"))
        report.found = f"rc {codes}; {len(letters)} dead-letter file(s); {' '.join(out.split())[-120:]}"
        assert codes == [1, 1] and "document_parsing_exception" in out
        assert len(letters) == 1 and len(letters[0].read_text().splitlines()) == 1


def test_processing_run_replays_an_earlier_runs_dead_letters_once(
    es_client: Any, names: Any, tmp_path: Path
) -> None:
    """What the processing DAG's ``replay_dead_letters`` task calls, at the next run after a bad one."""
    from newsflow.flows.options import FlowOptions
    from newsflow.flows.process import replay_dead_letters
    from newsflow.index.dead_letter import (
        DONE_SUFFIX,
        dead_letter_path,
        scan_dead_letters,
        write_dead_letters,
    )
    from newsflow.index.documents import as_doc, build_document

    archive = str(tmp_path / "archive")
    earlier, later = (
        "newsflow_process/scheduled__2026-11-22T05:00:00+00:00",
        "newsflow_process/scheduled__2026-11-22T06:00:00+00:00",
    )
    failed_at = "2026-11-22T05:10:00Z"
    articles = _articles("dead-lettered")
    path = dead_letter_path(earlier, datetime(2026, 11, 22, 5, 10, tzinfo=UTC), root=archive)
    records = [
        {
            "id": article.id,
            "reason": "unavailable",
            "status": 503,
            "error": "cluster gone mid-bulk",
            "run_id": earlier,
            "alias": names.articles,
            "failed_at": failed_at,
            "document": build_document(as_doc(article), version=1, indexed_at=failed_at),
        }
        for article in articles
    ]
    assert write_dead_letters(path, records) == N_ARTICLES
    options = FlowOptions(archive_root=archive)
    with drill(
        "processing run replays an earlier run's dead letters (flows.process.replay_dead_letters)",
        tried=f"a dead-letter file of run {earlier} with {N_ARTICLES} documents (written by "
        "index.dead_letter.write_dead_letters), replayed by the next run's replay step against the "
        "real node, then replayed again",
        expected=f"{N_ARTICLES} replayed and indexed, {N_ARTICLES} lines logged done by the next run; "
        "the second replay writes nothing and finds nothing waiting",
        bound=60,
    ) as report:
        first = replay_dead_letters(options, es_client, by_run=later)
        indexed = _count(es_client, names.articles)
        done = [json.loads(line) for line in Path(path + DONE_SUFFIX).read_text().splitlines()]
        second = replay_dead_letters(options, es_client, by_run=later + "-again")
        scan = scan_dead_letters(archive)
        report.found = (
            f"first replay {first.counts.to_dict()}; {indexed} of {N_ARTICLES} in the index; "
            f"{len(done)} lines done by {sorted({d['by_run'] for d in done})}; "
            f"second replay {second.counts.to_dict()}; waiting after: {len(scan.waiting)}, done {scan.done}"
        )
        assert first.counts["dead_letters_replayed"] == N_ARTICLES
        assert first.counts["dead_letters_waiting"] == 0
        assert indexed == N_ARTICLES
        assert sorted(d["line"] for d in done) == list(range(1, N_ARTICLES + 1))
        assert {d["by_run"] for d in done} == {later}
        assert (
            second.counts["dead_letters_replayed"] == 0 and "dead_letters_busy" not in second.counts.to_dict()
        )
        assert scan.waiting == () and scan.done == N_ARTICLES
        assert len(Path(path + DONE_SUFFIX).read_text().splitlines()) == N_ARTICLES, "nothing logged twice"


def test_hostile_dead_letter_lines_are_counted_and_block_nothing(
    es_client: Any, names: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Lines a hand or an older version left: nested past the parser's depth, an id
    Elasticsearch cannot take, an older document missing fields or of other types, a lone
    surrogate. Each is counted and kept; the good line beside them is replayed, once."""
    from newsflow.cli import main
    from newsflow.index.dead_letter import scan_dead_letters

    good = _articles("good")[0]
    folder = tmp_path / "archive" / "dead-letter" / "2026" / "12" / "08"
    folder.mkdir(parents=True)
    old = {"url": good.url, "canonical_url": good.canonical_url, "title": good.title, "text": good.text}
    lines = [
        '{"id": "deep", "document": {"title": ' + "[" * 100_000 + "]" * 100_000 + "}}",
        json.dumps({"id": "", "document": old}),
        json.dumps({"id": "x" * 600, "document": old}),
        json.dumps({"id": "o1", "document": {"title": "t", "text": "x"}}),
        json.dumps({"id": "o2", "document": {**old, "authors": "abc", "tags": 7}}),
        json.dumps({"id": "o3", "document": [["title", "t"]]}),
        '{"id": "o4", "document": {"url": "https://s.example/a", "canonical_url": "https://s.example/a", '
        '"title": "t\\ud800", "text": "x"}}',
        json.dumps({"id": good.id, "run_id": "r", "reason": "unavailable", "document": old}),
    ]
    (folder / "run.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    with drill(
        "hostile dead-letter lines",
        tried="a dead-letter file of 8 lines: 100,000 nested brackets, an empty id, a 600-byte id, "
        "older documents missing fields, with wrong types, as a list of pairs, with a lone surrogate, "
        "and one good line",
        expected="status and replay answer; the unreadable lines counted and kept; the good one and "
        "the surrogate one replayed; nothing blocked",
    ) as report:
        scan = scan_dead_letters(str(tmp_path / "archive"))
        assert scan.unreadable == 4, "nested, empty id, long id, a list of pairs"
        main(["status", "--json"])  # Airflow is not up here (rc 1): what counts is that it answers
        assert "Traceback" not in capsys.readouterr().err
        code = main(["index", "replay-dead-letters", "--json"])
        out = json.loads(capsys.readouterr().out)
        report.found = f"rc {code}; {out}"
        assert es_client.get(index=names.articles, id=good.id)["found"]
        assert es_client.get(index=names.articles, id="o4")["found"], "its lone surrogate replaced"
        again = scan_dead_letters(str(tmp_path / "archive"))
        assert {letter.id for letter in again.waiting} == {"o1", "o2"}, "unbuildable ones stay waiting"
        assert code == 1, "lines left waiting fail the command"
