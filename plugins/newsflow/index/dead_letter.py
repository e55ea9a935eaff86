"""Documents Elasticsearch refused, kept in the archive so nothing is lost.

One JSON line per failed document (id, reason, error, the document itself) in
``<archive_root>/dead-letter/YYYY/MM/DD/<run>.jsonl``, written through fsspec so
the archive can live on local disk or object storage. A later run can replay it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

from newsflow import settings

_SAFE_RUN_RE = re.compile(r"[^A-Za-z0-9._-]+")


def dead_letter_path(run_id: str, when: datetime | None = None, root: str | None = None) -> str:
    when = when or datetime.now(UTC)
    safe = _SAFE_RUN_RE.sub("_", run_id).strip("._") or "run"
    base = (root or settings.archive_root()).rstrip("/")
    return f"{base}/dead-letter/{when:%Y/%m/%d}/{safe}.jsonl"


def write_dead_letters(path: str, records: Iterable[Mapping[str, Any]]) -> int:
    """Append records to ``path`` (any fsspec URL); returns how many were written."""
    import fsspec
    from fsspec.implementations.local import LocalFileSystem

    lines = [json.dumps(dict(r), ensure_ascii=False, default=str) + "\n" for r in records]
    if not lines:
        return 0
    fs, fs_path = fsspec.core.url_to_fs(path)
    fs.makedirs(fs_path.rsplit("/", 1)[0], exist_ok=True)
    previous: list[str] = []
    if not isinstance(fs, LocalFileSystem) and fs.exists(fs_path):
        # Object stores cannot append: rewrite the file with its previous lines kept.
        with fs.open(fs_path, "r", encoding="utf-8") as old:
            previous = old.readlines()
    mode = "a" if isinstance(fs, LocalFileSystem) else "w"
    with fs.open(fs_path, mode, encoding="utf-8") as out:
        out.writelines([*previous, *lines])
    return len(lines)
