"""The cone effect (Section 2 of the paper): statistics of one embedding set.

* :func:`cosine_stats` -- exact statistics of the pairwise cosine similarity over all ordered pairs
  ``i != j`` of an ``(n, d)`` embedding set (Figure 2a, Figures 6 and 14), computed block by block so that
  ``n = 50,000`` fits in well under 1.5 GB.
* :func:`between_within_variance` and :func:`seed_predictability` -- two numbers that quantify "each
  random initialisation forms its own cone" (Figure 2c, Figures 5 and 7) without a 2-D projection.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt
import torch

from .atomic import atomic_open

__all__ = [
    "CosineStats",
    "VarianceDecomposition",
    "between_within_variance",
    "cosine_stats",
    "mean_pairwise_cosine",
    "load_cosine_stats",
    "row_blocks",
    "save_cosine_stats",
    "seed_predictability",
]

DEFAULT_BINS = 100_000
"""Default number of histogram bins over [-1, 1] (bin width 2e-5): fine enough to draw a panel whose
cosines all lie in [0.9985, 0.9995] (random ResNet on noise, Figure 2a) after re-binning for display."""


@dataclass(frozen=True)
class CosineStats:
    """Statistics of the pairwise cosine similarity of one embedding set, self-pairs excluded.

    Attributes
    ----------
    n_pairs : int
        Number of ordered pairs ``(i, j)``, ``i != j``: ``n * (n - 1)``.
    mean, std : float
        Mean and population standard deviation (``ddof=0``) of the ``n_pairs`` cosines.
    min, max : float
        Smallest and largest cosine over the pairs.
    hist_edges : numpy.ndarray, shape (bins + 1,), float64
        Equally spaced bin edges from -1 to 1.
    hist_counts : numpy.ndarray, shape (bins,), int64
        Exact number of ordered pairs per bin. Bins are half-open ``[e_k, e_k+1)`` except the last,
        which also holds cosines equal to 1. ``hist_counts.sum() == n_pairs``.
    """

    n_pairs: int
    mean: float
    std: float
    min: float
    max: float
    hist_edges: np.ndarray
    hist_counts: np.ndarray


@dataclass(frozen=True)
class VarianceDecomposition:
    """Law-of-total-variance split of an embedding set into between-group and within-group parts.

    Attributes
    ----------
    total : float
        Mean squared distance to the grand mean, i.e. the trace of the (population) covariance.
    within : float
        Group-size-weighted mean of each group's own total variance.
    between : float
        Group-size-weighted mean squared distance of the group means to the grand mean.
        ``total == within + between`` up to rounding.
    between_share : float
        ``between / total``, in [0, 1]: near 1 when every group (seed) sits in its own tight cone.
    n_groups : int
        Number of distinct labels.
    """

    total: float
    within: float
    between: float
    between_share: float
    n_groups: int


_DTYPES = {np.dtype(np.float32): torch.float32, np.dtype(np.float64): torch.float64}


def row_blocks(n: int, block_size: int) -> list[tuple[int, int]]:
    """Row ranges ``[start, stop)`` that :func:`cosine_stats` multiplies against ``X[start:].T``.

    :func:`cosine_stats` uses the symmetry of the cosine matrix: row block ``[start, stop)`` is only
    multiplied with rows ``start..n-1`` (the upper triangle plus the diagonal square). Benchmarks that
    compare against a bare GEMM must iterate over the same blocks.

    Parameters
    ----------
    n : int
        Number of embeddings.
    block_size : int
        Rows per block, at least 1.

    Returns
    -------
    list of (int, int)
    """
    if n < 0:
        raise ValueError(f"n must be non-negative, got {n}")
    if block_size < 1:
        raise ValueError(f"block_size must be a positive integer, got {block_size}")
    return [(start, min(start + block_size, n)) for start in range(0, n, block_size)]


_CHUNK_ROWS = 2048  # rows normalised at a time in float64
_CHUNK_ELEMENTS = 1 << 22  # cosines binned per bincount call (16 MB of int32 indices)


def _as_embeddings(x: npt.ArrayLike | torch.Tensor, name: str) -> np.ndarray:
    """Check shape and dtype of an (n, d) embedding array; return it as a numpy array (no copy)."""
    if isinstance(x, torch.Tensor):
        x = x.detach().cpu().numpy()
    arr = np.asarray(x)
    if arr.ndim != 2:
        raise ValueError(f"{name} must be a 2-D array of shape (n, d), got shape {arr.shape}")
    n, d = arr.shape
    if n < 2:
        raise ValueError(f"{name} must hold at least 2 embeddings to form a pair, got n={n}")
    if d < 1:
        raise ValueError(f"{name} must have at least one dimension, got d={d}")
    if arr.dtype.kind not in "biuf":
        raise ValueError(f"{name} must hold real numbers, got dtype {arr.dtype}")
    return arr


def _unit_chunks(arr: np.ndarray, name: str) -> Iterator[tuple[int, np.ndarray]]:
    """Yield ``(start, rows)`` with consecutive row chunks of ``arr`` L2-normalised in float64.

    Raises ValueError naming ``name`` for NaN/inf entries or zero vectors. Rows whose squared norm
    overflows or underflows are measured after scaling by their largest entry.
    """
    for start in range(0, arr.shape[0], _CHUNK_ROWS):
        rows = np.array(arr[start : start + _CHUNK_ROWS], dtype=np.float64)
        if not np.isfinite(rows).all():
            bad = start + np.flatnonzero(~np.isfinite(rows).all(axis=1))
            raise ValueError(
                f"{name} contains NaN or infinite values in row(s) {bad[:5].tolist()}{' ...' if bad.size > 5 else ''}"
            )
        norms = np.sqrt(np.einsum("ij,ij->i", rows, rows))
        suspect = np.flatnonzero(~np.isfinite(norms) | (norms < 1e-150))
        if suspect.size:
            peak = np.abs(rows[suspect]).max(axis=1)
            zero = suspect[peak == 0]
            if zero.size:
                raise ValueError(
                    f"{name} contains zero vector(s), for which cosine similarity is undefined: "
                    f"row(s) {(start + zero[:5]).tolist()}{' ...' if zero.size > 5 else ''}"
                )
            norms[suspect] = peak * np.linalg.norm(rows[suspect] / peak[:, None], axis=1)
        rows /= norms[:, None]
        yield start, rows


def cosine_stats(
    x: npt.ArrayLike,
    bins: int = DEFAULT_BINS,
    block_size: int = 512,
    dtype: npt.DTypeLike = np.float32,
) -> CosineStats:
    """Exact statistics of the pairwise cosine similarity over all ordered pairs ``i != j``.

    * ``mean`` and ``std`` come from exact identities over the unit rows ``u_i`` (normalised in
      float64): ``sum_{i != j} c_ij = ||sum_i u_i||^2 - sum_i ||u_i||^2`` and
      ``sum_{i != j} c_ij^2 = ||U^T U||_F^2 - sum_i ||u_i||^4``, accumulated in float64 over row
      chunks (a d x d Gram matrix; no catastrophic cancellation even for a cone with std 1e-5).
    * ``min``, ``max`` and the histogram come from the cosine matrix itself, formed block by block:
      for each row block ``[a, b)`` one GEMM gives ``(c + 1) * bins / 2`` for the pairs
      ``(i, j)``, ``i in [a, b)``, ``j >= a`` (the GEMM runs on ``[u, 1]`` with ``alpha = bins/2``).
      By symmetry only the pairs ``i < j`` are counted, each standing for ``(i, j)`` and ``(j, i)``;
      self-pairs never enter. Counts are exact int64 integers.

    Nothing is sampled or approximated. Memory is the normalised copy of ``x`` plus one
    ``block_size x n`` float buffer and a 16 MB index buffer: for ``n = 50,000``, ``d = 512`` and
    ``block_size = 512`` that is 103 MB + 102 MB + 16 MB (plus the interpreter and torch, ~0.7 GB).

    Parameters
    ----------
    x : array_like, shape (n, d)
        Embeddings, one per row; need not be normalised. ``n >= 2``; no NaN, inf or zero rows.
    bins : int, default 100000
        Number of equally wide histogram bins over [-1, 1].
    block_size : int, default 512
        Rows per block. Larger blocks make the GEMM more efficient; memory grows as
        ``block_size * n * 4`` bytes (float32).
    dtype : {numpy.float32, numpy.float64}, default float32
        Working precision of the blocked GEMM behind ``min``, ``max`` and the histogram
        (``mean`` and ``std`` are always float64).

    Returns
    -------
    CosineStats

    Raises
    ------
    ValueError
        If ``x`` is not 2-D, has fewer than 2 rows, contains NaN/inf or a zero vector, or if
        ``bins``, ``block_size`` or ``dtype`` is invalid.

    Notes
    -----
    With ``dtype=float32`` the blocked values carry an absolute rounding error of order 1e-7
    (float32 normalisation, GEMM and the ``bins/2`` scaling), so ``min`` and ``max`` are exact to
    that level and a cosine within ~2e-7 of a bin edge can land in the neighbouring bin compared
    with ``numpy.histogram`` on float64 cosines: at the default 100,000 bins (width 2e-5) about
    0.4% of pairs sit one bin off; every pair is still counted exactly once. Use
    ``dtype=float64`` (about twice the time) for bit-exact bins. ``min``/``max`` are clipped to
    [-1, 1]; cosines that round past +-1 are counted in the end bins.
    """
    if isinstance(bins, bool) or not isinstance(bins, (int, np.integer)) or bins < 1:
        raise ValueError(f"bins must be a positive integer, got {bins!r}")
    if bins > 2**24:  # finer than float32 resolution anyway; keeps the histogram <= 134 MB
        raise ValueError(f"bins must be at most 2**24 = 16777216, got {bins}")
    if isinstance(block_size, bool) or not isinstance(block_size, (int, np.integer)) or block_size < 1:
        raise ValueError(f"block_size must be a positive integer, got {block_size!r}")
    np_dtype = np.dtype(dtype)
    if np_dtype not in _DTYPES:
        raise ValueError(f"dtype must be float32 or float64, got {np_dtype}")
    bins = int(bins)
    arr = _as_embeddings(x, "x")
    n, d = arr.shape
    n_pairs = n * (n - 1)
    block_size = min(int(block_size), n)

    # Pass 1 (O(n d^2) float64): normalise, exact mean and variance, and the augmented rows [u, 1].
    aug = np.empty((n, d + 1), dtype=np_dtype)
    aug[:, d] = 1.0
    total = np.zeros(d)
    gram = np.zeros((d, d))
    self_sq = 0.0
    self_quad = 0.0
    for start, unit in _unit_chunks(arr, "x"):
        aug[start : start + unit.shape[0], :d] = unit
        total += unit.sum(axis=0)
        gram += unit.T @ unit
        sq = np.einsum("ij,ij->i", unit, unit)
        self_sq += float(sq.sum())
        self_quad += float(np.square(sq).sum())
    mean = (float(total @ total) - self_sq) / n_pairs
    mean_sq = (float(np.einsum("ij,ij->", gram, gram)) - self_quad) / n_pairs
    std = float(np.sqrt(max(mean_sq - mean * mean, 0.0)))

    # Pass 2 (O(n^2 d)): blocked GEMM for min, max and the histogram of the pairs i < j.
    scale = bins / 2.0
    neutral = (mean + 1.0) * scale  # lies between min and max: harmless filler for the diagonal
    hist = torch.zeros(bins + 1, dtype=torch.int64)  # unordered pairs i < j; last slot: cosine 1
    lo = np.inf
    hi = -np.inf
    a = torch.from_numpy(aug)
    zero = torch.zeros((), dtype=a.dtype)
    lower = np.tril(np.ones((block_size, block_size), dtype=bool))  # diagonal included
    fbuf = torch.empty(block_size * n, dtype=a.dtype)  # each block uses a contiguous prefix
    chunk = min(block_size * n, _CHUNK_ELEMENTS)
    ibuf = torch.empty(chunk, dtype=torch.int32)
    for start, stop in row_blocks(n, block_size):
        rows = stop - start
        width = n - start
        y_t = fbuf[: rows * width].view(rows, width)
        torch.addmm(zero, a[start:stop], a[start:].T, beta=0.0, alpha=scale, out=y_t)  # (c + 1) * bins/2
        torch.diagonal(y_t[:, :rows]).fill_(neutral)
        # Element-wise work in numpy: single-threaded, so it does not stall when the machine is
        # shared (ATen's OpenMP regions do); the GEMM and the bincount stay in torch.
        y = y_t.numpy()
        block_lo, block_hi = float(y.min()), float(y.max())
        lo, hi = min(lo, block_lo), max(hi, block_hi)
        # Truncation maps (-1, 0) to bin 0 and [bins, bins + 1) to the cosine-1 slot, so values a
        # few ulps outside [-1, 1] only need clipping when they overshoot by a whole bin.
        clip = block_lo <= -1.0 or block_hi >= bins + 1.0
        flat = y.reshape(-1)
        for c0 in range(0, flat.size, chunk):
            part = flat[c0 : c0 + chunk]
            if clip:
                np.clip(part, 0.0, float(bins), out=part)
            idx = ibuf[: part.size]
            np.copyto(idx.numpy(), part, casting="unsafe")  # truncation == floor for values >= 0
            hist += torch.bincount(idx, minlength=bins + 1)
        # Entries on and below the diagonal of the leading square are self-pairs or repeat pairs
        # counted above the diagonal: take them out again.
        repeated = y[:, :rows][lower[:rows, :rows]].astype(np.int32)
        hist -= torch.bincount(torch.from_numpy(repeated), minlength=bins + 1)

    counts = 2 * hist.numpy()  # each pair i < j stands for (i, j) and (j, i)
    counts[bins - 1] += counts[bins]  # cosine 1 belongs to the last (closed) bin
    counts = counts[:bins].copy()
    if int(counts.sum()) != n_pairs:  # pragma: no cover - internal consistency guard
        raise RuntimeError(f"histogram holds {int(counts.sum())} pairs, expected {n_pairs}")
    return CosineStats(
        n_pairs=n_pairs,
        mean=float(mean),
        std=std,
        min=float(min(max(lo / scale - 1.0, -1.0), 1.0)),
        max=float(min(max(hi / scale - 1.0, -1.0), 1.0)),
        hist_edges=np.linspace(-1.0, 1.0, bins + 1),
        hist_counts=counts,
    )


def mean_pairwise_cosine(x: npt.ArrayLike | torch.Tensor) -> float:
    """Mean cosine similarity over all ordered pairs ``i != j`` (self-pairs excluded), in O(n d).

    Uses ``sum_{i != j} <u_i, u_j> = ||sum_i u_i||^2 - sum_i ||u_i||^2`` for the unit rows ``u_i``,
    evaluated in float64; equal to :attr:`CosineStats.mean` of :func:`cosine_stats` up to rounding,
    without the O(n^2) histogram pass.

    Parameters
    ----------
    x : array_like or torch.Tensor, shape (n, d)
        Embeddings, one per row, ``n >= 2``; no NaN, inf or zero rows.

    Returns
    -------
    float
    """
    arr = _as_embeddings(x, "x")
    n = arr.shape[0]
    total = np.zeros(arr.shape[1])
    self_sq = 0.0
    for _, unit in _unit_chunks(arr, "x"):
        total += unit.sum(axis=0)
        self_sq += float(np.einsum("ij,ij->", unit, unit))
    return (float(total @ total) - self_sq) / (n * (n - 1))


def _validated_groups(
    embeddings: npt.ArrayLike, labels: npt.ArrayLike, *, min_groups: int = 1
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Check an (n, d) array and its (n,) labels; return the array (no copy), label codes, uniques."""
    x = np.asarray(embeddings)
    if x.dtype.kind not in "biuf":
        raise ValueError(f"embeddings must hold real numbers, got dtype {x.dtype}")
    if x.ndim != 2 or x.shape[0] < 2 or x.shape[1] < 1:
        raise ValueError(f"embeddings must have shape (n, d) with n >= 2, got shape {x.shape}")
    if x.dtype.kind == "f" and not np.isfinite(x).all():
        raise ValueError("embeddings contain NaN or infinite values")
    y = np.asarray(labels)
    if y.shape != (x.shape[0],):
        raise ValueError(f"labels must have shape ({x.shape[0]},) to match embeddings, got {y.shape}")
    if y.dtype.kind == "f" and not np.isfinite(y).all():
        raise ValueError("labels contain NaN or infinite values")
    uniques, codes = np.unique(y, return_inverse=True)
    if uniques.size < min_groups:
        raise ValueError(f"labels must contain at least {min_groups} distinct values, got {uniques.size}")
    return x, codes, uniques


def between_within_variance(embeddings: npt.ArrayLike, labels: npt.ArrayLike) -> VarianceDecomposition:
    """Split the total variance of an embedding set into between-group and within-group parts.

    With grand mean ``m``, group means ``m_g`` and group sizes ``n_g`` (``N`` rows in all)::

        within  = 1/N sum_g sum_{i in g} ||x_i - m_g||^2
        between = 1/N sum_g n_g ||m_g - m||^2
        total   = 1/N sum_i ||x_i - m||^2 = within + between

    For embeddings of the same inputs from several random initialisations (labels = seed),
    ``between_share`` near 1 means each seed occupies its own narrow cone (Figure 2c).
    These are descriptive (population, ``ddof=0``) quantities; with few groups ``between``
    underestimates the variance of the group-mean distribution by a factor ``(G - 1) / G``.
    Computed group by group in float64, without a float64 copy of the whole array.

    Parameters
    ----------
    embeddings : array_like, shape (n, d)
        One embedding per row (normalise beforehand if directions are what matters).
    labels : array_like, shape (n,)
        Group of each row, e.g. the initialisation seed.

    Returns
    -------
    VarianceDecomposition

    Raises
    ------
    ValueError
        On wrong shapes, NaN/inf, or when the embeddings have zero total variance.
    """
    x, codes, uniques = _validated_groups(embeddings, labels)
    n = x.shape[0]
    sizes = np.bincount(codes).astype(np.float64)
    means = np.empty((uniques.size, x.shape[1]))
    within = 0.0
    for g in range(uniques.size):
        rows = np.asarray(x[codes == g], dtype=np.float64)
        means[g] = rows.mean(axis=0)
        within += float(np.square(rows - means[g]).sum())
    grand = sizes @ means / n
    between = float((sizes * np.square(means - grand).sum(axis=1)).sum())
    total = within + between
    if total <= 0.0:
        raise ValueError("embeddings have zero total variance; the between/within split is undefined")
    return VarianceDecomposition(
        total=total / n,
        within=within / n,
        between=between / n,
        between_share=between / total,
        n_groups=int(uniques.size),
    )


def seed_predictability(
    embeddings: npt.ArrayLike,
    labels: npt.ArrayLike,
    seed: int = 0,
    test_size: float = 0.25,
    max_iter: int = 1000,
    max_per_label: int | None = None,
) -> float:
    """Held-out accuracy of a logistic regression that predicts the group (seed) from an embedding.

    A stratified train/test split (``test_size``) is drawn with ``seed``; features are standardised on
    the training part; a multinomial logistic regression (L2, ``C=1``, lbfgs) is fitted and scored on
    the held-out part. Accuracy near 1 means every initialisation's embeddings are linearly separable
    from the others (one cone per seed); near ``1 / n_groups`` means the groups are
    indistinguishable.

    Parameters
    ----------
    embeddings : array_like, shape (n, d)
    labels : array_like, shape (n,)
        At least two distinct values, each occurring at least twice.
    seed : int, default 0
        Seed of the train/test split (the solver itself is deterministic).
    test_size : float, default 0.25
        Held-out fraction, in (0, 1).
    max_iter : int, default 1000
        Maximum lbfgs iterations.
    max_per_label : int, optional
        If given, at most this many rows per label are used, drawn without replacement with
        ``seed`` (25 seeds x 5,000 embeddings x 512 dims is slow to fit; 1,000 per seed is plenty).

    Returns
    -------
    float
        Accuracy on the held-out rows, in [0, 1].
    """
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import train_test_split
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    x, codes, uniques = _validated_groups(embeddings, labels, min_groups=2)
    if not 0.0 < test_size < 1.0:
        raise ValueError(f"test_size must lie in (0, 1), got {test_size}")
    if max_per_label is not None:
        if isinstance(max_per_label, bool) or not isinstance(max_per_label, (int, np.integer)) or max_per_label < 2:
            raise ValueError(f"max_per_label must be an integer >= 2, got {max_per_label!r}")
        rng = np.random.default_rng(seed)
        keep = np.concatenate(
            [rng.permutation(np.flatnonzero(codes == g))[:max_per_label] for g in range(uniques.size)]
        )
        keep.sort()
        x, codes = x[keep], codes[keep]
    x = np.asarray(x, dtype=np.float64)
    if np.bincount(codes).min() < 2:
        raise ValueError("every label must occur at least twice for a stratified split")
    n_test = int(np.ceil(test_size * x.shape[0]))
    if n_test < uniques.size or x.shape[0] - n_test < uniques.size:
        raise ValueError(f"test_size={test_size} leaves fewer rows than labels ({uniques.size}) in one split part")
    x_train, x_test, y_train, y_test = train_test_split(
        x, codes, test_size=test_size, random_state=seed, stratify=codes
    )
    model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=max_iter))
    model.fit(x_train, y_train)
    return float(model.score(x_test, y_test))


def save_cosine_stats(path: str | os.PathLike, stats: CosineStats, meta: dict | None = None) -> Path:
    """Write ``stats`` (and a JSON ``meta``) to an ``.npz`` atomically."""
    with atomic_open(path, "wb") as fh:
        np.savez(
            fh,
            scalars=np.array([stats.n_pairs, stats.mean, stats.std, stats.min, stats.max], dtype=np.float64),
            hist_edges=stats.hist_edges,
            hist_counts=stats.hist_counts,
            meta=np.array(json.dumps(meta or {}, sort_keys=True)),
        )
    return Path(path)


def load_cosine_stats(path: str | os.PathLike) -> tuple[CosineStats, dict]:
    """Read what :func:`save_cosine_stats` wrote; returns ``(stats, meta)``."""
    with np.load(path, allow_pickle=False) as z:
        n_pairs, mean, std, lo, hi = z["scalars"].tolist()
        stats = CosineStats(int(n_pairs), mean, std, lo, hi, z["hist_edges"], z["hist_counts"])
        return stats, json.loads(str(z["meta"]))
