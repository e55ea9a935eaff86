"""One way to build an Elasticsearch client, with an explicit retry policy.

Every stage and the CLI get their client here, so credentials, timeouts and
retries are decided once: retry on 429/502/503/504 and on connection errors,
never log secrets.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from newsflow import settings
from newsflow.errors import ServiceError
from newsflow.redact import redact_text

if TYPE_CHECKING:
    from elasticsearch import Elasticsearch

RETRY_ON_STATUS = (429, 502, 503, 504)


def make_client(
    conn: settings.EsConnection | None = None, *, request_timeout: float = 30.0, max_retries: int = 5
) -> Elasticsearch:
    from elasticsearch import Elasticsearch

    conn = conn or settings.es_connection()
    kwargs: dict[str, object] = {
        "request_timeout": request_timeout,
        "max_retries": max_retries,
        "retry_on_timeout": True,
        "retry_on_status": RETRY_ON_STATUS,
    }
    if conn.api_key:
        kwargs["api_key"] = conn.api_key
    elif conn.username:
        kwargs["basic_auth"] = (conn.username, conn.password or "")
    # orjson parses the stored dedup signals of thousands of held articles per batch several
    # times faster than the standard library; the stdlib serializers stay as the fallback.
    kwargs["serializers"] = _fast_serializers()
    if conn.url.startswith("https"):
        kwargs["verify_certs"] = conn.verify_certs
        if conn.ca_certs:
            kwargs["ca_certs"] = conn.ca_certs
    # Several URLs (a cluster's nodes): the client spreads requests and retries on another node when
    # one is down, so losing a node costs a retry, not a failed task.
    hosts = conn.urls if len(conn.urls) > 1 else conn.url
    return Elasticsearch(hosts, **kwargs)  # type: ignore[arg-type]  # kwargs values are typed per key above


def _fast_serializers() -> dict[str, object]:
    import orjson
    from elasticsearch.serializer import JsonSerializer, NdjsonSerializer

    class OrjsonJson(JsonSerializer):
        def json_dumps(self, data: object) -> bytes:
            return orjson.dumps(data, default=self.default, option=orjson.OPT_SERIALIZE_NUMPY)

        def json_loads(self, data: bytes) -> object:
            return orjson.loads(data)

    class OrjsonNdjson(OrjsonJson, NdjsonSerializer):
        """NDJSON framing (and mimetype) from NdjsonSerializer, each line through orjson."""

    return {OrjsonJson.mimetype: OrjsonJson(), OrjsonNdjson.mimetype: OrjsonNdjson()}


def unreachable(exc: BaseException, conn: settings.EsConnection | None = None) -> ServiceError:
    """The error to show when the cluster cannot be reached: where, why, and the way out; no secrets."""
    conn = conn or settings.es_connection()
    why = redact_text(f"{type(exc).__name__}: {exc}")[:300]
    hint = (
        "check NEWSFLOW_ES_URL and its credentials"
        if conn.external
        else "start it with `newsflow es up` (or set NEWSFLOW_ES_URL)"
    )
    return ServiceError(f"Elasticsearch at {conn.display_url} is not reachable ({why}); {hint}")


@contextlib.contextmanager
def reaching_cluster() -> Iterator[None]:
    """Turn a cluster that is down, unreachable or timing out into ``unreachable``'s clear error."""
    from elasticsearch import TransportError

    try:
        yield
    except TransportError as exc:
        raise unreachable(exc) from exc


def wait_until_healthy(client: Elasticsearch, timeout_s: float = 30.0) -> str:
    """Block until the cluster is yellow or green; ``GET /`` is absent on the test zip, so use health."""
    from elasticsearch import ApiError, TransportError

    conn = settings.es_connection()
    try:
        health = client.cluster.health(wait_for_status="yellow", timeout=f"{int(timeout_s)}s")
    except TransportError as exc:
        raise unreachable(exc, conn) from exc
    except ApiError as exc:
        raise ServiceError(
            f"Elasticsearch at {conn.display_url} is not healthy ({redact_text(str(exc))[:300]}); "
            "check its log, or NEWSFLOW_ES_URL and its credentials"
        ) from exc
    return str(health["status"])


def search_alias(client: Elasticsearch, alias: str, what: str, **body: Any) -> Any:
    """One search whose failures say what to do: a missing alias names the setup command."""
    from elasticsearch import ApiError, NotFoundError, TransportError

    try:
        return client.search(index=alias, **body)
    except NotFoundError:
        raise ServiceError(
            f"{alias!r} does not exist; run `newsflow index setup` (safe to repeat), or check the alias "
            "option (--index, --merges-index) and NEWSFLOW_*_ALIAS"
        ) from None
    except TransportError as exc:  # down, unreachable or timing out: say how to start it
        raise unreachable(exc) from exc
    except ApiError as exc:
        raise ServiceError(f"{what} on {alias!r} failed: {redact_text(str(exc))}") from exc
