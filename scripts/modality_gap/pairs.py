"""Matched embedding pairs from either source: the paper's released arrays or the workflow's own.

* released: ``features_<system>[_random].npy``, float32 (2, n, d), index 0 image-like, 1 text.
* workflow: ``results/embeddings/<model>/<dataset>.npz`` of a captions data set (see
  :mod:`modality_gap.embed`); rows of one ``split`` (the validation split by default, as the paper
  used COCO val), image row i matched with caption row i.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from .embed import check_embeddings, load_embeddings

__all__ = ["load_pairs"]


def load_pairs(path: str | os.PathLike, split: str | None = "val") -> tuple[np.ndarray, np.ndarray]:
    """Matched pairs ``(x, y)``, each (n, d) float32, raw as stored.

    Parameters
    ----------
    path : path
        A released ``.npy`` array or a workflow ``.npz`` of a captions data set.
    split : str or None
        For ``.npz`` files: keep the rows of this split when the file has any (else all rows).

    Raises
    ------
    ValueError
        The file holds no matched pairs (a classification task, an image-only model, noise).
    """
    path = Path(path)
    if path.suffix == ".npy":
        arr = np.load(path)
        if arr.ndim != 3 or arr.shape[0] != 2:
            raise ValueError(f"{path}: expected a (2, n, d) array of matched pairs, got shape {arr.shape}")
        x, y = np.asarray(arr[0], np.float32), np.asarray(arr[1], np.float32)
        check_embeddings(x, f"{path} (modality 0)")
        check_embeddings(y, f"{path} (text)")
        return x, y
    arrays, meta = load_embeddings(path)
    x, y = arrays["image"], arrays["text"]
    if y.shape[0] != x.shape[0] or meta.get("dataset", {}).get("task") != "captions":
        raise ValueError(
            f"{path}: not matched image-caption pairs (data set {meta.get('dataset', {}).get('name')!r}, "
            f"task {meta.get('dataset', {}).get('task')!r}, image {x.shape}, text {y.shape})"
        )
    if split is not None and (arrays["split"] == split).any():
        keep = arrays["split"] == split
        x, y = x[keep], y[keep]
    return x, y
