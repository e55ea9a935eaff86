"""An analyst's verdicts as the index holds them, for a refit (``newsflow refit --from-index``).

The corrections are read whole and their articles' signals as the pipeline stored them, with
the term statistics a batch weighs by (a sample of the index), so the verdicts' pairs are
what the model met when it decided them.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from newsflow.dedup.neighbourhood import SAMPLE_SIZE, term_sample
from newsflow.dedup.options import DedupOptions
from newsflow.dedup.refit import VerdictRows, verdict_rows
from newsflow.dedup.stored import SOURCE_FIELDS, hit_to_records
from newsflow.index import IndexNames
from newsflow.index.corrections import all_corrections
from newsflow.index.generations import mget_across

if TYPE_CHECKING:
    from elasticsearch import Elasticsearch

log = logging.getLogger(__name__)

_MGET_CHUNK = 1000  # articles read per request


def verdicts_in_index(
    client: Elasticsearch, names: IndexNames, options: DedupOptions
) -> tuple[VerdictRows, int]:
    """The verdicts' pair features, and how many corrections were read."""
    corrections = all_corrections(client, names.corrections)
    ids = sorted({i for c in corrections if c.verdict != "withdrawn" for i in (c.a, c.b)})
    signals = []
    for start in range(0, len(ids), _MGET_CHUNK):
        for doc in mget_across(
            client, names.articles, ids[start : start + _MGET_CHUNK], source_includes=SOURCE_FIELDS
        ):
            records = hit_to_records(doc) if doc.get("found") else None
            if records is not None:
                signals.append(records[0])
    background = term_sample(client, names.articles, ids, SAMPLE_SIZE)
    log.info("refit: %s corrections, %s of their %s articles found", len(corrections), len(signals), len(ids))
    return verdict_rows(signals, corrections, options, background=background), len(corrections)
