"""Raising story alerts after a batch is indexed: one per new story, one per real update.

A rule matches articles, but a reader wants stories: three reports of one story (two
outlets and a syndicated copy) are one alert. After each batch, for each rule:

1. the rule's query runs over the batch's article ids only (a plain search; the
   integ-test node has no percolator);
2. each matching article's story is looked up as it now stands (first report,
   outlets, languages, size), following recorded merges so an alert raised under an
   old story id still counts;
3. a story never alerted for this rule raises ``new_story``; one alerted before raises
   ``update`` only if it gained an outlet or a language since; anything else (a
   syndicated copy, a second report from a known outlet, a rerun) raises nothing.

Each alert is a document in ``newsflow-alerts`` whose id hashes rule, story and what
changed, written create-only, so reruns and concurrent batches never raise twice. Then
it is POSTed to the rule's webhook with bounded retries; an alert whose earlier
delivery failed is POSTed again by the next run that matches its story (receivers
dedupe on ``alert_id``).
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING

from newsflow import stored_fields
from newsflow.alerts.rules import AlertRule, list_rules
from newsflow.alerts.webhook import WebhookOptions, post_alert
from newsflow.errors import ConfigError, IndexingError, ServiceError
from newsflow.es_client import hits, search_alias
from newsflow.index.alerts import (
    alert_change,
    alert_document,
    alert_id,
    create_alert,
    iso_now,
    mark_delivery,
    refresh_alerts,
)
from newsflow.index.names import IndexNames
from newsflow.jsontypes import JsonObject, JsonValue, as_object
from newsflow.query_text import text_query
from newsflow.story_view import StoryHead, story_heads

if TYPE_CHECKING:
    from elasticsearch import Elasticsearch

log = logging.getLogger(__name__)

ID_CHUNK = 5000  # article ids per search (within the index's default result window)
UNDELIVERED = ("pending", "failed")


@dataclass(frozen=True, slots=True)
class AlertOptions:
    """How alerts are raised and delivered; one object for the alerting step."""

    webhook: WebhookOptions = field(default_factory=WebhookOptions)
    max_stories: int = 1000  # stories considered per rule and batch; more are counted, not raised

    def __post_init__(self) -> None:
        if self.max_stories < 1:
            raise ConfigError(f"max_stories={self.max_stories} must be at least 1")


@dataclass(frozen=True, slots=True)
class AlertReport:
    """What one call did, as counts (for the run record) and the ids of the alerts raised."""

    run_id: str
    rules: int = 0
    articles: int = 0  # article ids checked
    matched_articles: int = 0  # (rule, article) matches
    stories: int = 0  # (rule, story) pairs the matches belong to
    new_stories: int = 0
    updates: int = 0
    unchanged: int = 0  # matched stories with nothing new for the rule
    already_raised: int = 0  # the same alert was written by a rerun or a concurrent batch
    delivered: int = 0
    redelivered: int = 0  # alerts of earlier runs whose delivery had failed, now delivered
    delivery_failed: int = 0
    failures: Mapping[str, int] = field(default_factory=dict)  # reason -> count
    alert_ids: tuple[str, ...] = ()

    @property
    def raised(self) -> int:
        return self.new_stories + self.updates

    def counts(self) -> dict[str, int | dict[str, int]]:
        """The run-record counts (``alerts_*``); failures by reason."""
        counts: dict[str, int | dict[str, int]] = {
            "alerts_rules": self.rules,
            "alerts_matched_articles": self.matched_articles,
            "alerts_new_stories": self.new_stories,
            "alerts_updates": self.updates,
            "alerts_unchanged": self.unchanged,
            "alerts_already_raised": self.already_raised,
            "alerts_delivered": self.delivered,
            "alerts_redelivered": self.redelivered,
            "alerts_delivery_failed": self.delivery_failed,
        }
        if self.failures:
            counts["alerts_failed"] = dict(self.failures)
        return counts

    def to_dict(self) -> dict[str, JsonValue]:
        return {
            "run_id": self.run_id,
            "rules": self.rules,
            "articles": self.articles,
            "matched_articles": self.matched_articles,
            "stories": self.stories,
            "new_stories": self.new_stories,
            "updates": self.updates,
            "unchanged": self.unchanged,
            "already_raised": self.already_raised,
            "delivered": self.delivered,
            "redelivered": self.redelivered,
            "delivery_failed": self.delivery_failed,
            "failures": dict(self.failures),
            "alert_ids": list(self.alert_ids),
        }


@dataclass(frozen=True, slots=True)
class _Prior:
    """What a rule already said about a story: outlets and languages alerted, undelivered alerts."""

    outlets: frozenset[str]
    languages: frozenset[str]
    undelivered: tuple[tuple[str, JsonObject], ...]


def _matches(
    client: Elasticsearch, names: IndexNames, rule: AlertRule, ids: Sequence[str]
) -> dict[str, list[str]]:
    """story id -> the batch's articles that match ``rule``."""
    stories: dict[str, list[str]] = {}
    for start in range(0, len(ids), ID_CHUNK):
        chunk = list(ids[start : start + ID_CHUNK])
        resp = search_alias(
            client,
            names.articles,
            "alert look-up",
            size=len(chunk),
            query={"bool": {"must": [text_query(rule.query)], "filter": [{"ids": {"values": chunk}}]}},
            _source=["story_id"],
        )
        for hit in hits(resp):
            story = stored_fields.string(as_object(hit.get("_source")).get("story_id")) or str(hit["_id"])
            stories.setdefault(story, []).append(str(hit["_id"]))
    return stories


def _former_ids(client: Elasticsearch, names: IndexNames, story_ids: Iterable[str]) -> dict[str, str]:
    """Old story id -> the current story that absorbed it (from the recorded merges)."""
    wanted = sorted(set(story_ids))
    try:
        resp = search_alias(
            client,
            names.merges,
            "alert look-up",
            size=10_000,
            query={"terms": {"story_id": wanted}},
            _source=["story_id", "merged"],
        )
    except ServiceError as exc:
        log.warning("merges not readable (%s); alerts under renamed story ids are not recognised", exc)
        return {}
    former: dict[str, str] = {}
    for hit in hits(resp):
        source = as_object(hit.get("_source"))
        current = stored_fields.string(source.get("story_id"))
        if current is None:
            continue
        for old in stored_fields.texts(source.get("merged")):
            if old != current:
                former.setdefault(old, current)
    return former


def _priors(
    client: Elasticsearch, names: IndexNames, rules: Sequence[str], story_ids: Iterable[str]
) -> dict[tuple[str, str], _Prior]:
    """(rule, current story) -> what earlier alerts of that rule said about it, merges followed."""
    current = set(story_ids)
    former = _former_ids(client, names, current)
    lookup = {**{s: s for s in current}, **former}
    resp = search_alias(
        client,
        names.alerts,
        "alert look-up",
        size=10_000,
        query={
            "bool": {"filter": [{"terms": {"rule": list(rules)}}, {"terms": {"story_id": sorted(lookup)}}]}
        },
    )
    found: dict[tuple[str, str], list[tuple[str, JsonObject]]] = {}
    for hit in hits(resp):
        src = as_object(hit.get("_source"))
        rule, story = stored_fields.string(src.get("rule")), stored_fields.string(src.get("story_id"))
        if rule and story:  # the query filtered on both: anything else is no alert of theirs
            found.setdefault((rule, lookup.get(story, story)), []).append((str(hit["_id"]), src))
    # A lone string is one outlet or language, not one per character.
    return {
        key: _Prior(
            outlets=frozenset(o for _, src in docs for o in stored_fields.texts(src.get("outlets"))),
            languages=frozenset(x for _, src in docs for x in stored_fields.texts(src.get("languages"))),
            undelivered=tuple((i, src) for i, src in docs if src.get("delivery") in UNDELIVERED),
        )
        for key, docs in found.items()
    }


def _payload(doc_id: str, document: JsonObject) -> dict[str, JsonValue]:
    """What the webhook receives: the alert, with its id to deduplicate on."""
    hidden = {"delivery", "delivery_attempts", "delivery_error", "delivered_at", "webhook_host"}
    return {"alert_id": doc_id, **{k: v for k, v in document.items() if k not in hidden}}


class _Run:
    """One ``raise_alerts`` call's state: counts, raised ids, delivery."""

    def __init__(self, client: Elasticsearch, names: IndexNames, options: AlertOptions) -> None:
        self.client, self.names, self.options = client, names, options
        self.counts: Counter[str] = Counter()
        self.failures: Counter[str] = Counter()
        self.raised: list[str] = []

    def deliver(self, rule: AlertRule, doc_id: str, document: JsonObject, *, again: bool) -> None:
        if not rule.webhook:
            return
        delivery = post_alert(rule.webhook, _payload(doc_id, document), self.options.webhook)
        ok = delivery.status == "delivered"
        self.counts[("redelivered" if again else "delivered") if ok else "delivery_failed"] += 1
        if not ok:
            self.failures[f"webhook_{delivery.error}"] += 1
        from elasticsearch import ApiError, TransportError

        try:
            mark_delivery(
                self.client,
                self.names,
                doc_id,
                delivery=delivery.status,
                attempts=(stored_fields.whole(document.get("delivery_attempts")) or 0) + delivery.attempts,
                error=delivery.error,
                delivered_at=iso_now() if ok else None,
            )
        except (ApiError, TransportError) as exc:  # counted; the alert itself stands
            log.warning("recording delivery of alert %s failed: %s", doc_id, exc)
            self.failures["delivery_record_failed"] += 1

    def story(
        self,
        rule: AlertRule,
        head: StoryHead,
        articles: Sequence[str],
        prior: _Prior | None,
        *,
        run_id: str,
        raised_at: str,
    ) -> None:
        for doc_id, document in prior.undelivered if prior else ():
            self.deliver(rule, doc_id, document, again=True)
        new_outlets = sorted(set(head.outlets) - prior.outlets) if prior else []
        new_languages = sorted(set(head.languages) - prior.languages) if prior else []
        if prior is not None and not new_outlets and not new_languages:
            self.counts["unchanged"] += 1
            return
        doc_id = alert_id(rule.name, head.story_id, alert_change(new_outlets, new_languages))
        document = alert_document(
            rule=rule.name,
            query=rule.query,
            kind="update" if prior else "new_story",
            story_id=head.story_id,
            first=head.first.to_dict(),
            outlets=head.outlets,
            languages=head.languages,
            new_outlets=new_outlets,
            new_languages=new_languages,
            reports=head.reports,
            article_ids=articles,
            run_id=run_id,
            webhook_host=rule.webhook_host,
            raised_at=raised_at,
        )
        try:
            created = create_alert(self.client, self.names, doc_id, document)
        except IndexingError as exc:
            log.warning("%s", exc)
            self.failures["alert_write_failed"] += 1
            return
        if not created:
            self.counts["already_raised"] += 1
            return
        self.counts["updates" if prior else "new_stories"] += 1
        self.raised.append(doc_id)
        self.deliver(rule, doc_id, document, again=False)


def raise_alerts(
    client: Elasticsearch,
    names: IndexNames,
    article_ids: Sequence[str],
    run_id: str,
    *,
    options: AlertOptions | None = None,
    raised_at: datetime | None = None,
) -> AlertReport:
    """Raise the alerts that the just-indexed ``article_ids`` call for (see the module docstring).

    The processing flow calls this once per batch, after indexing. Idempotent: calling it
    again with the same ids raises nothing new. ``raised_at`` is bookkeeping (default: now).
    """
    options = options or AlertOptions()
    ids = sorted(set(article_ids))
    if not ids:
        return AlertReport(run_id=run_id)
    try:
        rules = list_rules(client, names)
    except ServiceError as exc:
        log.warning("no alert rules read: %s", exc)
        return AlertReport(run_id=run_id, articles=len(ids), failures={"rules_unreadable": 1})
    if not rules:
        return AlertReport(run_id=run_id, articles=len(ids))
    client.indices.refresh(index=names.articles)  # the batch was just written; search must see it
    run = _Run(client, names, options)
    matched: dict[str, dict[str, list[str]]] = {}
    for rule in rules:
        try:
            stories = _matches(client, names, rule, ids)
        except ServiceError as exc:
            log.warning("alert %r: %s", rule.name, exc)
            run.failures["rule_search_failed"] += 1
            continue
        if len(stories) > options.max_stories:
            run.failures["too_many_stories"] += len(stories) - options.max_stories
            stories = dict(sorted(stories.items())[: options.max_stories])
        matched[rule.name] = stories
    all_stories = {s for stories in matched.values() for s in stories}
    heads = story_heads(client, names.articles, sorted(all_stories)) if all_stories else {}
    priors = _priors(client, names, list(matched), all_stories) if all_stories else {}
    when = iso_now(raised_at)
    for rule in rules:
        for story_id, articles in sorted(matched.get(rule.name, {}).items()):
            head = heads.get(story_id)
            if head is None:
                run.failures["story_gone"] += 1  # rewritten by a concurrent batch; its next run alerts
                continue
            run.story(rule, head, articles, priors.get((rule.name, story_id)), run_id=run_id, raised_at=when)
    if run.raised or run.counts["delivered"] or run.counts["redelivered"]:
        refresh_alerts(client, names)
    return AlertReport(
        run_id=run_id,
        rules=len(rules),
        articles=len(ids),
        matched_articles=sum(len(a) for stories in matched.values() for a in stories.values()),
        stories=sum(len(stories) for stories in matched.values()),
        new_stories=run.counts["new_stories"],
        updates=run.counts["updates"],
        unchanged=run.counts["unchanged"],
        already_raised=run.counts["already_raised"],
        delivered=run.counts["delivered"],
        redelivered=run.counts["redelivered"],
        delivery_failed=run.counts["delivery_failed"],
        failures=dict(run.failures),
        alert_ids=tuple(run.raised),
    )
