"""Writing to Elasticsearch: templates and aliases, idempotent bulk indexing, run metrics."""

from __future__ import annotations

from newsflow.index.bulk import index_articles
from newsflow.index.documents import ArticleDoc, build_document
from newsflow.index.names import IndexNames
from newsflow.index.outcome import BulkIndexingError, IndexFailure, IndexOptions, IndexReport
from newsflow.index.run_metrics import record_run_metrics
from newsflow.index.templates import MigrationReport, SetupOptions, SetupReport, migrate, setup_indices

__all__ = [
    "ArticleDoc",
    "BulkIndexingError",
    "IndexFailure",
    "IndexNames",
    "IndexOptions",
    "IndexReport",
    "MigrationReport",
    "SetupOptions",
    "SetupReport",
    "build_document",
    "index_articles",
    "migrate",
    "record_run_metrics",
    "setup_indices",
]
