"""Documents Elasticsearch refused, kept in the archive so nothing is lost, and replayed later.

One JSON line per failed document (id, reason, error, the run, the document as it was to be
written) in ``<archive_root>/dead-letter/YYYY/MM/DD/<run>.jsonl``, written through fsspec so
the archive can live on local disk or object storage. Replaying (``newsflow index
replay-dead-letters``, and every processing run) reads the lines not done yet; beside each
file, ``<run>.jsonl.done`` logs each line replayed (line number, id, outcome, by which run,
when), so a replayed line is never replayed again and the file itself stays as it was
written. A line that fails again stays waiting. One replay at a time: a lock file under
``dead-letter/`` (stale after ``LOCK_STALE_S``) keeps two runs from replaying the same lines.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import re
import socket
import time
import uuid
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from newsflow import settings
from newsflow.archive.storage import Storage
from newsflow.jsontypes import parse
from newsflow.textsafe import without_lone_surrogates
from newsflow.timestamps import iso_z, now_utc

log = logging.getLogger(__name__)

_SAFE_RUN_RE = re.compile(r"[^A-Za-z0-9._-]+")
DONE_SUFFIX = ".done"
LOCK_NAME = ".replay.lock"
LOCK_STALE_S = 30 * 60


def safe_run_name(run_id: str) -> str:
    """A run id as a file name (``newsflow_process/manual__x#2`` -> ``newsflow_process_manual__x_2``)."""
    return _SAFE_RUN_RE.sub("_", run_id).strip("._") or "run"


def dead_letter_root(root: str | None = None) -> str:
    return (root or settings.archive_root()).rstrip("/") + "/dead-letter"


def dead_letter_path(run_id: str, when: datetime | None = None, root: str | None = None) -> str:
    when = when or now_utc()
    return f"{dead_letter_root(root)}/{when:%Y/%m/%d}/{safe_run_name(run_id)}.jsonl"


def _append(path: str, lines: list[str]) -> None:
    import fsspec
    from fsspec.implementations.local import LocalFileSystem

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


def write_dead_letters(path: str, records: Iterable[Mapping[str, Any]]) -> int:
    """Append records to ``path`` (any fsspec URL); returns how many were written."""
    # ensure_ascii: a line must always be writable, whatever the document holds.
    lines = [json.dumps(dict(r), ensure_ascii=True, default=str) + "\n" for r in records]
    if lines:
        _append(path, lines)
    return len(lines)


@dataclass(frozen=True, slots=True)
class DeadLetter:
    """One waiting line: where it is (file, 1-based line) and what it holds."""

    path: str
    line: int
    id: str
    run_id: str
    reason: str
    failed_at: str
    document: dict[str, Any]


@dataclass(frozen=True, slots=True)
class DeadLetterScan:
    """What a scan found: the waiting lines, and how many lines were done already or unreadable."""

    waiting: tuple[DeadLetter, ...]
    done: int = 0
    unreadable: int = 0
    files: int = 0
    newest_file: str | None = None  # as shown to a reader (credentials masked)


def _matches(run_id: str, wanted: str | None) -> bool:
    if not wanted:
        return True
    mine, asked = safe_run_name(run_id), safe_run_name(wanted)
    return mine == asked or mine.endswith(f"_{asked}")


def _done_lines(storage: Storage, path: str) -> set[int]:
    raw = storage.read_bytes(path + DONE_SUFFIX) or b""
    done: set[int] = set()
    for text in raw.decode("utf-8", "replace").splitlines():
        with contextlib.suppress(ValueError, TypeError, KeyError):
            done.add(int(json.loads(text)["line"]))
    return done


MAX_ID_BYTES = 512  # Elasticsearch's limit for an _id: a longer one fails its whole bulk request


def _letter(path: str, number: int, text: str) -> DeadLetter:
    """One line as a ``DeadLetter``; ``ValueError``/``TypeError``/``KeyError``/``RecursionError``
    when it is none (kept as it is, counted unreadable): an id Elasticsearch cannot take would
    fail the bulk request of every line beside it, on every replay."""
    data, _ = without_lone_surrogates(parse(text))
    if not isinstance(data, dict):
        raise TypeError("not a JSON object")
    raw_id, document = data["id"], data["document"]
    if (
        not isinstance(raw_id, str | int)
        or isinstance(raw_id, bool)
        or not 0 < len(str(raw_id).encode()) <= MAX_ID_BYTES
    ):
        raise ValueError(f"'id' must be a string of 1 to {MAX_ID_BYTES} bytes")
    if not isinstance(document, dict):
        raise TypeError("'document' is not a JSON object")
    return DeadLetter(
        path=path,
        line=number,
        id=str(raw_id),
        run_id=str(data.get("run_id") or ""),
        reason=str(data.get("reason") or "unknown"),
        failed_at=str(data.get("failed_at") or ""),
        document=document,
    )


def scan_dead_letters(root: str | None = None, *, run: str | None = None) -> DeadLetterScan:
    """Every dead-letter line not replayed yet (of one run, if ``run`` names it), oldest file first.

    ``run`` may be the run id as recorded (``newsflow_process/manual__x``), its file-name form,
    or the Airflow run id alone.
    """
    storage = Storage(dead_letter_root(root))
    waiting: list[DeadLetter] = []
    done = unreadable = 0
    paths = storage.glob(storage.join("*", "*", "*", "*.jsonl"))
    for path in paths:
        finished = _done_lines(storage, path)
        raw = storage.read_bytes(path) or b""
        for number, text in enumerate(raw.decode("utf-8", "replace").splitlines(), 1):
            if not text.strip():
                continue
            if number in finished:
                done += 1
                continue
            try:
                letter = _letter(storage.display(path), number, text)
            except (ValueError, TypeError, KeyError, RecursionError) as exc:
                log.warning("dead-letter line %s of %s is unreadable (%s); left as it is", number, path, exc)
                unreadable += 1
                continue
            if _matches(letter.run_id, run):
                waiting.append(letter)
    newest = storage.display(paths[-1]) if paths else None
    return DeadLetterScan(
        tuple(waiting), done=done, unreadable=unreadable, files=len(paths), newest_file=newest
    )


def mark_replayed(letters: Iterable[tuple[DeadLetter, str]], *, by_run: str) -> int:
    """Log lines as done (``outcome``: created, updated, unchanged, superseded); returns how many."""
    at = iso_z(now_utc())  # bookkeeping only
    by_file: dict[str, list[str]] = {}
    for letter, outcome in letters:
        entry = {"line": letter.line, "id": letter.id, "outcome": outcome, "by_run": by_run, "at": at}
        by_file.setdefault(letter.path, []).append(json.dumps(entry, ensure_ascii=True) + "\n")
    for path, lines in by_file.items():
        _append(path + DONE_SUFFIX, lines)
    return sum(len(lines) for lines in by_file.values())


@contextlib.contextmanager
def replay_lock(root: str | None = None) -> Iterator[bool]:
    """Hold the replay lock while the block runs; yields False (and holds nothing) when another
    replay holds it. A lock older than ``LOCK_STALE_S`` was left by a killed replay and is taken over."""
    storage = Storage(dead_letter_root(root))
    path = storage.join(LOCK_NAME)
    token = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex}"
    payload = json.dumps({"token": token, "at": time.time()}).encode()
    storage.fs.makedirs(storage.root, exist_ok=True)
    held = _take(storage, path, payload)
    if not held:
        held = _stale(storage, path) and _take(storage, path, payload, replace=True)
    try:
        yield held
    finally:
        if held:
            mine = storage.read_bytes(path) or b""
            if token.encode() in mine:
                with contextlib.suppress(FileNotFoundError):
                    storage.fs.rm(path)


def _take(storage: Storage, path: str, payload: bytes, *, replace: bool = False) -> bool:
    if replace:
        storage.write_bytes(path, payload)
        return True
    if storage.is_local:
        try:
            fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
        except FileExistsError:
            return False
        with os.fdopen(fd, "wb") as handle:
            handle.write(payload)
        return True
    if storage.exists(path):  # object stores have no exclusive create: best effort
        return False
    storage.write_bytes(path, payload)
    return True


def _stale(storage: Storage, path: str) -> bool:
    try:
        since = float(json.loads(storage.read_bytes(path) or b"{}").get("at", 0))
    except (ValueError, TypeError):
        since = 0.0
    stale = time.time() - since > LOCK_STALE_S
    if stale:
        log.warning("taking over a dead-letter replay lock left %.0f s ago: %s", time.time() - since, path)
    return stale
