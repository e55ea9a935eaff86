"""POSTing an alert to its webhook, with bounded retries.

A receiver that is restarting (connection refused, 502/503/504, 429) gets a few more
tries with growing pauses, all within ``max_total_s``; one that answers 4xx will not
change its mind and is not retried. Errors name the host, never the URL: webhook URLs
often carry a token in the path or the user part.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import Literal

from newsflow.backoff import doubling
from newsflow.errors import ConfigError
from newsflow.jsontypes import JsonObject
from newsflow.urls import site_of

log = logging.getLogger(__name__)

RETRY_STATUSES = frozenset({408, 425, 429, 500, 502, 503, 504})


@dataclass(frozen=True, slots=True)
class WebhookOptions:
    attempts: int = 3
    timeout_s: float = 5.0
    backoff_s: float = 0.5  # before the second try; doubles each time
    max_total_s: float = 30.0  # no alert holds its run longer than this

    def __post_init__(self) -> None:
        if not 1 <= self.attempts <= 10:
            raise ConfigError(f"webhook attempts={self.attempts} must be within 1..10")
        if self.timeout_s <= 0 or self.backoff_s < 0 or self.max_total_s <= 0:
            raise ConfigError("webhook timeouts must be positive")


@dataclass(frozen=True, slots=True)
class Delivery:
    status: Literal["delivered", "failed"]
    attempts: int
    error: str | None = None  # a short reason: "http_404", "ConnectError", "deadline"


def _host(url: str) -> str:
    return site_of(url)  # a webhook URL often carries a token: only its site is logged


def post_alert(url: str, payload: JsonObject, options: WebhookOptions | None = None) -> Delivery:
    """POST ``payload`` as JSON; ``delivered`` on any 2xx."""
    import httpx

    options = options or WebhookOptions()
    deadline = time.monotonic() + options.max_total_s
    error = "deadline"
    attempt = 0
    while attempt < options.attempts:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            break
        attempt += 1
        try:
            with httpx.Client(timeout=min(options.timeout_s, remaining), follow_redirects=False) as http:
                response = http.post(url, json=dict(payload), headers={"User-Agent": "newsflow-alerts/1"})
        except httpx.HTTPError as exc:
            error = type(exc).__name__
        else:
            if 200 <= response.status_code < 300:
                return Delivery("delivered", attempt)
            error = f"http_{response.status_code}"
            if response.status_code not in RETRY_STATUSES:
                log.warning("webhook at %s refused the alert (%s); not retrying", _host(url), error)
                return Delivery("failed", attempt, error)
        pause = doubling(attempt - 1, options.backoff_s)
        if attempt == options.attempts or time.monotonic() + pause >= deadline:
            break
        log.info("webhook at %s: %s; retrying in %.1fs", _host(url), error, pause)
        time.sleep(pause)
    log.warning("webhook at %s failed after %d attempts (%s)", _host(url), attempt, error)
    return Delivery("failed", attempt, error)
