"""Hostile pages: a wrong charset label is re-detected, a gzip bomb on disk is refused while inflating.

Issue 15, items 10 and 11: a page declared UTF-8 but written in cp1252 became
"M\ufffdnchner Tag" without a word; ``newsflow extract`` of a 4.6 MB ``.gz`` page
inflated 2.1 GB into memory before its size check.
"""

from __future__ import annotations

import gzip
import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

from newsflow.extract import extract_article
from newsflow.fetch import Fetcher, FetchOptions
from tests.faults.hostile import Request, drill, serving

BODY = " ".join(
    [
        "Der Münchner Stadtrat hat am Dienstag über die neue Straßenbahnlinie durch die Maxvorstadt beraten.",
        "Die Anwohner äußerten Bedenken wegen der Bauzeit, die Verkehrsbetriebe versprachen Ersatzbusse.",
        "Über die Finanzierung soll im März entschieden werden; der Freistaat übernimmt einen Großteil.",
    ]
)
PAGE = (
    '<!DOCTYPE html><html lang="de"><head><meta charset="utf-8"><title>Münchner Tag</title></head>'
    f"<body><article><h1>Münchner Tag</h1><p>{BODY}</p><p>{BODY}</p></article></body></html>"
)


@pytest.mark.parametrize("encoding", ["cp1252", "latin-1"])
def test_page_declared_utf8_but_legacy_is_redetected(encoding: str) -> None:
    def page(request: Request) -> None:
        request.respond(200, PAGE.encode(encoding), "text/html; charset=utf-8")

    with (
        serving({"/page.html": page}, lifetime=120) as site,
        Fetcher(
            FetchOptions(
                allow_private_hosts=frozenset({f"127.0.0.1:{site.port}"}),
                respect_robots=False,
                per_host_delay=0,
            )
        ) as fetcher,
        drill(
            f"UTF-8 label on a {encoding} page",
            tried=f"a German page in {encoding}, served as 'text/html; charset=utf-8', <meta charset=utf-8>",
            expected="title 'Münchner Tag', no U+FFFD; charset cp1252 (Latin-1's superset), 'redetected'",
        ) as report,
    ):
        result = fetcher.fetch(f"{site.base_url}/page.html")
        article = extract_article(
            result.body, url=result.final_url, content_type=result.header("content-type")
        )
        report.found = f"title {article.title!r}, charset {article.charset}, source {article.charset_source}"
        assert article.title == "Münchner Tag"
        assert "\ufffd" not in article.text and "Straßenbahnlinie" in article.text
        assert (article.charset, article.charset_source) == ("cp1252", "redetected")
        assert article.to_dict()["charset_source"] == "redetected"


# Runs the command in a child and prints that child's peak RSS (KiB) alone: this test
# process's own children (an Elasticsearch node of another drill) must not count.
MEASURED = """
import resource, subprocess, sys
code = subprocess.run([sys.executable, *sys.argv[1:]]).returncode
print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
sys.exit(code)
"""


def _gzip_bomb(path: Path, inflated_mb: int) -> int:
    """``inflated_mb`` MiB of zeros as concatenated gzip members (a small file, a huge page)."""
    member = gzip.compress(b"\0" * (1 << 20), compresslevel=9)
    with path.open("wb") as out:
        for _ in range(inflated_mb):
            out.write(member)
    return path.stat().st_size


def test_extract_of_a_gzip_bomb_is_refused_while_decompressing(tmp_path: Path) -> None:
    bomb = tmp_path / "page.html.gz"
    size = _gzip_bomb(bomb, 2048)
    limit_mb = 20_000_000 / 1e6
    with drill(
        "gzip bomb on disk",
        tried=f"newsflow extract page.html.gz: {size / 1e6:.1f} MB inflating to 2.1 GB (limit 20 MB)",
        expected="rc 2 'too_large' while decompressing; the extracting process stays far below 2.1 GB",
        bound=60,
    ) as report:
        started = time.monotonic()
        done = subprocess.run(
            [sys.executable, "-c", MEASURED, "-m", "newsflow.cli", "extract", str(bomb)],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        peak_mb = int(done.stdout.strip().splitlines()[-1]) / 1024
        report.elapsed = time.monotonic() - started
        report.found = f"rc {done.returncode}, child peak RSS {peak_mb:.0f} MB, {report.elapsed:.1f}s"
        report.error = " ".join(done.stderr.split())[:300]
        assert done.returncode == 2
        assert "too_large" in done.stderr or "max_html_bytes" in done.stderr
        assert "Traceback" not in done.stderr
        assert peak_mb < 400, (
            f"peak RSS {peak_mb:.0f} MB: the page was inflated past the {limit_mb:g} MB limit"
        )


def test_batch_extract_counts_a_gzip_bomb_and_goes_on(tmp_path: Path) -> None:
    from newsflow.extract.batch import run_batch

    _gzip_bomb(tmp_path / "bomb.html.gz", 64)
    (tmp_path / "ok.html").write_text(PAGE, encoding="utf-8")
    manifest = tmp_path / "manifest.jsonl"
    lines = [
        json.dumps({"id": "bomb", "path": "bomb.html.gz"}),
        "[" * 100_000,
        json.dumps({"id": "ok", "path": "ok.html", "url": "https://example.org/a"}),
    ]
    manifest.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with drill(
        "gzip bomb and nested line in a batch manifest",
        tried="extract --batch over a 64 MiB gzip bomb, a 100,000-deep nested JSON line and one good page",
        expected="the bomb counted 'too_large', the line 'bad_manifest_line', the good page extracted",
    ) as report:
        summary = run_batch(manifest, tmp_path / "out.jsonl", workers=1)
        report.found = f"extracted {summary.extracted} of {summary.total}; {summary.errors}"
        assert summary.extracted == 1
        assert summary.errors == {"too_large": 1, "bad_manifest_line": 1}
