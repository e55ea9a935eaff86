"""Extraction quality on both dev sets, newsflow beside bare trafilatura, in one table.

    .venv/bin/python bench/eval_extract.py [--sets aeb fundus_ml] [--workers 2] [--keep DIR] [--json]

Both systems read the same saved pages (``../shared/eval/extraction/<set>/html``).
newsflow runs its batch path (``run_batch``, what ``newsflow extract --batch`` does);
bare trafilatura is ``trafilatura.bare_extraction(page, url=..., with_metadata=True)``,
the call the fundus_ml baseline in ``../shared/eval/README.md`` was measured with.
Body P/R/F1 come from the shared ``score_extraction.py`` and title/date accuracy from
``score_metadata.py`` (both run as scripts, so every figure means what the README says).
Author accuracy has no shared scorer; it is computed here: a page counts when the set of
author names equals the truth's after lower-casing and collapsing punctuation, over
the pages whose truth lists authors. AEB's truth has bodies only, so its metadata
columns stay empty. The quality gates in ``tests/quality`` call ``evaluate`` below.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import re
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
SHARED = (ROOT / ".." / "shared").resolve()
DEV_SETS = ("aeb", "fundus_ml")
SYSTEMS = ("newsflow", "bare")
_NON_WORD = re.compile(r"\W+")


@dataclass(frozen=True, slots=True)
class Scores:
    """One system on one set; metadata figures are None where the truth has no such field."""

    pages: int
    errors: int
    precision: float
    recall: float
    f1: float
    title: float | None = None
    date: float | None = None
    authors: float | None = None


def _truth(set_dir: Path) -> dict[str, dict[str, Any]]:
    data: dict[str, dict[str, Any]] = json.loads((set_dir / "ground-truth.json").read_text(encoding="utf-8"))
    return data


def _pages(set_dir: Path, truth: dict[str, dict[str, Any]]) -> Iterator[tuple[str, Path, str | None]]:
    for page_id, item in sorted(truth.items()):
        yield page_id, (set_dir / "html" / f"{page_id}.html.gz").resolve(), item.get("url")


def predict_newsflow(set_dir: Path, out: Path, workers: int) -> int:
    """newsflow's batch output for every page of the set; returns the number of error rows."""
    from newsflow.extract.batch import run_batch

    truth = _truth(set_dir)
    manifest = out.with_suffix(".manifest.jsonl")
    manifest.write_text(
        "".join(
            json.dumps({"id": i, "path": str(path), "url": url}) + "\n"
            for i, path, url in _pages(set_dir, truth)
        ),
        encoding="utf-8",
    )
    summary = run_batch(manifest, out, workers=workers)
    if summary.total != len(truth) or summary.errors.get("crash") or summary.errors.get("unreadable"):
        raise RuntimeError(f"newsflow batch on {set_dir.name} went wrong: {summary}")
    return summary.total - summary.extracted


def bare_row(page: tuple[str, Path, str | None]) -> dict[str, Any]:
    """bare_extraction's answer for one page, in the batch output's shape."""
    import trafilatura

    page_id, path, url = page
    doc = trafilatura.bare_extraction(gzip.decompress(path.read_bytes()), url=url, with_metadata=True)
    if doc is None:
        return {"id": page_id, "text": "", "title": None, "published": None, "authors": [], "error": "empty"}
    if isinstance(doc, dict):  # only with as_dict=True, which this call does not ask for
        raise TypeError(f"trafilatura.bare_extraction returned a dict for {page_id}")
    authors = [a.strip() for a in (doc.author or "").split(";") if a.strip()]
    return {
        "id": page_id,
        "text": doc.text or "",
        "title": doc.title,
        "published": doc.date,
        "authors": authors,
    }


def predict_bare(set_dir: Path, out: Path, workers: int) -> int:
    pages = list(_pages(set_dir, _truth(set_dir)))
    if workers > 1:
        with ProcessPoolExecutor(max_workers=workers) as pool:
            rows = list(pool.map(bare_row, pages, chunksize=4))
    else:
        rows = [bare_row(page) for page in pages]
    out.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    return sum(1 for r in rows if r.get("error"))


def _run_scorer(*args: str) -> dict[str, Any]:
    result = subprocess.run([sys.executable, *args], capture_output=True, text=True, check=True)
    data: dict[str, Any] = json.loads(result.stdout.strip().splitlines()[-1])
    return data


def _names(values: Any) -> frozenset[str]:
    if not isinstance(values, list):
        return frozenset()
    return frozenset(n for v in values if isinstance(v, str) and (n := _NON_WORD.sub(" ", v.lower()).strip()))


def author_accuracy(truth: dict[str, dict[str, Any]], pred: Path) -> float | None:
    """Share of pages with listed authors whose predicted author set equals the truth's."""
    rows = {str(r["id"]): r for r in map(json.loads, pred.read_text(encoding="utf-8").splitlines()) if r}
    judged = [k for k, v in truth.items() if _names(v.get("authors"))]
    if not judged:
        return None
    hits = sum(_names(rows.get(k, {}).get("authors")) == _names(truth[k]["authors"]) for k in judged)
    return round(hits / len(judged), 4)


def score(set_dir: Path, pred: Path, errors: int, shared: Path = SHARED) -> Scores:
    truth_path = set_dir / "ground-truth.json"
    truth = _truth(set_dir)
    body = _run_scorer(
        str(shared / "eval" / "score_extraction.py"),
        "--truth",
        str(truth_path),
        "--pred",
        str(pred),
        "--json",
    )
    has_meta = any("title" in v for v in truth.values())
    meta = (
        _run_scorer(str(shared / "eval" / "score_metadata.py"), str(truth_path), str(pred))
        if has_meta
        else {}
    )
    return Scores(
        pages=len(truth),
        errors=errors,
        precision=body["precision"],
        recall=body["recall"],
        f1=body["f1"],
        title=meta.get("title_accuracy"),
        date=meta.get("date_accuracy") if meta.get("date_documents") else None,
        authors=author_accuracy(truth, pred),
    )


def evaluate(
    sets: tuple[str, ...] = DEV_SETS,
    systems: tuple[str, ...] = SYSTEMS,
    *,
    workers: int = 2,
    shared: Path = SHARED,
    keep: Path | None = None,
) -> dict[str, dict[str, Scores]]:
    """Scores per set and system; predictions go to ``keep`` (or a temporary folder)."""
    results: dict[str, dict[str, Scores]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        folder = keep or Path(tmp)
        folder.mkdir(parents=True, exist_ok=True)
        for name in sets:
            set_dir = shared / "eval" / "extraction" / name
            results[name] = {}
            for system in systems:
                pred = folder / f"{name}.{system}.jsonl"
                predict = predict_newsflow if system == "newsflow" else predict_bare
                errors = predict(set_dir, pred, workers)
                results[name][system] = score(set_dir, pred, errors, shared)
    return results


def _cell(value: float | None) -> str:
    return "-" if value is None else f"{value:.4f}"


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sets", nargs="+", choices=DEV_SETS, default=list(DEV_SETS))
    parser.add_argument("--systems", nargs="+", choices=SYSTEMS, default=list(SYSTEMS))
    parser.add_argument("--workers", type=int, default=min(2, os.cpu_count() or 1))
    parser.add_argument("--keep", type=Path, help="keep the predictions (JSONL) in this folder")
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    args = parser.parse_args()
    if not (SHARED / "eval" / "extraction").is_dir():
        print(f"evaluation data not found at {SHARED}: this script needs ../shared/eval", file=sys.stderr)
        return 2
    results = evaluate(tuple(args.sets), tuple(args.systems), workers=args.workers, keep=args.keep)
    if args.json:
        print(json.dumps({s: {k: asdict(v) for k, v in r.items()} for s, r in results.items()}, indent=2))
        return 0
    from rich.console import Console
    from rich.table import Table

    table = Table(title="extraction quality (bare = trafilatura.bare_extraction with metadata)")
    for column in (
        "set",
        "system",
        "pages",
        "errors",
        "body P",
        "body R",
        "body F1",
        "title",
        "date",
        "authors",
    ):
        table.add_column(column, justify="left" if column in ("set", "system") else "right")
    for name, by_system in results.items():
        for system, s in by_system.items():
            table.add_row(
                name,
                system,
                str(s.pages),
                str(s.errors),
                *(_cell(v) for v in (s.precision, s.recall, s.f1, s.title, s.date, s.authors)),
            )
    Console(width=max(Console().width, 100)).print(table)  # piped output keeps whole figures
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
