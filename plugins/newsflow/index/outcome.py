"""The indexing stage's policy (``IndexOptions``) and what a bulk write reports back.

Callers that only configure indexing or read its outcome (the story index, the replay,
the flows) need these and not the bulk machinery in ``index.bulk``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from newsflow.backoff import doubling
from newsflow.counts import Counts
from newsflow.errors import ConfigError, IndexingError
from newsflow.jsontypes import JsonValue


@dataclass(frozen=True, slots=True)
class IndexOptions:
    """The indexing stage's retry and failure policy.

    ``max_retries``/backoff apply both to documents rejected with 429/50x (retried by
    ``streaming_bulk``) and to whole chunks that hit connection errors (re-read and resent,
    which is safe because every write is idempotent). ``max_failure_ratio`` is the share of
    documents allowed to land in the dead-letter file before the run raises.
    """

    chunk_size: int = 500
    max_chunk_bytes: int = 20 * 1024 * 1024
    max_retries: int = 5
    initial_backoff_s: float = 1.0
    max_backoff_s: float = 30.0
    conflict_retries: int = 5
    max_failure_ratio: float = 0.01
    refresh: bool = False
    dead_letter_root: str | None = None

    def __post_init__(self) -> None:
        if not 1 <= self.chunk_size <= 10_000:
            raise ConfigError(f"chunk_size={self.chunk_size} must be within 1..10000")
        if self.max_chunk_bytes < 1024:
            raise ConfigError(f"max_chunk_bytes={self.max_chunk_bytes} is too small (>= 1024)")
        if self.max_retries < 0 or self.conflict_retries < 0:
            raise ConfigError("max_retries and conflict_retries must be >= 0")
        if self.initial_backoff_s < 0 or self.max_backoff_s < self.initial_backoff_s:
            raise ConfigError("backoff must satisfy 0 <= initial_backoff_s <= max_backoff_s")
        if not 0.0 <= self.max_failure_ratio <= 1.0:
            raise ConfigError(f"max_failure_ratio={self.max_failure_ratio} must be within 0..1")

    def backoff(self, attempt: int) -> float:
        return doubling(attempt - 1, self.initial_backoff_s, self.max_backoff_s)


@dataclass(frozen=True, slots=True)
class IndexFailure:
    """One document Elasticsearch would not take; ``reason`` is a short counted code."""

    id: str
    reason: str
    status: int | None
    error: str

    def to_dict(self) -> dict[str, JsonValue]:
        return {"id": self.id, "reason": self.reason, "status": self.status, "error": self.error}


@dataclass(frozen=True, slots=True)
class IndexReport:
    run_id: str
    alias: str
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    failed_by_reason: dict[str, int] = field(default_factory=dict)
    failures: tuple[IndexFailure, ...] = ()
    dead_letter_path: str | None = None
    took_s: float = 0.0

    @property
    def failed(self) -> int:
        return sum(self.failed_by_reason.values())

    @property
    def total(self) -> int:
        return self.created + self.updated + self.unchanged + self.failed

    def to_dict(self) -> dict[str, JsonValue]:
        return {
            "run_id": self.run_id,
            "alias": self.alias,
            "created": self.created,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "failed": self.failed,
            "failed_by_reason": dict(self.failed_by_reason),
            "failures": [f.to_dict() for f in self.failures],
            "dead_letter_path": self.dead_letter_path,
            "took_s": round(self.took_s, 3),
        }


class BulkIndexingError(IndexingError):
    """Indexing failed past the policy; ``report`` says what was written and what was not."""

    def __init__(self, message: str, report: IndexReport) -> None:
        super().__init__(message)
        self.report = report


@dataclass(slots=True)
class WriteTally:
    """What one ``index_articles`` call has done so far: counts (``created``, ``updated``,
    ``unchanged``, ``failed:<reason>``), the first failures, and the dead-letter file."""

    counts: Counts = field(default_factory=Counts)
    failures: list[IndexFailure] = field(default_factory=list)
    dead_letter: str | None = None
