"""The small exception hierarchy every stage raises from.

Callers catch ``NewsflowError`` to tell our own, explained failures from bugs.
Every message names the input that failed and what the operator can do about it.
"""

from __future__ import annotations


class NewsflowError(Exception):
    """Base of every error newsflow raises on purpose."""


class ConfigError(NewsflowError, ValueError):
    """A configuration file, option or environment variable is invalid."""


class InputError(NewsflowError, ValueError):
    """An input file or record is malformed; the message names it and the field."""


class ServiceError(NewsflowError, RuntimeError):
    """A service we manage or depend on (Elasticsearch, Airflow, Maven, Java) is missing or failed."""


class FetchError(NewsflowError):
    """A URL could not be fetched (after retries), or was refused by policy."""


class ExtractionError(NewsflowError):
    """A page could not be turned into an article; ``reason`` is a short counted code."""

    def __init__(self, message: str, reason: str = "unextractable") -> None:
        super().__init__(message)
        self.reason = reason


class IndexingError(NewsflowError):
    """Documents could not be written to Elasticsearch (after retries)."""
