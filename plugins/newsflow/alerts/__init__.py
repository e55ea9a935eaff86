"""Story alerts: stored queries that raise one alert per new story and per real update.

The processing flow calls ``raise_alerts(client, names, article_ids, run_id)`` after
indexing each batch; the CLI manages rules with ``add_rule``/``list_rules``/``remove_rule``.
"""

from __future__ import annotations

from newsflow.alerts.raising import AlertOptions, AlertReport, raise_alerts
from newsflow.alerts.rules import AlertRule, add_rule, list_rules, remove_rule
from newsflow.alerts.webhook import Delivery, WebhookOptions, post_alert

__all__ = [
    "AlertOptions",
    "AlertReport",
    "AlertRule",
    "Delivery",
    "WebhookOptions",
    "add_rule",
    "list_rules",
    "post_alert",
    "raise_alerts",
    "remove_rule",
]
