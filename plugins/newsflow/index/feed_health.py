"""One document per feed with its latest poll outcome, for ``feeds status`` and Kibana.

Poll runs overwrite a feed's document (its ``_id`` hashes the feed name), so the index
always holds the current state of every feed; each run's totals stay in
``newsflow-runs`` (stage ``poll``). ``status`` is ``success``, ``partial`` or ``failed``;
``error_streak`` counts failed polls in a row; ``last_error`` is the short reason.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Literal

from newsflow.errors import InputError
from newsflow.index.names import IndexNames

if TYPE_CHECKING:
    from elasticsearch import Elasticsearch

FeedStatus = Literal["success", "partial", "failed"]
STATUSES: frozenset[str] = frozenset({"success", "partial", "failed"})


def feed_health_id(feed: str) -> str:
    return hashlib.sha256(feed.encode()).hexdigest()[:32]


def _iso(value: datetime | str | None) -> str | None:
    if value is None or isinstance(value, str):
        return value
    moment = value if value.tzinfo else value.replace(tzinfo=UTC)
    return moment.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def feed_health_document(
    feed: str,
    status: FeedStatus,
    *,
    error_streak: int,
    checked_at: datetime | str,
    last_success: datetime | str | None = None,
    last_error: str | None = None,
) -> dict[str, Any]:
    """The document of one feed; ``checked_at`` is the poll run's logical time."""
    if not feed:
        raise InputError("feed health needs the feed's registry name")
    if status not in STATUSES:
        raise InputError(f"feed {feed!r}: status {status!r} is not one of {sorted(STATUSES)}")
    if error_streak < 0:
        raise InputError(f"feed {feed!r}: error_streak {error_streak} is negative")
    return {
        "feed": feed,
        "status": status,
        "error_streak": error_streak,
        "last_success": _iso(last_success),
        "last_error": last_error,
        "checked_at": _iso(checked_at),
    }


def record_feed_health(
    client: Elasticsearch, documents: Iterable[Mapping[str, Any]], *, names: IndexNames | None = None
) -> int:
    """Write (overwrite) each feed's document; returns how many were written."""
    from elasticsearch.helpers import bulk

    names = names or IndexNames.from_env()
    actions = [
        {
            "_op_type": "index",
            "_index": names.feed_health,
            "_id": feed_health_id(str(d["feed"])),
            "_source": d,
        }
        for d in documents
    ]
    if not actions:
        return 0
    done, _ = bulk(client, actions, max_retries=3)
    return int(done)
