"""Alert rules: a name, a query in the search syntax, and where to POST what it finds.

Rules live in Elasticsearch (``newsflow-alert-rules``) so every worker sees the same
ones. The integ-test node has no percolator module, so a rule is a plain document;
after each batch, each rule runs as an ordinary search restricted to the batch's
article ids (``alerts.raising``). On a cluster with thousands of rules a percolator
index would invert that loop; with tens of rules a search each is cheaper than the
machinery.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from newsflow import stored_fields
from newsflow.errors import ConfigError, InputError
from newsflow.es_client import hits, search_alias
from newsflow.index.alerts import delete_rule, iso_now, put_rule
from newsflow.index.names import IndexNames
from newsflow.jsontypes import JsonObject, JsonValue, as_object
from newsflow.query_text import to_simple_query
from newsflow.settings import check_service_url
from newsflow.urls import site_of

if TYPE_CHECKING:
    from elasticsearch import Elasticsearch

_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9 _.:-]{0,99}$")
MAX_RULES = 1000

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class AlertRule:
    """One stored alert. The webhook URL may carry a token: show ``webhook_host`` instead."""

    name: str
    query: str
    webhook: str | None = None
    created_at: str | None = None

    def __post_init__(self) -> None:
        if not _NAME_RE.match(self.name):
            raise InputError(
                f"alert name {self.name!r} must start with a letter or digit and use at most 100 "
                "letters, digits, spaces and . _ : -"
            )
        to_simple_query(self.query)  # raises on a query with nothing to search for
        if self.webhook is not None:
            try:  # a port out of range or a broken IPv6 host would fail every delivery and listing
                check_service_url(f"the webhook for alert {self.name!r}", self.webhook, several=False)
            except ConfigError as exc:
                raise InputError(str(exc)) from None

    @property
    def webhook_host(self) -> str | None:
        """Scheme, host and port only: what may be shown and stored beside alerts."""
        return site_of(self.webhook) if self.webhook else None

    def to_document(self) -> dict[str, JsonValue]:
        return {
            "name": self.name,
            "query": self.query,
            "webhook": self.webhook,
            "created_at": self.created_at,
        }

    @classmethod
    def from_document(cls, source: JsonObject) -> AlertRule:
        """A stored rule; ``KeyError`` without a name or query, ``TypeError`` for a webhook that
        is not a string (a list once reached the URL check and broke every listing; read as no
        webhook, the rule would raise alerts nobody is sent). A date of another type reads as
        missing."""
        webhook = source.get("webhook")
        if webhook is not None and not isinstance(webhook, str):
            raise TypeError(f"its webhook is a {type(webhook).__name__}, not a URL")
        return cls(
            name=str(source["name"]),
            query=str(source["query"]),
            webhook=webhook,
            created_at=stored_fields.instant(source.get("created_at")),
        )

    def to_dict(self) -> dict[str, JsonValue]:
        """For display: the webhook reduced to its host."""
        return {
            "name": self.name,
            "query": self.query,
            "webhook": self.webhook_host,
            "created_at": self.created_at,
        }


def add_rule(
    client: Elasticsearch, rule: AlertRule, names: IndexNames | None = None, *, replace: bool = False
) -> AlertRule:
    """Store ``rule``; an existing name is an error unless ``replace``."""
    names = names or IndexNames.from_env()
    stored = AlertRule(rule.name, rule.query, rule.webhook, rule.created_at or iso_now())
    if not put_rule(client, names, stored.to_document(), replace=replace):
        raise InputError(f"an alert named {rule.name!r} exists; remove it first or pass --replace")
    return stored


def list_rules(client: Elasticsearch, names: IndexNames | None = None) -> tuple[AlertRule, ...]:
    """Every rule, by name."""
    names = names or IndexNames.from_env()
    resp = search_alias(
        client, names.alert_rules, "reading alert rules", size=MAX_RULES, sort=[{"name": "asc"}]
    )
    rules = []
    for hit in hits(resp):
        try:
            rules.append(AlertRule.from_document(as_object(hit.get("_source"))))
        except (InputError, KeyError, TypeError) as exc:  # stored by an older version, or by hand
            log.warning(
                "alert rule %s is not usable and is left out (%s); remove or re-add it", hit["_id"], exc
            )
    return tuple(rules)


def remove_rule(client: Elasticsearch, name: str, names: IndexNames | None = None) -> bool:
    """Delete the rule named ``name`` (any case); False when there was none."""
    return delete_rule(client, names or IndexNames.from_env(), name)
