"""Replaying dead letters: documents Elasticsearch refused, written again by a later run.

The same create-or-update rules as indexing (``bulk.write_chunk``), with two differences:
a letter whose article was written later than the letter (a rerun of its batch, a newer
report) is ``superseded`` and not written, so a replay never puts an older version back;
and a letter that fails again is counted and left waiting, never dead-lettered a second
time. Marking lines done is the caller's (``dead_letter.mark_replayed``), once this returns.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from newsflow.counts import Counts
from newsflow.errors import IndexingError
from newsflow.index.bulk import Builder, from_item, write_chunk
from newsflow.index.dead_letter import DeadLetter
from newsflow.index.documents import BOOKKEEPING_FIELDS, ArticleDoc, fingerprint
from newsflow.index.names import IndexNames
from newsflow.index.outcome import IndexFailure, IndexOptions, WriteTally
from newsflow.records import Article
from newsflow.timestamps import parse_utc_or_none

if TYPE_CHECKING:
    from elasticsearch import Elasticsearch

log = logging.getLogger(__name__)

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def from_source(source: Mapping[str, Any]) -> Builder:
    """A document as it was built before (a dead letter), with fresh bookkeeping fields."""
    if "doc_fingerprint" not in source:  # dead letters of older versions kept the bare article
        known = {k: v for k, v in source.items() if k in Article.__dataclass_fields__}
        for name in ("url", "canonical_url", "title", "text"):
            if not isinstance(known.get(name, ""), str):
                raise TypeError(f"{name!r} is not a string")
        for name in ("authors", "tags"):
            listed = known.get(name, ())
            if not isinstance(listed, list | tuple) or not all(isinstance(v, str) for v in listed):
                raise TypeError(f"{name!r} is not a list of strings")
            known[name] = tuple(listed)
        return from_item(ArticleDoc(Article(**known)))
    content = {k: v for k, v in source.items() if k not in BOOKKEEPING_FIELDS}

    def build(version: int, indexed_at: str) -> dict[str, Any]:
        return {
            **content,
            "doc_fingerprint": fingerprint(content),
            "version": version,
            "indexed_at": indexed_at,
        }

    return build


@dataclass(frozen=True, slots=True)
class ReplayReport:
    """What a replay did: lines written again (created/updated/unchanged), lines a later write
    had superseded, lines that failed again (by reason, still waiting), and the ids written."""

    created: int = 0
    updated: int = 0
    unchanged: int = 0
    superseded: int = 0
    failed_by_reason: dict[str, int] = field(default_factory=dict)
    done: tuple[tuple[DeadLetter, str], ...] = ()  # each line replayed and its outcome
    written: tuple[str, ...] = ()  # ids now indexed as the dead letter had them

    @property
    def replayed(self) -> int:
        return self.created + self.updated + self.unchanged


def _latest_per_id(letters: Sequence[DeadLetter]) -> tuple[list[DeadLetter], list[DeadLetter]]:
    """(the newest letter of each id, the older ones it supersedes)."""
    newest: dict[str, DeadLetter] = {}
    older: list[DeadLetter] = []
    for letter in sorted(
        letters, key=lambda x: (parse_utc_or_none(_written_at(x)) or _EPOCH, x.path, x.line)
    ):
        if letter.id in newest:
            older.append(newest[letter.id])
        newest[letter.id] = letter
    return list(newest.values()), older


def _written_at(letter: DeadLetter) -> str:
    return str(letter.document.get("indexed_at") or letter.failed_at or "")


def _after(stored: str, letter: str) -> bool:
    """Whether the stored document was written at or after the letter's (unknown times: no)."""
    then, mine = parse_utc_or_none(stored), parse_utc_or_none(letter)
    return then is not None and mine is not None and then >= mine


def replay_dead_letters(
    client: Elasticsearch,
    letters: Sequence[DeadLetter],
    *,
    names: IndexNames | None = None,
    options: IndexOptions | None = None,
) -> ReplayReport:
    """Write dead-lettered documents again (create, or update when changed), chunk by chunk;
    when the cluster is unreachable the rest is left waiting as it is."""
    from newsflow.index.templates import write_index

    names = names or IndexNames.from_env()
    options = options or IndexOptions()
    alias = names.articles
    if write_index(client, alias) is None:
        raise IndexingError(f"alias {alias!r} does not exist; run `newsflow index setup` first")
    current, older = _latest_per_id(letters)
    done: list[tuple[DeadLetter, str]] = [(letter, "superseded") for letter in older]
    written: list[str] = []
    tally = WriteTally()
    failed: Counts = Counts()
    for start in range(0, len(current), options.chunk_size):
        chunk = current[start : start + options.chunk_size]
        stored = client.mget(index=alias, ids=[x.id for x in chunk], source_includes=["indexed_at"])
        later = {
            d["_id"]: str(d["_source"].get("indexed_at") or "") for d in stored["docs"] if d.get("found")
        }
        todo = []
        for letter in chunk:
            if letter.id in later and _after(later[letter.id], _written_at(letter)):
                done.append((letter, "superseded"))
            else:
                todo.append(letter)
        rejects: list[tuple[IndexFailure, dict[str, Any]]] = []
        pending: dict[str, Builder] = {}
        for letter in todo:
            try:
                pending[letter.id] = from_source(letter.document)
            except (TypeError, ValueError, AttributeError) as exc:  # an older document of another shape
                log.warning(
                    "dead letter %s:%s cannot be rebuilt (%s); left waiting", letter.path, letter.line, exc
                )
                failed.add("unreadable_document")
        reachable = write_chunk(client, pending, alias=alias, options=options, tally=tally, rejects=rejects)
        refused = {failure.id for failure, _ in rejects}
        for failure, _ in rejects:
            failed.add(failure.reason)
        for letter in todo:
            if letter.id in pending and letter.id not in refused:
                done.append((letter, "replayed"))
                written.append(letter.id)
        if not reachable:
            left = len(current) - start - len(chunk)
            failed.add("unavailable", left)
            log.warning("Elasticsearch unreachable while replaying; %s dead letters left waiting", left)
            break
    if options.refresh and written:
        client.indices.refresh(index=alias)
    return ReplayReport(
        created=tally.counts["created"],
        updated=tally.counts["updated"],
        unchanged=tally.counts["unchanged"],
        superseded=sum(1 for _, outcome in done if outcome == "superseded"),
        failed_by_reason=failed.to_dict(),
        done=tuple(done),
        written=tuple(written),
    )
