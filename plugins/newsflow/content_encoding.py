"""Content-Encoding decoded by hand, a chunk at a time, never past the caller's limit.

httpx would inflate a gzip bomb whole before we could count it; decoding here lets the
fetcher stop a few megabytes in (``FetchOptions.max_bytes``, ``max_decompression_ratio``).
"""

from __future__ import annotations

import zlib
from typing import Any


class ContentDecoder:
    """Streaming Content-Encoding decoder that never inflates past ``limit`` bytes."""

    def __init__(self, encoding: str) -> None:
        self.encoding = encoding
        self._raw_deflate_tried = False
        if encoding in ("", "identity"):
            self._z: Any = None
        elif encoding in ("gzip", "x-gzip"):
            self._z = zlib.decompressobj(16 + zlib.MAX_WBITS)
        elif encoding == "deflate":
            self._z = zlib.decompressobj(zlib.MAX_WBITS)
        else:
            raise ValueError(encoding)

    def feed(self, data: bytes, limit: int) -> bytes:
        """Decode ``data``; returns at most ``limit`` + 1 bytes so callers can detect overflow."""
        if self._z is None:
            return data
        try:
            out = self._z.decompress(data, limit + 1)
        except zlib.error:
            if self.encoding == "deflate" and not self._raw_deflate_tried:
                # Some servers send raw deflate without the zlib header.
                self._raw_deflate_tried = True
                self._z = zlib.decompressobj(-zlib.MAX_WBITS)
                out = self._z.decompress(data, limit + 1)
            else:
                raise
        # When more output is pending, ``out`` holds limit + 1 bytes: the caller sees the overflow.
        return bytes(out)
