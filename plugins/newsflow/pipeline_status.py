"""What ``newsflow status`` shows besides runs and feeds: services, index sizes, freshness, dead letters.

Each reader answers one question and fails alone: the status screen shows what it could
read and says what it could not, so a cluster that is down still gets a useful screen.
"""

from __future__ import annotations

import logging
import statistics
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from newsflow import stored_fields
from newsflow.es_client import hits, metric, search_alias
from newsflow.jsontypes import as_object
from newsflow.redact import redact_text
from newsflow.timestamps import parse_utc_or_none

if TYPE_CHECKING:
    from elasticsearch import Elasticsearch

    from newsflow.index.names import IndexNames
    from newsflow.scheduler_api import SchedulerApi

log = logging.getLogger(__name__)

LAG_SAMPLE = 500  # recently indexed articles the publish-to-index lag is measured on


@dataclass(frozen=True, slots=True)
class ServiceState:
    name: str
    up: bool
    detail: str  # version and health, or why it is unreachable (redacted)

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "up": self.up, "detail": self.detail}


def elasticsearch_state(client: Elasticsearch, display_url: str) -> ServiceState:
    from elasticsearch import ApiError, TransportError

    try:
        health = client.options(request_timeout=5).cluster.health()
    except (TransportError, ApiError) as exc:
        why = f"{type(exc).__name__}: {exc}"
        return ServiceState("Elasticsearch", False, f"{display_url}: {redact_text(why)[:200]}")
    nodes = health.get("number_of_nodes")
    return ServiceState("Elasticsearch", True, f"{display_url}: {health.get('status')}, {nodes} node(s)")


def airflow_state(api: SchedulerApi) -> ServiceState:
    from newsflow.errors import ServiceError

    try:
        components = api.health()
    except ServiceError as exc:
        cause = exc.__cause__
        why = f"{type(cause).__name__}: {cause}" if cause else str(exc)
        return ServiceState("Airflow", False, f"{api.conn.display_url}: {redact_text(why)[:200]}")
    parts = ", ".join(f"{name} {state}" for name, state in sorted(components.items()))
    healthy = bool(components) and all(state == "healthy" for state in components.values())
    return ServiceState("Airflow", healthy, f"{api.conn.display_url}: {parts or 'no components reported'}")


def index_counts(client: Elasticsearch, names: IndexNames) -> dict[str, int | None]:
    """Documents under each alias; None for an alias that does not exist (run `index setup`)."""
    from elasticsearch import NotFoundError

    counts: dict[str, int | None] = {}
    for alias in names.all():
        try:
            counts[alias] = int(client.count(index=alias)["count"])
        except NotFoundError:
            counts[alias] = None
    return counts


@dataclass(frozen=True, slots=True)
class Freshness:
    """How current the article index is."""

    newest_indexed: str | None  # the latest ``indexed_at``: when the pipeline last wrote an article
    newest_published: str | None  # the latest ``published`` date an article claims
    sample: int  # recently indexed articles with a publish date, the lag is measured on
    median_lag_s: float | None  # publish -> index, median over the sample

    def to_dict(self) -> dict[str, Any]:
        return {
            "newest_indexed": self.newest_indexed,
            "newest_published": self.newest_published,
            "lag_sample": self.sample,
            "median_lag_s": self.median_lag_s,
        }


def freshness(client: Elasticsearch, names: IndexNames) -> Freshness:
    result = search_alias(
        client,
        names.articles,
        "reading freshness",
        size=LAG_SAMPLE,
        source_includes=["published", "indexed_at"],
        sort=[{"indexed_at": {"order": "desc", "missing": "_last"}}],
        query={"bool": {"filter": [{"exists": {"field": "published"}}]}},
        aggs={
            "indexed": {"max": {"field": "indexed_at"}},
            "published": {"max": {"field": "published"}},
        },
    )
    aggs = as_object(result.get("aggregations"))
    lags = []
    for hit in hits(result):
        source = as_object(hit.get("_source"))
        published = parse_utc_or_none(source.get("published"))
        indexed = parse_utc_or_none(source.get("indexed_at"))
        if published and indexed:
            lags.append((indexed - published).total_seconds())
    # A ``max`` on a date answers epoch milliseconds (null when no document has the field).
    indexed_max = stored_fields.instant(metric(aggs, "indexed"))
    if indexed_max is None:  # articles without a publish date still say when the index was written
        newest = search_alias(
            client,
            names.articles,
            "reading freshness",
            size=0,
            aggs={"indexed": {"max": {"field": "indexed_at"}}},
        )
        indexed_max = stored_fields.instant(metric(as_object(newest.get("aggregations")), "indexed"))
    return Freshness(
        newest_indexed=indexed_max,
        newest_published=stored_fields.instant(metric(aggs, "published")),
        sample=len(lags),
        median_lag_s=statistics.median(lags) if lags else None,
    )


@dataclass(frozen=True, slots=True)
class DeadLetters:
    """Documents Elasticsearch refused, kept under ``<archive>/dead-letter/``, and how many wait."""

    files: int
    lines: int
    waiting: int  # lines no replay has marked done
    unreadable: int  # lines that are not JSON objects (counted as waiting too)
    newest_file: str | None

    def to_dict(self) -> dict[str, Any]:
        return {
            "files": self.files,
            "lines": self.lines,
            "waiting": self.waiting,
            "unreadable": self.unreadable,
            "newest_file": self.newest_file,
        }


def dead_letters(archive_root: str) -> DeadLetters:
    """Count dead-letter lines as the replay sees them (``index.dead_letter.scan_dead_letters``)."""
    from newsflow.index.dead_letter import scan_dead_letters

    scan = scan_dead_letters(archive_root)
    waiting = len(scan.waiting) + scan.unreadable
    return DeadLetters(scan.files, scan.done + waiting, waiting, scan.unreadable, scan.newest_file)
