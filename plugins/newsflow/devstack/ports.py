"""Ports on 127.0.0.1 for the services the project starts itself: a free one, and a busy one.

Every local service (Elasticsearch nodes, Airflow, PostgreSQL, Redis) binds 127.0.0.1 on a
port of its own; these are the two questions each asks before it starts.
"""

from __future__ import annotations

import socket


def free_port() -> int:
    """A port on 127.0.0.1 nobody listens on right now (the kernel picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def port_open(port: int) -> bool:
    """Whether something accepts connections on 127.0.0.1:``port`` (within half a second)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(0.5)
        return sock.connect_ex(("127.0.0.1", port)) == 0
