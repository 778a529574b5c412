"""Embedding extraction: images and texts of a data set (or the paper's random-noise inputs).

Embeddings are stored *raw* (not L2-normalised) as float32; every statistic normalises itself.
One ``.npz`` file per (model, data set) holds:

==============  ==========================================================================================
``image``       (n, d) image embeddings, rows aligned with ``ids``
``text``        captions task: (n, d), row i = caption of image i. classification: (k * t, d), the
                prompts of k classes x t templates, class of each row in ``text_labels``. None for
                image-only models (an empty (0, 0) array)
``ids``         (n,) sample ids (str)
``split``       (n,) split of each row
``labels``      (n,) class index (classification) or -1
``text_labels`` (m,) class index of each text row (classification) or the row index (captions)
``meta``        JSON: model spec, weights, seed, preprocessing, device, package versions, skipped images
==============  ==========================================================================================
"""

from __future__ import annotations

import json
import logging
import os
import platform
from contextlib import nullcontext
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import DataLoader
from torch.utils.data import Dataset as TorchDataset

from .atomic import atomic_open
from .datasets import Dataset, DatasetError
from .models import LoadedModel

__all__ = [
    "noise_images",
    "noise_tokens",
    "ImageRows",
    "embed_images",
    "embed_texts",
    "embed_dataset",
    "embed_noise",
    "save_embeddings",
    "load_embeddings",
    "check_embeddings",
    "choose_device",
    "loader_workers",
]

log = logging.getLogger(__name__)


def choose_device() -> torch.device:
    """CUDA when available, else CPU."""
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def loader_workers(threads: int, device: torch.device) -> int:
    """DataLoader workers for a job of ``threads`` threads.

    On CUDA the model runs on the GPU, so every thread but the main one decodes images. On CPU
    the forward pass needs the cores itself and preprocessing is a few percent of its cost
    (about 1.6 ms against 50 ms an image for ViT-B-32 here), so workers only pay off once there
    are cores to spare: one per four threads.
    """
    if device.type == "cuda":
        return max(threads - 1, 0)
    return threads // 4


def noise_images(n: int, image_size: int, seed: int, start: int = 0) -> torch.Tensor:
    """The paper's noise images: standard normal ``(3, image_size, image_size)`` tensors, fed to the model as is.

    Image ``i`` is drawn from its own generator (seeded from ``seed`` and ``i``), so any slice
    ``[start, start + n)`` gives the same numbers whatever the batch size.

    Returns
    -------
    (n, 3, image_size, image_size) float32 tensor (in the model's normalised input space).
    """
    out = torch.empty(n, 3, image_size, image_size)
    for k in range(n):
        g = torch.Generator().manual_seed(seed * 1_000_003 + start + k)
        out[k] = torch.randn(3, image_size, image_size, generator=g)
    return out


def noise_tokens(n: int, context_length: int, vocab_size: int, seed: int) -> torch.Tensor:
    """The paper's noise texts: token ids drawn uniformly from ``[0, vocab_size)``, full context length.

    Returns
    -------
    (n, context_length) int64 tensor.
    """
    g = torch.Generator().manual_seed(seed)
    return torch.randint(0, vocab_size, (n, context_length), generator=g, dtype=torch.long)


class ImageRows(TorchDataset):
    """The preprocessed images of a data set's rows. With ``skip_bad``, unreadable images yield None."""

    def __init__(self, dataset: Dataset, preprocess, skip_bad: bool = False):
        self.dataset, self.preprocess, self.skip_bad = dataset, preprocess, skip_bad

    def __len__(self) -> int:
        return len(self.dataset)

    def __getitem__(self, i: int):
        try:
            return i, self.preprocess(self.dataset.load_image(i))
        except DatasetError:
            if self.skip_bad:
                return i, None
            raise


def _collate(batch):
    idx = torch.tensor([i for i, _ in batch], dtype=torch.long)
    good = [(i, x) for i, x in batch if x is not None]
    bad = torch.tensor([i for i, x in batch if x is None], dtype=torch.long)
    if not good:
        return idx.new_empty(0), None, bad
    return torch.tensor([i for i, _ in good]), torch.stack([x for _, x in good]), bad


def _autocast(device: torch.device):
    if device.type == "cuda":
        return torch.autocast("cuda", dtype=torch.bfloat16)
    return nullcontext()


@torch.inference_mode()
def embed_images(
    model: LoadedModel,
    dataset: Dataset,
    device: torch.device,
    batch_size: int = 64,
    num_workers: int = 0,
    skip_bad: bool = False,
    progress=None,
) -> tuple[np.ndarray, np.ndarray, list[int]]:
    """Embed every image of ``dataset``.

    Returns
    -------
    emb : (n_ok, d) float32 array
    rows : (n_ok,) int array of the dataset rows embedded (in order)
    skipped : list of int, rows whose image could not be read (only with ``skip_bad``)
    """
    loader = DataLoader(
        ImageRows(dataset, model.preprocess, skip_bad),
        batch_size=batch_size,
        num_workers=num_workers,
        collate_fn=_collate,
        pin_memory=device.type == "cuda",
        persistent_workers=False,
    )
    out, rows, skipped = [], [], []
    for idx, x, bad in loader:
        skipped.extend(bad.tolist())
        if x is not None:
            with _autocast(device):
                e = model.encode_image(x.to(device, non_blocking=True))
            out.append(e.float().cpu().numpy())
            rows.append(idx.numpy())
        if progress is not None:
            progress.update(len(idx) + len(bad))
    if not out:
        raise DatasetError(f"{dataset.root}: no image could be read")
    return np.concatenate(out).astype(np.float32), np.concatenate(rows), skipped


@torch.inference_mode()
def embed_texts(
    model: LoadedModel, texts: list[str], device: torch.device, batch_size: int = 256, progress=None
) -> np.ndarray:
    """Embed ``texts`` with the model's tokenizer and text tower; returns (len(texts), d) float32."""
    if model.encode_text is None:
        raise ValueError("this model has no text tower")
    out = []
    for start in range(0, len(texts), batch_size):
        tokens = model.tokenize(texts[start : start + batch_size]).to(device)
        with _autocast(device):
            out.append(model.encode_text(tokens).float().cpu().numpy())
        if progress is not None:
            progress.update(len(tokens))
    return np.concatenate(out).astype(np.float32)


@torch.inference_mode()
def embed_noise(
    model: LoadedModel, n: int, seed: int, device: torch.device, batch_size: int = 64
) -> dict[str, np.ndarray]:
    """Embed the paper's noise inputs: ``n`` Gaussian images and ``n`` random-token texts."""
    images, texts = [], []
    for start in range(0, n, batch_size):
        x = noise_images(min(batch_size, n - start), model.image_size, seed, start=start)
        with _autocast(device):
            images.append(model.encode_image(x.to(device)).float().cpu().numpy())
    if model.encode_text is not None:
        tokens = noise_tokens(n, model.context_length, model.vocab_size, seed + 1)
        for start in range(0, n, batch_size):
            with _autocast(device):
                texts.append(model.encode_text(tokens[start : start + batch_size].to(device)).float().cpu().numpy())
    ids = np.array([f"noise{i}" for i in range(n)])
    return {
        "image": np.concatenate(images).astype(np.float32),
        "text": np.concatenate(texts).astype(np.float32) if texts else np.zeros((0, 0), np.float32),
        "ids": ids,
        "split": np.array(["test"] * n),
        "labels": np.full(n, -1),
        "text_labels": np.arange(n) if texts else np.zeros(0, int),
    }


def embed_dataset(
    model: LoadedModel,
    dataset: Dataset,
    device: torch.device,
    batch_size: int = 64,
    num_workers: int = 0,
    skip_bad: bool = False,
    progress_factory=None,
) -> tuple[dict[str, np.ndarray], list[str]]:
    """Embed a data set's images and texts (captions, or class prompts for classification).

    Returns
    -------
    arrays : dict
        The arrays of the ``.npz`` format (see module docstring), without ``meta``.
    skipped_ids : list of str
        Ids of unreadable images that were skipped (their captions are dropped too).
    """
    bar = progress_factory(total=len(dataset), desc="images") if progress_factory else None
    img, rows, skipped = embed_images(model, dataset, device, batch_size, num_workers, skip_bad, bar)
    if bar is not None:
        bar.close()
    samples = dataset.samples.iloc[rows]
    arrays = {
        "image": img,
        "ids": np.asarray(samples["id"].astype(str).tolist(), dtype=str),
        "split": np.asarray(samples["split"].astype(str).tolist(), dtype=str),
        "labels": samples["label"].astype(np.int64).to_numpy(),
    }
    if model.encode_text is None:
        arrays["text"] = np.zeros((0, 0), np.float32)
        arrays["text_labels"] = np.zeros(0, np.int64)
    elif dataset.task == "captions":
        texts = samples["caption"].astype(str).tolist()
        bar = progress_factory(total=len(texts), desc="captions") if progress_factory else None
        arrays["text"] = embed_texts(model, texts, device, progress=bar)
        arrays["text_labels"] = np.arange(len(texts))
    else:
        prompts = dataset.class_prompts()
        flat = [p for per_class in prompts for p in per_class]
        arrays["text"] = embed_texts(model, flat, device)
        arrays["text_labels"] = np.repeat(np.arange(len(prompts)), [len(p) for p in prompts])
    skipped_ids = dataset.samples["id"].iloc[skipped].astype(str).tolist()
    return arrays, skipped_ids


def package_versions() -> dict[str, str]:
    """Versions of the packages that determine the numbers."""
    import numpy
    import open_clip
    import torchvision

    return {
        "python": platform.python_version(),
        "torch": torch.__version__,
        "torchvision": torchvision.__version__,
        "open_clip": open_clip.__version__,
        "numpy": numpy.__version__,
    }


def save_embeddings(path: str | os.PathLike, arrays: dict[str, np.ndarray], meta: dict) -> Path:
    """Write the ``.npz`` atomically (temporary file in the same folder, then rename)."""
    path = Path(path)
    for key in ("image", "text"):
        a = arrays[key]
        if a.size and not np.isfinite(a).all():
            raise ValueError(f"{path.name}: {key} embeddings contain NaN or infinite values; not written")
    # text columns as fixed-width unicode: object arrays would need pickle to load
    arrays = {k: (np.asarray(v, dtype=str) if np.asarray(v).dtype == object else v) for k, v in arrays.items()}
    with atomic_open(path, "wb") as fh:
        np.savez(fh, **arrays, meta=np.array(json.dumps(meta, sort_keys=True)))
    return path


def check_embeddings(x: np.ndarray, where: str, ids: np.ndarray | None = None) -> None:
    """Raise ``ValueError`` naming ``where`` and the first bad row if ``x`` has NaN/inf or all-zero rows."""
    if x.size == 0:
        return
    bad_value = ~np.isfinite(x).all(axis=1)
    zero = ~bad_value & ~np.any(x != 0, axis=1)
    for mask, what in ((bad_value, "NaN or infinite values"), (zero, "an all-zero vector")):
        if mask.any():
            i = int(np.flatnonzero(mask)[0])
            row = f"row {i}" + (f" (id {ids[i]})" if ids is not None and i < len(ids) else "")
            raise ValueError(
                f"{where}: {row} holds {what} ({int(mask.sum())} such row(s)); cosine and gap statistics are "
                "undefined there. The file is corrupt or the model produced degenerate outputs: delete it and "
                "re-run the rule that made it."
            )


def load_embeddings(path: str | os.PathLike, validate: bool = True) -> tuple[dict[str, np.ndarray], dict]:
    """Read an embeddings ``.npz``; returns (arrays, meta).

    With ``validate``, NaN/infinite or all-zero embedding rows raise ``ValueError`` naming the file and row.
    """
    with np.load(path, allow_pickle=False) as z:
        arrays = {k: z[k] for k in z.files if k != "meta"}
        meta = json.loads(str(z["meta"]))
    if validate:
        check_embeddings(arrays["image"], f"{path} (image)", arrays.get("ids"))
        check_embeddings(arrays["text"], f"{path} (text)", arrays.get("ids") if meta.get("dataset", {}).get("task") == "captions" else None)
    return arrays, meta
