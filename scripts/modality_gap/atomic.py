"""Atomic file writes: a temporary file in the destination folder, renamed into place on success."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO

__all__ = ["atomic_open"]


@contextmanager
def atomic_open(path: str | os.PathLike, mode: str = "wb", fsync: bool = False) -> Iterator[IO]:
    """Open a temporary file beside ``path`` for writing; rename it to ``path`` when the block succeeds.

    The folder is created if needed. If the block raises, the temporary file is removed and ``path``
    is left as it was, so a reader (or an interrupted Snakemake job) never sees a half-written file.

    Parameters
    ----------
    path : path
        The final file.
    mode : str
        ``"wb"`` or ``"w"`` (text, newline translation off).
    fsync : bool
        Flush the file to disk before the rename (checkpoints).
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    # mkstemp creates the file 0600; give it the permissions open() would (0666 less the umask), so
    # that results on a shared cluster file system stay readable by the group
    umask = os.umask(0)
    os.umask(umask)
    os.fchmod(fd, 0o666 & ~umask)
    try:
        with os.fdopen(fd, mode, **({} if "b" in mode else {"newline": ""})) as fh:
            yield fh
            if fsync:
                fh.flush()
                os.fsync(fh.fileno())
        os.replace(tmp, path)
    finally:
        Path(tmp).unlink(missing_ok=True)
