"""Output files of the commands that read one file and write another.

``--out`` naming the input (a slip of the shell's history) would replace the user's data
with the command's output; the command refuses instead, before reading anything.
"""

from __future__ import annotations

from pathlib import Path

from newsflow.errors import InputError


def refuse_input_as_output(source: Path, *outputs: Path | None) -> None:
    """An ``InputError`` when one of ``outputs`` is the file ``source`` (by inode, not by name)."""
    for out in outputs:
        try:
            same = out is not None and out.exists() and source.exists() and out.samefile(source)
        except OSError:  # unreadable: the read or the write will say why
            same = False
        if same:
            raise InputError(f"{out}: is the input {source} itself; write the output elsewhere")
