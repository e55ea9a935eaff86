"""A TCP proxy on 127.0.0.1 in front of a real server that goes away after N HTTP requests.

It forwards bytes both ways untouched. When a client sends its request number ``cut_after
+ 1``, the proxy drops that connection without forwarding it and stops listening, so every
later connection is refused: what a client sees when the server dies mid-batch. ``only``
counts just the requests whose path holds it (``b"/_bulk"``: die after the first bulk, however
many lookups the client makes before it). It stops by itself after ``lifetime`` seconds even
if a test forgets to.
"""

from __future__ import annotations

import contextlib
import re
import socket
import threading
from collections.abc import Iterator

_REQUEST_LINE = re.compile(rb"(?:GET|POST|PUT|HEAD|DELETE) (/\S*) HTTP/1\.1\r\n")


class CuttingProxy:
    def __init__(self, target_port: int, cut_after: int, lifetime: float = 300.0, only: bytes = b"") -> None:
        self.target_port = target_port
        self.cut_after = cut_after
        self.only = only
        self.requests = 0
        self.cut = threading.Event()
        self._lock = threading.Lock()
        self._sockets: list[socket.socket] = []
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = int(self._listener.getsockname()[1])
        self.url = f"http://127.0.0.1:{self.port}"
        self._watchdog = threading.Timer(lifetime, self.stop)
        self._watchdog.daemon = True

    def start(self) -> CuttingProxy:
        threading.Thread(target=self._accept, name="cutting-proxy", daemon=True).start()
        self._watchdog.start()
        return self

    def _accept(self) -> None:
        while not self.cut.is_set():
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            upstream = socket.create_connection(("127.0.0.1", self.target_port))
            with self._lock:
                self._sockets += [client, upstream]
            threading.Thread(target=self._pipe, args=(client, upstream, True), daemon=True).start()
            threading.Thread(target=self._pipe, args=(upstream, client, False), daemon=True).start()

    def _pipe(self, source: socket.socket, sink: socket.socket, from_client: bool) -> None:
        with contextlib.suppress(OSError):
            while data := source.recv(65536):
                if from_client:
                    with self._lock:
                        self.requests += sum(self.only in path for path in _REQUEST_LINE.findall(data))
                        over = self.requests > self.cut_after
                    if over:
                        self.stop()
                        return
                sink.sendall(data)
        with contextlib.suppress(OSError):
            sink.shutdown(socket.SHUT_WR)

    def stop(self) -> None:
        self.cut.set()
        self._watchdog.cancel()
        with contextlib.suppress(OSError):
            self._listener.close()
        with self._lock:
            sockets, self._sockets = self._sockets, []
        for sock in sockets:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            with contextlib.suppress(OSError):
                sock.close()


@contextlib.contextmanager
def cutting_proxy(
    target_port: int, cut_after: int, lifetime: float = 300.0, only: bytes = b""
) -> Iterator[CuttingProxy]:
    proxy = CuttingProxy(target_port, cut_after, lifetime, only).start()
    try:
        yield proxy
    finally:
        proxy.stop()
