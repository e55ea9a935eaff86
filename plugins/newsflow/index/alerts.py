"""Alert rules and raised alerts as documents: ids, bodies and the writes.

A raised alert's ``_id`` hashes the rule, the story and what changed (``new``, or the
outlets and languages the story gained), and it is written with ``op_type=create``:
a rerun, a retried task or a concurrent batch that reaches the same conclusion finds
the document already there and raises nothing. Delivery is recorded on the same
document with a partial update (no script, so it works on the integ-test node too).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING

from newsflow.errors import IndexingError, ServiceError
from newsflow.index.names import IndexNames
from newsflow.jsontypes import JsonObject, JsonValue
from newsflow.records import stable_id
from newsflow.timestamps import iso_z, now_utc

if TYPE_CHECKING:
    from elasticsearch import Elasticsearch

MAX_ARTICLE_IDS = 100  # matching articles listed on one alert; ``reports`` has the story's size


def iso_now(moment: datetime | None = None) -> str:
    return iso_z(moment or now_utc(), "milliseconds")  # bookkeeping only: no decision reads it


def rule_id(name: str) -> str:
    """One rule per name, whatever its case."""
    return stable_id(name.casefold())


def alert_id(rule: str, story_id: str, change: str) -> str:
    """Stable per (rule, story, what changed): the same conclusion is the same document."""
    return stable_id(rule.casefold(), story_id, change)


def alert_change(new_outlets: Sequence[str], new_languages: Sequence[str]) -> str:
    """What an update adds, as a canonical string (``new`` for the first alert of a story)."""
    if not new_outlets and not new_languages:
        return "new"
    return f"outlets={','.join(sorted(new_outlets))};languages={','.join(sorted(new_languages))}"


def alert_document(
    *,
    rule: str,
    query: str,
    kind: str,
    story_id: str,
    first: JsonObject,
    outlets: Sequence[str],
    languages: Sequence[str],
    new_outlets: Sequence[str],
    new_languages: Sequence[str],
    reports: int,
    article_ids: Sequence[str],
    run_id: str,
    webhook_host: str | None,
    raised_at: str,
) -> dict[str, JsonValue]:
    """The ``_source`` of one alert; ``first`` is the story's first report (title, url, published, source)."""
    return {
        "rule": rule,
        "query": query,
        "kind": kind,
        "story_id": story_id,
        "title": first.get("title"),
        "url": first.get("url"),
        "first_published": first.get("published"),
        "first_source": first.get("source"),
        "outlets": list(outlets),
        "languages": list(languages),
        "new_outlets": list(new_outlets),
        "new_languages": list(new_languages),
        "reports": reports,
        "article_ids": sorted(article_ids)[:MAX_ARTICLE_IDS],
        "run_id": run_id,
        "raised_at": raised_at,
        "webhook_host": webhook_host,
        "delivery": "pending" if webhook_host else "none",
        "delivery_attempts": 0,
        "delivery_error": None,
        "delivered_at": None,
    }


def _missing(alias: str) -> ServiceError:
    return ServiceError(f"the alias {alias!r} does not exist; run `newsflow index setup` (safe to repeat)")


def put_rule(client: Elasticsearch, names: IndexNames, document: JsonObject, *, replace: bool) -> bool:
    """Store a rule; False when one with that name exists and ``replace`` is off."""
    from elasticsearch import ConflictError, NotFoundError

    from newsflow.index.templates import write_index

    if write_index(client, names.alert_rules) is None:
        raise _missing(names.alert_rules)
    try:
        client.index(
            index=names.alert_rules,
            id=rule_id(str(document["name"])),
            document=dict(document),
            op_type="index" if replace else "create",
            refresh=True,  # the next run, and `alerts list`, see it at once
        )
    except ConflictError:
        return False
    except NotFoundError:
        raise _missing(names.alert_rules) from None
    return True


def delete_rule(client: Elasticsearch, names: IndexNames, name: str) -> bool:
    """Remove a rule; False when there was none. Alerts it raised stay (they are history)."""
    from elasticsearch import NotFoundError

    if not client.indices.exists_alias(name=names.alert_rules):
        raise _missing(names.alert_rules)
    try:
        client.delete(index=names.alert_rules, id=rule_id(name), refresh=True)
    except NotFoundError:
        return False
    return True


def create_alert(client: Elasticsearch, names: IndexNames, doc_id: str, document: JsonObject) -> bool:
    """Write a raised alert once; False when it already exists (a rerun or a concurrent batch)."""
    from elasticsearch import ApiError, ConflictError, TransportError

    try:
        client.index(index=names.alerts, id=doc_id, document=dict(document), op_type="create")
    except ConflictError:
        return False
    except (ApiError, TransportError) as exc:
        raise IndexingError(f"writing alert {doc_id} to {names.alerts!r} failed: {exc}") from exc
    return True


def mark_delivery(
    client: Elasticsearch,
    names: IndexNames,
    doc_id: str,
    *,
    delivery: str,
    attempts: int,
    error: str | None,
    delivered_at: str | None,
) -> None:
    """Record how the webhook POST went on the alert itself (a partial update, no script)."""
    fields = delivery_fields(delivery=delivery, attempts=attempts, error=error, delivered_at=delivered_at)
    client.update(index=names.alerts, id=doc_id, doc=fields, retry_on_conflict=3)


def delivery_fields(
    *, delivery: str, attempts: int, error: str | None, delivered_at: str | None
) -> dict[str, JsonValue]:
    """The fields a delivery outcome sets on an alert."""
    return {
        "delivery": delivery,
        "delivery_attempts": attempts,
        "delivery_error": error,
        "delivered_at": delivered_at,
    }


def refresh_alerts(client: Elasticsearch, names: IndexNames) -> None:
    """Make this run's alerts visible to the next run's look-up of what was already raised."""
    client.indices.refresh(index=names.alerts)
