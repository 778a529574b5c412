"""Figure style and saving shared by every figure of the workflow.

Figures are built with matplotlib's object-oriented API (``matplotlib.figure.Figure``: no pyplot,
no global figure registry, no backend selection), so they work headless in rule scripts and do
not disturb a notebook's backend. Styling is ``seaborn.set_theme(context="paper",
style="whitegrid")`` inside :func:`paper_style`, which restores the global rcParams on exit.
Colours follow Figure 1 of the paper: image-like modality red, text blue.
"""

from __future__ import annotations

import math
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import matplotlib as mpl
import seaborn as sns
from matplotlib.figure import Figure

__all__ = ["IMAGE_COLOR", "TEXT_COLOR", "paper_style", "panel_grid", "save_figure"]

IMAGE_COLOR = "#d62728"  # red, as in the paper's Figure 1
TEXT_COLOR = "#1f77b4"  # blue


@contextmanager
def paper_style() -> Iterator[None]:
    """Apply ``seaborn.set_theme(context="paper", style="whitegrid")`` temporarily."""
    with mpl.rc_context():
        sns.set_theme(context="paper", style="whitegrid")
        mpl.rcParams["pdf.fonttype"] = 42  # editable TrueType text in the PDFs
        yield


def panel_grid(n_panels: int, ncols: int | None = None, default_ncols: int = 4) -> tuple[int, int]:
    """``(nrows, ncols)`` of a grid holding ``n_panels`` panels, ``ncols`` (default ``default_ncols``) wide."""
    if n_panels < 1:
        raise ValueError("need at least one panel")
    ncols = min(n_panels, default_ncols) if ncols is None else int(ncols)
    if ncols < 1:
        raise ValueError(f"ncols must be >= 1, got {ncols!r}")
    return math.ceil(n_panels / ncols), ncols


def save_figure(
    fig: Figure, stem: str | os.PathLike[str], dpi: int = 200, formats: tuple[str, ...] = ("png", "pdf")
) -> list[Path]:
    """Write ``<stem>.<fmt>`` for each format atomically.

    Each file is first written to a temporary name in the destination folder and then moved into
    place with ``os.replace``, so a reader (or an interrupted Snakemake job) never sees a
    half-written figure. The folder is created if needed.

    Parameters
    ----------
    fig : matplotlib.figure.Figure
    stem : str or path-like
        Output path without extension (``results/fig1`` -> ``results/fig1.png``, ``.pdf``). A
        trailing ``.png`` or ``.pdf`` is stripped, so a Snakemake output such as
        ``results/figures/Figure1.png`` can be passed directly.
    dpi : int, default 200
        Resolution of raster formats.
    formats : tuple of str
        File formats, by extension.

    Returns
    -------
    list of pathlib.Path
        One path per format, in order.
    """
    stem = Path(stem)
    if stem.suffix.lower() in (".png", ".pdf"):
        stem = stem.with_suffix("")
    stem.parent.mkdir(parents=True, exist_ok=True)
    out = []
    for ext in formats:
        final = stem.parent / f"{stem.name}.{ext}"
        fd, tmp = tempfile.mkstemp(dir=stem.parent, prefix=f".{stem.name}.", suffix=f".{ext}.tmp")
        os.close(fd)
        try:
            fig.savefig(tmp, format=ext, dpi=dpi, bbox_inches="tight")
            os.chmod(tmp, 0o644)
            os.replace(tmp, final)
        except BaseException:
            if os.path.exists(tmp):
                os.remove(tmp)
            raise
        out.append(final)
    return out
