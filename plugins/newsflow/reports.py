"""One report (an indexed article) as search, story views and alerts read it back.

Search hits, a story's timeline and the first report of a story are all the same
few fields of an article document; this is the one place that reads them.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from newsflow import stored_fields
from newsflow.es_client import hits, total_hits
from newsflow.jsontypes import JsonObject, JsonValue, as_object

REPORT_FIELDS = [
    "title",
    "url",
    "canonical_url",
    "source",
    "site_name",
    "published",
    "language",
    "language_tag",
    "story_id",
    "relation",
    "duplicate_of",
    "score",
    "why",
    "authors",
]
# Reports of a story in the order a reader follows them: the earliest first (the
# representative), ties by id so every view orders them the same way.
CHRONOLOGICAL: list[JsonValue] = [{"published": {"order": "asc", "missing": "_last"}}, {"id": "asc"}]


@dataclass(frozen=True, slots=True)
class SearchHit:
    """One report; a story hit also lists the story's matching reports (``reports``) oldest first.

    ``score`` is the search relevance; ``link_score`` and ``why`` are the story decision's
    (how strongly, and by which signals, this report joined its story).
    """

    id: str
    title: str
    url: str | None
    source: str | None
    published: str | None
    language: str | None
    story_id: str | None
    relation: str | None
    score: float | None
    highlights: dict[str, tuple[str, ...]] = field(default_factory=dict)
    reports: tuple[SearchHit, ...] = ()
    story_reports: int = 0
    duplicate_of: str | None = None
    link_score: float | None = None
    why: tuple[str, ...] = ()
    language_tag: str | None = None

    def to_dict(self) -> dict[str, JsonValue]:
        data: dict[str, JsonValue] = {
            "id": self.id,
            "title": self.title,
            "url": self.url,
            "source": self.source,
            "published": self.published,
            "language": self.language,
            "language_tag": self.language_tag,
            "story_id": self.story_id,
            "relation": self.relation,
            "duplicate_of": self.duplicate_of,
            "link_score": self.link_score,
            "why": list(self.why),
            "score": self.score,
            "highlights": {k: list(v) for k, v in self.highlights.items()},
        }
        if self.reports or self.story_reports:
            data["story_reports"] = self.story_reports
            data["reports"] = [r.to_dict() for r in self.reports]
        return data


def hit_from_es(raw: JsonObject) -> SearchHit:
    """A report from one Elasticsearch hit (with its collapsed inner hits, if any)."""
    src = as_object(raw.get("_source"))
    inner = as_object(as_object(raw.get("inner_hits")).get("reports"))
    reports = tuple(hit_from_es(r) for r in hits(inner))
    # The index holds what any writer put there (the mapping takes a date as epoch
    # milliseconds, and any field as a list): each field is read for the type it is shown as.
    return SearchHit(
        id=str(raw["_id"]),
        title=stored_fields.string(src.get("title")) or "",
        url=stored_fields.string(src.get("url")),
        source=stored_fields.string(src.get("source")),
        published=stored_fields.instant(src.get("published")),
        language=stored_fields.string(src.get("language")),
        story_id=stored_fields.string(src.get("story_id")),
        relation=stored_fields.string(src.get("relation")),
        score=stored_fields.number(raw.get("_score")),
        highlights={str(k): stored_fields.texts(v) for k, v in as_object(raw.get("highlight")).items()},
        reports=reports,
        story_reports=total_hits(inner),
        duplicate_of=stored_fields.string(src.get("duplicate_of")),
        link_score=stored_fields.number(src.get("score")),
        why=stored_fields.texts(src.get("why")),
        language_tag=stored_fields.string(src.get("language_tag")),
    )
