"""Figure style and saving shared by every figure of the workflow."""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # rule scripts render headless; must precede pyplot

import matplotlib.pyplot as plt  # noqa: E402
import seaborn as sns  # noqa: E402

__all__ = ["paper_style", "save_figure", "IMAGE_COLOR", "TEXT_COLOR"]

#: colours of the two modalities in every figure (the paper: image red, text blue)
IMAGE_COLOR = "#d62728"
TEXT_COLOR = "#1f77b4"


@contextlib.contextmanager
def paper_style():
    """The seaborn style of every figure, applied only inside the ``with`` block."""
    with sns.axes_style("whitegrid"), sns.plotting_context("paper"), plt.rc_context(
        {"savefig.bbox": "tight", "figure.dpi": 100, "pdf.fonttype": 42}
    ):
        yield


def save_figure(fig, path: str | os.PathLike, formats: tuple[str, ...] = ("png", "pdf"), dpi: int = 200) -> list[Path]:
    """Save ``fig`` as ``<stem>.<fmt>`` for each format, atomically, and close it.

    ``path`` may carry a suffix (``results/figures/Figure1.png``); the stem is used for every format.
    Each file is written to a temporary name in the same folder, then renamed into place.
    """
    path = Path(path)
    stem = path.with_suffix("") if path.suffix.lstrip(".") in formats else path
    stem.parent.mkdir(parents=True, exist_ok=True)
    written = []
    try:
        for fmt in formats:
            final = stem.with_name(f"{stem.name}.{fmt}")
            fd, tmp = tempfile.mkstemp(prefix=f".{final.name}.", suffix=f".{fmt}", dir=final.parent)
            os.close(fd)
            try:
                fig.savefig(tmp, format=fmt, dpi=dpi)
                os.replace(tmp, final)
            finally:
                Path(tmp).unlink(missing_ok=True)
            written.append(final)
    finally:
        plt.close(fig)
    return written
