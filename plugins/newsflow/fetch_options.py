"""The fetcher's limits and manners, one frozen object (tests shrink timeouts and backoffs).

Kept apart from ``fetch`` so the stages that only configure fetching (flows, CLI) read a
small module, and validation fails at construction, before any socket opens.
"""

from __future__ import annotations

from dataclasses import dataclass

from newsflow import fetch_policy
from newsflow.errors import ConfigError


def _package_version() -> str:
    try:
        from importlib.metadata import version

        return version("newsflow")
    except Exception:  # the package may be imported from a source tree without metadata
        return "0"


@dataclass(frozen=True, slots=True)
class FetchOptions:
    """Limits and manners of the fetcher; tests shrink timeouts and backoffs."""

    # Placeholder: deployments set a page (or mailto:) where publishers can reach the operator.
    contact_url: str = "https://example.invalid/newsflow-crawler"
    connect_timeout: float = 10.0
    read_timeout: float = 20.0
    # wall clock for the whole fetch (every hop, attempt and backoff), enforced on every socket
    # wait, so a server dripping a byte a second cannot hold a worker longer than this
    deadline: float = 60.0
    max_bytes: int = 10 * 1024 * 1024  # decoded body cap
    max_decompression_ratio: float = 100.0
    max_redirects: int = 5
    retries: int = 2
    backoff_base: float = 0.5
    backoff_max: float = 30.0
    max_retry_after: float = 60.0
    # host names, IPs or CIDRs, each optionally with a port ("127.0.0.1:8765"); see fetch_policy
    allow_private_hosts: frozenset[str] = frozenset()
    per_host_concurrency: int = 2
    per_host_delay: float = 1.0
    max_crawl_delay: float = 30.0
    respect_robots: bool = True
    robots_ttl: float = 3600.0
    max_workers: int = 4  # thread pool across hosts for batch fetches

    def __post_init__(self) -> None:
        positive = {
            "connect_timeout": self.connect_timeout,
            "read_timeout": self.read_timeout,
            "deadline": self.deadline,
            "max_bytes": self.max_bytes,
            "max_decompression_ratio": self.max_decompression_ratio,
            "per_host_concurrency": self.per_host_concurrency,
            "max_workers": self.max_workers,
        }
        for name, value in positive.items():
            if value <= 0:
                raise ConfigError(f"FetchOptions.{name} must be > 0, got {value!r}")
        non_negative = {
            "max_redirects": self.max_redirects,
            "retries": self.retries,
            "backoff_base": self.backoff_base,
            "backoff_max": self.backoff_max,
            "max_retry_after": self.max_retry_after,
            "per_host_delay": self.per_host_delay,
            "max_crawl_delay": self.max_crawl_delay,
            "robots_ttl": self.robots_ttl,
        }
        for name, value in non_negative.items():
            if value < 0:
                raise ConfigError(f"FetchOptions.{name} must be >= 0, got {value!r}")
        if not self.contact_url.startswith(("http://", "https://", "mailto:")):
            raise ConfigError(
                f"FetchOptions.contact_url must be an http(s) or mailto: URL, got {self.contact_url!r}"
            )
        if not isinstance(self.allow_private_hosts, frozenset):
            raise ConfigError("FetchOptions.allow_private_hosts must be a frozenset of hosts/IPs/CIDRs")
        fetch_policy.parse_allow_list(self.allow_private_hosts)

    @property
    def user_agent(self) -> str:
        return f"newsflow/{_package_version()} (+{self.contact_url})"

    @property
    def robots_agent(self) -> str:
        return "newsflow"
