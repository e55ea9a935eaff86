"""One way to build an Elasticsearch client, with an explicit retry policy.

Every stage and the CLI get their client here, so credentials, timeouts and
retries are decided once: retry on 429/502/503/504 and on connection errors,
never log secrets.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any, cast

from newsflow import settings
from newsflow.errors import ServiceError
from newsflow.jsontypes import JsonObject, JsonValue, as_object, objects
from newsflow.redact import redact_text
from newsflow.stored_fields import whole

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


def search_alias(client: Elasticsearch, alias: str, what: str, **body: JsonValue) -> JsonObject:
    """One search whose failures say what to do: a missing alias names the setup command.

    The answer is handed on as JSON, not as the client's ``Any``, so each reader narrows what
    it reads (``hits``, ``total_hits``, ``buckets``) and an odd part reads as missing.
    """
    from elasticsearch import ApiError, NotFoundError, TransportError

    try:
        # The client's keyword arguments are typed one by one; a request body is JSON throughout.
        answer = client.search(index=alias, **cast("dict[str, Any]", body))
    except NotFoundError:
        raise ServiceError(
            f"{alias!r} does not exist; run `newsflow index setup` (safe to repeat), or check the alias "
            "option (--index, --merges-index) and NEWSFLOW_*_ALIAS"
        ) from None
    except TransportError as exc:  # down, unreachable or timing out: say how to start it
        raise unreachable(exc) from exc
    except ApiError as exc:
        raise ServiceError(f"{what} on {alias!r} failed: {redact_text(str(exc))}") from exc
    # The client wraps the parsed body (an ObjectApiResponse is no Mapping); a stand-in client
    # may answer with the dict itself. Parsed JSON holds only JSON values, hence the cast.
    body_of: object = getattr(answer, "body", answer)
    return cast("JsonObject", body_of) if isinstance(body_of, Mapping) else {}


def hits(answer: JsonObject) -> list[JsonObject]:
    """The hits of a search answer, or of its ``top_hits`` or inner-hits part (same shape)."""
    return objects(as_object(answer.get("hits")).get("hits"))


def total_hits(answer: JsonObject) -> int:
    """``hits.total.value`` of a search answer (or inner hits); 0 when it does not say."""
    return whole(as_object(as_object(answer.get("hits")).get("total")).get("value")) or 0


def aggregation(answer: JsonObject, name: str) -> JsonObject:
    """The aggregation ``name`` of a search answer; empty when the answer has none."""
    return as_object(as_object(answer.get("aggregations")).get(name))


def buckets(agg: JsonValue) -> list[JsonObject]:
    """The buckets of a ``terms`` aggregation (of an answer, or nested in a bucket)."""
    return objects(as_object(agg).get("buckets"))


def doc_count(bucket: JsonObject) -> int:
    """A bucket's document count; 0 when it does not say."""
    return whole(bucket.get("doc_count")) or 0


def metric(part: JsonObject, name: str, key: str = "value") -> JsonValue:
    """What the metric aggregation ``name`` (cardinality, min, max) of a bucket or of an answer's
    ``aggregations`` says: its ``value``, or ``value_as_string`` for a date as text."""
    return as_object(part.get(name)).get(key)
