"""Which addresses the fetcher may connect to: public ones, and private ones the operator allowed.

Feeds are untrusted: an item can link to ``http://127.0.0.1:9200/...`` (our own
Elasticsearch), a cloud metadata endpoint or the office network. Every URL, and every
redirect hop, is resolved and each address checked before any connection; the fetcher
then connects to exactly the addresses checked (see ``fetch_deadline.pinned_addresses``).

Allow-list entries (``NEWSFLOW_ALLOW_PRIVATE_HOSTS``, comma-separated) name a host, an IP
or a CIDR, optionally with a port:

- ``127.0.0.1:8765``, ``10.0.0.0/8:8080``, ``[::1]:8765``, ``intranet.example:8443``:
  that host or range, on that port only;
- ``127.0.0.1``, ``10.0.0.0/8``, ``::1``, ``intranet.example``: any port (the meaning
  entries had before ports were allowed). Name a port whenever the host also runs
  other services: a bare ``127.0.0.1`` lets a feed reach Elasticsearch, Airflow and
  PostgreSQL on the same machine.

Cloud metadata addresses are refused even inside an allowed range; only an entry
naming that exact address allows one.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit

from newsflow.errors import ConfigError, FetchError

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
Resolver = Callable[[str, int], Sequence[str]]

METADATA_ADDRESSES = frozenset(
    {ipaddress.ip_address("169.254.169.254"), ipaddress.ip_address("fd00:ec2::254")}
)
ENV_VAR = "NEWSFLOW_ALLOW_PRIVATE_HOSTS"


class PolicyRefusal(FetchError):
    """A URL the policy refuses; ``reason`` is the counted code (``refused_private_address`` ...)."""

    def __init__(self, url: str, reason: str, detail: str) -> None:
        super().__init__(f"{url}: {reason} ({detail})")
        self.url = url
        self.reason = reason
        self.detail = detail


@dataclass(frozen=True, slots=True)
class AllowEntry:
    """One allow-list entry: a host name or a network, on one port or (``port=None``) any."""

    text: str
    name: str | None
    network: IPNetwork | None
    port: int | None

    def allows_name(self, host: str, port: int) -> bool:
        return self.name == host and self.port in (None, port)

    def allows_ip(self, ip: IPAddress, port: int) -> bool:
        if self.network is None or self.port not in (None, port) or ip not in self.network:
            return False
        return ip not in METADATA_ADDRESSES or self.network.num_addresses == 1


def _port(text: str, entry: str) -> int:
    if not text.isdigit() or not 1 <= int(text) <= 65535:
        raise ConfigError(f"allow-list entry {entry!r}: {text!r} is not a port (1-65535)")
    return int(text)


def parse_allow_entry(text: str) -> AllowEntry:
    """``host``, ``host:port``, ``ip``, ``ip:port``, ``cidr``, ``cidr:port``, ``[v6]:port``."""
    item = text.strip()
    port: int | None = None
    if item.startswith("["):
        close = item.find("]")
        host, rest = (item[1:close], item[close + 1 :]) if close > 0 else ("", "")
        if close <= 0 or (rest and not rest.startswith(":")):
            raise ConfigError(f"allow-list entry {text!r}: expected [IPv6] or [IPv6]:port")
        if rest:
            port = _port(rest[1:], text)
    elif item.count(":") == 1:
        host, port_text = item.split(":")
        port = _port(port_text, text)
    else:
        host = item  # a bare IPv6 address or range has several colons and no port
    host = host.strip().lower().rstrip(".")
    if not host:
        raise ConfigError(f"allow-list entry {text!r}: no host; use a host, IP or CIDR, e.g. 127.0.0.1:8765")
    if "/" in host or _is_ip(host):
        try:
            network = ipaddress.ip_network(host, strict=False)
        except ValueError as exc:
            raise ConfigError(f"allow-list entry {text!r}: not a valid IP or CIDR ({exc})") from exc
        return AllowEntry(text, None, network, port)
    if any(c in host for c in " @?#\\"):
        raise ConfigError(f"allow-list entry {text!r}: {host!r} is not a host name")
    return AllowEntry(text, host, None, port)


def parse_allow_list(items: Iterable[str]) -> tuple[AllowEntry, ...]:
    return tuple(parse_allow_entry(item) for item in items)


def allow_list_from_env(value: str | None) -> frozenset[str]:
    """The entries of a comma-separated allow-list (``NEWSFLOW_ALLOW_PRIVATE_HOSTS``), validated."""
    items = frozenset(item.strip() for item in (value or "").split(",") if item.strip())
    parse_allow_list(items)
    return items


def _is_ip(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


def is_blocked_address(ip: IPAddress) -> bool:
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip in METADATA_ADDRESSES or not ip.is_global or ip.is_multicast


def _default_resolver(host: str, port: int) -> list[str]:
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return [str(info[4][0]) for info in infos]


class AddressPolicy:
    """Refuses hosts that resolve to loopback/private/link-local/reserved/metadata addresses."""

    def __init__(self, allow: Iterable[str], resolver: Resolver | None = None) -> None:
        self._entries = parse_allow_list(allow)
        self._resolver = resolver or _default_resolver

    def check(self, url: str) -> tuple[str, ...]:
        """The addresses ``url`` may be fetched from (empty: a name the allow-list trusts as is).

        Raises ``PolicyRefusal`` when any address the host resolves to is refused.
        """
        parts = urlsplit(url)
        host = (parts.hostname or "").lower().rstrip(".")
        if not host:
            raise PolicyRefusal(url, "bad_url", "no host")
        try:
            port = parts.port or (443 if parts.scheme == "https" else 80)
        except ValueError as exc:
            raise PolicyRefusal(url, "bad_url", str(exc)) from exc
        if any(entry.allows_name(host, port) for entry in self._entries):
            return ()
        if _is_ip(host):
            found = [host]
        else:
            try:
                found = [a.split("%", 1)[0] for a in self._resolver(host, port)]
            except (OSError, UnicodeError) as exc:
                raise PolicyRefusal(url, "dns_error", str(exc)) from exc
            if not found:
                raise PolicyRefusal(url, "dns_error", "host resolved to no address")
        for address in found:
            ip = ipaddress.ip_address(address)
            if is_blocked_address(ip) and not any(entry.allows_ip(ip, port) for entry in self._entries):
                allowed_here = [e.text for e in self._entries if e.network is not None and ip in e.network]
                detail = f"{host} resolves to {ip}, port {port}"
                if allowed_here:
                    detail += f" (allowed entries {sorted(allowed_here)} do not cover this port)"
                raise PolicyRefusal(url, "refused_private_address", detail)
        return tuple(dict.fromkeys(found))
