"""Writing result tables: atomic, deterministic CSV files."""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd

from .atomic import atomic_open

__all__ = ["write_csv"]


def write_csv(table: pd.DataFrame, path: str | os.PathLike, float_format: str = "%.6g") -> Path:
    """Write ``table`` to ``path`` (no index, fixed float format) via a temporary file and a rename."""
    with atomic_open(path, "w") as fh:
        table.to_csv(fh, index=False, float_format=float_format, lineterminator="\n")
    return Path(path)
