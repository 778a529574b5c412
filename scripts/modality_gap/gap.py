"""Modality-gap metrics for matched embedding pairs.

Every function takes ``x`` of shape ``(n, d)`` (the image-like modality: image, video, X-ray,
protein) and/or ``y`` of shape ``(n, d)`` (text). Row ``i`` of ``x`` and row ``i`` of ``y`` form a
matched pair. Inputs are validated (2-D, finite, no zero rows) and **L2-normalised row-wise in
float64 before any computation**, as in the paper, where all embeddings live on the unit sphere
(Liang et al. 2022, Sec. 4.2). Passing already-normalised embeddings is therefore harmless.

References
----------
.. [Liang2022] W. Liang, Y. Zhang, Y. Kwon, S. Yeung, J. Zou. "Mind the Gap: Understanding the
   Modality Gap in Multi-modal Contrastive Representation Learning". NeurIPS 2022.
.. [Schrodi2025] S. Schrodi, D. T. Hoffmann, M. Argus, V. Fischer, T. Brox. "Two Effects, One
   Trigger: On the Modality Gap, Object Bias, and Information Imbalance in Contrastive
   Vision-Language Models". ICLR 2025. Code: github.com/lmb-freiburg/two-effects-one-trigger
   (``analysis/gap_precompute.py``, ``compute_rmg``).
.. [Wang2020] T. Wang, P. Isola. "Understanding Contrastive Representation Learning through
   Alignment and Uniformity on the Hypersphere". ICML 2020.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy.spatial.distance import pdist
from scipy.special import logsumexp
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split

__all__ = [
    "l2_normalize",
    "gap_vector",
    "centroid_distance",
    "centroid_distance_ci",
    "matched_pair_distance",
    "matched_pair_cosine",
    "relative_modality_gap",
    "linear_separability",
    "alignment",
    "uniformity",
    "joint_uniformity",
    "effective_dimension",
    "gap_coordinate_share",
    "gap_participation_ratio",
    "gap_principal_share",
    "gap_concentration",
    "gap_metrics",
]

FloatArray = NDArray[np.float64]


# --------------------------------------------------------------------------------------------
# validation helpers
# --------------------------------------------------------------------------------------------
def _as_float_array(a: ArrayLike, name: str, ndim: int | None = None) -> FloatArray:
    """Convert ``a`` to a float64 array, checking its dimensionality and finiteness."""
    arr = np.asarray(a)
    if arr.dtype == object or not (
        np.issubdtype(arr.dtype, np.floating) or np.issubdtype(arr.dtype, np.integer)
    ):
        raise ValueError(f"{name} must be a real numeric array, got dtype {arr.dtype}")
    arr = arr.astype(np.float64, copy=False)
    if ndim is not None and arr.ndim != ndim:
        raise ValueError(f"{name} must be {ndim}-D, got shape {arr.shape}")
    if arr.size == 0:
        raise ValueError(f"{name} is empty (shape {arr.shape})")
    return arr


def _first_bad_index(mask: NDArray[np.bool_]) -> tuple[int, ...]:
    return tuple(int(i) for i in np.argwhere(mask)[0])


def _matrix(x: ArrayLike, name: str, min_rows: int = 1) -> FloatArray:
    """Validate a 2-D embedding matrix and return it L2-normalised row-wise (float64)."""
    arr = _as_float_array(x, name, ndim=2)
    if arr.shape[0] < min_rows:
        raise ValueError(f"{name} needs at least {min_rows} rows, got shape {arr.shape}")
    return l2_normalize(arr, axis=-1, name=name)


def _pair(x: ArrayLike, y: ArrayLike, min_rows: int = 1) -> tuple[FloatArray, FloatArray]:
    """Validate matched pairs: same shape ``(n, d)``; return both L2-normalised."""
    xa = _matrix(x, "x", min_rows)
    ya = _matrix(y, "y", min_rows)
    if xa.shape != ya.shape:
        raise ValueError(
            f"x and y must have the same shape (matched rows), got x {xa.shape} and y {ya.shape}"
        )
    return xa, ya


def _same_dim(x: ArrayLike, y: ArrayLike) -> tuple[FloatArray, FloatArray]:
    """Validate two embedding sets that share the dimension ``d`` (row counts may differ)."""
    xa = _matrix(x, "x")
    ya = _matrix(y, "y")
    if xa.shape[1] != ya.shape[1]:
        raise ValueError(
            f"x and y must have the same embedding dimension, got x {xa.shape} and y {ya.shape}"
        )
    return xa, ya


# --------------------------------------------------------------------------------------------
# normalisation and the gap itself
# --------------------------------------------------------------------------------------------
def l2_normalize(x: ArrayLike, axis: int = -1, *, name: str = "x") -> FloatArray:
    """Scale every vector along ``axis`` to unit Euclidean norm.

    ``Normalize(v) = v / ||v||_2`` (the operator of Liang et al. 2022, Eq. 2).

    Parameters
    ----------
    x : array_like, shape (..., d, ...)
        Vectors to normalise; for an ``(n, d)`` matrix and ``axis=-1`` these are the rows.
    axis : int, default -1
        Axis holding the vector components.
    name : str, default "x"
        Name of the argument used in error messages.

    Returns
    -------
    ndarray of float64, same shape as ``x``

    Raises
    ------
    ValueError
        If ``x`` holds NaN/inf, or a vector of zero norm (which cannot be normalised); the
        message names the offending row (index of the vector).
    """
    arr = _as_float_array(x, name)
    if arr.ndim == 0:
        raise ValueError(f"{name} must have at least one dimension, got a scalar")
    bad = ~np.isfinite(arr)
    if bad.any():
        # index of the offending vector = position with the component axis removed
        vec_mask = np.any(bad, axis=axis)
        idx = _first_bad_index(np.atleast_1d(vec_mask))
        where = f"row {idx[0]}" if len(idx) == 1 else f"vector at index {idx}"
        raise ValueError(f"{name} contains non-finite values (NaN or inf) at {where}")
    norms = np.linalg.norm(arr, axis=axis, keepdims=True)
    zero = norms == 0.0
    if zero.any():
        idx = _first_bad_index(np.atleast_1d(np.squeeze(zero, axis=axis)))
        where = f"row {idx[0]}" if len(idx) == 1 else f"vector at index {idx}"
        raise ValueError(f"{name} has a zero-norm vector at {where}; it cannot be L2-normalised")
    return arr / norms


def gap_vector(x: ArrayLike, y: ArrayLike) -> FloatArray:
    """Modality gap vector: difference between the two modality centroids.

    ``Delta_gap = (1/n_x) sum_i Normalize(x_i) - (1/n_y) sum_j Normalize(y_j)``
    (Liang et al. 2022, Sec. 4.2, Eq. 3). Points from the text centroid to the image centroid.

    Parameters
    ----------
    x : array_like, shape (n_x, d)
        Image-like embeddings.
    y : array_like, shape (n_y, d)
        Text embeddings. ``n_y`` may differ from ``n_x`` (only here and in
        :func:`centroid_distance`; the pair-based metrics need matched rows).

    Returns
    -------
    ndarray, shape (d,)
    """
    xa, ya = _same_dim(x, y)
    return xa.mean(axis=0) - ya.mean(axis=0)


def centroid_distance(x: ArrayLike, y: ArrayLike) -> float:
    """Modality gap distance ``||Delta_gap||_2`` (Liang et al. 2022, Sec. 4.2).

    The number the paper calls *the gap* (0.82 for CLIP ViT-B/32 on 5k COCO val pairs).
    Ranges over ``[0, 2]`` for unit vectors.

    Parameters
    ----------
    x : array_like, shape (n_x, d)
    y : array_like, shape (n_y, d)

    Returns
    -------
    float
    """
    return float(np.linalg.norm(gap_vector(x, y)))


def centroid_distance_ci(
    x: ArrayLike,
    y: ArrayLike,
    n_boot: int = 1000,
    seed: int = 0,
    level: float = 0.95,
) -> tuple[float, float, float]:
    """Centroid distance with a percentile-bootstrap confidence interval over pairs.

    Each bootstrap replicate draws ``n`` pair indices with replacement (a matched row of ``x``
    and ``y`` is kept together) and recomputes ``||mean(x*) - mean(y*)||``. The interval is the
    ``(1-level)/2`` and ``(1+level)/2`` percentiles of the replicates.

    Note that a norm is biased upwards under resampling noise, so when the true gap is close
    to 0 the interval can lie slightly above the point estimate.

    Parameters
    ----------
    x, y : array_like, shape (n, d)
        Matched pairs.
    n_boot : int, default 1000
        Number of bootstrap replicates (>= 1).
    seed : int, default 0
        Seed of the ``numpy.random.default_rng`` used for resampling.
    level : float, default 0.95
        Confidence level in ``(0, 1)``.

    Returns
    -------
    (estimate, low, high) : tuple of float
        ``estimate`` is :func:`centroid_distance` on the full sample.
    """
    xa, ya = _pair(x, y)
    if int(n_boot) != n_boot or n_boot < 1:
        raise ValueError(f"n_boot must be a positive integer, got {n_boot!r}")
    if not 0.0 < level < 1.0:
        raise ValueError(f"level must lie in (0, 1), got {level!r}")
    n = xa.shape[0]
    diff = xa - ya  # gap of a resample = mean of the resampled rows of diff
    estimate = float(np.linalg.norm(diff.mean(axis=0)))
    rng = np.random.default_rng(seed)
    n_boot = int(n_boot)
    boot = np.empty(n_boot)
    chunk = max(1, min(n_boot, 2**22 // n))  # bound the (chunk, n) count matrix
    for start in range(0, n_boot, chunk):
        m = min(chunk, n_boot - start)
        idx = rng.integers(0, n, size=(m, n))
        counts = np.zeros((m, n))
        np.add.at(counts, (np.arange(m)[:, None], idx), 1.0)
        boot[start : start + m] = np.linalg.norm(counts @ diff / n, axis=1)
    alpha = (1.0 - level) / 2.0
    low, high = np.quantile(boot, [alpha, 1.0 - alpha])
    return estimate, float(low), float(high)


# --------------------------------------------------------------------------------------------
# pair-level and relative gap
# --------------------------------------------------------------------------------------------
def matched_pair_distance(x: ArrayLike, y: ArrayLike) -> float:
    """Mean Euclidean distance between matched normalised pairs, ``mean_i ||x_i - y_i||_2``.

    Called ``l2_instancewise`` by Schrodi et al. 2025. Ranges over ``[0, 2]``.

    Parameters
    ----------
    x, y : array_like, shape (n, d)

    Returns
    -------
    float
    """
    xa, ya = _pair(x, y)
    return float(np.linalg.norm(xa - ya, axis=1).mean())


def matched_pair_cosine(x: ArrayLike, y: ArrayLike) -> float:
    """Mean cosine similarity of matched pairs, ``mean_i <x_i, y_i> / (||x_i|| ||y_i||)``.

    Parameters
    ----------
    x, y : array_like, shape (n, d)

    Returns
    -------
    float in ``[-1, 1]``
    """
    xa, ya = _pair(x, y)
    return float(np.einsum("ij,ij->i", xa, ya).mean())


def _mean_offdiag_cosine(z: FloatArray) -> float:
    """Mean cosine over ordered pairs ``i != j`` of unit rows, in O(n d) memory."""
    n = z.shape[0]
    s = z.sum(axis=0)
    return float((s @ s - n) / (n * (n - 1)))


def relative_modality_gap(x: ArrayLike, y: ArrayLike) -> float:
    """Relative modality gap (RMG) of Schrodi et al. 2025.

    With the cosine dissimilarity ``d(u, v) = (1 - cos(u, v)) / 2`` in ``[0, 1]``::

        M   = (1/n) sum_i d(x_i, y_i)                                  (matched pairs)
        W   = 1/(2 n (n-1)) sum_{i != j} [d(x_i, x_j) + d(y_i, y_j)]   (mean within-modality)
        RMG = M / (M + W)

    i.e. the matched-pair dissimilarity relative to the within-modality spread, so it does not
    grow merely because each modality is spread out. This is the quantity computed by
    ``compute_rmg`` in github.com/lmb-freiburg/two-effects-one-trigger
    (``analysis/gap_precompute.py``) for one-to-one pairs. Unlike that code we do not clamp
    ``M`` to ``1e-3`` when it is ``<= 0``, so identical modalities give exactly 0.

    Parameters
    ----------
    x, y : array_like, shape (n, d), n >= 2

    Returns
    -------
    float in ``[0, 1]``; NaN when all points coincide (``M + W = 0``).
    """
    xa, ya = _pair(x, y, min_rows=2)
    m = (1.0 - float(np.einsum("ij,ij->i", xa, ya).mean())) / 2.0
    w_x = (1.0 - _mean_offdiag_cosine(xa)) / 2.0
    w_y = (1.0 - _mean_offdiag_cosine(ya)) / 2.0
    denom = m + (w_x + w_y) / 2.0
    if denom <= 0.0:
        return float("nan")
    return float(max(m, 0.0) / denom)


def linear_separability(
    x: ArrayLike, y: ArrayLike, seed: int = 0, test_size: float = 0.5
) -> float:
    """Held-out accuracy of a linear classifier that predicts the modality of an embedding.

    The *pairs* are split into train and test (``sklearn.model_selection.train_test_split``
    with ``random_state=seed``); both members of a pair land on the same side, so each side is
    exactly balanced between the modalities (a stratified split) and no caption of a test
    image is seen in training. A ``LogisticRegression`` (L2, ``C=1``, lbfgs) is fitted on the
    normalised train embeddings (label 0 = x, 1 = y) and scored on the test embeddings.
    0.5 = chance (no gap direction), 1.0 = perfectly separable modalities.

    Parameters
    ----------
    x, y : array_like, shape (n, d), n >= 4
    seed : int, default 0
    test_size : float, default 0.5
        Fraction of pairs held out, in ``(0, 1)``.

    Returns
    -------
    float in ``[0, 1]``
    """
    xa, ya = _pair(x, y, min_rows=4)
    if not 0.0 < test_size < 1.0:
        raise ValueError(f"test_size must lie in (0, 1), got {test_size!r}")
    n = xa.shape[0]
    train, test = train_test_split(np.arange(n), test_size=test_size, random_state=seed)
    if len(train) == 0 or len(test) == 0:
        raise ValueError(f"test_size={test_size} leaves an empty train or test split for n={n}")

    def stack(idx: NDArray[np.intp]) -> tuple[FloatArray, NDArray[np.int64]]:
        feats = np.vstack([xa[idx], ya[idx]])
        labels = np.r_[np.zeros(len(idx), np.int64), np.ones(len(idx), np.int64)]
        return feats, labels

    x_train, l_train = stack(train)
    x_test, l_test = stack(test)
    clf = LogisticRegression(max_iter=2000)
    clf.fit(x_train, l_train)
    return float(clf.score(x_test, l_test))


# --------------------------------------------------------------------------------------------
# alignment and uniformity (Wang & Isola 2020)
# --------------------------------------------------------------------------------------------
def alignment(x: ArrayLike, y: ArrayLike, alpha: float = 2.0) -> float:
    """Alignment loss of Wang & Isola 2020: ``mean_i ||x_i - y_i||_2 ** alpha``.

    Lower is better aligned; 0 when matched pairs coincide.

    Parameters
    ----------
    x, y : array_like, shape (n, d)
    alpha : float, default 2
        Exponent (> 0).

    Returns
    -------
    float
    """
    if not alpha > 0:
        raise ValueError(f"alpha must be > 0, got {alpha!r}")
    xa, ya = _pair(x, y)
    return float((np.linalg.norm(xa - ya, axis=1) ** alpha).mean())


def uniformity(x: ArrayLike, t: float = 2.0) -> float:
    """Uniformity loss of Wang & Isola 2020 over distinct pairs of one embedding set.

    ``log( (2 / (n (n-1))) sum_{i<j} exp(-t ||x_i - x_j||_2^2) )``, evaluated with
    ``logsumexp`` for stability. Lower (more negative) = more uniform on the sphere; 0 when all
    points coincide; for unit vectors the minimum is ``-4 t`` (antipodal points).

    Parameters
    ----------
    x : array_like, shape (n, d), n >= 2
    t : float, default 2
        Kernel scale (> 0).

    Returns
    -------
    float
    """
    if not t > 0:
        raise ValueError(f"t must be > 0, got {t!r}")
    xa = _matrix(x, "x", min_rows=2)
    sq = pdist(xa, metric="sqeuclidean")
    return float(logsumexp(-t * sq) - np.log(sq.size))


def joint_uniformity(x: ArrayLike, y: ArrayLike, t: float = 2.0) -> float:
    """Uniformity (Wang & Isola 2020) over the union of both modalities.

    :func:`uniformity` of ``vstack([x, y])``: all distinct pairs, within and across
    modalities. A modality gap keeps the union less uniform than either part would suggest.

    Parameters
    ----------
    x : array_like, shape (n_x, d)
    y : array_like, shape (n_y, d)
    t : float, default 2

    Returns
    -------
    float
    """
    xa, ya = _same_dim(x, y)
    return uniformity(np.vstack([xa, ya]), t=t)


# --------------------------------------------------------------------------------------------
# dimensionality and concentration of the gap
# --------------------------------------------------------------------------------------------
def effective_dimension(x: ArrayLike, threshold: float = 0.99, normalize: bool = True) -> int:
    """Number of principal components needed to explain ``threshold`` of the variance.

    ``min k such that sum_{i<=k} s_i^2 / sum_i s_i^2 >= threshold``, with ``s`` the singular
    values of the column-centred data (PCA). Returns 0 when the data have no variance.

    Parameters
    ----------
    x : array_like, shape (n, d)
    threshold : float, default 0.99
        Share of variance, in ``(0, 1]``.
    normalize : bool, default True
        L2-normalise rows first (as every metric of this module does). Normalisation keeps
        data that lie in a linear k-dim subspace inside it.

    Returns
    -------
    int in ``[0, min(n - 1, d)]``
    """
    if not 0.0 < threshold <= 1.0:
        raise ValueError(f"threshold must lie in (0, 1], got {threshold!r}")
    xa = _matrix(x, "x") if normalize else _as_float_array(x, "x", ndim=2)
    if not normalize and not np.isfinite(xa).all():
        raise ValueError(
            f"x contains non-finite values at row {_first_bad_index(~np.isfinite(xa))[0]}"
        )
    centred = xa - xa.mean(axis=0)
    var = np.linalg.svd(centred, compute_uv=False) ** 2
    total = var.sum()
    if total <= 0.0:
        return 0
    share = np.cumsum(var) / total
    # tolerance so that threshold=1.0 is not defeated by round-off in the cumulative sum
    return int(np.searchsorted(share, threshold - 1e-12) + 1)


def gap_coordinate_share(x: ArrayLike, y: ArrayLike, k: int = 1) -> float:
    """Share of the squared gap norm carried by its ``k`` largest coordinates.

    ``sum_{j in top-k |g_j|} g_j^2 / sum_j g_j^2`` with ``g`` = :func:`gap_vector`. Near 1 for
    k small means a few embedding dimensions carry the gap (Schrodi et al. 2025, Sec. 4); the
    value for an isotropic gap is about ``k / d``.

    Parameters
    ----------
    x : array_like, shape (n_x, d)
    y : array_like, shape (n_y, d)
    k : int, default 1
        Number of coordinates, ``1 <= k <= d``.

    Returns
    -------
    float in ``[k/d, 1]``; NaN when the gap vector is exactly 0.
    """
    g = gap_vector(x, y)
    if int(k) != k or not 1 <= k <= g.size:
        raise ValueError(f"k must be an integer in [1, {g.size}], got {k!r}")
    sq = np.sort(g**2)[::-1]
    total = sq.sum()
    if total == 0.0:
        return float("nan")
    return float(sq[: int(k)].sum() / total)


def gap_participation_ratio(x: ArrayLike, y: ArrayLike) -> float:
    """Participation ratio of the gap vector's coordinates, ``(sum g_j^2)^2 / sum g_j^4``.

    The effective number of coordinates the gap is spread over: 1 when a single coordinate
    carries it, ``d`` when all coordinates carry equal shares.

    Parameters
    ----------
    x : array_like, shape (n_x, d)
    y : array_like, shape (n_y, d)

    Returns
    -------
    float in ``[1, d]``; NaN when the gap vector is exactly 0.
    """
    g2 = gap_vector(x, y) ** 2
    den = float((g2**2).sum())
    if den == 0.0:
        return float("nan")
    return float(g2.sum() ** 2 / den)


def gap_principal_share(x: ArrayLike, y: ArrayLike, k: int = 1) -> float:
    """Share of the squared gap norm lying in the top-``k`` within-modality principal directions.

    Each modality is centred on its own centroid, the centred rows are pooled, and ``V_k`` are
    the top-``k`` right singular vectors of the pooled matrix (directions of largest
    within-modality variance). Returns ``||V_k^T g||^2 / ||g||^2``. Values far below 1 mean the
    gap points along directions in which neither modality varies much (an "orthogonal"
    offset); the value for a random direction is about ``k / d``.

    Parameters
    ----------
    x, y : array_like, shape (n, d)
    k : int, default 1
        ``1 <= k <= d``.

    Returns
    -------
    float in ``[0, 1]``; NaN when the gap vector is exactly 0.
    """
    xa, ya = _same_dim(x, y)
    d = xa.shape[1]
    if int(k) != k or not 1 <= k <= d:
        raise ValueError(f"k must be an integer in [1, {d}], got {k!r}")
    g = xa.mean(axis=0) - ya.mean(axis=0)
    gg = float(g @ g)
    if gg == 0.0:
        return float("nan")
    pooled = np.vstack([xa - xa.mean(axis=0), ya - ya.mean(axis=0)])
    _, _, vt = np.linalg.svd(pooled, full_matrices=False)
    proj = vt[: int(k)] @ g
    return float(proj @ proj / gg)


def gap_concentration(
    x: ArrayLike, y: ArrayLike, ks: tuple[int, ...] = (1, 10)
) -> dict[str, float]:
    """How concentrated the gap vector is in few coordinates and directions.

    Convenience bundle of :func:`gap_coordinate_share` (for each ``k`` in ``ks``, capped at
    ``d``), :func:`gap_participation_ratio` and :func:`gap_principal_share` (same ``ks``).

    Parameters
    ----------
    x, y : array_like, shape (n, d)
    ks : tuple of int, default (1, 10)

    Returns
    -------
    dict
        Keys ``gap_top{k}_coordinate_share``, ``gap_participation_ratio``,
        ``gap_top{k}_principal_share`` in that order.
    """
    xa, ya = _pair(x, y)
    d = xa.shape[1]
    out: dict[str, float] = {}
    for k in ks:
        out[f"gap_top{k}_coordinate_share"] = gap_coordinate_share(xa, ya, min(int(k), d))
    out["gap_participation_ratio"] = gap_participation_ratio(xa, ya)
    for k in ks:
        out[f"gap_top{k}_principal_share"] = gap_principal_share(xa, ya, min(int(k), d))
    return out


# --------------------------------------------------------------------------------------------
# one table row
# --------------------------------------------------------------------------------------------
def gap_metrics(
    x: ArrayLike, y: ArrayLike, seed: int = 0, n_boot: int = 1000
) -> dict[str, float]:
    """All gap metrics of this module for one model, as a flat dict for a table row.

    Parameters
    ----------
    x, y : array_like, shape (n, d), n >= 4
        Matched pairs (image-like, text).
    seed : int, default 0
        Seed for the bootstrap and the separability split.
    n_boot : int, default 1000
        Bootstrap replicates for the centroid-distance CI (95 %).

    Returns
    -------
    dict
        In this fixed order: ``n_pairs``, ``dim`` (ints), ``centroid_distance``,
        ``centroid_distance_ci_low``, ``centroid_distance_ci_high``,
        ``matched_pair_distance``, ``matched_pair_cosine``, ``relative_modality_gap``,
        ``linear_separability``, ``alignment``, ``uniformity_x``, ``uniformity_y``,
        ``uniformity_joint``, ``effective_dimension_x``, ``effective_dimension_y`` (ints,
        99 % variance), then the keys of :func:`gap_concentration` with ``ks=(1, 10)``.
    """
    xa, ya = _pair(x, y, min_rows=4)
    est, low, high = centroid_distance_ci(xa, ya, n_boot=n_boot, seed=seed)
    out: dict[str, float] = {
        "n_pairs": int(xa.shape[0]),
        "dim": int(xa.shape[1]),
        "centroid_distance": est,
        "centroid_distance_ci_low": low,
        "centroid_distance_ci_high": high,
        "matched_pair_distance": matched_pair_distance(xa, ya),
        "matched_pair_cosine": matched_pair_cosine(xa, ya),
        "relative_modality_gap": relative_modality_gap(xa, ya),
        "linear_separability": linear_separability(xa, ya, seed=seed),
        "alignment": alignment(xa, ya),
        "uniformity_x": uniformity(xa),
        "uniformity_y": uniformity(ya),
        "uniformity_joint": joint_uniformity(xa, ya),
        "effective_dimension_x": effective_dimension(xa),
        "effective_dimension_y": effective_dimension(ya),
    }
    out.update(gap_concentration(xa, ya, ks=(1, 10)))
    return out
