"""Reading stories back: who reported first, who followed and why, and where an id went.

A story is every article sharing a ``story_id``; its first report (the earliest
published, which the dedup stage makes the representative, relation ``original``) is
what every view shows for the story's date and outlet, so "who reported first" reads
the same in search, in ``stories`` and in ``story``. Story ids move when stories merge
or a newly found earlier report becomes the representative; ``follow_story`` walks the
recorded merges (``index/story_merges``) from an old id to the current one.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from newsflow import stored_fields
from newsflow.dedup.corrections import Correction
from newsflow.errors import InputError
from newsflow.es_client import aggregation, buckets, doc_count, hits, search_alias, total_hits
from newsflow.index.corrections import corrections_touching
from newsflow.index.names import IndexNames
from newsflow.index.story_merges import find_merges
from newsflow.jsontypes import JsonValue, as_object
from newsflow.reports import CHRONOLOGICAL, REPORT_FIELDS, SearchHit, hit_from_es

if TYPE_CHECKING:
    from elasticsearch import Elasticsearch

MAX_HOPS = 20  # merges followed from one id; a longer chain is reported, not walked forever
TIMELINE_SIZE = 500  # reports listed in one story's timeline
MIN_PREFIX = 6  # shortest story-id prefix looked up ("s-" and four characters)


@dataclass(frozen=True, slots=True)
class StoryHead:
    """What a story is at a glance: its first report, size, and outlets in order of arrival."""

    story_id: str
    first: SearchHit
    reports: int
    outlets: tuple[str, ...]
    languages: tuple[str, ...]

    def to_dict(self) -> dict[str, JsonValue]:
        return {
            "story_id": self.story_id,
            "first": self.first.to_dict(),
            "reports": self.reports,
            "outlets": list(self.outlets),
            "languages": list(self.languages),
        }


@dataclass(frozen=True, slots=True)
class StoryMove:
    """One recorded step of an id's history: ``old`` now lives inside ``new``."""

    old: str
    new: str
    kind: str
    recorded_at: str | None
    run_id: str | None

    def to_dict(self) -> dict[str, JsonValue]:
        return {
            "old": self.old,
            "new": self.new,
            "kind": self.kind,
            "recorded_at": self.recorded_at,
            "run_id": self.run_id,
        }


@dataclass(frozen=True, slots=True)
class StorySplit:
    """Reports that left ``left`` for ``joined``; ``left`` kept its id, so this is no redirect."""

    left: str
    joined: str
    reports: tuple[str, ...]
    recorded_at: str | None
    run_id: str | None

    def to_dict(self) -> dict[str, JsonValue]:
        return {
            "left": self.left,
            "joined": self.joined,
            "reports": list(self.reports),
            "recorded_at": self.recorded_at,
            "run_id": self.run_id,
        }


@dataclass(frozen=True, slots=True)
class StoryTimeline:
    """A story's reports in order of publication, and how the asked id led to it."""

    asked: str
    story_id: str
    moves: tuple[StoryMove, ...]
    reports: tuple[SearchHit, ...]
    total: int
    via_article: bool = False  # ``asked`` was an article id, not a story id
    # An analyst's corrections naming a listed report (withdrawn ones too: they are history).
    corrections: tuple[Correction, ...] = ()
    splits: tuple[StorySplit, ...] = ()  # reports that left this story or came from another, oldest first

    @property
    def first(self) -> SearchHit:
        return self.reports[0]

    def to_dict(self) -> dict[str, JsonValue]:
        return {
            "asked": self.asked,
            "story_id": self.story_id,
            "via_article": self.via_article,
            "moves": [m.to_dict() for m in self.moves],
            "total": self.total,
            "reports": [r.to_dict() for r in self.reports],
            "corrections": [c.to_dict() for c in self.corrections],
            "splits": [p.to_dict() for p in self.splits],
        }


def story_heads(client: Elasticsearch, alias: str, story_ids: Sequence[str]) -> dict[str, StoryHead]:
    """The head of each story in ``story_ids`` (one request), whatever a query matched."""
    wanted = sorted(set(story_ids))
    if not wanted:
        return {}
    resp = search_alias(
        client,
        alias,
        "reading stories",
        size=0,
        query={"terms": {"story_id": wanted}},
        aggs={
            "stories": {
                "terms": {"field": "story_id", "size": len(wanted)},
                "aggs": {
                    "first": {"top_hits": {"size": 1, "sort": CHRONOLOGICAL, "_source": REPORT_FIELDS}},
                    "outlets": {
                        "terms": {"field": "source", "size": 100, "order": {"arrived": "asc"}},
                        "aggs": {"arrived": {"min": {"field": "published"}}},
                    },
                    "languages": {"terms": {"field": "language", "size": 20}},
                },
            }
        },
    )
    heads: dict[str, StoryHead] = {}
    for bucket in buckets(aggregation(resp, "stories")):
        top = hits(as_object(bucket.get("first")))
        if not top:
            continue
        story_id = str(bucket["key"])
        heads[story_id] = StoryHead(
            story_id=story_id,
            first=hit_from_es(top[0]),
            reports=doc_count(bucket),
            outlets=tuple(str(b["key"]) for b in buckets(bucket.get("outlets"))),
            languages=tuple(str(b["key"]) for b in buckets(bucket.get("languages"))),
        )
    return heads


def story_size(client: Elasticsearch, alias: str, story_id: str) -> int:
    resp = search_alias(
        client,
        alias,
        "reading stories",
        size=0,
        query={"term": {"story_id": story_id}},
        track_total_hits=True,
    )
    return total_hits(resp)


def _moves_from(client: Elasticsearch, story_id: str, names: IndexNames) -> list[StoryMove]:
    """Recorded moves of ``story_id`` to another id, newest first."""
    moves = []
    for doc in find_merges(client, story_id, names=names):
        # Read for their types: a lone string in ``merged`` is one id (``in`` on it would match
        # any id it contains), and an odd ``story_id`` or date reads as missing.
        new = stored_fields.string(doc.get("story_id"))
        if new and new != story_id and story_id in stored_fields.texts(doc.get("merged")):
            moves.append(
                StoryMove(
                    old=story_id,
                    new=new,
                    kind=stored_fields.text(doc.get("kind")) or "merge",
                    recorded_at=stored_fields.instant(doc.get("recorded_at")),
                    run_id=stored_fields.string(doc.get("run_id")),
                )
            )
    return moves


def story_splits(client: Elasticsearch, story_id: str, names: IndexNames) -> list[StorySplit]:
    """Recorded splits that parted reports from ``story_id`` or into it, oldest first."""
    found = []
    for doc in find_merges(client, story_id, names=names):
        left, joined = stored_fields.string(doc.get("split_from")), stored_fields.string(doc.get("story_id"))
        if stored_fields.text(doc.get("kind")) == "split" and left and joined and story_id in {left, joined}:
            found.append(
                StorySplit(
                    left=left,
                    joined=joined,
                    reports=tuple(stored_fields.texts(doc.get("by"))),
                    recorded_at=stored_fields.instant(doc.get("recorded_at")),
                    run_id=stored_fields.string(doc.get("run_id")),
                )
            )
    return found[::-1]


def follow_story(
    client: Elasticsearch, story_id: str, names: IndexNames
) -> tuple[str, tuple[StoryMove, ...]]:
    """The current id of ``story_id`` and the moves that led there (none when it is current).

    At each step the newest recorded move wins: a later merge supersedes an earlier one.
    The walk stops at an id that still has reports, at a cycle, or after ``MAX_HOPS``.
    """
    current = story_id
    path: list[StoryMove] = []
    seen = {current}
    while len(path) < MAX_HOPS and story_size(client, names.articles, current) == 0:
        moves = _moves_from(client, current, names)
        if not moves or moves[0].new in seen:
            break
        path.append(moves[0])
        current = moves[0].new
        seen.add(current)
    return current, tuple(path)


def _article_story(client: Elasticsearch, alias: str, article_id: str) -> str | None:
    resp = search_alias(
        client,
        alias,
        "reading stories",
        size=1,
        query={"ids": {"values": [article_id]}},
        _source=["story_id"],
    )
    found = hits(resp)
    return stored_fields.string(as_object(found[0].get("_source")).get("story_id")) if found else None


def _by_prefix(client: Elasticsearch, alias: str, prefix: str) -> str | None:
    """The one story id starting with ``prefix`` (tables show ids shortened)."""
    if len(prefix) < MIN_PREFIX:
        return None
    resp = search_alias(
        client,
        alias,
        "reading stories",
        size=0,
        query={"prefix": {"story_id": prefix}},
        aggs={"ids": {"terms": {"field": "story_id", "size": 6}}},
    )
    found = [str(b["key"]) for b in buckets(aggregation(resp, "ids"))]
    if len(found) > 1:
        shown = ", ".join(found[:5]) + (" ..." if len(found) > 5 else "")
        raise InputError(f"{prefix!r} starts several story ids ({shown}); give more of it")
    return found[0] if found else None


def load_timeline(
    client: Elasticsearch, asked: str, names: IndexNames | None = None, *, size: int = TIMELINE_SIZE
) -> StoryTimeline | None:
    """The timeline of the story ``asked`` names: a story id, an old (merged or renamed) story
    id, an article id, or a unique prefix of a story id. None when nothing knows it."""
    names = names or IndexNames.from_env()
    via_article = False
    story_id, moves = follow_story(client, asked, names)
    if story_size(client, names.articles, story_id) == 0:
        owner = _article_story(client, names.articles, asked)
        via_article = owner is not None
        owner = owner or _by_prefix(client, names.articles, asked)
        if owner is None:
            return None
        story_id, moves = owner, ()
    resp = search_alias(
        client,
        names.articles,
        "reading stories",
        size=size,
        query={"term": {"story_id": story_id}},
        sort=CHRONOLOGICAL,
        _source=REPORT_FIELDS,
        track_total_hits=True,
    )
    reports = tuple(hit_from_es(h) for h in hits(resp))
    if not reports:
        return None
    corrected = corrections_touching(client, names.corrections, [r.id for r in reports])
    return StoryTimeline(
        asked=asked,
        story_id=story_id,
        moves=moves,
        reports=reports,
        total=total_hits(resp),
        via_article=via_article,
        corrections=tuple(sorted(corrected, key=lambda c: (c.recorded_at, c.a, c.b))),
        splits=tuple(story_splits(client, story_id, names)),
    )


def delay_after(first: str | None, later: str | None) -> float | None:
    """Seconds from the first report to a later one; None when either date is unknown."""
    if not first or not later:
        return None
    try:
        start = datetime.fromisoformat(first.replace("Z", "+00:00"))
        end = datetime.fromisoformat(later.replace("Z", "+00:00"))
    except ValueError:
        return None
    return (end - start).total_seconds()
