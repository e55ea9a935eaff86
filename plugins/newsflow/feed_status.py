"""Reading each feed's health (``newsflow-feed-health``) for ``newsflow feeds status`` and ``status``.

The poll flow overwrites one document per feed with its latest outcome; this reads them
back, tolerating documents written before a field existed (every field but ``feed`` may be
missing). A feed is *in error* when its document says so (``in_error``: it failed the poll
flow's limit of polls in a row); documents written before that flag say it by a failed
status or a running error streak. A feed *failing* failed its latest poll or has a streak,
in error or not yet. With a registry, feeds it lists that were never polled show up too, and feeds
polled once but since removed from it are marked.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from newsflow import stored_fields
from newsflow.es_client import hits, search_alias, total_hits
from newsflow.jsontypes import JsonObject, JsonValue, as_object
from newsflow.redact import redact_text

if TYPE_CHECKING:
    from elasticsearch import Elasticsearch

    from newsflow.feeds import FeedRegistry
    from newsflow.index.names import IndexNames

MAX_FEEDS = 10_000


def _redacted(value: object) -> str | None:
    """Error texts quote URLs, and feed URLs can carry credentials: masked however they are shown."""
    text = stored_fields.text(value)
    return redact_text(text) if text else None


@dataclass(frozen=True, slots=True)
class FeedHealth:
    """One feed's latest poll outcome as recorded; ``None`` where nothing says."""

    feed: str
    status: str | None = None  # success, partial, failed; None: never polled
    error_streak: int | None = None
    last_success: str | None = None
    last_error: str | None = None  # the short reason (http_404, timeout, ...)
    last_error_message: str | None = None
    checked_at: str | None = None
    polls: int | None = None
    not_modified: int | None = None
    newest_item: str | None = None
    next_due: str | None = None
    pages_waiting: int | None = None
    in_registry: bool | None = None  # None: no registry was given
    recorded_in_error: bool | None = None  # the document's ``in_error``; None on older documents

    @classmethod
    def from_source(cls, source: JsonObject) -> FeedHealth:
        return cls(
            feed=str(source.get("feed") or "?"),
            status=stored_fields.text(source.get("status")),
            error_streak=stored_fields.whole(source.get("error_streak")),
            last_success=stored_fields.text(source.get("last_success")),
            last_error=_redacted(source.get("last_error")),
            last_error_message=_redacted(source.get("last_error_message")),
            checked_at=stored_fields.text(source.get("checked_at")),
            polls=stored_fields.whole(source.get("polls")),
            not_modified=stored_fields.whole(source.get("not_modified")),
            newest_item=stored_fields.text(source.get("newest_item")),
            next_due=stored_fields.text(source.get("next_due")),
            pages_waiting=stored_fields.whole(source.get("pages_waiting")),
            recorded_in_error=flag if isinstance(flag := source.get("in_error"), bool) else None,
        )

    @property
    def not_modified_ratio(self) -> float | None:
        """Share of polls answered 304 Not Modified (how well the feed's conditional GETs work)."""
        if not self.polls or self.not_modified is None:
            return None
        return self.not_modified / self.polls

    @property
    def failing(self) -> bool:
        """Its latest poll failed, or failures are still running in a row."""
        return self.status == "failed" or (self.error_streak or 0) > 0

    @property
    def in_error(self) -> bool:
        """As recorded (the poll flow's limit reached); on older documents: failing."""
        return self.recorded_in_error if self.recorded_in_error is not None else self.failing

    @property
    def never_polled(self) -> bool:
        return self.status is None and self.checked_at is None

    def to_dict(self) -> dict[str, JsonValue]:
        return {
            "feed": self.feed,
            "status": self.status,
            "error_streak": self.error_streak,
            "last_success": self.last_success,
            "last_error": self.last_error,
            "last_error_message": self.last_error_message,
            "checked_at": self.checked_at,
            "polls": self.polls,
            "not_modified": self.not_modified,
            "not_modified_ratio": self.not_modified_ratio,
            "newest_item": self.newest_item,
            "next_due": self.next_due,
            "pages_waiting": self.pages_waiting,
            "in_registry": self.in_registry,
            "in_error": self.in_error,
            "failing": self.failing,
        }


def _order(row: FeedHealth) -> tuple[int, int, str]:
    """Feeds in error first, then failing ones (longest streak first), then never polled, then
    the rest, by name."""
    rank = 0 if row.in_error else 1 if row.failing else 2 if row.never_polled else 3
    return rank, -(row.error_streak or 0), row.feed


def feed_health(
    client: Elasticsearch, names: IndexNames, registry: FeedRegistry | None = None
) -> list[FeedHealth]:
    """Every feed with a health document, plus the registry's feeds never polled (when given)."""
    result = search_alias(
        client, names.feed_health, "reading feed health", query={"match_all": {}}, size=MAX_FEEDS
    )
    found = (FeedHealth.from_source(as_object(hit.get("_source"))) for hit in hits(result))
    rows = {row.feed: row for row in found}
    if registry is not None:
        listed = {spec.name for spec in registry}
        rows = {name: replace(row, in_registry=name in listed) for name, row in rows.items()}
        for name in listed - rows.keys():
            rows[name] = FeedHealth(feed=name, in_registry=True)
    return sorted(rows.values(), key=_order)


def feeds_in_error(client: Elasticsearch, names: IndexNames, size: int = 20) -> tuple[int, list[FeedHealth]]:
    """How many feeds are in error or failing, and the worst ``size`` of them (in error first,
    then the longest streak): a feed that failed once is worth an operator's look already."""
    query: JsonObject = {
        "bool": {
            "should": [
                {"term": {"in_error": True}},
                {"term": {"status": "failed"}},
                {"range": {"error_streak": {"gt": 0}}},
            ],
            "minimum_should_match": 1,
        }
    }
    result = search_alias(
        client,
        names.feed_health,
        "reading feed health",
        query=query,
        size=size,
        track_total_hits=True,
        sort=[
            {"in_error": {"order": "desc", "missing": "_last", "unmapped_type": "boolean"}},
            {"error_streak": {"order": "desc", "missing": "_last"}},
            {"feed": {"order": "asc"}},
        ],
    )
    rows = [FeedHealth.from_source(as_object(hit.get("_source"))) for hit in hits(result)]
    return total_hits(result), rows
