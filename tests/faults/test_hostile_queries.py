"""Hostile search input is words, never query syntax, and never crashes the CLI (real Elasticsearch).

Already passing when issue 15 was filed; kept so it stays passing. Needs the local
node (``NEWSFLOW_ES_PORT``), like the other integration tests.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from newsflow.cli import main
from tests.faults.hostile import drill

pytestmark = pytest.mark.integration

HOSTILE = [
    "*:*",
    "title:(((((",
    "/.*/",
    'a" OR "1"="1',
    "text:[* TO *] AND _exists_:title",
    '{"match_all": {}}',
    "[/y] \x1b[2J",
    "harbour~999999999",
    "x" * 20_000,
    " ".join(f"w{n}" for n in range(5000)),
]


@pytest.fixture
def alias(es_client: Any, es_prefix: str, tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    from newsflow.index import IndexNames, IndexOptions, index_articles, setup_indices
    from newsflow.records import Article

    names = IndexNames.with_prefix(es_prefix)
    setup_indices(es_client, names)
    articles = [
        Article(
            url=f"https://q{i}.example/a",
            canonical_url=f"https://q{i}.example/a",
            title=title,
            text=f"{title}. A report long enough to be found by a search for its words.",
            published="2024-03-01T12:00:00Z",
            language="en",
            source=f"q{i}.example",
            content_hash=f"q{i}",
        )
        for i, title in enumerate(["Harbour works reopen", "Storm floods the coast", "Rates held steady"])
    ]
    index_articles(
        es_client, articles, names=names, options=IndexOptions(refresh=True, dead_letter_root=str(tmp_path))
    )
    monkeypatch.setenv("NEWSFLOW_INDEX_ALIAS", names.articles)
    yield names.articles
    es_client.options(ignore_status=404).indices.delete_index_template(name=f"{es_prefix}*")
    es_client.options(ignore_status=404).cluster.delete_component_template(name=f"{es_prefix}*")


def test_hostile_queries_are_text(alias: str, capsys: pytest.CaptureFixture[str]) -> None:
    with drill(
        "hostile search queries",
        tried=f"{len(HOSTILE)} queries through `newsflow search --json` and the table: Lucene syntax (*:*, "
        "regex, ranges, fuzzy), injection, JSON, markup/ESC, a 20,000-char word, 5,000 words",
        expected="each rc 0 or a clean rc 2; '*:*' and the syntax match nothing; no traceback or MarkupError",
    ) as report:
        outcomes = []
        for query in HOSTILE:
            code = main(["search", query, "--json"])
            out, err = capsys.readouterr()
            hits = json.loads(out)["hits"] if code == 0 else None
            table = main(["search", query])
            table_out, table_err = capsys.readouterr()
            outcomes.append((query[:20], code, len(hits) if hits is not None else err.split("\n")[0][:60]))
            assert code in (0, 2) and table in (0, 2)
            assert "Traceback" not in err + table_err and "MarkupError" not in err + table_err
            assert "\x1b[2J" not in table_out
            if query in ("*:*", "/.*/", '{"match_all": {}}'):  # syntax would match all: as words, nothing
                assert code == 0 and hits == []
        report.found = "; ".join(f"{q!r}: rc {c}, {n}" for q, c, n in outcomes)
        control = main(["search", "harbour", "--json"])
        assert control == 0 and len(json.loads(capsys.readouterr().out)["hits"]) == 1
