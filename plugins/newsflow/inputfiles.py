"""Files a user hands to a command (JSONL inputs, manifests, registries), read in bounded pieces.

A path can name a device or a pipe that never ends (``/dev/zero``), or a file with no line
break in gigabytes. Read whole, or line by line, either is held in memory before the command
can say what is wrong with it. So lines and small files are read up to a limit, and what
passes it is refused or skipped by name, as any other bad input is.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from newsflow.errors import InputError

MAX_LINE_BYTES = 64 << 20  # one JSON line: an article whose text the story stage cuts at 200,000 characters
MAX_SKIP_BYTES = 1 << 30  # a line past the limit is skipped to its end within this, or the file is refused
CHUNK_BYTES = 1 << 20  # what a skip reads at a time


def bounded_lines(
    handle: BinaryIO, source: str, max_line: int | None = None
) -> Iterator[tuple[int, bytes | None]]:
    """``(number, line)`` for each line of ``handle``; ``None`` for a line over ``max_line``
    bytes (default ``MAX_LINE_BYTES``), which is skipped. An ``InputError`` when no line break
    comes in ``MAX_SKIP_BYTES``."""
    max_line = MAX_LINE_BYTES if max_line is None else max_line
    number = 0
    while line := handle.readline(max_line + 1):
        number += 1
        if len(line) <= max_line or line.endswith(b"\n"):
            yield number, line
            continue
        skipped = len(line)
        while (rest := handle.readline(CHUNK_BYTES)) and not rest.endswith(b"\n"):
            skipped += len(rest)
            if skipped > MAX_SKIP_BYTES:
                raise InputError(
                    f"{source}: line {number} runs past {MAX_SKIP_BYTES >> 20} MB with no line break; "
                    "not a JSON-lines file"
                )
        yield number, None


def read_small(path: str | Path, max_bytes: int) -> bytes:
    """The bytes of a file that must be small (a registry, a saved object); an ``InputError``
    past ``max_bytes``, and an ``OSError`` when it cannot be read."""
    with Path(path).open("rb") as handle:
        data = handle.read(max_bytes + 1)
    if len(data) > max_bytes:
        raise InputError(f"{path}: more than {max_bytes >> 20} MB; not the small file expected here")
    return data
