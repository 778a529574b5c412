"""Training CLIP from scratch or fine-tuning it (Liang et al. 2022, Sec. 4.4, Figures 8 and 16).

Library only; the Snakemake rules call :func:`train_clip`, then :func:`save_trained_model`.

Loss
    Symmetric CLIP loss (:func:`clip_loss`): mean of the image->text and text->image
    cross-entropies of ``logit_scale * normalize(x) @ normalize(y).T``.

Temperature
    ``temperature=tau`` fixes it: the model's ``logit_scale`` parameter is set to ``log(1/tau)``,
    ``requires_grad`` is switched off and it is left out of the optimiser (hence also of weight
    decay). ``temperature=None`` keeps it learnable as in CLIP / open_clip: no weight decay, and
    clamped to ``[0, log(100)]`` after every step (open_clip_train, following Radford et al.).
    (The authors' Sec. 4.4 script left tau learnable *and* weight-decayed although the experiment
    claims a fixed tau; a float here avoids that defect.)

Amended initialisation (Sec. 4.4)
    With ``amend=True`` an orthogonal matrix ``W`` (:func:`procrustes_rotation`) is computed once,
    from the L2-normalised image and text embeddings of the whole training split under the initial
    weights, and the text embeddings are rotated, ``y' = W y``, at every training step and at every
    evaluation. ``W`` is stored in the checkpoint and is *not* recomputed when a run resumes.

Optimiser
    ``torch.optim.Adam`` (as the authors' script; weight decay is Adam's coupled L2 penalty, not
    AdamW's decoupled one) with open_clip's parameter groups (``open_clip_train/main.py``): no
    weight decay for parameters with fewer than 2 dimensions or whose name contains ``bn``, ``ln``,
    ``bias`` or ``logit_scale`` (biases, LayerNorm gains, ``class_embedding``, ``logit_scale``);
    weight decay for every other weight (matrices, also ``token_embedding`` and
    ``positional_embedding``). Frozen parameters are not passed to the optimiser.

Learning rate
    open_clip's schedules, stepped once per optimiser step: linear warm-up
    ``lr * (step + 1) / warmup_steps`` for ``step < warmup_steps``, then either ``lr``
    (``constant``) or ``0.5 * (1 + cos(pi * (step - warmup) / (total - warmup))) * lr``
    (``cosine``, ``total = epochs * steps_per_epoch``).

Reproducibility and resumption
    Batch order of epoch ``e`` is ``numpy.random.default_rng([seed, e]).permutation(n_train)``
    (incomplete last batch dropped); the global torch RNG is reseeded from ``(seed, e)`` at the
    start of every epoch (dropout, if an architecture has any). A checkpoint
    (``<checkpoint_dir>/last.pt``) is written atomically after the initial evaluation (epoch 0) and
    after every epoch; with ``resume=True`` a call continues from it, so a run killed after epoch
    ``k`` and restarted ends with bitwise the same weights and metrics on CPU as an uninterrupted
    run. The checkpoint records the settings that determine the numbers; resuming with other
    settings (or another training set) raises :class:`CheckpointError` instead of silently mixing
    two runs (the authors' script let the second run continue from the first run's model).

Metrics (one row per epoch; epoch 0 = initial weights, ``train_loss`` NaN)
    ``epoch, step, train_loss, val_loss, val_gap, val_gap_raw, val_r1_i2t, val_r1_t2i,
    logit_scale, lr, seconds``. ``val_gap`` is the centroid distance of the normalised validation
    embeddings after ``W`` (amended runs); ``val_gap_raw`` without ``W`` (equal otherwise).
    ``val_loss`` is :func:`modality_gap.shift.clip_loss` over consecutive validation batches of
    ``batch_size`` (a last partial batch included) at the model's current ``logit_scale``.
    ``seconds`` is the wall time of the epoch's training steps.
"""

from __future__ import annotations

import hashlib
import logging
import math
import os
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import DataLoader
from torch.utils.data import Dataset as TorchDataset

from .atomic import atomic_open
from .datasets import Dataset
from .embed import _autocast, choose_device, embed_images, embed_texts
from .gap import centroid_distance, l2_normalize
from .models import LoadedModel
from .shift import clip_loss as clip_loss_numpy

__all__ = [
    "CHECKPOINT_NAME",
    "METRICS_NAME",
    "METRIC_COLUMNS",
    "CheckpointError",
    "TrainResult",
    "clip_loss",
    "procrustes_rotation",
    "rotate_text",
    "param_groups",
    "LRSchedule",
    "epoch_order",
    "embed_pairs",
    "retrieval_r1",
    "evaluate",
    "train_clip",
    "load_checkpoint",
    "save_trained_model",
]

log = logging.getLogger(__name__)

CHECKPOINT_NAME = "last.pt"
METRICS_NAME = "metrics.csv"
CHECKPOINT_FORMAT = 1
MAX_LOGIT_SCALE = math.log(100.0)
METRIC_COLUMNS = (
    "epoch", "step", "train_loss", "val_loss", "val_gap", "val_gap_raw",
    "val_r1_i2t", "val_r1_t2i", "logit_scale", "lr", "seconds",
)
SCHEDULES = ("cosine", "constant")


class CheckpointError(ValueError):
    """A training checkpoint cannot be read or does not belong to this run; the message names the file."""


@dataclass
class TrainResult:
    """What :func:`train_clip` returns.

    Attributes
    ----------
    model : LoadedModel
        The trained model (trained in place), in eval mode on the training device.
    metrics : pandas.DataFrame
        One row per epoch (0 = initial weights), columns :data:`METRIC_COLUMNS`.
    rotation : ndarray of shape (d, d) or None
        The amended run's ``W`` (text embeddings are used as ``text @ W.T``); None otherwise.
    checkpoint : Path or None
        The last checkpoint written (None without ``checkpoint_dir``).
    """

    model: LoadedModel
    metrics: pd.DataFrame
    rotation: np.ndarray | None
    checkpoint: Path | None


# --------------------------------------------------------------------------------------------
# loss and Procrustes
# --------------------------------------------------------------------------------------------
def clip_loss(image_emb: torch.Tensor, text_emb: torch.Tensor, logit_scale: torch.Tensor | float) -> torch.Tensor:
    """Symmetric CLIP loss of a batch of matched pairs.

    ``logits = logit_scale * normalize(image_emb) @ normalize(text_emb).T``; the loss is
    ``(CE(logits, arange(B)) + CE(logits.T, arange(B))) / 2`` (Radford et al. 2021; Liang et al.
    2022, Eq. 1). Equals :func:`modality_gap.shift.clip_loss` with ``temperature = 1/logit_scale``
    and one batch.

    Parameters
    ----------
    image_emb, text_emb : Tensor, shape (B, d)
        Row ``i`` of each is a matched pair; normalised here (need not be on input).
    logit_scale : Tensor (scalar) or float
        The multiplier ``1/tau`` (i.e. ``model.logit_scale.exp()``, not its log).

    Returns
    -------
    Tensor, scalar
    """
    if image_emb.ndim != 2 or image_emb.shape != text_emb.shape:
        raise ValueError(
            f"image_emb and text_emb must be 2-D of the same shape, got {tuple(image_emb.shape)} "
            f"and {tuple(text_emb.shape)}"
        )
    x = F.normalize(image_emb, dim=-1)
    y = F.normalize(text_emb, dim=-1)
    logits = logit_scale * x @ y.T
    labels = torch.arange(x.shape[0], device=x.device)
    return 0.5 * (F.cross_entropy(logits, labels) + F.cross_entropy(logits.T, labels))


def procrustes_rotation(x, y) -> np.ndarray:
    """Orthogonal ``W`` that rotates text embeddings onto image embeddings (Sec. 4.4, amended init).

    Convention: with ``X``, ``Y`` the row-wise L2-normalised ``x``, ``y`` and the SVD
    ``X^T Y = U S V^T``, ``W = U V^T``. It minimises ``||X W - Y||_F`` over orthogonal matrices,
    equivalently ``||Y W^T - X||_F``: **aligned text rows are** ``y @ W.T`` (column vectors:
    ``y' = W y``, the paper's notation; the paper's ``argmin ||X - Y W||`` is our ``W.T``).
    Use :func:`rotate_text`. If ``y = x @ R`` for an orthogonal ``R``, ``W = R``.

    Parameters
    ----------
    x : array_like, shape (n, d)
        Image embeddings (normalised here).
    y : array_like, shape (n, d)
        Text embeddings, row ``i`` matched with ``x[i]``.

    Returns
    -------
    ndarray of float64, shape (d, d), orthogonal.
    """
    if isinstance(x, torch.Tensor):
        x = x.detach().cpu().numpy()
    if isinstance(y, torch.Tensor):
        y = y.detach().cpu().numpy()
    xn = l2_normalize(np.asarray(x), name="x")
    yn = l2_normalize(np.asarray(y), name="y")
    if xn.ndim != 2 or xn.shape != yn.shape:
        raise ValueError(f"x and y must be 2-D of the same shape, got {xn.shape} and {yn.shape}")
    u, _, vt = np.linalg.svd(xn.T @ yn)
    return u @ vt


def rotate_text(text, rotation):
    """Apply the Procrustes rotation to text embeddings: ``text @ rotation.T`` (numpy or torch, (n, d))."""
    return text @ rotation.T


# --------------------------------------------------------------------------------------------
# optimiser, schedule, data order
# --------------------------------------------------------------------------------------------
def _no_decay(name: str, p: torch.Tensor) -> bool:
    return p.ndim < 2 or "bn" in name or "ln" in name or "bias" in name or "logit_scale" in name


def param_groups(module: nn.Module, weight_decay: float) -> list[dict]:
    """open_clip's two parameter groups over the trainable parameters.

    Returns
    -------
    list of dict
        ``[{"params": gains_biases_and_logit_scale, "weight_decay": 0.0},
        {"params": other_weights, "weight_decay": weight_decay}]``; parameters with
        ``requires_grad=False`` (a fixed ``logit_scale``) are in neither.
    """
    named = [(n, p) for n, p in module.named_parameters() if p.requires_grad]
    return [
        {"params": [p for n, p in named if _no_decay(n, p)], "weight_decay": 0.0},
        {"params": [p for n, p in named if not _no_decay(n, p)], "weight_decay": float(weight_decay)},
    ]


class LRSchedule:
    """Multiplier of the base learning rate at optimiser step ``step`` (for ``LambdaLR``).

    Linear warm-up ``(step + 1) / warmup_steps`` for ``step < warmup_steps``, then 1
    (``constant``) or ``0.5 * (1 + cos(pi * (step - warmup_steps) / (total_steps - warmup_steps)))``
    (``cosine``), as open_clip_train's ``const_lr`` / ``cosine_lr``.
    """

    def __init__(self, kind: str, warmup_steps: int, total_steps: int):
        if kind not in SCHEDULES:
            raise ValueError(f"schedule must be one of {SCHEDULES}, got {kind!r}")
        self.kind, self.warmup_steps, self.total_steps = kind, int(warmup_steps), int(total_steps)

    def __call__(self, step: int) -> float:
        if step < self.warmup_steps:
            return (step + 1) / self.warmup_steps
        if self.kind == "constant":
            return 1.0
        span = max(self.total_steps - self.warmup_steps, 1)
        return 0.5 * (1.0 + math.cos(math.pi * min(step - self.warmup_steps, span) / span))


def epoch_order(n: int, seed: int, epoch: int) -> np.ndarray:
    """Order of the training rows in epoch ``epoch`` (1-based): ``default_rng([seed, epoch]).permutation(n)``."""
    return np.random.default_rng([int(seed), int(epoch)]).permutation(n)


def _torch_seed(seed: int, epoch: int) -> int:
    return int(np.random.SeedSequence([int(seed), int(epoch), 7]).generate_state(1, np.uint64)[0] >> 1)


class _PairRows(TorchDataset):
    """(preprocessed image, caption tokens) of a data set's rows."""

    def __init__(self, dataset: Dataset, preprocess, tokens: torch.Tensor):
        self.dataset, self.preprocess, self.tokens = dataset, preprocess, tokens

    def __len__(self) -> int:
        return len(self.dataset)

    def __getitem__(self, i: int):
        return self.preprocess(self.dataset.load_image(i)), self.tokens[i]


# --------------------------------------------------------------------------------------------
# helpers
# --------------------------------------------------------------------------------------------
def _as_loaded(model, preprocess=None, tokenize=None) -> LoadedModel:
    """Wrap a bare open_clip model in a :class:`LoadedModel` (preprocess from its config)."""
    if isinstance(model, LoadedModel):
        if model.encode_text is None:
            raise ValueError("model: an image-only model cannot be trained with the CLIP loss")
        return model
    if not isinstance(model, nn.Module) or not hasattr(model, "encode_text") or not hasattr(model, "logit_scale"):
        raise ValueError(f"model must be a LoadedModel or an open_clip CLIP model, got {type(model).__name__}")
    if tokenize is None:
        raise ValueError("tokenize: a bare open_clip model needs tokenize=open_clip.get_tokenizer(arch)")
    if preprocess is None:
        from open_clip.transform import PreprocessCfg, image_transform_v2

        preprocess = image_transform_v2(PreprocessCfg(**model.visual.preprocess_cfg), is_train=False)
    size = model.visual.image_size
    size = size[0] if isinstance(size, (tuple, list)) else int(size)
    return LoadedModel(
        module=model, preprocess=preprocess, encode_image=model.encode_image, encode_text=model.encode_text,
        tokenize=tokenize, image_size=size, context_length=int(model.context_length),
        vocab_size=int(model.vocab_size), description={"arch": None, "pretrained": None},
    )


@contextmanager
def _num_threads(threads: int | None):
    if threads is None:
        yield
        return
    old = torch.get_num_threads()
    torch.set_num_threads(int(threads))
    try:
        yield
    finally:
        torch.set_num_threads(old)


@contextmanager
def _eval_mode(module: nn.Module):
    was_training = module.training
    module.eval()
    try:
        yield
    finally:
        module.train(was_training)


def _captions(dataset: Dataset, name: str) -> list[str]:
    if dataset.task != "captions":
        raise ValueError(f"{name}: a captions data set is needed, {dataset.name!r} has task {dataset.task!r}")
    if len(dataset) == 0:
        raise ValueError(f"{name}: the data set has no rows (did you pass the right split?)")
    return dataset.samples["caption"].astype(str).tolist()


def _digest(dataset: Dataset) -> str:
    h = hashlib.sha256()
    for i, c in zip(dataset.samples["id"].astype(str), dataset.samples["caption"].astype(str)):
        h.update(f"{i}\t{c}\n".encode())
    return h.hexdigest()[:16]


def retrieval_r1(x: np.ndarray, y: np.ndarray, block: int = 1024) -> tuple[float, float]:
    """Recall@1 of matched pairs: image->text and text->image.

    Parameters
    ----------
    x, y : ndarray, shape (n, d)
        L2-normalised embeddings; row ``i`` of each is a pair.

    Returns
    -------
    (r1_i2t, r1_t2i) : fraction of rows whose nearest neighbour (highest cosine) in the other
    modality is its own partner (ties: the lowest index wins).
    """
    n = x.shape[0]
    hit_i2t = hit_t2i = 0
    for s in range(0, n, block):
        rows = np.arange(s, min(s + block, n))
        hit_i2t += int((np.argmax(x[rows] @ y.T, axis=1) == rows).sum())
        hit_t2i += int((np.argmax(y[rows] @ x.T, axis=1) == rows).sum())
    return hit_i2t / n, hit_t2i / n


# --------------------------------------------------------------------------------------------
# evaluation
# --------------------------------------------------------------------------------------------
def embed_pairs(
    model,
    dataset: Dataset,
    *,
    device: str | torch.device | None = None,
    batch_size: int = 64,
    num_workers: int = 0,
    tokenize: Callable | None = None,
    preprocess: Callable | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Raw (unnormalised) image and caption embeddings of every row, in eval mode.

    ``model`` is a LoadedModel or a bare open_clip model (then with ``tokenize``; ``preprocess``
    defaults to its eval transform). ``device`` defaults to the device of the model's parameters.

    Returns
    -------
    image : (n, d) float32
    text : (n, d) float32, row ``i`` = caption of image ``i``
    """
    model = _as_loaded(model, preprocess, tokenize)
    captions = _captions(dataset, "dataset")
    device = torch.device(device) if device is not None else next(model.module.parameters()).device
    with _eval_mode(model.module):
        img, rows, _ = embed_images(model, dataset, device, batch_size=batch_size, num_workers=num_workers)
        txt = embed_texts(model, captions, device, batch_size=max(batch_size, 256))
    assert len(rows) == len(captions)
    return img, txt


def evaluate(
    model,
    dataset: Dataset,
    *,
    rotation: np.ndarray | None = None,
    logit_scale: float | None = None,
    batch_size: int = 64,
    device: str | torch.device | None = None,
    num_workers: int = 0,
    tokenize: Callable | None = None,
    preprocess: Callable | None = None,
) -> dict[str, float]:
    """Embed a captions split and measure gap, loss and retrieval.

    Parameters
    ----------
    model : LoadedModel or open_clip model
    dataset : Dataset
        A captions data set (e.g. ``ds.split("val")``).
    rotation : (d, d) array, optional
        Amended runs' ``W``; text embeddings become ``text @ W.T``.
    logit_scale : float, optional
        ``1/tau`` of the loss; default the model's ``logit_scale.exp()``.
    batch_size : int
        Embedding batch size and the loss's batch size (consecutive rows; a last partial batch counts).
    device, num_workers, tokenize, preprocess
        As in :func:`embed_pairs`.

    Returns
    -------
    dict with ``loss``, ``gap`` (centroid distance, after ``rotation``), ``gap_raw`` (before it),
    ``r1_i2t``, ``r1_t2i``, ``logit_scale``, ``n``.
    """
    model = _as_loaded(model, preprocess, tokenize)
    if logit_scale is None:
        logit_scale = float(model.module.logit_scale.detach().exp().cpu())
    img, txt = embed_pairs(model, dataset, device=device, batch_size=batch_size, num_workers=num_workers)
    x = l2_normalize(img, name="image embeddings")
    y_raw = l2_normalize(txt, name="text embeddings")
    y = rotate_text(y_raw, np.asarray(rotation, dtype=np.float64)) if rotation is not None else y_raw
    r1_i2t, r1_t2i = retrieval_r1(x, y)
    return {
        "loss": clip_loss_numpy(x, y, temperature=1.0 / logit_scale, batch_size=batch_size),
        "gap": centroid_distance(x, y),
        "gap_raw": centroid_distance(x, y_raw),
        "r1_i2t": r1_i2t,
        "r1_t2i": r1_t2i,
        "logit_scale": float(logit_scale),
        "n": int(len(x)),
    }


# --------------------------------------------------------------------------------------------
# checkpoints
# --------------------------------------------------------------------------------------------
def _atomic_torch_save(obj, path: Path) -> None:
    with atomic_open(path, "wb", fsync=True) as fh:
        torch.save(obj, fh)


def _atomic_csv(df: pd.DataFrame, path: Path) -> None:
    with atomic_open(path, "w") as fh:
        df.to_csv(fh, index=False)


_CHECKPOINT_KEYS = ("format", "epoch", "step", "model", "optimizer", "scheduler", "rng", "rotation", "metrics", "config")


def load_checkpoint(path: str | os.PathLike) -> dict:
    """Read a training checkpoint written by :func:`train_clip`.

    Raises
    ------
    CheckpointError
        The file is unreadable (truncated, corrupt, not a checkpoint); the message names it.
    """
    path = Path(path)
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises RuntimeError, UnpicklingError, EOFError, ... on bad files
        raise CheckpointError(
            f"training checkpoint {path} cannot be read ({type(exc).__name__}: {exc}). It is corrupt or "
            "truncated; delete it to restart this run from scratch (or pass resume=False)."
        ) from exc
    missing = [k for k in _CHECKPOINT_KEYS if not isinstance(state, dict) or k not in state]
    if missing:
        raise CheckpointError(
            f"{path} is not a training checkpoint of modality_gap.train (missing {', '.join(missing)}); "
            "delete it to restart this run from scratch (or pass resume=False)."
        )
    if state["format"] != CHECKPOINT_FORMAT:
        raise CheckpointError(f"{path}: checkpoint format {state['format']!r}, this code reads {CHECKPOINT_FORMAT}")
    return state


def _check_compatible(path: Path, saved: dict, config: dict) -> None:
    diff = [f"{k}: checkpoint {saved.get(k)!r}, this call {v!r}" for k, v in config.items() if saved.get(k) != v]
    if diff:
        raise CheckpointError(
            f"training checkpoint {path} belongs to a run with other settings ({'; '.join(diff)}). "
            "Resuming would mix two runs; delete the checkpoint or pass resume=False to start over, "
            "or call with the checkpoint's settings."
        )


def _rng_state() -> dict:
    state = {"torch": torch.get_rng_state()}
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def _set_rng_state(state: dict) -> None:
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


# --------------------------------------------------------------------------------------------
# training
# --------------------------------------------------------------------------------------------
def _check_args(epochs, batch_size, lr, betas, eps, weight_decay, temperature, warmup_steps, schedule, n_train):
    def positive_int(name, v, minimum):
        if isinstance(v, bool) or int(v) != v or v < minimum:
            raise ValueError(f"{name} must be an integer >= {minimum}, got {v!r}")

    positive_int("epochs", epochs, 1)
    positive_int("batch_size", batch_size, 2)
    positive_int("warmup_steps", warmup_steps, 0)
    for name, v in (("lr", lr), ("eps", eps)):
        if not (np.isfinite(v) and v > 0):
            raise ValueError(f"{name} must be a finite number > 0, got {v!r}")
    if not (np.isfinite(weight_decay) and weight_decay >= 0):
        raise ValueError(f"weight_decay must be a finite number >= 0, got {weight_decay!r}")
    if len(betas) != 2 or not all(0 <= b < 1 for b in betas):
        raise ValueError(f"betas must be two numbers in [0, 1), got {betas!r}")
    if temperature is not None and not (np.isfinite(temperature) and temperature > 0):
        raise ValueError(f"temperature must be None (learnable) or a finite number > 0, got {temperature!r}")
    if schedule not in SCHEDULES:
        raise ValueError(f"schedule must be one of {SCHEDULES}, got {schedule!r}")
    if n_train < batch_size:
        raise ValueError(
            f"batch_size={batch_size} is larger than the training set ({n_train} rows); every epoch "
            "drops the incomplete last batch, so no step would run"
        )


def train_clip(
    model,
    train_dataset: Dataset,
    val_dataset: Dataset,
    *,
    epochs: int,
    batch_size: int = 64,
    lr: float = 5e-4,
    betas: tuple[float, float] = (0.9, 0.98),
    eps: float = 1e-6,
    weight_decay: float = 0.2,
    temperature: float | None = None,
    warmup_steps: int = 0,
    schedule: str = "cosine",
    seed: int = 0,
    amend: bool = False,
    device: str | torch.device | None = None,
    checkpoint_dir: str | os.PathLike | None = None,
    resume: bool = True,
    threads: int | None = None,
    num_workers: int = 0,
    progress: Callable[[dict], None] | None = None,
    tokenize: Callable | None = None,
    preprocess: Callable | None = None,
) -> TrainResult:
    """Train a CLIP model with the symmetric contrastive loss (in place); see the module docstring.

    Parameters
    ----------
    model : LoadedModel or open_clip CLIP model
        Initial weights (random init for Sec. 4.4, pretrained for Figure 8). With a bare open_clip
        model pass ``tokenize`` (and optionally ``preprocess``; default: its eval transform).
    train_dataset, val_dataset : Dataset
        Captions data sets, e.g. ``ds.split("train")`` and ``ds.split("val")``; images go through
        the model's preprocess, ``samples['caption']`` through its tokenizer.
    epochs : int
        Total number of epochs (also when resuming).
    batch_size : int, default 64
        Pairs per step; the incomplete last batch of an epoch is dropped.
    lr, betas, eps, weight_decay
        ``torch.optim.Adam`` settings (the paper: 1e-5, (0.9, 0.98), 1e-6, 0.2).
    temperature : float or None
        Fixed ``tau`` (``logit_scale`` frozen at ``log(1/tau)``) or None for a learnable one.
    warmup_steps : int, default 0
    schedule : {"cosine", "constant"}
    seed : int
        Seeds the batch order and torch's RNG per epoch (the model's init seed is the model's).
    amend : bool
        Procrustes-amended initialisation (Sec. 4.4).
    device : str or torch.device, optional
        Default CUDA when available, else CPU. bf16 autocast on CUDA only.
    checkpoint_dir : path, optional
        Where ``last.pt`` and ``metrics.csv`` go (written atomically after every epoch).
    resume : bool, default True
        Continue from ``checkpoint_dir/last.pt`` when present; False starts over (overwriting it).
    threads : int, optional
        torch intra-op threads during the call (restored afterwards).
    num_workers : int
        DataLoader workers for image decoding.
    progress : callable, optional
        Called with each epoch's metrics row (a dict, epoch 0 included) after its checkpoint is written.
    tokenize, preprocess : callable, optional
        Only for a bare open_clip ``model``: its tokenizer (required) and image transform.

    Returns
    -------
    TrainResult

    Raises
    ------
    ValueError
        Invalid argument (the message names it).
    CheckpointError
        The checkpoint is corrupt or belongs to a run with other settings.
    FloatingPointError
        The loss became NaN or infinite.
    """
    model = _as_loaded(model, preprocess, tokenize)
    train_captions = _captions(train_dataset, "train_dataset")
    _captions(val_dataset, "val_dataset")
    _check_args(epochs, batch_size, lr, betas, eps, weight_decay, temperature, warmup_steps, schedule,
                len(train_dataset))
    device = torch.device(device) if device is not None else choose_device()
    module = model.module.to(device)
    steps_per_epoch = len(train_dataset) // batch_size
    total_steps = epochs * steps_per_epoch
    config = {
        "seed": int(seed), "batch_size": int(batch_size), "lr": float(lr), "betas": tuple(float(b) for b in betas),
        "eps": float(eps), "weight_decay": float(weight_decay),
        "temperature": None if temperature is None else float(temperature),
        "warmup_steps": int(warmup_steps), "schedule": schedule, "amend": bool(amend),
        "train_rows": int(len(train_dataset)), "train_digest": _digest(train_dataset),
    }
    if schedule == "cosine":  # the schedule's horizon depends on the total number of epochs
        config["epochs"] = int(epochs)

    # temperature: frozen (out of the optimiser) or learnable
    if temperature is not None:
        with torch.no_grad():
            module.logit_scale.fill_(math.log(1.0 / temperature))
        module.logit_scale.requires_grad_(False)
    else:
        module.logit_scale.requires_grad_(True)

    ckpt_path = Path(checkpoint_dir) / CHECKPOINT_NAME if checkpoint_dir is not None else None
    with _num_threads(threads):
        optimizer = torch.optim.Adam(param_groups(module, weight_decay), lr=lr, betas=tuple(betas), eps=eps)
        scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, LRSchedule(schedule, warmup_steps, total_steps))
        tokens = model.tokenize(train_captions)
        rotation: np.ndarray | None = None
        metrics: list[dict] = []
        start_epoch = 1

        if ckpt_path is not None and resume and ckpt_path.exists():
            state = load_checkpoint(ckpt_path)
            _check_compatible(ckpt_path, state["config"], config)
            if state["epoch"] > epochs:
                raise CheckpointError(
                    f"training checkpoint {ckpt_path} is at epoch {state['epoch']}, beyond epochs={epochs}; "
                    "delete it or pass resume=False to start over"
                )
            try:
                module.load_state_dict(state["model"])
            except RuntimeError as exc:
                raise CheckpointError(f"training checkpoint {ckpt_path} does not fit this model: {exc}") from exc
            optimizer.load_state_dict(state["optimizer"])
            scheduler.load_state_dict(state["scheduler"])
            _set_rng_state(state["rng"])
            rotation = state["rotation"].numpy() if state["rotation"] is not None else None
            metrics = [dict(m) for m in state["metrics"]]
            start_epoch = int(state["epoch"]) + 1
            log.info("resuming from %s at epoch %d", ckpt_path, start_epoch)
        else:
            torch.manual_seed(int(seed))
            if amend:
                img, txt = embed_pairs(model, train_dataset, device=device, batch_size=batch_size,
                                       num_workers=num_workers)
                rotation = procrustes_rotation(img, txt)
            metrics.append(_epoch_row(model, val_dataset, rotation, batch_size, device, num_workers,
                                      epoch=0, step=0, train_loss=float("nan"), lr=0.0, seconds=0.0))
            _save(ckpt_path, module, optimizer, scheduler, 0, 0, rotation, metrics, config)
            if progress is not None:
                progress(dict(metrics[-1]))

        rot_t = torch.as_tensor(rotation, dtype=torch.float32, device=device) if rotation is not None else None
        loader_rows = _PairRows(train_dataset, model.preprocess, tokens)
        step = (start_epoch - 1) * steps_per_epoch
        for epoch in range(start_epoch, epochs + 1):
            torch.manual_seed(_torch_seed(seed, epoch))
            loader = DataLoader(
                loader_rows, batch_size=batch_size, sampler=epoch_order(len(train_dataset), seed, epoch).tolist(),
                drop_last=True, num_workers=num_workers, pin_memory=device.type == "cuda",
            )
            module.train()
            t0 = time.perf_counter()
            losses = []
            for images, toks in loader:
                lr_now = optimizer.param_groups[0]["lr"]
                with _autocast(device):
                    ie = model.encode_image(images.to(device, non_blocking=True))
                    te = model.encode_text(toks.to(device, non_blocking=True))
                ie, te = ie.float(), te.float()
                if rot_t is not None:
                    te = rotate_text(te, rot_t)
                loss = clip_loss(ie, te, module.logit_scale.exp())
                if not torch.isfinite(loss):
                    raise FloatingPointError(f"training loss is {loss.item()} at epoch {epoch}, step {step}")
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                optimizer.step()
                scheduler.step()
                if temperature is None:
                    with torch.no_grad():
                        module.logit_scale.clamp_(0, MAX_LOGIT_SCALE)
                losses.append(loss.item())
                step += 1
            seconds = time.perf_counter() - t0
            metrics.append(_epoch_row(model, val_dataset, rotation, batch_size, device, num_workers, epoch=epoch,
                                      step=step, train_loss=float(np.mean(losses)), lr=lr_now, seconds=seconds))
            _save(ckpt_path, module, optimizer, scheduler, epoch, step, rotation, metrics, config)
            log.info("epoch %d/%d: %s", epoch, epochs, metrics[-1])
            if progress is not None:
                progress(dict(metrics[-1]))
    module.eval()
    return TrainResult(model=model, metrics=pd.DataFrame(metrics, columns=list(METRIC_COLUMNS)),
                       rotation=rotation, checkpoint=ckpt_path)


def _epoch_row(model, val_dataset, rotation, batch_size, device, num_workers, **fields) -> dict:
    ev = evaluate(model, val_dataset, rotation=rotation, batch_size=batch_size, device=device, num_workers=num_workers)
    row = {
        **fields,
        "val_loss": ev["loss"], "val_gap": ev["gap"], "val_gap_raw": ev["gap_raw"],
        "val_r1_i2t": ev["r1_i2t"], "val_r1_t2i": ev["r1_t2i"], "logit_scale": ev["logit_scale"],
    }
    return {k: (int(row[k]) if k in ("epoch", "step") else float(row[k])) for k in METRIC_COLUMNS}


def _save(path, module, optimizer, scheduler, epoch, step, rotation, metrics, config) -> None:
    if path is None:
        return
    state = {
        "format": CHECKPOINT_FORMAT,
        "epoch": int(epoch),
        "step": int(step),
        "model": {k: v.detach().cpu() for k, v in module.state_dict().items()},
        "optimizer": optimizer.state_dict(),
        "scheduler": scheduler.state_dict(),
        "rng": _rng_state(),
        "rotation": torch.as_tensor(rotation, dtype=torch.float64) if rotation is not None else None,
        "metrics": [dict(m) for m in metrics],
        "config": dict(config),
    }
    _atomic_torch_save(state, path)
    _atomic_csv(pd.DataFrame(metrics, columns=list(METRIC_COLUMNS)), path.parent / METRICS_NAME)


# --------------------------------------------------------------------------------------------
# export
# --------------------------------------------------------------------------------------------
def save_trained_model(
    path: str | os.PathLike, model, rotation: np.ndarray | None = None, meta: dict | None = None
) -> Path:
    """Write the trained weights for ``load_model({'weights': 'checkpoint', 'checkpoint': path, ...})``.

    The file is ``{"model": state_dict, "text_rotation": W or None, "meta": meta}`` (written
    atomically). An amended run's ``W`` is folded into the text projection
    (``text_projection <- text_projection @ W.T`` for a matrix, ``weight <- W @ weight`` and
    ``bias <- bias @ W.T`` for an ``nn.Linear``) so that the reloaded model's ``encode_text``
    already returns the rotated embeddings ``text @ W.T`` every later stage should see (equal up
    to float rounding); ``text_rotation`` keeps ``W`` for the record.

    Parameters
    ----------
    path : path
        Output file (e.g. ``model.pt``).
    model : LoadedModel or open_clip model
    rotation : (d, d) array, optional
        :attr:`TrainResult.rotation`.
    meta : dict, optional
        Plain JSON-like provenance (str, int, float, bool, lists, dicts).
    """
    module = model.module if isinstance(model, LoadedModel) else model
    state = {k: v.detach().cpu().clone() for k, v in module.state_dict().items()}
    if rotation is not None:
        w = torch.as_tensor(np.asarray(rotation), dtype=torch.float64)
        d = w.shape[0]
        if w.shape != (d, d) or not torch.allclose(w @ w.T, torch.eye(d, dtype=w.dtype), atol=1e-6):
            raise ValueError(f"rotation must be an orthogonal (d, d) matrix, got shape {tuple(w.shape)}")
        if "text_projection" in state:
            p = state["text_projection"]
            state["text_projection"] = (p.double() @ w.T).to(p.dtype)
        elif "text_projection.weight" in state:
            p = state["text_projection.weight"]
            state["text_projection.weight"] = (w @ p.double()).to(p.dtype)
            if "text_projection.bias" in state:
                b = state["text_projection.bias"]
                state["text_projection.bias"] = (b.double() @ w.T).to(b.dtype)
        else:
            raise ValueError("rotation: the model has no text_projection to fold W into")
    path = Path(path)
    _atomic_torch_save(
        {"model": state, "text_rotation": None if rotation is None else torch.as_tensor(rotation, dtype=torch.float64),
         "meta": meta or {}},
        path,
    )
    return path
