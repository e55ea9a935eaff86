"""An analyst's story corrections, kept where the articles are (``dedup.corrections``).

One document per pair of articles, its ``_id`` derived from the two ids, so a later word on
a pair replaces the earlier one and a repeated command writes nothing new. Every worker
reads the corrections touching its batch's neighbourhood, so a correction holds through
every later batch, rerun and backfill on every worker.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Sequence
from dataclasses import replace
from typing import TYPE_CHECKING

from newsflow.dedup.corrections import Correction
from newsflow.errors import IndexingError, InputError
from newsflow.index.stories import RETRY_STATUSES, bulk_error_reason
from newsflow.jsontypes import JsonObject, JsonValue, array, as_object
from newsflow.timestamps import iso_z, now_utc

if TYPE_CHECKING:
    from elasticsearch import Elasticsearch

log = logging.getLogger(__name__)

_TERMS_CHUNK = 10_000  # article ids per look-up (the default ``index.max_terms_count`` is 65,536)
PAGE = 1000  # corrections read per request


def require_corrections_alias(client: Elasticsearch, alias: str) -> None:
    """Fail before writing when the alias is missing (a deployment set up before it existed)."""
    from newsflow.index.templates import write_index

    if write_index(client, alias) is None:
        raise IndexingError(
            f"alias {alias!r} does not exist; run `newsflow index setup` (safe to repeat) so story "
            "corrections can be recorded"
        )


def record_corrections(client: Elasticsearch, alias: str, corrections: Sequence[Correction]) -> int:
    """Write each correction (idempotent by pair) and make it visible to the next look-up.

    A correction that was not written is an error naming the reasons: the analyst must know
    the story will not hold it."""
    from elasticsearch.helpers import streaming_bulk

    stamped = iso_z(now_utc(), "milliseconds")  # bookkeeping: no decision reads the time
    actions = [
        {
            "_op_type": "index",
            "_index": alias,
            "_id": c.id,
            "_source": (c if c.recorded_at else replace(c, recorded_at=stamped)).to_dict(),
        }
        for c in corrections
    ]
    done = 0
    failed: Counter[str] = Counter()
    # As story rewrites are sent (``index.stories``): refused items retried, and a cluster that
    # stays unreachable counted as ``unavailable`` rather than raised mid-way.
    for ok, item in streaming_bulk(
        client,
        actions,
        raise_on_error=False,
        raise_on_exception=False,
        retry_on_status=RETRY_STATUSES,
        refresh="wait_for",
    ):
        if ok:
            done += 1
        else:
            failed[bulk_error_reason(next(iter(item.values())))] += 1
    if failed:
        raise IndexingError(
            f"{sum(failed.values())} of {len(actions)} corrections were not recorded in {alias!r} "
            f"({', '.join(f'{k} {v}' for k, v in sorted(failed.items()))}); no story was changed "
            "(`newsflow status` shows the cluster's health; `newsflow index setup` repairs the mapping)"
        )
    return done


def _read(found: list[JsonObject], alias: str) -> list[Correction]:
    """The corrections among stored records; one that is not a correction is skipped and logged."""
    out = []
    for hit in found:
        try:
            out.append(Correction.from_dict(as_object(hit.get("_source"))))
        except InputError as exc:
            log.warning("story corrections: skipping record %s of %r: %s", hit.get("_id"), alias, exc)
    return out


def corrections_touching(
    client: Elasticsearch, alias: str, ids: Sequence[str], *, page: int = PAGE
) -> list[Correction]:
    """Every correction naming one of ``ids``; none when the alias does not exist (no correction
    was ever recorded there). A stored record that is not a correction is skipped and logged."""
    from elasticsearch import NotFoundError

    from newsflow.es_client import hits

    out: dict[str, Correction] = {}
    unique = sorted(set(ids))
    for start in range(0, len(unique), _TERMS_CHUNK):
        part = unique[start : start + _TERMS_CHUNK]
        after: list[str] | None = None  # the last pair's sort values: its two article ids
        while True:  # in pages by pair, however many corrections name these articles
            try:
                response = client.search(
                    index=alias,
                    query={"terms": {"articles": part}},
                    size=page,
                    sort=[{"a": "asc"}, {"b": "asc"}],
                    track_total_hits=False,
                    search_after=after,
                )
            except NotFoundError:
                log.debug("no story corrections alias %r: no corrections", alias)
                return []
            body: JsonValue = getattr(response, "body", None)
            found = hits(as_object(body))
            out.update((c.id, c) for c in _read(found, alias))
            if len(found) < page:
                break
            after = [str(v) for v in array(found[-1].get("sort"), "sort")]
    return list(out.values())


def corrections_since(client: Elasticsearch, alias: str, ids: Sequence[str], since: str) -> int:
    """How many corrections naming one of ``ids`` were recorded at or after ``since`` (an ISO
    time); none when the alias does not exist. A writer that loaded its neighbourhood before
    them decides again with them (``dedup.changes``)."""
    from elasticsearch import NotFoundError

    unique = sorted(set(ids))
    recorded = {"range": {"recorded_at": {"gte": since}}}
    found = 0
    for start in range(0, len(unique), _TERMS_CHUNK):
        part = unique[start : start + _TERMS_CHUNK]
        try:
            response = client.count(
                index=alias, query={"bool": {"filter": [recorded, {"terms": {"articles": part}}]}}
            )
        except NotFoundError:
            return 0
        found += int(response["count"])
    return found


def list_corrections(
    client: Elasticsearch, alias: str, *, article: str | None = None, size: int = 100
) -> list[Correction]:
    """The latest corrections (of one article, with ``article``), newest first."""
    from newsflow.es_client import hits, search_alias

    query = {"term": {"articles": article}} if article else {"match_all": {}}
    response = search_alias(
        client, alias, "reading story corrections", query=query, sort=[{"recorded_at": "desc"}], size=size
    )
    return _read(hits(response), alias)


def all_corrections(client: Elasticsearch, alias: str) -> list[Correction]:
    """Every correction recorded, withdrawn ones too (a refit reads them all: ``newsflow refit``)."""
    from elasticsearch.helpers import scan

    require_corrections_alias(client, alias)
    return _read(list(scan(client, index=alias, query={"query": {"match_all": {}}}, size=PAGE)), alias)
