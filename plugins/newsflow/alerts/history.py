"""What alerts have said so far: per rule, and the most recent ones."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from newsflow import stored_fields
from newsflow.es_client import aggregation, buckets, doc_count, hits, metric, search_alias
from newsflow.index.names import IndexNames
from newsflow.jsontypes import JsonObject, JsonValue, as_object

if TYPE_CHECKING:
    from elasticsearch import Elasticsearch


@dataclass(frozen=True, slots=True)
class RuleActivity:
    rule: str
    alerts: int
    stories: int
    last_raised: str | None
    last_title: str | None


@dataclass(frozen=True, slots=True)
class RaisedAlert:
    alert_id: str
    rule: str
    kind: str
    story_id: str
    title: str | None
    first_source: str | None
    first_published: str | None
    outlets: tuple[str, ...]
    new_outlets: tuple[str, ...]
    new_languages: tuple[str, ...]
    reports: int
    raised_at: str | None
    delivery: str | None

    def to_dict(self) -> dict[str, JsonValue]:
        return {
            "alert_id": self.alert_id,
            "rule": self.rule,
            "kind": self.kind,
            "story_id": self.story_id,
            "title": self.title,
            "first_source": self.first_source,
            "first_published": self.first_published,
            "outlets": list(self.outlets),
            "new_outlets": list(self.new_outlets),
            "new_languages": list(self.new_languages),
            "reports": self.reports,
            "raised_at": self.raised_at,
            "delivery": self.delivery,
        }


def rule_activity(client: Elasticsearch, names: IndexNames | None = None) -> dict[str, RuleActivity]:
    """Per rule: alerts raised, stories they covered, and the latest one."""
    names = names or IndexNames.from_env()
    resp = search_alias(
        client,
        names.alerts,
        "reading alerts",
        size=0,
        aggs={
            "rules": {
                "terms": {"field": "rule", "size": 1000},
                "aggs": {
                    "stories": {"cardinality": {"field": "story_id"}},
                    "last": {
                        "top_hits": {
                            "size": 1,
                            "sort": [{"raised_at": "desc"}],
                            "_source": ["title", "raised_at"],
                        }
                    },
                },
            }
        },
    )
    activity = {}
    for bucket in buckets(aggregation(resp, "rules")):
        top = hits(as_object(bucket.get("last")))
        src = as_object(top[0].get("_source")) if top else {}
        activity[str(bucket["key"])] = RuleActivity(
            rule=str(bucket["key"]),
            alerts=doc_count(bucket),
            stories=stored_fields.whole(metric(bucket, "stories")) or 0,
            last_raised=stored_fields.instant(src.get("raised_at")),
            last_title=stored_fields.string(src.get("title")),
        )
    return activity


def recent_alerts(
    client: Elasticsearch, names: IndexNames | None = None, *, rule: str | None = None, size: int = 20
) -> tuple[RaisedAlert, ...]:
    """The latest alerts, newest first (of one rule, or all)."""
    names = names or IndexNames.from_env()
    query: JsonObject = {"term": {"rule": rule}} if rule else {"match_all": {}}
    resp = search_alias(
        client,
        names.alerts,
        "reading alerts",
        size=size,
        query=query,
        sort=[{"raised_at": "desc"}, {"story_id": "asc"}],
    )
    return tuple(
        RaisedAlert(
            alert_id=str(hit["_id"]),
            rule=str(src.get("rule")),
            kind=str(src.get("kind")),
            story_id=str(src.get("story_id")),
            title=stored_fields.string(src.get("title")),
            first_source=stored_fields.string(src.get("first_source")),
            first_published=stored_fields.instant(src.get("first_published")),
            outlets=stored_fields.texts(src.get("outlets")),
            new_outlets=stored_fields.texts(src.get("new_outlets")),
            new_languages=stored_fields.texts(src.get("new_languages")),
            reports=stored_fields.whole(src.get("reports")) or 0,
            raised_at=stored_fields.instant(src.get("raised_at")),
            delivery=stored_fields.string(src.get("delivery")),
        )
        for hit in hits(resp)
        for src in (as_object(hit.get("_source")),)
    )
