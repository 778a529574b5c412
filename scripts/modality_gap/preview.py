"""A contact sheet of a prepared data set: images with their captions or class names."""

from __future__ import annotations

import textwrap

import numpy as np
from matplotlib.figure import Figure

from .datasets import Dataset
from .plotting import paper_style

__all__ = ["preview_rows", "plot_dataset_preview"]


def preview_rows(dataset: Dataset, n_images: int, seed: int) -> np.ndarray:
    """Sorted row indices of a seeded random sample of ``min(n_images, len(dataset))`` rows."""
    n = min(n_images, len(dataset))
    return np.sort(np.random.default_rng(seed).choice(len(dataset), size=n, replace=False))


def plot_dataset_preview(dataset: Dataset, rows: np.ndarray, ncols: int = 4):
    """Grid of the given rows' images, each titled with its text (caption or class name)."""
    nrows = int(np.ceil(len(rows) / ncols))
    with paper_style():
        fig = Figure(figsize=(2.6 * ncols, 3.3 * nrows))
        axes = fig.subplots(nrows, ncols, squeeze=False)
        for ax in axes.flat:
            ax.axis("off")
        for ax, i in zip(axes.flat, rows):
            ax.imshow(np.asarray(dataset.load_image(int(i))), interpolation="nearest")
            row = dataset.samples.iloc[int(i)]
            if dataset.task == "captions":
                text = row["caption"]
                if bool(row.get("mismatched", False)):
                    text = "[swapped] " + text
            else:
                text = f"{dataset.classes[int(row['label'])]}"
            ax.set_title("\n".join(textwrap.wrap(str(text), 34)[:4]), fontsize=7)
        fig.suptitle(f"{dataset.name}: {len(dataset)} samples ({dataset.task})", fontsize=10)
        fig.tight_layout()
    return fig
