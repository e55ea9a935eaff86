"""A folder on any fsspec filesystem, with whole-file atomic writes.

The archive, its indexes, batch markers and feed state all live on one of these, so
the same code runs on a local disk, ``memory://`` in tests and an object store.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from datetime import date, timedelta
from fnmatch import fnmatchcase
from pathlib import Path
from typing import Any

import fsspec


def day_dir(day: date) -> str:
    """The folder of one day's WARCs (the run's logical date), relative to the archive root."""
    return f"warc/{day:%Y/%m/%d}"


def days(first: date, last: date) -> Iterator[date]:
    """``first`` .. ``last`` inclusive."""
    day = first
    while day <= last:
        yield day
        day += timedelta(days=1)


class Storage:
    """A directory on any fsspec filesystem, with whole-file atomic writes."""

    def __init__(self, url: str) -> None:
        self.url = url.rstrip("/") or "/"
        self.fs, self.root = fsspec.core.url_to_fs(self.url)
        self.is_local = "file" in _protocols(self.fs)

    def join(self, *parts: str) -> str:
        return "/".join([self.root.rstrip("/"), *parts])

    def display(self, path: str) -> str:
        """The string a reference should carry: a plain path locally, a URL elsewhere."""
        if self.is_local and "://" not in self.url:
            return path
        return str(self.fs.unstrip_protocol(path))

    def read_bytes(self, path: str) -> bytes | None:
        try:
            with self.fs.open(path, "rb") as handle:
                return bytes(handle.read())
        except FileNotFoundError:
            return None

    def read_range(self, path: str, start: int, end: int | None) -> bytes | None:
        """Bytes ``start`` to ``end`` (exclusive; None: to the end) of a file; None if it is gone."""
        try:
            return bytes(self.fs.cat_file(path, start=start, end=end))
        except FileNotFoundError:
            return None

    def write_bytes(self, path: str, data: bytes) -> None:
        parent = path.rsplit("/", 1)[0]
        self.fs.makedirs(parent, exist_ok=True)
        if self.is_local:
            tmp = f"{parent}/.{path.rsplit('/', 1)[1]}.{uuid.uuid4().hex}.tmp"
            with open(tmp, "wb") as handle:  # noqa: PTH123 - fsspec paths are plain strings here
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
            Path(tmp).replace(path)
        else:
            # Object stores publish an object only when the whole upload completes.
            self.fs.pipe_file(path, data)

    def publish_file(self, local_tmp: str, path: str) -> None:
        """Move a finished local temp file to ``path`` atomically."""
        parent = path.rsplit("/", 1)[0]
        self.fs.makedirs(parent, exist_ok=True)
        if self.is_local:
            Path(local_tmp).replace(path)
        else:
            self.fs.put_file(local_tmp, path)
            os.unlink(local_tmp)  # noqa: PTH108 - plain temp path

    def glob(self, pattern: str) -> list[str]:
        return sorted(str(p) for p in self.fs.glob(pattern))

    def listdir(self, folder: str, pattern: str = "*") -> list[str]:
        """The paths in ``folder`` (not below it) whose names match ``pattern``, sorted; [] if
        there is no such folder.

        What the archive lists is a day folder, which holds every batch of its day: at scale
        hundreds of thousands of files, listed by every poll unit for each day it looks back.
        A ``glob`` of the folder cost 8.9 µs a file on a local disk, this listing 0.75
        (``bench/bench_listing.py``): the pattern is matched here, on names.
        """
        try:
            if self.is_local:
                with os.scandir(folder) as entries:
                    names = [entry.name for entry in entries]
            else:
                # Object-store filesystems keep listings they made (s3fs, gcsfs): a task that
                # lists its folder, writes, and lists it again must see what it wrote.
                self.fs.invalidate_cache(folder)
                names = [str(p).rstrip("/").rsplit("/", 1)[-1] for p in self.fs.ls(folder, detail=False)]
        except (FileNotFoundError, NotADirectoryError):
            return []
        base = folder.rstrip("/")
        return sorted(f"{base}/{name}" for name in names if pattern == "*" or fnmatchcase(name, pattern))

    def exists(self, path: str) -> bool:
        return bool(self.fs.exists(path))


def _protocols(fs: Any) -> tuple[str, ...]:
    protocol = fs.protocol
    return (protocol,) if isinstance(protocol, str) else tuple(protocol)
