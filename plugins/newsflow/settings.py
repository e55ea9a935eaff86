"""Where newsflow keeps its local state and how it finds its services.

Everything comes from environment variables with local defaults, so the same
code runs from a checkout (``make demo``), inside Airflow workers, and against a
production cluster. Nothing here opens a connection.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from newsflow.errors import ConfigError

PACKAGE_DIR = Path(__file__).resolve().parent
# Where a built wheel carries ``seeds/`` (pyproject.toml: [tool.hatch.build.targets.wheel.force-include]).
PACKAGED_SEEDS = PACKAGE_DIR / "seeds"
_FALSE_WORDS = frozenset({"0", "false", "no", "off"})


def repo_root() -> Path:
    """The checkout holding ``plugins/newsflow`` (or ``NEWSFLOW_HOME``)."""
    env = os.environ.get("NEWSFLOW_HOME")
    return Path(env).resolve() if env else PACKAGE_DIR.parent.parent


def state_dir() -> Path:
    """Local mutable state (services, archive, caches): ``NEWSFLOW_STATE_DIR`` or ``<repo>/.local``."""
    env = os.environ.get("NEWSFLOW_STATE_DIR")
    return Path(env).resolve() if env else repo_root() / ".local"


def seeds_dir() -> Path:
    """Seed data (feed registries, index templates, Kibana objects, the demo site).

    ``NEWSFLOW_SEEDS``; else ``seeds/`` of the checkout (or of ``NEWSFLOW_HOME``); else the copy
    an installed wheel carries inside the package, so ``pip install newsflow`` needs no checkout.
    """
    env = os.environ.get("NEWSFLOW_SEEDS")
    if env:
        return Path(env).resolve()
    checkout = repo_root() / "seeds"
    return checkout if checkout.is_dir() or not PACKAGED_SEEDS.is_dir() else PACKAGED_SEEDS


def archive_root() -> str:
    """Root of the raw WARC archive: any fsspec URL (``NEWSFLOW_ARCHIVE``) or a local path."""
    return os.environ.get("NEWSFLOW_ARCHIVE") or str(state_dir() / "archive")


def int_env(name: str, default: int) -> int:
    """A whole number from the environment (``default`` when unset or blank); a ``ConfigError``
    naming the variable otherwise."""
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        return int(raw)
    except ValueError:
        raise ConfigError(f"{name}={raw!r} is not a whole number; set one or unset it") from None


@dataclass(frozen=True, slots=True)
class EsConnection:
    """How to reach Elasticsearch. Secrets are kept out of ``repr`` so they never reach a log.

    ``url`` may itself hold credentials (``https://user:pass@host``): show it only through
    ``newsflow.redact.redact_url`` (``display_url``).
    """

    url: str
    external: bool  # True when NEWSFLOW_ES_URL points at a cluster we must not start or stop
    api_key: str | None = None
    username: str | None = None
    password: str | None = None
    ca_certs: str | None = None
    verify_certs: bool = True

    @property
    def urls(self) -> list[str]:
        """Every node named: ``url`` may list several, comma-separated, so the client fails over."""
        return [part.strip().rstrip("/") for part in self.url.split(",") if part.strip()]

    @property
    def display_url(self) -> str:
        from newsflow.redact import redact_url

        return ",".join(redact_url(part) for part in self.urls)

    def __repr__(self) -> str:
        auth = "api_key" if self.api_key else ("basic" if self.username else "none")
        return f"EsConnection(url={self.display_url!r}, external={self.external}, auth={auth})"


def local_es_port() -> int:
    return int_env("NEWSFLOW_ES_PORT", 9200)


def local_es_nodes() -> int:
    """How many nodes the local cluster has (``newsflow es up --nodes N``): their HTTP ports follow
    ``NEWSFLOW_ES_PORT`` one by one, and clients are given all of them."""
    nodes = int_env("NEWSFLOW_ES_NODES", 1)
    if not 1 <= nodes <= 9:
        raise ConfigError(f"NEWSFLOW_ES_NODES={nodes} is out of range; use 1..9")
    return nodes


def check_service_url(variable: str, value: str, *, several: bool = True) -> None:
    """A ``ConfigError`` when a part of ``value`` (comma-separated when ``several``) is no
    http(s) URL with a host and a valid port, naming it with its credentials masked: a client's
    own error would quote the whole value, password and all (``NEWSFLOW_ES_URL``,
    ``NEWSFLOW_AIRFLOW_URL``, an alert's webhook)."""
    from urllib.parse import urlsplit

    from newsflow.redact import redact_url

    for part in (p.strip() for p in (value.split(",") if several else [value]) if p.strip()):
        try:
            parts = urlsplit(part)
            parts.port  # noqa: B018 - parsing the port is the check: out of range or not a number raises
            ok = parts.scheme in ("http", "https") and bool(parts.hostname)
        except ValueError:
            ok = False
        if not ok:
            raise ConfigError(
                f"{variable} {redact_url(part)!r} is not an http(s) URL with a host and a valid port; "
                "a password holding '/', '?', '#' or '@' must be percent-encoded"
            )


def es_connection() -> EsConnection:
    """The cluster to use: ``NEWSFLOW_ES_URL`` (+ credentials) or the project's local node."""
    url = os.environ.get("NEWSFLOW_ES_URL")
    if url:
        check_service_url("NEWSFLOW_ES_URL", url)
        return EsConnection(
            url=url.rstrip("/"),
            external=True,
            api_key=os.environ.get("NEWSFLOW_ES_API_KEY") or None,
            username=os.environ.get("NEWSFLOW_ES_USERNAME") or None,
            password=os.environ.get("NEWSFLOW_ES_PASSWORD") or None,
            ca_certs=os.environ.get("NEWSFLOW_ES_CA_CERTS") or None,
            verify_certs=os.environ.get("NEWSFLOW_ES_VERIFY_CERTS", "true").lower()
            not in {"0", "false", "no"},
        )
    port = local_es_port()
    urls = [f"http://127.0.0.1:{port + n}" for n in range(local_es_nodes())]
    return EsConnection(url=",".join(urls), external=False)
