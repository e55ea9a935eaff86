"""Reading an articles JSONL file for offline clustering, and clustering it.

Bad lines never stop a batch: each is counted under a reason and named in the log, and
the caller prints the counts at the end. Rules:

- not valid UTF-8: decoded with replacement characters and kept (``non_utf8_replaced``);
- a lone surrogate escape (``"\\ud800"``, valid JSON but not encodable text): replaced by U+FFFD
  and kept (``lone_surrogate_replaced``), so nothing downstream meets an unencodable string;
- not JSON (nested past the parser's depth, numbers past its digit limit included) / not an
  object / no ``id``: rejected (``bad_json``, ``not_object``, ``missing_id``);
- empty or non-string ``text``: rejected (``empty_text``);
- text over ``max_text_chars``: cut there and kept (``truncated``);
- an ``id`` seen before in the file: the first occurrence wins, later ones are skipped
  (``duplicate_id``), so the output has exactly one line per id;
- unparseable ``published``: kept without a date, which turns the time signal off for it
  (``bad_published``); a bad ``url`` is kept as given.

A corrections file (``read_corrections``: ``{"a", "b", "verdict"}`` objects, one per line or in
one JSON array as ``newsflow correct list --json`` prints them) is read by the same rules: what
is not JSON, not an object or not a correction is counted (``bad_json``, ``not_object``,
``bad_correction``) and skipped.
"""

from __future__ import annotations

import codecs
import logging
import re
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

from newsflow.dedup.corrections import Correction
from newsflow.dedup.options import DedupOptions
from newsflow.dedup.signals import ArticleSignals, parse_published
from newsflow.dedup.story_index import StoryIndex, StoryReport, signals_of
from newsflow.errors import InputError
from newsflow.inputfiles import MAX_LINE_BYTES, bounded_lines
from newsflow.jsontypes import parse
from newsflow.textsafe import without_lone_surrogates
from newsflow.urls import canonicalize_url

logger = logging.getLogger(__name__)

_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")


@dataclass(frozen=True, slots=True)
class InputArticle:
    id: str
    text: str
    title: str = ""
    url: str | None = None
    published: str | None = None
    source: str | None = None
    language: str | None = None  # a language tag; detected from the text when absent
    published_source: str = "input"  # a date the caller gives is trusted as declared

    @property
    def canonical_url(self) -> str | None:
        """``url`` in canonical form (as given when it cannot be canonicalised)."""
        if not self.url:
            return None
        try:
            return canonicalize_url(self.url)
        except ValueError:
            return self.url


@dataclass(slots=True)
class ReadReport:
    """What happened to the input lines, by reason (printed by the CLI at the end)."""

    read: int = 0
    counts: Counter[str] = field(default_factory=Counter)

    def note(self, reason: str, line_no: int, detail: str) -> None:
        self.counts[reason] += 1
        logger.warning("line %d: %s (%s)", line_no, reason, detail)


def _optional_str(value: object) -> str | None:
    return value if isinstance(value, str) and value.strip() else None


def parse_lines(lines: Iterable[bytes], report: ReadReport) -> Iterator[InputArticle]:
    """Articles from raw JSONL lines; see the module docstring for what is kept or rejected."""
    seen: set[str] = set()
    for line_no, raw in enumerate(lines, start=1):
        if not raw.strip():
            continue
        report.read += 1
        # Editors on Windows start a UTF-8 file with a byte-order mark: not part of line 1.
        data = raw.removeprefix(codecs.BOM_UTF8) if line_no == 1 else raw
        try:
            line = data.decode("utf-8")
        except UnicodeDecodeError as exc:
            report.note("non_utf8_replaced", line_no, str(exc))
            line = data.decode("utf-8", errors="replace")
        try:
            obj = parse(line)
        except (ValueError, RecursionError) as exc:  # JSONDecodeError is a ValueError
            report.note("bad_json", line_no, f"{type(exc).__name__}: {exc}"[:200])
            continue
        if _SURROGATE_ESCAPE.search(line):
            obj, replaced = without_lone_surrogates(obj)
            if replaced:
                report.note("lone_surrogate_replaced", line_no, f"{replaced} lone surrogate(s)")
        if not isinstance(obj, dict):
            report.note("not_object", line_no, type(obj).__name__)
            continue
        raw_id = obj.get("id")
        if not isinstance(raw_id, str | int) or isinstance(raw_id, bool) or str(raw_id).strip() == "":
            report.note("missing_id", line_no, "no string or integer 'id'")
            continue
        article_id = str(raw_id)
        if article_id in seen:
            report.note("duplicate_id", line_no, f"id {article_id!r} already read; keeping the first")
            continue
        text = obj.get("text")
        if not isinstance(text, str) or not text.strip():
            report.note("empty_text", line_no, f"id {article_id!r}")
            continue
        seen.add(article_id)
        published = _optional_str(obj.get("published"))
        if published is not None and parse_published(published) is None:
            report.note("bad_published", line_no, f"id {article_id!r}: {published!r} is not ISO 8601")
            published = None
        yield InputArticle(
            id=article_id,
            text=text,
            title=_optional_str(obj.get("title")) or "",
            url=_optional_str(obj.get("url")),
            published=published,
            source=_optional_str(obj.get("source")),
            language=_optional_str(obj.get("language")),
        )


def read_corrections(path: Path, report: ReadReport) -> list[Correction]:
    """An analyst's corrections from a file (see the module docstring)."""
    try:
        with path.open("rb") as fh:
            peek = fh.read(4096)  # enough to see whether the file opens a JSON array
            if peek.removeprefix(codecs.BOM_UTF8).lstrip().startswith(b"["):
                head = peek + fh.read(MAX_LINE_BYTES + 1 - len(peek))
                if len(head) > MAX_LINE_BYTES:
                    raise InputError(
                        f"{path}: a JSON array over {MAX_LINE_BYTES} bytes; write one object a line"
                    )
                items = [(1, head)]
            else:
                fh.seek(0)
                items = list(enumerate(_bounded(fh, str(path), report), start=1))
    except OSError as exc:
        raise InputError(f"{path}: cannot be read ({exc}); check the path") from exc
    out = []
    for number, raw in items:
        if not raw.strip():
            continue
        try:
            value = parse(raw.removeprefix(codecs.BOM_UTF8).decode("utf-8", errors="replace"))
        except (ValueError, RecursionError) as exc:
            report.read += 1
            report.note("bad_json", number, f"{type(exc).__name__}: {exc}"[:200])
            continue
        for obj in value if isinstance(value, list) else [value]:
            report.read += 1
            if not isinstance(obj, dict):
                report.note("not_object", number, type(obj).__name__)
                continue
            try:
                out.append(Correction.from_dict(obj))
            except InputError as exc:
                report.note("bad_correction", number, str(exc)[:200])
    return out


def read_articles(path: Path, report: ReadReport) -> list[InputArticle]:
    try:
        with path.open("rb") as fh:
            return list(parse_lines(_bounded(fh, str(path), report), report))
    except OSError as exc:
        raise InputError(f"{path}: cannot be read ({exc}); check the path") from exc


def _bounded(handle: BinaryIO, source: str, report: ReadReport) -> Iterator[bytes]:
    """The file's lines, a line over ``MAX_LINE_BYTES`` counted and left blank (so the lines
    after it keep their numbers), never held whole."""
    for number, line in bounded_lines(handle, source):
        if line is None:
            report.read += 1
            report.note("line_too_long", number, f"over {MAX_LINE_BYTES} bytes")
            yield b"\n"
        else:
            yield line


def to_signals(article: InputArticle, options: DedupOptions, report: ReadReport) -> ArticleSignals:
    signals = signals_of(article, options)
    if signals.truncated:
        report.counts["truncated"] += 1
        logger.warning(
            "id %s: text of %d chars cut to %d", article.id, len(article.text), options.max_text_chars
        )
    return signals


def cluster_articles(
    articles: Sequence[InputArticle],
    options: DedupOptions,
    report: ReadReport,
    stories: StoryIndex | None = None,
) -> StoryReport:
    """One batch through the same path the pipeline uses (signals, candidates, decision)."""
    stories = stories if stories is not None else StoryIndex.in_memory(options)
    result = stories.add(articles)
    truncated = result.counts.get("stories:truncated", 0)
    if truncated:
        report.counts["truncated"] += truncated
    return result
