"""Writing result tables: atomic, deterministic CSV files."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pandas as pd

__all__ = ["write_csv"]


def write_csv(table: pd.DataFrame, path: str | os.PathLike, float_format: str = "%.6g") -> Path:
    """Write ``table`` to ``path`` (no index, fixed float format) via a temporary file and a rename."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        table.to_csv(tmp, index=False, float_format=float_format, lineterminator="\n")
        os.replace(tmp, path)
    finally:
        Path(tmp).unlink(missing_ok=True)
    return path
