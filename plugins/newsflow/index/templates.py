"""Composable templates, versioned indices behind aliases, and mapping migrations.

Templates are JSON data under ``seeds/elasticsearch/``; only what depends on the
cluster is decided here: the full-text analyzer (``english`` needs the
analysis-common module, which the integ-test node lacks, so it falls back to
``standard`` with an otherwise identical mapping) and the replica count (0 on a
single data node, else 1). Indices are ``<alias>-00000N`` so a mapping change is
a new generation plus one atomic ``_aliases`` call, with no ``_reindex``
dependency.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from newsflow import settings
from newsflow.errors import ConfigError, ServiceError
from newsflow.index.names import IndexNames, generation_index, generation_of
from newsflow.jsontypes import JsonObject, JsonValue, as_object, parse

if TYPE_CHECKING:
    from elasticsearch import Elasticsearch

log = logging.getLogger(__name__)

# 2: language is the primary code; language_tag and paywalled added. 3: charset, charset_source.
TEMPLATE_VERSION = 3
KINDS = (
    "news-articles",
    "newsflow-runs",
    "newsflow-story-merges",
    "newsflow-alerts",
    "newsflow-alert-rules",
    "newsflow-feed-health",
    "newsflow-story-corrections",
)
TEXT_ANALYZER_PLACEHOLDER = "news_text"


@dataclass(frozen=True, slots=True)
class SetupOptions:
    """Cluster-dependent choices; None means detect them from the cluster."""

    replicas: int | None = None
    text_analyzer: str | None = None
    seeds: Path | None = None
    priority: int = 200

    def __post_init__(self) -> None:
        if self.replicas is not None and not 0 <= self.replicas <= 5:
            raise ConfigError(f"replicas={self.replicas} is out of range; use 0..5 or leave it unset")
        if self.text_analyzer not in (None, "english", "standard"):
            raise ConfigError(f"text_analyzer={self.text_analyzer!r}: use 'english', 'standard' or unset")
        if not 1 <= self.priority <= 10_000:
            raise ConfigError(f"template priority {self.priority} is out of range 1..10000")

    @property
    def seeds_dir(self) -> Path:
        return self.seeds or settings.seeds_dir() / "elasticsearch"


@dataclass(frozen=True, slots=True)
class SetupReport:
    articles_alias: str
    articles_index: str
    runs_alias: str
    runs_index: str
    merges_alias: str
    merges_index: str
    text_analyzer: str
    replicas: int
    created_indices: tuple[str, ...]
    indices: dict[str, str] = field(default_factory=dict)  # every alias -> its write index

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["created_indices"] = list(self.created_indices)
        return data


@dataclass(frozen=True, slots=True)
class MigrationReport:
    alias: str
    source_index: str
    target_index: str
    copied: int

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def detect_text_analyzer(client: Elasticsearch) -> str:
    """``english`` when the cluster has it (full distribution), else ``standard`` (integ-test zip)."""
    from elasticsearch import BadRequestError

    try:
        client.indices.analyze(analyzer="english", text="running reports")
    except BadRequestError:
        log.info("the cluster has no 'english' analyzer; full text uses 'standard'")
        return "standard"
    return "english"


def detect_replicas(client: Elasticsearch) -> int:
    """No replica on a single data node (it could never be assigned and health would stay yellow)."""
    nodes = int(client.cluster.health()["number_of_data_nodes"])
    return 0 if nodes <= 1 else 1


def _strip_comments(value: JsonValue) -> JsonValue:
    if isinstance(value, dict):
        return _object_without_comments(value)
    if isinstance(value, list):
        return [_strip_comments(v) for v in value]
    return value


def _object_without_comments(value: JsonObject) -> dict[str, JsonValue]:
    return {k: _strip_comments(v) for k, v in value.items() if k != "_comment"}


def load_seed(kind: str, part: str, seeds: Path | None = None) -> dict[str, JsonValue]:
    """One template body from ``seeds/elasticsearch/<kind>.<part>.json`` without its comments
    (a fresh copy: the caller fills in its cluster's choices)."""
    path = (seeds or settings.seeds_dir() / "elasticsearch") / f"{kind}.{part}.json"
    try:
        data = parse(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"template file {path} is missing; restore it from the repository") from None
    except ValueError as exc:
        raise ConfigError(f"template file {path} is not valid JSON ({exc}); fix it") from None
    if not isinstance(data, dict):
        raise ConfigError(f"template file {path} must hold a JSON object")
    return _object_without_comments(data)


def component_bodies(
    kind: str, *, text_analyzer: str, replicas: int, seeds: Path | None = None
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The settings and mappings component templates of one index kind, cluster choices filled in."""
    settings_body = load_seed(kind, "settings", seeds)
    index_settings = as_object(settings_body.get("settings"))
    index = {**as_object(index_settings.get("index")), "number_of_replicas": replicas}
    settings_body["settings"] = {**index_settings, "index": index}
    return settings_body, _fill_analyzer(load_seed(kind, "mappings", seeds), text_analyzer)


def _fill_analyzer(value: Any, analyzer: str) -> Any:
    """Replace the ``news_text`` placeholder with a built-in analyzer name.

    Component templates are validated on their own, so the mappings component cannot name a
    custom analyzer defined in the settings component; built-in names avoid that coupling.
    """
    if isinstance(value, dict):
        return {
            k: (
                analyzer
                if k == "analyzer" and v == TEXT_ANALYZER_PLACEHOLDER
                else _fill_analyzer(v, analyzer)
            )
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [_fill_analyzer(v, analyzer) for v in value]
    return value


def put_templates(
    client: Elasticsearch, names: IndexNames, *, text_analyzer: str, replicas: int, options: SetupOptions
) -> None:
    """Create or replace the component and index templates (idempotent)."""
    for kind in KINDS:
        alias = names.alias_for(kind)
        settings_body, mappings_body = component_bodies(
            kind, text_analyzer=text_analyzer, replicas=replicas, seeds=options.seeds_dir
        )
        meta = {"managed_by": "newsflow", "template_version": TEMPLATE_VERSION}
        client.cluster.put_component_template(name=f"{alias}-settings", template=settings_body, meta=meta)
        client.cluster.put_component_template(name=f"{alias}-mappings", template=mappings_body, meta=meta)
        client.indices.put_index_template(
            name=alias,
            index_patterns=[f"{alias}-*"],
            composed_of=[f"{alias}-settings", f"{alias}-mappings"],
            priority=options.priority,
            meta=meta,
        )


def alias_indices(client: Elasticsearch, alias: str) -> dict[str, bool]:
    """Indices behind ``alias`` and whether each is the write index; empty when the alias is absent."""
    from elasticsearch import NotFoundError

    try:
        found = client.indices.get_alias(name=alias)
    except NotFoundError:
        return {}
    result: dict[str, bool] = {}
    for index, body in found.body.items():
        spec = body.get("aliases", {}).get(alias, {})
        result[index] = bool(spec.get("is_write_index", len(found.body) == 1))
    return result


def write_index(client: Elasticsearch, alias: str) -> str | None:
    indices = alias_indices(client, alias)
    writers = [name for name, is_writer in indices.items() if is_writer]
    return writers[0] if writers else None


def ensure_alias(client: Elasticsearch, alias: str) -> tuple[str, bool]:
    """The write index behind ``alias``, creating generation 1 when there is none yet."""
    from elasticsearch import BadRequestError

    current = write_index(client, alias)
    if current is not None:
        return current, False
    if client.indices.exists(index=alias):
        raise ServiceError(
            f"{alias!r} is a concrete index, not an alias; move its documents to a new index "
            f"and delete it, then run `newsflow index setup` again"
        )
    first = generation_index(alias, 1)
    try:
        client.indices.create(index=first, aliases={alias: {"is_write_index": True}})
    except BadRequestError as exc:
        if "resource_already_exists_exception" not in str(exc):
            raise
        return first, False  # a concurrent setup created it
    return first, True


def setup_indices(
    client: Elasticsearch, names: IndexNames | None = None, options: SetupOptions | None = None
) -> SetupReport:
    """Templates plus the aliased first generation of each index; safe to run again."""
    names = names or IndexNames.from_env()
    options = options or SetupOptions()
    analyzer = options.text_analyzer or detect_text_analyzer(client)
    replicas = detect_replicas(client) if options.replicas is None else options.replicas
    put_templates(client, names, text_analyzer=analyzer, replicas=replicas, options=options)
    made = {alias: ensure_alias(client, alias) for alias in names.all()}
    for kind, alias in zip(KINDS, names.all(), strict=True):
        _, new = made[alias]
        if not new:  # through the alias: every generation a rollover left behind gets them too
            add_new_fields(client, alias, kind, text_analyzer=analyzer, seeds=options.seeds_dir)
    indices = {alias: index for alias, (index, _) in made.items()}
    created = tuple(index for index, new in made.values() if new)
    log.info("index setup done: %s", ", ".join(f"{a} -> {i}" for a, i in indices.items()))
    return SetupReport(
        articles_alias=names.articles,
        articles_index=indices[names.articles],
        runs_alias=names.runs,
        runs_index=indices[names.runs],
        merges_alias=names.merges,
        merges_index=indices[names.merges],
        text_analyzer=analyzer,
        replicas=replicas,
        created_indices=created,
        indices=indices,
    )


def add_new_fields(
    client: Elasticsearch, index: str, kind: str, *, text_analyzer: str, seeds: Path | None = None
) -> None:
    """Put fields the templates gained since ``index`` was created onto it (strict mappings would
    reject documents carrying them); a changed field needs a new generation (``index migrate``)."""
    from elasticsearch import BadRequestError

    mappings = component_bodies(kind, text_analyzer=text_analyzer, replicas=0, seeds=seeds)[1]["mappings"]
    try:
        client.indices.put_mapping(index=index, properties=mappings.get("properties", {}))
    except BadRequestError as exc:
        raise ServiceError(
            f"{index}: its mapping conflicts with the current templates ({exc.message}); "
            "run `newsflow index migrate` to copy it into a new generation"
        ) from exc


def next_generation(client: Elasticsearch, alias: str) -> str:
    from elasticsearch import NotFoundError

    try:
        existing = client.indices.get(index=f"{alias}-*", expand_wildcards="all").body
    except NotFoundError:
        existing = {}
    generations = [g for g in (generation_of(alias, name) for name in existing) if g is not None]
    return generation_index(alias, max(generations, default=0) + 1)


def migrate(
    client: Elasticsearch,
    alias: str,
    *,
    batch_size: int = 1000,
    on_progress: Callable[[int], None] | None = None,
) -> MigrationReport:
    """Copy the alias's write index into a new generation built from the current templates, then
    switch the alias in one ``_aliases`` call.

    Uses a point-in-time and ``search_after`` plus bulk, because ``_reindex`` is not available
    everywhere (the integ-test node). Writers should be paused while it runs: documents written to
    the old index after the snapshot are not copied.
    """
    from elasticsearch.helpers import bulk

    source = write_index(client, alias)
    if source is None:
        raise ServiceError(f"alias {alias!r} does not exist; run `newsflow index setup` first")
    target = next_generation(client, alias)
    client.indices.create(index=target)
    pit = client.open_point_in_time(index=source, keep_alive="2m")["id"]
    copied = 0
    try:
        search_after: list[Any] | None = None
        while True:
            page = client.search(
                pit={"id": pit, "keep_alive": "2m"},
                size=batch_size,
                sort=["_shard_doc"],
                search_after=search_after,
                track_total_hits=False,
            )
            hits = page["hits"]["hits"]
            if not hits:
                break
            pit = page.get("pit_id", pit)
            actions = [
                {"_op_type": "index", "_index": target, "_id": hit["_id"], "_source": hit["_source"]}
                for hit in hits
            ]
            ok, _ = bulk(client, actions, max_retries=3)
            copied += ok
            if on_progress is not None:
                on_progress(copied)
            search_after = hits[-1]["sort"]
    finally:
        client.close_point_in_time(id=pit)
    client.indices.refresh(index=target)
    client.indices.update_aliases(
        actions=[
            {"remove": {"index": source, "alias": alias}},
            {"add": {"index": target, "alias": alias, "is_write_index": True}},
        ]
    )
    log.info("migrated %s: %s -> %s (%s documents)", alias, source, target, copied)
    return MigrationReport(alias=alias, source_index=source, target_index=target, copied=copied)
