"""Kibana saved objects: check them offline, import them into a running Kibana.

The objects (data views, saved searches, visualizations, dashboard) are ndjson
data under ``seeds/kibana/``. Kibana cannot run in CI, so ``check_saved_objects``
catches what a broken import would: bad JSON, duplicate ids, dangling
references, fields that the index mapping does not have. ``import_saved_objects``
posts the files to ``/api/saved_objects/_import`` and keeps retrying while Kibana
is still starting (it answers 503 or refuses connections until it is ready).
"""

from __future__ import annotations

import base64
import logging
import os
import re
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from newsflow import settings
from newsflow.errors import ConfigError, ServiceError
from newsflow.jsontypes import JsonObject, JsonValue, as_list, as_object, parse_answer
from newsflow.jsontypes import objects as objects_of  # check_saved_objects takes a parameter named objects
from newsflow.kibana_files import embedded, load_saved_objects
from newsflow.stored_fields import string, whole

if TYPE_CHECKING:
    import httpx

log = logging.getLogger(__name__)

RETRY_STATUSES = frozenset({502, 503, 504})
_KQL_FIELD_RE = re.compile(r"([A-Za-z_][\w.]*)\s*:")


@dataclass(frozen=True, slots=True)
class KibanaConnection:
    """Where Kibana is and how to log in; secrets stay out of ``repr``."""

    url: str
    username: str | None = None
    password: str | None = None
    api_key: str | None = None
    verify: bool = True

    def __repr__(self) -> str:
        auth = "api_key" if self.api_key else ("basic" if self.username else "none")
        return f"KibanaConnection(url={self.url!r}, auth={auth})"

    @classmethod
    def from_env(cls, url: str | None = None) -> KibanaConnection:
        found = url or os.environ.get("NEWSFLOW_KIBANA_URL") or "http://127.0.0.1:5601"
        if not found.startswith(("http://", "https://")):
            raise ConfigError(
                f"Kibana URL {found!r} must start with http:// or https://; fix NEWSFLOW_KIBANA_URL"
            )
        return cls(
            url=found.rstrip("/"),
            username=os.environ.get("NEWSFLOW_KIBANA_USERNAME") or None,
            password=os.environ.get("NEWSFLOW_KIBANA_PASSWORD") or None,
            api_key=os.environ.get("NEWSFLOW_KIBANA_API_KEY") or None,
            verify=os.environ.get("NEWSFLOW_KIBANA_VERIFY_CERTS", "true").lower() not in {"0", "false", "no"},
        )


@dataclass(frozen=True, slots=True)
class ImportOptions:
    overwrite: bool = True
    timeout_s: float = 300.0  # how long to wait for Kibana to become ready
    retry_interval_s: float = 5.0
    request_timeout_s: float = 60.0
    space: str | None = None

    def __post_init__(self) -> None:
        if self.timeout_s < 0 or self.retry_interval_s <= 0 or self.request_timeout_s <= 0:
            raise ConfigError("Kibana import timeouts must be positive")
        if self.space is not None and not re.fullmatch(r"[a-z0-9_-]+", self.space):
            raise ConfigError(f"Kibana space {self.space!r} is not a valid space id")


@dataclass(frozen=True, slots=True)
class ImportReport:
    file: str
    success: bool
    success_count: int
    errors: tuple[JsonObject, ...] = field(default_factory=tuple)

    def to_dict(self) -> dict[str, JsonValue]:
        return {
            "file": self.file,
            "success": self.success,
            "success_count": self.success_count,
            "errors": list(self.errors),
        }


def saved_object_files(directory: Path | None = None) -> list[Path]:
    folder = directory or settings.seeds_dir() / "kibana"
    files = sorted(folder.glob("*.ndjson"))
    if not files:
        raise ConfigError(f"no *.ndjson saved objects in {folder}; restore seeds/kibana from the repository")
    return files


NUMERIC = frozenset({"long", "integer", "short", "byte", "double", "float", "half_float", "scaled_float"})
DATES = frozenset({"date", "date_nanos"})
AGGREGATABLE = NUMERIC | DATES | {"keyword", "boolean", "ip"}
# What each use of a field needs: a type from the set (None: any mapped field).
SUITABLE: dict[str, frozenset[str] | None] = {
    "time": DATES,
    "date_histogram": DATES,
    "histogram": NUMERIC,
    "sum": NUMERIC,
    "avg": NUMERIC,
    "median": NUMERIC,
    "percentiles": NUMERIC,
    "min": NUMERIC | DATES,
    "max": NUMERIC | DATES,
    "terms": AGGREGATABLE,
    "significant_terms": AGGREGATABLE,
    "cardinality": AGGREGATABLE,
    "top_hits": AGGREGATABLE,
    "sort": AGGREGATABLE,
    "column": None,
    "query": None,
}
_NEEDS_DOC_VALUES = frozenset(SUITABLE) - {"column", "query"}


def mapping_specs(mappings: JsonObject, prefix: str = "") -> dict[str, JsonObject]:
    """Every field path a mapping declares (sub-fields such as ``title.raw`` included) with its spec;
    an object field's spec has no ``type`` (nor does a spec that is not a JSON object)."""
    found: dict[str, JsonObject] = {}
    for name, raw_spec in as_object(mappings.get("properties")).items():
        path, spec = f"{prefix}{name}", as_object(raw_spec)
        found[path] = spec
        found.update({f"{path}.{sub}": as_object(s) for sub, s in as_object(spec.get("fields")).items()})
        found.update(mapping_specs(spec, f"{path}."))
    return found


def mapping_fields(mappings: JsonObject, prefix: str = "") -> set[str]:
    """Every field path a mapping declares, sub-fields (``title.raw``) included."""
    return set(mapping_specs(mappings, prefix))


def field_uses(obj: JsonObject) -> set[tuple[str, str]]:
    """(field, use) pairs an object relies on: the time field, aggregations (use = the aggregation
    type; a top-hit's sort field is a ``sort``), columns, sorts and query fields."""
    attrs = as_object(obj.get("attributes"))
    uses: set[tuple[str, str]] = set()
    if obj.get("type") == "index-pattern" and attrs.get("timeFieldName"):
        uses.add((str(attrs["timeFieldName"]), "time"))
    aggs = as_object(embedded(attrs, "visState")).get("aggs") if "visState" in attrs else None
    for agg in map(as_object, as_list(aggs)):
        params = as_object(agg.get("params"))
        if params.get("field"):
            uses.add((str(params["field"]), str(agg.get("type"))))
        if params.get("sortField"):
            uses.add((str(params["sortField"]), "sort"))
    uses.update((str(c), "column") for c in as_list(attrs.get("columns")) if c != "_source")
    uses.update((str(s[0]), "sort") for s in map(as_list, as_list(attrs.get("sort"))) if s)
    search = as_object(embedded(as_object(attrs.get("kibanaSavedObjectMeta")), "searchSourceJSON"))
    query = as_object(search.get("query")).get("query", "")
    if isinstance(query, str):
        uses.update((name, "query") for name in _KQL_FIELD_RE.findall(query))
    return uses


def fields_used(obj: JsonObject) -> set[str]:
    """Index fields an object relies on: aggregation fields, columns, sort and query fields."""
    return {name for name, _ in field_uses(obj)}


def unsuitable(use: str, spec: JsonObject) -> str | None:
    """Why a field with mapping ``spec`` cannot serve ``use``, or None when it can."""
    kind = str(spec.get("type", "object"))
    wanted = SUITABLE.get(use)
    if kind == "object" or spec.get("enabled") is False:
        return f"it is an object ({kind}), not a field with values"
    if wanted is not None and kind not in wanted:
        return f"{use} needs {'/'.join(sorted(wanted))}, the mapping says {kind}"
    if use in _NEEDS_DOC_VALUES and spec.get("doc_values") is False:
        return f"{use} needs doc values, which the mapping turns off"
    if use == "query" and spec.get("index") is False:
        return "a query needs an indexed field, which the mapping turns off"
    return None


def check_saved_objects(
    objects: Iterable[JsonObject], index_fields: Mapping[str, Mapping[str, JsonObject]]
) -> list[str]:
    """Problems that would break the import or the dashboard; empty when all is well.

    ``index_fields`` maps a data-view title (index pattern) to the field specs its index declares
    (``mapping_specs``); every field an object uses must exist there with a type that suits the use.
    """
    problems: list[str] = []
    objs = list(objects)
    # load_saved_objects has checked each id and type is a non-empty string; read as strings
    # here all the same, so a caller's odd object reads as one without an id, never a crash.
    ids = [string(o.get("id")) or "" for o in objs]
    problems.extend(f"duplicate id {i!r}" for i in sorted({i for i in ids if ids.count(i) > 1}))
    seen = {(string(o.get("type")), string(o.get("id"))) for o in objs}
    patterns = {
        string(o.get("id")) or "": string(as_object(o.get("attributes")).get("title")) or ""
        for o in objs
        if o.get("type") == "index-pattern"
    }
    for title in patterns.values():
        if title not in index_fields:
            problems.append(f"data view {title!r} matches no index newsflow creates ({sorted(index_fields)})")
    for obj in objs:
        label = f"{obj.get('type')} {obj.get('id')!r}"
        references = objects_of(obj.get("references"))
        for ref in references:
            if (string(ref.get("type")), string(ref.get("id"))) not in seen:
                problems.append(f"{label} references missing {ref.get('type')} {ref.get('id')!r}")
        data_views = [string(r.get("id")) or "" for r in references if r.get("type") == "index-pattern"]
        if obj.get("type") == "index-pattern":
            data_views = [string(obj.get("id")) or ""]
        for view in data_views:
            known = index_fields.get(patterns.get(view, ""), {})
            for name, use in sorted(field_uses(obj)):
                if name not in known:
                    problems.append(f"{label} uses field {name!r} which {patterns.get(view)!r} does not map")
                elif (why := unsuitable(use, known[name])) is not None:
                    problems.append(f"{label} uses {name!r} for {use} but {why}")
        if obj.get("type") == "dashboard":
            panels = objects_of(embedded(as_object(obj.get("attributes")), "panelsJSON"))
            names = {r.get("name") for r in references}
            problems.extend(
                f"{label} panel {p.get('panelIndex')} has no reference {p.get('panelRefName')!r}"
                for p in panels
                if p.get("panelRefName") not in names
            )
    return problems


def _auth_headers(conn: KibanaConnection) -> dict[str, str]:
    headers = {"kbn-xsrf": "newsflow"}
    if conn.api_key:
        headers["Authorization"] = f"ApiKey {conn.api_key}"
    elif conn.username:
        token = base64.b64encode(f"{conn.username}:{conn.password or ''}".encode()).decode("ascii")
        headers["Authorization"] = f"Basic {token}"
    return headers


def import_file(path: Path, conn: KibanaConnection, options: ImportOptions) -> ImportReport:
    """Post one ndjson file; retries connection errors and 502/503/504 until ``timeout_s``."""
    import httpx

    load_saved_objects(path)  # refuse to send a broken file
    base = conn.url + (f"/s/{options.space}" if options.space else "")
    url = f"{base}/api/saved_objects/_import"
    params = {"overwrite": "true"} if options.overwrite else {}
    deadline = time.monotonic() + options.timeout_s
    attempt = 0
    while True:
        attempt += 1
        try:
            with httpx.Client(timeout=options.request_timeout_s, verify=conn.verify) as http:
                response = http.post(
                    url,
                    params=params,
                    headers=_auth_headers(conn),
                    files={"file": (path.name, path.read_bytes(), "application/ndjson")},
                )
        except httpx.TransportError as exc:
            problem = f"cannot reach Kibana at {conn.url} ({type(exc).__name__})"
        else:
            if response.status_code in RETRY_STATUSES:
                problem = f"Kibana at {conn.url} is not ready (HTTP {response.status_code})"
            elif response.status_code in (401, 403):
                raise ServiceError(
                    f"Kibana at {conn.url} refused the credentials (HTTP {response.status_code}); set "
                    "NEWSFLOW_KIBANA_USERNAME/NEWSFLOW_KIBANA_PASSWORD or NEWSFLOW_KIBANA_API_KEY"
                )
            elif response.status_code != 200:
                raise ServiceError(
                    f"Kibana rejected {path.name} (HTTP {response.status_code}): {response.text[:500]}"
                )
            else:
                return _import_report(path, response)
        if time.monotonic() + options.retry_interval_s > deadline:
            raise ServiceError(
                f"{problem}; gave up after {attempt} attempts in {options.timeout_s:.0f}s. Start Kibana or "
                "set NEWSFLOW_KIBANA_URL / --url"
            )
        log.info("%s; retrying in %.0fs", problem, options.retry_interval_s)
        time.sleep(options.retry_interval_s)


def _import_report(path: Path, response: httpx.Response) -> ImportReport:
    """Kibana's answer to an import; one that is not a JSON object (a proxy's page) is an error,
    and an odd field reads as missing: an error that is not an object is not one to show."""
    body = parse_answer(response.content) if response.content else None  # an empty answer says nothing
    if not isinstance(body, Mapping):
        why = f"no JSON object: {response.text[:200]}"
        raise ServiceError(f"Kibana answered the import of {path.name} with {why}")
    return ImportReport(
        file=str(path),
        success=body.get("success") is True,
        success_count=whole(body.get("successCount")) or 0,
        errors=tuple(objects_of(body.get("errors"))),
    )


def import_saved_objects(
    files: Iterable[Path] | None = None,
    conn: KibanaConnection | None = None,
    options: ImportOptions | None = None,
) -> list[ImportReport]:
    conn = conn or KibanaConnection.from_env()
    options = options or ImportOptions()
    paths = list(files) if files is not None else saved_object_files()
    return [import_file(path, conn, options) for path in paths]
