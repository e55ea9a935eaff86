"""``newsflow alerts add|list|remove|raised``: story alerts stored in Elasticsearch."""

from __future__ import annotations

import argparse
from typing import Any

from newsflow.cli.search_cmd import QUERY_HELP, short_id, when
from newsflow.cli.untrusted import print_json, safe

ALERTS_HELP = """\
An alert is a query in the search syntax. After each processing batch, the articles it
matches raise one alert per NEW story, and an update only when a story already alerted
gains a new outlet or language; a syndicated copy or a rerun raises nothing. Alerts are
documents in the newsflow-alerts index (Kibana: "Story alerts per rule") and, with --webhook,
are POSTed as JSON (with an alert_id to deduplicate on; up to 3 tries, 30 s at most).

"""


def register(subparsers: Any) -> None:
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "alerts",
        help="story alerts: add, list or remove a stored query; show the alerts raised",
        description="Story alerts: stored queries that raise one alert per new story.",
        epilog=ALERTS_HELP + QUERY_HELP.split("filters:")[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    add = actions.add_parser("add", help="store an alert: NAME and a QUERY in the search syntax")
    add.add_argument("name", help="a short name (letters, digits, spaces, . _ : -)")
    add.add_argument("query", help='what to watch for, e.g. "Kherson AND counteroffensive"')
    add.add_argument("--webhook", help="POST each alert as JSON to this http(s) URL")
    add.add_argument("--replace", action="store_true", help="replace an alert of the same name")
    listing = actions.add_parser("list", help="the stored alerts, with how many alerts each raised")
    remove = actions.add_parser("remove", help="delete a stored alert (the alerts it raised stay)")
    remove.add_argument("name")
    raised = actions.add_parser("raised", help="the latest alerts raised, newest first")
    raised.add_argument("--rule", help="only this alert's")
    raised.add_argument("--size", type=int, default=20, help="how many (default 20)")
    for sub in (add, listing, remove, raised):
        sub.add_argument("--json", action="store_true", help="machine-readable output")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from newsflow.es_client import make_client
    from newsflow.index import IndexNames

    names = IndexNames.from_env()
    client = make_client()
    try:
        handler = {"add": _add, "list": _list, "remove": _remove, "raised": _raised}[args.action]
        return handler(client, names, args)
    finally:
        client.close()


def _add(client: Any, names: Any, args: argparse.Namespace) -> int:
    from rich.console import Console

    from newsflow.alerts import AlertRule, add_rule

    rule = add_rule(client, AlertRule(args.name, args.query, args.webhook), names, replace=args.replace)
    if args.json:
        print_json(rule.to_dict())
        return 0
    target = f", POSTed to {safe(rule.webhook_host or '')}" if rule.webhook else ""
    Console().print(f"alert {safe(repr(rule.name))} stored: {safe(rule.query)}{target}", highlight=False)
    return 0


def _list(client: Any, names: Any, args: argparse.Namespace) -> int:
    from rich.console import Console
    from rich.table import Table

    from newsflow.alerts import list_rules
    from newsflow.alerts.history import rule_activity

    rules = list_rules(client, names)
    activity = rule_activity(client, names)
    if args.json:
        rows = []
        for rule in rules:
            seen = activity.get(rule.name)
            rows.append({**rule.to_dict(), "alerts": seen.alerts if seen else 0})
        print_json(rows)
        return 0
    table = Table(title=f"alerts: {len(rules)}")
    for column in ("name", "query", "webhook", "alerts raised", "stories", "last raised", "last story"):
        table.add_column(column)
    for rule in rules:
        seen = activity.get(rule.name)
        table.add_row(
            safe(rule.name),
            safe(rule.query),
            safe(rule.webhook_host or "-"),
            str(seen.alerts if seen else 0),
            str(seen.stories if seen else 0),
            when(seen.last_raised if seen else None),
            safe((seen.last_title if seen else None) or ""),
        )
    Console().print(table)
    if not rules:
        Console().print('no alerts stored; add one with `newsflow alerts add NAME "query"`')
    return 0


def _remove(client: Any, names: Any, args: argparse.Namespace) -> int:
    from rich.console import Console

    from newsflow.alerts import remove_rule

    removed = remove_rule(client, args.name, names)
    if args.json:
        print_json({"name": args.name, "removed": removed})
    else:
        message = "removed" if removed else "no such alert"
        Console().print(f"{safe(repr(args.name))}: {message}", highlight=False)
    return 0 if removed else 1


def _raised(client: Any, names: Any, args: argparse.Namespace) -> int:
    from rich.console import Console
    from rich.table import Table

    from newsflow.alerts.history import recent_alerts

    alerts = recent_alerts(client, names, rule=args.rule, size=args.size)
    if args.json:
        print_json([a.to_dict() for a in alerts])
        return 0
    table = Table(title=f"latest alerts: {len(alerts)}")
    for column in (
        "raised",
        "alert",
        "kind",
        "story",
        "first reported",
        "outlets",
        "what is new",
        "title",
        "webhook",
    ):
        table.add_column(column)
    for a in alerts:
        new = ", ".join([*a.new_outlets, *a.new_languages]) if a.kind == "update" else "new story"
        table.add_row(
            when(a.raised_at),
            safe(a.rule),
            safe(a.kind),
            short_id(a.story_id),
            f"{when(a.first_published)} {safe(a.first_source or '')}",
            safe(", ".join(a.outlets)),
            safe(new),
            safe(a.title or ""),
            safe(a.delivery or ""),
        )
    Console().print(table)
    return 0
