"""URL canonicalisation: one article, one key, however a feed links to it.

Feeds link the same article with tracking parameters, fragments, mixed-case
hosts and default ports; the canonical form is what an article's id hashes.
"""

from __future__ import annotations

from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

# Parameters that only say who sent the reader, never which article it is.
TRACKING_PARAMS = frozenset(
    {
        "fbclid",
        "gclid",
        "dclid",
        "gbraid",
        "wbraid",
        "msclkid",
        "mc_cid",
        "mc_eid",
        "igshid",
        "yclid",
        "_ga",
        "_gl",
        "ocid",
        "cmpid",
        "ito",
        "ns_mchannel",
        "ns_source",
        "ns_campaign",
        "ns_linkname",
        "ns_fee",
        "smid",
        "smtyp",
        "at_medium",
        "at_campaign",
        "taid",
        "ref_src",
        "cid",
        "rss",
        "feed",
        "partner",
        "guccounter",
        "guce_referrer",
        "guce_referrer_sig",
    }
)
TRACKING_PREFIXES = ("utm_", "mkt_", "pk_", "hsa_", "oly_", "__hs", "vero_")
DEFAULT_PORTS = {"http": 80, "https": 443}


def is_tracking_param(name: str) -> bool:
    lowered = name.lower()
    return lowered in TRACKING_PARAMS or lowered.startswith(TRACKING_PREFIXES)


def canonicalize_url(url: str) -> str:
    """Normalise ``url`` so equal articles compare equal.

    Lower-cases scheme and host, drops default ports, fragments and tracking
    parameters, sorts the remaining query, and removes a trailing slash from
    non-root paths. The scheme is kept: http and https may be different sites.
    """
    parts = urlsplit(url.strip())
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").lower().rstrip(".")
    if not scheme or not host:
        return url.strip()
    port = parts.port
    netloc = host if port is None or DEFAULT_PORTS.get(scheme) == port else f"{host}:{port}"
    if parts.username:
        netloc = f"{parts.username}@{netloc}"
    path = parts.path or "/"
    if len(path) > 1 and path.endswith("/"):
        path = path.rstrip("/") or "/"
    pairs = parse_qsl(parts.query, keep_blank_values=True)
    query_pairs = [(k, v) for k, v in pairs if not is_tracking_param(k)]
    query = urlencode(sorted(query_pairs))
    return urlunsplit((scheme, netloc, path, query, ""))


def site_of(url: str) -> str:
    """``https://www.example.com:8443`` of a URL: its scheme, host and port, never a user or
    password it may carry ("" if it has no host)."""
    parts = urlsplit(url)
    try:
        port = f":{parts.port}" if parts.port else ""
    except ValueError:  # a port that is not a number
        port = ""
    return f"{parts.scheme}://{parts.hostname}{port}" if parts.scheme and parts.hostname else ""


def host_of(url: str) -> str:
    """The lower-cased host of ``url`` without a ``www.`` prefix (the outlet key)."""
    host = (urlsplit(url).hostname or "").lower()
    return host.removeprefix("www.")
