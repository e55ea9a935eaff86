"""HTTP responses as the fetcher hands them on, for tests that archive pages."""

from __future__ import annotations

from datetime import datetime

from newsflow.fetch import FetchResult


def html_response(
    url: str,
    *,
    fetched_at: datetime,
    body: bytes = b"<html>x</html>",
    status: int = 200,
    content_type: str = "text/html",
) -> FetchResult:
    """A page fetched from ``url`` with no redirect."""
    return FetchResult(
        url=url,
        final_url=url,
        status=status,
        headers=(("Content-Type", content_type),),
        body=body,
        fetched_at=fetched_at,
        elapsed=0.1,
        reason_phrase="OK" if status == 200 else "Not Found",
    )
