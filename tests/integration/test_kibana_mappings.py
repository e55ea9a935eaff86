"""The Kibana objects against the mappings Elasticsearch really holds after setup and writes."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]


def test_every_kibana_field_is_in_the_live_mappings_with_a_suitable_type(
    es_client: Any, story_index: Any, story_names: Any, kherson: list[Any]
) -> None:
    from newsflow.alerts import AlertRule, add_rule, raise_alerts
    from newsflow.dedup.corrections import Correction
    from newsflow.index.feed_health import FeedHealth, record_feed_health
    from newsflow.index.run_metrics import record_run_metrics
    from newsflow.index.templates import KINDS
    from newsflow.kibana import check_saved_objects, mapping_specs, saved_object_files
    from newsflow.kibana_files import load_saved_objects

    names = story_names
    story_index.add(kherson, run_id="kibana-1")
    add_rule(es_client, AlertRule("kherson", "Kherson"), names)
    assert raise_alerts(es_client, names, [a.id for a in kherson], "kibana-1").new_stories == 1
    record_run_metrics(
        es_client,
        "kibana-1",
        "process",
        {"pages_read": 3, "extracted": 3, "rejected": {"http_404": 1}, "index_created": 3, "index_failed": 0},
        "2026-11-22T06:00:00Z",
        "2026-11-22T06:00:05Z",
        names=names,
    )
    record_feed_health(
        es_client,
        [FeedHealth("demo", "failed", error_streak=2, checked_at="2026-11-22T06:00:00Z")],
        names=names,
    )
    story_index.correct([Correction.of(kherson[0].id, kherson[1].id, "apart", by="ana", note="two events")])
    live = {}
    for kind in KINDS:
        alias = names.alias_for(kind)
        (body,) = es_client.indices.get_mapping(index=alias).body.values()
        live[kind] = mapping_specs(body["mappings"])
    objects = [o for path in saved_object_files(REPO / "seeds" / "kibana") for o in load_saved_objects(path)]
    assert check_saved_objects(objects, live) == []
    assert live["newsflow-runs"]["counts.pages_read"]["type"] == "long"
    assert live["news-articles"]["title.raw"]["type"] == "keyword"
