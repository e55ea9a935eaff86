"""One document per feed with its latest poll outcome, for ``feeds status`` and Kibana.

Poll runs overwrite a feed's document (its ``_id`` hashes the feed name) after each batch,
so the index always holds the current state of every feed; each run's totals stay in
``newsflow-runs`` (stage ``poll``). ``status`` is ``success``, ``partial`` (the feed answered
but some of its pages failed) or ``failed``; ``error_streak`` counts failed polls in a row and
``in_error`` says it reached the flow's limit; ``last_error`` is the short reason
(``http_404``) and ``last_error_message`` the plain text of the failure (one line, no control
characters, credentials masked; still untrusted, so printers escape it); ``polls`` and
``not_modified`` give the 304 ratio; ``newest_item`` and ``next_due`` are ISO UTC;
``pages_waiting`` counts pages the page budget left for a later run.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any, Literal

from newsflow.errors import InputError
from newsflow.index.names import IndexNames
from newsflow.jsontypes import JsonValue
from newsflow.records import stable_id
from newsflow.redact import redact_text
from newsflow.textsafe import TERMINAL_CONTROLS, clean_surrogates

if TYPE_CHECKING:
    from elasticsearch import Elasticsearch

FeedStatus = Literal["success", "partial", "failed"]
STATUSES: frozenset[str] = frozenset({"success", "partial", "failed"})


def feed_health_id(feed: str) -> str:
    return stable_id(feed)


_CONTROL = re.compile(f"[{TERMINAL_CONTROLS}\t\n\u2028\u2029]+")
MESSAGE_CHARS = 500


def plain_message(text: str | None) -> str | None:
    """A failure message as stored: credentials masked, one line, control characters as spaces."""
    if not text:
        return None
    one_line = " ".join(_CONTROL.sub(" ", clean_surrogates(redact_text(text))).split())
    return one_line[:MESSAGE_CHARS] or None


@dataclass(frozen=True, slots=True)
class FeedHealth:
    """One feed's health after a poll: what the poll flow hands the index (``record_feed_health``).

    Dates are ISO UTC strings (``iso_z``); ``last_error_message`` is stored as ``plain_message``
    makes it. Invalid values are refused when it is built, not when written.
    """

    feed: str
    status: FeedStatus
    error_streak: int
    checked_at: str  # the poll run's logical time
    last_success: str | None = None
    last_error: str | None = None
    last_error_message: str | None = None
    polls: int = 0
    not_modified: int = 0
    newest_item: str | None = None
    next_due: str | None = None
    pages_waiting: int = 0
    in_error: bool = False

    def __post_init__(self) -> None:
        if not self.feed:
            raise InputError("feed health needs the feed's registry name")
        if self.status not in STATUSES:
            raise InputError(f"feed {self.feed!r}: status {self.status!r} is not one of {sorted(STATUSES)}")
        counts = ("error_streak", "polls", "not_modified", "pages_waiting")
        for name, value in ((n, getattr(self, n)) for n in counts):
            if value < 0:
                raise InputError(f"feed {self.feed!r}: {name} {value} is negative")

    def to_document(self) -> dict[str, JsonValue]:
        return {**asdict(self), "last_error_message": plain_message(self.last_error_message)}


def record_feed_health(
    client: Elasticsearch, healths: Iterable[FeedHealth], *, names: IndexNames | None = None
) -> int:
    """Write (overwrite) each feed's document; returns how many were written."""
    from elasticsearch.helpers import bulk

    names = names or IndexNames.from_env()
    actions = [
        {
            "_op_type": "index",
            "_index": names.feed_health,
            "_id": feed_health_id(health.feed),
            "_source": health.to_document(),
        }
        for health in healths
    ]
    if not actions:
        return 0
    done, _ = bulk(client, actions, max_retries=3)
    return int(done)


def read_feed_health(client: Elasticsearch, *, names: IndexNames | None = None) -> list[dict[str, Any]]:
    """Every feed's document, worst first (in error, then by error streak), for status screens."""
    from elasticsearch import NotFoundError

    names = names or IndexNames.from_env()
    try:
        found = client.search(
            index=names.feed_health,
            size=10_000,
            sort=[{"in_error": "desc"}, {"error_streak": "desc"}, {"feed": "asc"}],
        )
    except NotFoundError:
        return []
    return [dict(hit["_source"]) for hit in found["hits"]["hits"]]
