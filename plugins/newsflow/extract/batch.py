"""Batch extraction over a JSONL manifest, in a process pool.

Extraction is CPU-bound pure Python plus lxml, so processes, not threads, give
the speed-up. A bad manifest line or an unextractable page becomes a counted
row, never an exception that stops the batch: one broken input must not cost
the other thousands.
"""

from __future__ import annotations

import codecs
import gzip
import json
import logging
import os
import zlib
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from newsflow.errors import ExtractionError, InputError
from newsflow.extract.options import ExtractOptions
from newsflow.inputfiles import MAX_LINE_BYTES, bounded_lines
from newsflow.jsontypes import JsonObject, JsonValue

logger = logging.getLogger(__name__)

_READ_CHUNK = 1 << 20

OUTPUT_FIELDS = (
    "id",
    "title",
    "text",
    "authors",
    "published",
    "published_source",
    "language",
    "language_tag",
    "paywalled",
    "canonical_url",
    "extractor_version",
    "error",
)


@dataclass(frozen=True, slots=True)
class ManifestEntry:
    """One page to extract; ``path`` is already resolved against the manifest's folder."""

    line: int
    id: str
    path: Path
    url: str | None


@dataclass(frozen=True, slots=True)
class BatchSummary:
    """Counts of a batch run; ``errors`` maps reason codes to counts."""

    total: int
    extracted: int
    bad_lines: tuple[str, ...] = ()
    errors: dict[str, int] = field(default_factory=dict)


def read_manifest(path: Path) -> tuple[list[ManifestEntry], list[str]]:
    """Valid entries, and one message per bad line (with its number) for the rest."""
    entries: list[ManifestEntry] = []
    problems: list[str] = []
    try:
        handle = path.open("rb")
    except OSError as exc:
        raise InputError(f"manifest {path}: cannot be read ({exc.strerror}); check the path") from exc
    with handle:
        for number, line in bounded_lines(handle, f"manifest {path}"):
            if line is None:
                problems.append(f"{path}:{number}: longer than {MAX_LINE_BYTES} bytes")
                continue
            # A bad byte costs its line, not the batch; a UTF-8 byte-order mark is not part of line 1.
            raw = (line.removeprefix(codecs.BOM_UTF8) if number == 1 else line).decode("utf-8", "replace")
            if not raw.strip():
                continue
            try:
                obj = json.loads(raw)
            except json.JSONDecodeError as exc:
                problems.append(f"{path}:{number}: not valid JSON ({exc.msg})")
                continue
            except (ValueError, RecursionError) as exc:  # nested or numbers past the parser's limits
                problems.append(f"{path}:{number}: not valid JSON ({type(exc).__name__})")
                continue
            if not isinstance(obj, dict):
                problems.append(f"{path}:{number}: expected a JSON object")
                continue
            page_id, page_path, url = obj.get("id"), obj.get("path"), obj.get("url")
            if not isinstance(page_id, str | int) or isinstance(page_id, bool) or str(page_id) == "":
                problems.append(f"{path}:{number}: missing or invalid 'id'")
                continue
            if not isinstance(page_path, str) or not page_path:
                problems.append(f"{path}:{number}: missing or invalid 'path'")
                continue
            if url is not None and not isinstance(url, str):
                problems.append(f"{path}:{number}: 'url' must be a string")
                continue
            resolved = Path(page_path)
            if not resolved.is_absolute():
                resolved = path.parent / resolved
            entries.append(ManifestEntry(number, str(page_id), resolved, url or None))
    return entries, problems


def read_page(path: Path, max_bytes: int = ExtractOptions().max_html_bytes) -> bytes:
    """Raw bytes of a saved page; ``.gz`` files are decompressed as a stream, never past ``max_bytes``.

    A small file can inflate to gigabytes (4.6 MB to 2.1 GB in the hardening drill), so the
    limit is enforced while reading, before the memory is spent; ``ExtractionError``
    (``too_large``) says which limit to raise.
    """
    if path.suffix != ".gz":
        # Read up to one byte past the limit, not by the size the file reports: a device or a
        # pipe (``/dev/zero``) reports none and never ends.
        with path.open("rb") as stream:
            data = stream.read(max_bytes + 1)
        if len(data) > max_bytes:
            raise ExtractionError(
                f"{path}: more than max_html_bytes={max_bytes} bytes; raise the limit if such pages "
                "are expected",
                reason="too_large",
            )
        return data
    out = bytearray()
    with gzip.open(path, "rb") as stream:  # handles concatenated gzip members, like gzip.decompress
        while chunk := stream.read(min(_READ_CHUNK, max_bytes + 1 - len(out))):
            out += chunk
            if len(out) > max_bytes:
                raise ExtractionError(
                    f"{path}: decompresses to more than max_html_bytes={max_bytes} bytes; refused while "
                    "decompressing (a gzip bomb, or raise the limit if such pages are expected)",
                    reason="too_large",
                )
    return bytes(out)


def extract_row(entry: ManifestEntry, options: ExtractOptions) -> dict[str, JsonValue]:
    """One output row; errors (unreadable file, unextractable page) are recorded, not raised."""
    from newsflow.extract.article import extract_article, extractor_version

    row: dict[str, JsonValue] = dict.fromkeys(OUTPUT_FIELDS)
    row.update(
        id=entry.id, text="", authors=[], published_source="none", extractor_version=extractor_version()
    )
    try:
        html = read_page(entry.path, options.max_html_bytes)
    except (OSError, EOFError, gzip.BadGzipFile, zlib.error) as exc:
        row["error"] = f"unreadable: {entry.path}: {exc}"
        return row
    except ExtractionError as exc:
        row["error"] = f"{exc.reason}: {exc}"
        return row
    try:
        article = extract_article(html, url=entry.url, options=options)
    except ExtractionError as exc:
        row["error"] = f"{exc.reason}: {exc}"
        return row
    except Exception as exc:  # a crash on one page must not stop the batch; it is counted and logged
        logger.exception("unexpected failure extracting %s", entry.path)
        row["error"] = f"crash: {type(exc).__name__}: {exc}"
        return row
    row.update(
        title=article.title,
        text=article.text,
        authors=list(article.authors),
        published=article.published,
        published_source=article.published_source,
        language=article.language,
        language_tag=article.language_tag,
        paywalled=article.paywalled,
        canonical_url=article.canonical_url,
    )
    return row


def _warm_up() -> None:
    """Import trafilatura and load the language model before the pool forks.

    Together about 2.5 s per process; loaded once in the parent, every forked worker
    starts with them instead of paying it again, which a short batch would notice.
    """
    from newsflow.extract.article import extractor_version
    from newsflow.language import detect_language

    extractor_version()
    detect_language("a sentence long enough for the model to be loaded")


def _rows(entries: list[ManifestEntry], options: ExtractOptions, workers: int) -> Iterator[JsonObject]:
    if workers <= 1 or len(entries) <= 1:
        for entry in entries:
            yield extract_row(entry, options)
        return
    _warm_up()
    chunksize = max(1, min(8, len(entries) // (workers * 4)))
    with ProcessPoolExecutor(max_workers=workers) as pool:
        yield from pool.map(extract_row, entries, [options] * len(entries), chunksize=chunksize)


def run_batch(
    manifest: Path,
    out: Path,
    *,
    workers: int | None = None,
    options: ExtractOptions | None = None,
    on_start: Callable[[int], None] | None = None,
    on_row: Callable[[JsonObject], None] | None = None,
) -> BatchSummary:
    """Extract every manifest entry into ``out`` (JSONL, manifest order); default: all cores."""
    entries, problems = read_manifest(manifest)
    for problem in problems:
        logger.warning("bad manifest line: %s", problem)
    workers = workers if workers is not None else (os.cpu_count() or 1)
    if workers < 1:
        raise InputError(f"--workers must be >= 1, got {workers}")
    if on_start is not None:
        on_start(len(entries))
    errors: Counter[str] = Counter()
    extracted = 0
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        sink = out.open("w", encoding="utf-8")
    except OSError as exc:
        raise InputError(
            f"{out}: cannot be written ({exc}); check the folder exists and is writable"
        ) from exc
    with sink:
        for row in _rows(entries, options or ExtractOptions(), workers):
            sink.write(json.dumps(row, ensure_ascii=False) + "\n")
            if row["error"]:
                errors[str(row["error"]).split(":", 1)[0]] += 1
            else:
                extracted += 1
            if on_row is not None:
                on_row(row)
    if problems:
        errors["bad_manifest_line"] = len(problems)
    return BatchSummary(
        total=len(entries) + len(problems),
        extracted=extracted,
        bad_lines=tuple(problems),
        errors=dict(errors),
    )
