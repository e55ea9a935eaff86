"""The AEB article pages from ``../shared/eval``, as the benchmarks read them.

Bench only: the pages are read from the shared evaluation data at run time and are
never copied into the repository. One loader and one extraction-ceiling measurement
serve ``bench_extract.py`` and ``bench_throughput.py --pages aeb``, so both mean the
same pages and the same batch path.
"""

from __future__ import annotations

import gzip
import json
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
AEB = ROOT / ".." / "shared" / "eval" / "extraction" / "aeb"


@dataclass(frozen=True, slots=True)
class SavedPage:
    id: str
    url: str
    html: bytes

    @property
    def path(self) -> Path:
        return (AEB / "html" / f"{self.id}.html.gz").resolve()


def available() -> bool:
    return (AEB / "ground-truth.json").is_file()


def load(limit: int | None = None) -> list[SavedPage]:
    """The pages in id order (``limit``: only the first N)."""
    truth = json.loads((AEB / "ground-truth.json").read_text(encoding="utf-8"))
    ids = sorted(truth)[:limit] if limit else sorted(truth)
    return [
        SavedPage(i, truth[i]["url"], gzip.decompress((AEB / "html" / f"{i}.html.gz").read_bytes()))
        for i in ids
    ]


def batch_rate(pages: list[SavedPage], workers: int) -> float:
    """Pages/s of the batch extraction path (``newsflow extract --batch``) with ``workers`` processes.

    This is the extraction-only ceiling: the same pages, nothing fetched, clustered or indexed.
    """
    from newsflow.extract.batch import run_batch

    with tempfile.TemporaryDirectory(prefix="newsflow-aeb-") as tmp:
        manifest = Path(tmp) / "manifest.jsonl"
        manifest.write_text(
            "".join(json.dumps({"id": p.id, "path": str(p.path), "url": p.url}) + "\n" for p in pages),
            encoding="utf-8",
        )
        start = time.perf_counter()
        run_batch(manifest, Path(tmp) / f"out{workers}.jsonl", workers=workers)
        return len(pages) / (time.perf_counter() - start)
