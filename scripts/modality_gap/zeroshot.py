"""Zero-shot classification under an embedding shift (Liang et al. 2022, Sec. 5.1, Table 1,
Figure 10, Table 5).

Conventions
-----------
* ``image`` (n, d): image embeddings of a classification data set; ``labels`` (n,): their class
  index in ``[0, k)``.
* ``text`` (k * t, d) with ``text_labels`` (k * t,): one row per (class, template) prompt, as in
  the ``.npz`` files of :mod:`modality_gap.embed`.
* ``class_emb`` (k, d): one unit vector per class (:func:`class_embeddings`).
* Scores are cosine logits ``normalize(image) @ normalize(class_emb).T`` (CLIP's logit scale
  is a positive constant and changes neither the top-1 nor the ROC-AUC).

Shifting for zero-shot (the paper's "modified gap")
---------------------------------------------------
Both sides are moved symmetrically along a gap vector ``g`` and put back on the sphere::

    image_i'  = normalize(normalize(image_i) - lam * g)
    class_c'  = normalize(class_emb_c + lam * g)        (class_emb_c already unit norm)

i.e. the formula of :func:`modality_gap.shift.shift_embeddings` (Sec. 4.2, Eq. 4) with the
class embeddings in the role of the text. ``lam > 0`` moves the two sides towards each other (closes the gap; at
``lam ~ 0.5`` the centroids meet), ``lam < 0`` widens it, ``lam = 0`` is the identity. The
shift is applied to the template-averaged class embeddings (for the paper's tasks, which use
one template each, this is the same as shifting every prompt). The default ``g`` is *the
task's own* gap vector (:func:`task_gap_vector`: mean normalised image minus mean class
embedding, Sec. 4.2 applied to the task, as the paper's Appendix B.1 says); a reference gap
(e.g. COCO's) can be passed instead.

Resulting gap (x axis of Figure 10)
-----------------------------------
``gap_after`` is the centroid distance (:func:`modality_gap.gap.centroid_distance`) between
the shifted images and the shifted class embeddings (each class weighted equally).
``gap_signed`` carries the sign of ``<g', g>`` (``g'`` the gap vector after the shift):
negative once the two sides have been pushed past each other. When a reference set of
matched pairs is given, both are measured instead on the reference pairs shifted by the same
``lam`` along the same ``g`` -- the gap "in COCO units".

Selection of the "modified" number
----------------------------------
The paper reports the best point of the grid *on the test set itself* (:func:`best_shift`).
:func:`held_out_shift` gives the honest counterpart: ``lam`` is chosen on one random half
(stratified by class) and scored on the other, and vice versa.

Significance (Table 5)
----------------------
:func:`chi2_test` is the paper's test: Pearson's chi-squared on the 2 x 2 table
(before/after x correct/incorrect), *without* Yates' correction, treating the two prediction
sets as independent samples. With the counts implied by Table 5 over the whole data set
(CIFAR-10 and CIFAR-100: 60,000 images = train + test) it reproduces the published
p-values (3.476e-06 and 8.701e-03) to all printed digits; for EuroSAT (27,000 images) the
count pairs consistent with the printed accuracies give p-values from 6.6e-06 to 7.7e-06
(nearest 6.85e-06 and 7.13e-06), bracketing but not hitting the published 7.020e-06 (of all n
in [5,000, 30,000] only n = 26,958 hits it -- perhaps images that failed to load; unconfirmed,
could be chance). Because the same images are classified twice, :func:`mcnemar_test`
(paired) is the appropriate test.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike, NDArray
from scipy.stats import binomtest, chi2, chi2_contingency, rankdata

from .gap import _as_float_array, _matrix, l2_normalize
from .gap import gap_vector as _pairs_gap_vector  # evaluate_task has an argument gap_vector

__all__ = [
    "METRICS",
    "PAPER_TABLE1",
    "PAPER_TABLE5",
    "class_embeddings",
    "zero_shot_scores",
    "top1_accuracy",
    "roc_auc",
    "metric_score",
    "task_gap_vector",
    "shift_task_embeddings",
    "shift_curve",
    "best_shift",
    "split_halves",
    "held_out_shift",
    "chi2_test",
    "chi2_test_counts",
    "mcnemar_test",
    "synthetic_classification_embeddings",
    "PAPER_TASK_NAMES",
    "evaluate_task",
    "table1",
    "table5",
]

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]

#: Metrics understood by :func:`metric_score` (``roc_auc`` for binary tasks only).
METRICS: tuple[str, ...] = ("accuracy", "roc_auc")

#: Table 1 of the paper (CLIP ViT-B/16, test sets): (metric, original, modified, direction).
PAPER_TABLE1: dict[str, tuple[str, float, float, str]] = {
    "CIFAR10": ("accuracy", 0.9013, 0.9081, "increase"),
    "CIFAR100": ("accuracy", 0.6658, 0.6737, "decrease"),
    "EuroSAT": ("accuracy", 0.5410, 0.5645, "decrease"),
    "SVHN": ("accuracy", 0.5389, 0.5396, "increase"),
    "HatefulMemes": ("roc_auc", 0.5800, 0.5811, "increase"),
}

#: The paper's name of each zero-shot source (the keys of :data:`PAPER_TABLE1` / :data:`PAPER_TABLE5`).
PAPER_TASK_NAMES: dict[str, str] = {
    "cifar10": "CIFAR10", "cifar100": "CIFAR100", "eurosat": "EuroSAT", "svhn": "SVHN",
    "hateful_memes": "HatefulMemes",
}

#: Table 5 of the paper (whole data sets): (original, modified, direction, chi-squared p-value).
PAPER_TABLE5: dict[str, tuple[float, float, str, float]] = {
    "CIFAR10": (0.9026, 0.9104, "increase", 3.476e-06),
    "CIFAR100": (0.6705, 0.6776, "decrease", 8.701e-03),
    "EuroSAT": (0.5494, 0.5686, "decrease", 7.020e-06),
}


# --------------------------------------------------------------------------------------------
# validation helpers
# --------------------------------------------------------------------------------------------
def _int_labels(labels: ArrayLike, name: str, n: int | None = None, k: int | None = None) -> IntArray:
    """1-D integer labels, optionally of length ``n`` and within ``[0, k)``."""
    arr = np.asarray(labels)
    if arr.ndim != 1:
        raise ValueError(f"{name} must be 1-D, got shape {arr.shape}")
    if arr.size == 0:
        raise ValueError(f"{name} is empty")
    if np.issubdtype(arr.dtype, np.floating):
        if not np.isfinite(arr).all() or np.any(arr != np.round(arr)):
            raise ValueError(f"{name} must hold integers, got non-integer or non-finite values")
    elif not (np.issubdtype(arr.dtype, np.integer) or arr.dtype == np.bool_):
        raise ValueError(f"{name} must be an integer array, got dtype {arr.dtype}")
    out = arr.astype(np.int64)
    if n is not None and out.shape[0] != n:
        raise ValueError(f"{name} must have length {n} (one per row), got {out.shape[0]}")
    if k is not None:
        bad = (out < 0) | (out >= k)
        if bad.any():
            i = int(np.argmax(bad))
            raise ValueError(f"{name} must lie in [0, {k}), got {out[i]} at index {i}")
    return out


def _bool_vector(a: ArrayLike, name: str) -> NDArray[np.bool_]:
    """1-D boolean vector (accepts bool or 0/1 integers)."""
    arr = np.asarray(a)
    if arr.ndim != 1 or arr.size == 0:
        raise ValueError(f"{name} must be a non-empty 1-D array, got shape {arr.shape}")
    if arr.dtype != np.bool_:
        if not (np.issubdtype(arr.dtype, np.integer) or np.issubdtype(arr.dtype, np.floating)):
            raise ValueError(f"{name} must be boolean, got dtype {arr.dtype}")
        if not np.isin(arr, (0, 1)).all():
            raise ValueError(f"{name} must hold only True/False (or 0/1)")
    return arr.astype(bool)


def _scores(scores: ArrayLike, name: str = "scores") -> FloatArray:
    arr = _as_float_array(scores, name, ndim=2)
    if not np.isfinite(arr).all():
        i = int(np.argwhere(~np.isfinite(arr))[0, 0])
        raise ValueError(f"{name} contains non-finite values at row {i}")
    return arr


def _task(image: ArrayLike, class_emb: ArrayLike) -> tuple[FloatArray, FloatArray]:
    xa = _matrix(image, "image")
    ca = _matrix(class_emb, "class_emb")
    if xa.shape[1] != ca.shape[1]:
        raise ValueError(
            f"image and class_emb must have the same embedding dimension, got {xa.shape} "
            f"and {ca.shape}"
        )
    return xa, ca


def _gap_arg(gap: ArrayLike, d: int) -> FloatArray:
    g = _as_float_array(gap, "gap", ndim=1)
    if g.shape[0] != d:
        raise ValueError(f"gap must have shape ({d},), got {g.shape}")
    if not np.isfinite(g).all():
        raise ValueError("gap contains non-finite values")
    return g


def _check_metric(metric: str) -> str:
    if metric not in METRICS:
        raise ValueError(f"metric must be one of {METRICS}, got {metric!r}")
    return metric


def _lambdas(lambdas: Iterable[float]) -> FloatArray:
    lams = np.asarray([float(v) for v in lambdas], dtype=np.float64)
    if lams.size == 0:
        raise ValueError("lambdas must be non-empty")
    if not np.isfinite(lams).all():
        raise ValueError("lambdas must be finite")
    return lams


# --------------------------------------------------------------------------------------------
# zero-shot classifier
# --------------------------------------------------------------------------------------------
def class_embeddings(text: ArrayLike, text_labels: ArrayLike, n_classes: int) -> FloatArray:
    """Zero-shot classifier weights: template-averaged, re-normalised prompt embeddings.

    ``w_c = normalize(mean_{j: text_labels[j] = c} normalize(text_j))``, as in CLIP's
    ``zeroshot_classifier`` (Radford et al. 2021, prompt ensembling).

    Parameters
    ----------
    text : array_like, shape (m, d)
        Prompt embeddings, ``m = k * t`` for ``t`` templates (any number per class allowed).
    text_labels : array_like of int, shape (m,)
        Class index of each prompt, in ``[0, n_classes)``.
    n_classes : int
        ``k``; every class needs at least one prompt.

    Returns
    -------
    ndarray, shape (n_classes, d)
        Unit-norm rows, row ``c`` = class ``c``.
    """
    if int(n_classes) != n_classes or n_classes < 1:
        raise ValueError(f"n_classes must be a positive integer, got {n_classes!r}")
    k = int(n_classes)
    ta = _matrix(text, "text")
    tl = _int_labels(text_labels, "text_labels", n=ta.shape[0], k=k)
    counts = np.bincount(tl, minlength=k)
    if (counts == 0).any():
        missing = np.flatnonzero(counts == 0)
        raise ValueError(f"text_labels has no prompt for classes {missing[:10].tolist()}")
    sums = np.zeros((k, ta.shape[1]))
    np.add.at(sums, tl, ta)
    return l2_normalize(sums / counts[:, None], name="class mean of text")


def zero_shot_scores(image: ArrayLike, class_emb: ArrayLike) -> FloatArray:
    """Cosine logits ``normalize(image) @ normalize(class_emb).T``.

    Parameters
    ----------
    image : array_like, shape (n, d)
    class_emb : array_like, shape (k, d)

    Returns
    -------
    ndarray, shape (n, k)
    """
    xa, ca = _task(image, class_emb)
    return xa @ ca.T


def top1_accuracy(scores: ArrayLike, labels: ArrayLike) -> float:
    """Share of rows whose highest score is the true class (ties: the lowest class index wins,
    as ``numpy.argmax``).

    Parameters
    ----------
    scores : array_like, shape (n, k)
    labels : array_like of int, shape (n,), values in ``[0, k)``

    Returns
    -------
    float in ``[0, 1]``
    """
    s = _scores(scores)
    y = _int_labels(labels, "labels", n=s.shape[0], k=s.shape[1])
    return float(np.mean(np.argmax(s, axis=1) == y))


def roc_auc(scores: ArrayLike, labels: ArrayLike) -> float:
    """ROC-AUC of a binary zero-shot task (HatefulMemes in the paper).

    The decision score is ``scores[:, 1] - scores[:, 0]`` (positive class = label 1), or
    ``scores`` itself when it is 1-D. Computed with the Mann-Whitney rank formula::

        AUC = (sum of the mid-ranks of the positives - n1 (n1 + 1) / 2) / (n1 * n0)

    so ties count one half (identical to ``sklearn.metrics.roc_auc_score``).

    Parameters
    ----------
    scores : array_like, shape (n, 2) or (n,)
    labels : array_like of int, shape (n,), values in {0, 1}; both must occur

    Returns
    -------
    float in ``[0, 1]``
    """
    s = np.asarray(scores)
    if s.ndim == 1:
        s = _scores(s[:, None])[:, 0]
    else:
        s2 = _scores(s)
        if s2.shape[1] != 2:
            raise ValueError(f"scores must have 2 columns (binary task), got shape {s2.shape}")
        s = s2[:, 1] - s2[:, 0]
    y = _int_labels(labels, "labels", n=s.shape[0], k=2)
    n1 = int(y.sum())
    n0 = y.size - n1
    if n1 == 0 or n0 == 0:
        raise ValueError("labels must contain both classes 0 and 1 for ROC-AUC")
    ranks = rankdata(s)  # mid-ranks for ties
    return float((ranks[y == 1].sum() - n1 * (n1 + 1) / 2.0) / (n1 * n0))


def metric_score(scores: ArrayLike, labels: ArrayLike, metric: str = "accuracy") -> float:
    """:func:`top1_accuracy` (``metric="accuracy"``) or :func:`roc_auc` (``"roc_auc"``)."""
    if _check_metric(metric) == "accuracy":
        return top1_accuracy(scores, labels)
    return roc_auc(scores, labels)


# --------------------------------------------------------------------------------------------
# shifting
# --------------------------------------------------------------------------------------------
def task_gap_vector(image: ArrayLike, class_emb: ArrayLike) -> FloatArray:
    """The task's own gap vector: ``mean_i normalize(image_i) - mean_c normalize(class_emb_c)``.

    Sec. 4.2, Eq. 3 with the class embeddings (each class weighted equally) as the text side.

    Parameters
    ----------
    image : array_like, shape (n, d)
    class_emb : array_like, shape (k, d)

    Returns
    -------
    ndarray, shape (d,)
    """
    xa, ca = _task(image, class_emb)
    return xa.mean(axis=0) - ca.mean(axis=0)


def shift_task_embeddings(
    image: ArrayLike, class_emb: ArrayLike, lam: float, gap: ArrayLike | None = None
) -> tuple[FloatArray, FloatArray]:
    """Shift images by ``-lam * gap`` and classes by ``+lam * gap``, then re-normalise.

    See the module docstring. ``lam = 0`` returns the normalised inputs unchanged.

    Parameters
    ----------
    image : array_like, shape (n, d)
    class_emb : array_like, shape (k, d)
    lam : float
    gap : array_like, shape (d,), optional
        Default: :func:`task_gap_vector` of ``image`` and ``class_emb``.

    Returns
    -------
    image_shifted : ndarray, shape (n, d)
    class_shifted : ndarray, shape (k, d)
    """
    xa, ca = _task(image, class_emb)
    if not np.isfinite(lam):
        raise ValueError(f"lam must be finite, got {lam!r}")
    g = task_gap_vector(xa, ca) if gap is None else _gap_arg(gap, xa.shape[1])
    return (
        l2_normalize(xa - lam * g, name="image shifted by -lam*gap"),
        l2_normalize(ca + lam * g, name="class_emb shifted by +lam*gap"),
    )


class _ShiftedScorer:
    """Cosine logits of shifted embeddings in O(n k) per ``lam`` after one O(n k d) product.

    With unit ``x``, ``c`` and ``u = x - lam g``, ``v = c + lam g``::

        <u, v> = <x, c> + lam <x, g> - lam <c, g> - lam^2 |g|^2
        |u|^2  = 1 - 2 lam <x, g> + lam^2 |g|^2,   |v|^2 = 1 + 2 lam <c, g> + lam^2 |g|^2
    """

    def __init__(self, xa: FloatArray, ca: FloatArray, g: FloatArray):
        self.xc = xa @ ca.T
        self.xg = xa @ g
        self.cg = ca @ g
        self.gg = float(g @ g)

    def __call__(self, lam: float) -> FloatArray:
        l2 = lam * lam * self.gg
        nx = 1.0 - 2.0 * lam * self.xg + l2
        nc = 1.0 + 2.0 * lam * self.cg + l2
        if (nx <= 1e-24).any() or (nc <= 1e-24).any():
            raise ValueError(f"lam={lam} maps an embedding onto the origin; it cannot be normalised")
        num = self.xc + lam * self.xg[:, None] - lam * self.cg[None, :] - l2
        return num / np.sqrt(nx)[:, None] / np.sqrt(nc)[None, :]


def _shifted_centroid(z: FloatArray, zg: FloatArray, g: FloatArray, t: float) -> FloatArray:
    """``mean_i normalize(z_i + t g)`` for unit rows ``z`` (``zg = z @ g``) in O(n d), no copy."""
    sq = 1.0 + 2.0 * t * zg + t * t * float(g @ g)
    if (sq <= 1e-24).any():
        raise ValueError(f"a shift of {t} * gap maps an embedding onto the origin")
    w = 1.0 / np.sqrt(sq)
    return (w @ z + t * w.sum() * g) / z.shape[0]


def _signed_centroid_gap(a: FloatArray, b: FloatArray, ref: FloatArray) -> tuple[float, float]:
    """(``||a - b||``, the same signed by ``<a - b, ref>``) for two centroids ``a``, ``b``."""
    g = a - b
    dist = float(np.linalg.norm(g))
    return dist, (-dist if float(g @ ref) < 0.0 else dist)


def _reference_pairs(reference, d: int) -> tuple[FloatArray, FloatArray]:
    if len(reference) != 2:
        raise ValueError("reference must be a pair (reference_image, reference_text)")
    rx = _matrix(reference[0], "reference[0]")
    ry = _matrix(reference[1], "reference[1]")
    if rx.shape[1] != d or ry.shape[1] != d:
        raise ValueError(
            f"reference embeddings must have dimension {d}, got {rx.shape} and {ry.shape}"
        )
    return rx, ry


def shift_curve(
    image: ArrayLike,
    class_emb: ArrayLike,
    labels: ArrayLike,
    lambdas: Iterable[float],
    gap: ArrayLike | None = None,
    metric: str = "accuracy",
    reference: tuple[ArrayLike, ArrayLike] | None = None,
) -> pd.DataFrame:
    """Zero-shot metric as a function of the shift (one panel of Figure 10).

    For every ``lam`` the task is shifted with :func:`shift_task_embeddings` and scored.

    Parameters
    ----------
    image : array_like, shape (n, d)
    class_emb : array_like, shape (k, d)
    labels : array_like of int, shape (n,)
    lambdas : iterable of float
        Shift grid; include 0 so that :func:`best_shift` finds the original point (e.g.
        :func:`modality_gap.shift.default_lambdas`).
    gap : array_like, shape (d,), optional
        Shift direction and scale. Default: the task's own gap (:func:`task_gap_vector`), or,
        when ``reference`` is given, the reference pairs' gap vector.
    metric : {"accuracy", "roc_auc"}, default "accuracy"
    reference : (array_like (m, d), array_like (m', d)), optional
        Reference (image, text) embeddings, e.g. COCO pairs. When given, ``gap_after`` and
        ``gap_signed`` are measured on the reference set shifted by the same ``lam`` and
        ``gap`` instead of on the task (see the module docstring).

    Returns
    -------
    pandas.DataFrame
        One row per ``lam`` (in the given order) with ``lam``, ``gap_after`` (centroid
        distance after the shift), ``gap_signed`` (the same, negative once the two sides are
        pushed past each other), ``metric`` (the score) and ``metric_name``.
    """
    xa, ca = _task(image, class_emb)
    y = _int_labels(labels, "labels", n=xa.shape[0], k=ca.shape[0])
    metric = _check_metric(metric)
    if metric == "roc_auc" and ca.shape[0] != 2:
        raise ValueError(f"metric='roc_auc' needs a binary task (2 classes), got {ca.shape[0]}")
    lams = _lambdas(lambdas)
    ref = None if reference is None else _reference_pairs(reference, xa.shape[1])
    if gap is not None:
        g = _gap_arg(gap, xa.shape[1])
    elif ref is not None:
        g = _pairs_gap_vector(*ref)
    else:
        g = task_gap_vector(xa, ca)
    scorer = _ShiftedScorer(xa, ca, g)
    mx, mc = (xa, ca) if ref is None else ref
    ref_dir = mx.mean(axis=0) - mc.mean(axis=0)
    mxg, mcg = mx @ g, mc @ g
    rows = []
    for lam in lams:
        value = metric_score(scorer(lam), y, metric)
        dist, signed = _signed_centroid_gap(
            _shifted_centroid(mx, mxg, g, -lam), _shifted_centroid(mc, mcg, g, lam), ref_dir
        )
        rows.append(
            {"lam": float(lam), "gap_after": dist, "gap_signed": signed, "metric": value,
             "metric_name": metric}
        )
    return pd.DataFrame(rows, columns=["lam", "gap_after", "gap_signed", "metric", "metric_name"])


def best_shift(curve: pd.DataFrame) -> dict[str, float | str]:
    """Best grid point of a :func:`shift_curve` (the paper's "modified gap" of Table 1).

    The maximum of ``metric`` over the grid, selected on the same data it is scored on (as the
    paper did). Ties are broken towards the smallest ``|lam|`` (then the negative ``lam``), so
    the original embeddings win a tie. ``direction`` is ``"increase"`` / ``"decrease"`` when
    ``gap_after`` at the best point is larger / smaller than at ``lam = 0`` and ``"none"``
    when the best point is ``lam = 0``.

    Parameters
    ----------
    curve : pandas.DataFrame
        Needs ``lam``, ``gap_after``, ``metric`` and a row with ``lam == 0``.

    Returns
    -------
    dict
        ``lam``, ``metric_original``, ``metric_best``, ``improvement`` (best - original),
        ``gap_original``, ``gap_best``, ``direction``.
    """
    needed = {"lam", "gap_after", "metric"}
    if missing := needed - set(curve.columns):
        raise ValueError(f"curve lacks the columns {sorted(missing)}")
    if curve.empty:
        raise ValueError("curve is empty")
    lam = curve["lam"].to_numpy(dtype=float)
    value = curve["metric"].to_numpy(dtype=float)
    if not np.isfinite(value).all():
        raise ValueError("curve['metric'] contains non-finite values")
    zero = np.flatnonzero(lam == 0.0)
    if zero.size == 0:
        raise ValueError("curve has no row with lam == 0 (the original embeddings)")
    i0 = int(zero[0])
    ties = np.flatnonzero(value == value.max())
    ib = int(min(ties, key=lambda i: (abs(lam[i]), lam[i])))
    gap = curve["gap_after"].to_numpy(dtype=float)
    if lam[ib] == 0.0:
        direction = "none"
    else:
        direction = "increase" if gap[ib] > gap[i0] else "decrease"
    return {
        "lam": float(lam[ib]),
        "metric_original": float(value[i0]),
        "metric_best": float(value[ib]),
        "improvement": float(value[ib] - value[i0]),
        "gap_original": float(gap[i0]),
        "gap_best": float(gap[ib]),
        "direction": direction,
    }


def split_halves(labels: ArrayLike, seed: int = 0) -> tuple[IntArray, IntArray]:
    """Random halves of the rows, stratified by class.

    The rows are shuffled with ``numpy.random.default_rng(seed)``, stably sorted by label and
    dealt alternately to the two halves, so every class is split as evenly as possible (sizes
    differ by at most one per class).

    Parameters
    ----------
    labels : array_like of int, shape (n,), n >= 2
    seed : int, default 0

    Returns
    -------
    half_a, half_b : ndarray of int, sorted, disjoint, together ``arange(n)``
    """
    y = _int_labels(labels, "labels")
    if y.size < 2:
        raise ValueError("labels needs at least 2 rows to split into halves")
    perm = np.random.default_rng(seed).permutation(y.size)
    order = perm[np.argsort(y[perm], kind="stable")]
    return np.sort(order[0::2]), np.sort(order[1::2])


def held_out_shift(
    image: ArrayLike,
    class_emb: ArrayLike,
    labels: ArrayLike,
    lambdas: Iterable[float],
    gap: ArrayLike | None = None,
    metric: str = "accuracy",
    seed: int = 0,
) -> pd.DataFrame:
    """Table 1 without selection on the test set: choose ``lam`` on one half, score the other.

    The rows are split with :func:`split_halves`. In fold 0, ``lam`` is chosen on half A with
    :func:`best_shift` of :func:`shift_curve` and half B is scored at ``lam = 0`` and at the
    chosen ``lam``; fold 1 swaps the halves. When ``gap`` is None the task gap vector is
    computed from the *selection* half's images (and the class embeddings, which carry no
    label), so nothing of the scored half enters the choice (its class labels only decide,
    through the stratification, which rows form the halves). The honest Table 1 numbers are
    the means of ``metric_original`` and ``metric_shifted`` over the two folds.

    Parameters
    ----------
    image : array_like, shape (n, d)
    class_emb : array_like, shape (k, d)
    labels : array_like of int, shape (n,)
    lambdas : iterable of float
        Must contain 0.
    gap : array_like, shape (d,), optional
        A fixed (e.g. reference) gap vector used in both folds.
    metric : {"accuracy", "roc_auc"}, default "accuracy"
    seed : int, default 0
        Seed of the split.

    Returns
    -------
    pandas.DataFrame
        Two rows (``fold`` 0 and 1) with ``n_select``, ``n_score``, ``lam`` (chosen on the
        selection half), ``direction``, ``metric_select`` (best value on the selection half),
        ``metric_original`` and ``metric_shifted`` (scored half at ``lam = 0`` and at ``lam``),
        ``improvement``.
    """
    xa, ca = _task(image, class_emb)
    y = _int_labels(labels, "labels", n=xa.shape[0], k=ca.shape[0])
    metric = _check_metric(metric)
    lams = _lambdas(lambdas)
    if not (lams == 0.0).any():
        raise ValueError("lambdas must contain 0 (the original embeddings)")
    g_fixed = None if gap is None else _gap_arg(gap, xa.shape[1])
    half_a, half_b = split_halves(y, seed)
    rows = []
    for fold, (sel, score) in enumerate(((half_a, half_b), (half_b, half_a))):
        g = task_gap_vector(xa[sel], ca) if g_fixed is None else g_fixed
        best = best_shift(shift_curve(xa[sel], ca, y[sel], lams, gap=g, metric=metric))
        scorer = _ShiftedScorer(xa[score], ca, g)
        original = metric_score(scorer(0.0), y[score], metric)
        shifted = metric_score(scorer(best["lam"]), y[score], metric)
        rows.append(
            {"fold": fold, "n_select": int(sel.size), "n_score": int(score.size),
             "lam": best["lam"], "direction": best["direction"],
             "metric_select": best["metric_best"], "metric_original": original,
             "metric_shifted": shifted, "improvement": shifted - original}
        )
    return pd.DataFrame(rows)


# --------------------------------------------------------------------------------------------
# significance (Table 5)
# --------------------------------------------------------------------------------------------
def chi2_test_counts(
    n_correct_before: int, n_correct_after: int, n_before: int, n_after: int | None = None
) -> dict[str, float]:
    """The paper's chi-squared test from counts (Table 5).

    Pearson's chi-squared test of independence on the 2 x 2 table::

        [[n_correct_before, n_before - n_correct_before],
         [n_correct_after,  n_after  - n_correct_after ]]

    with ``scipy.stats.chi2_contingency(table, correction=False)`` (no Yates correction:
    this reproduces the published CIFAR-10/100 p-values, see the module docstring). H0: the
    accuracy is the same before and after the shift. When every prediction is correct (or
    every one wrong) the test is undefined; the result is then statistic 0, p-value 1.

    Parameters
    ----------
    n_correct_before, n_correct_after : int
    n_before : int
    n_after : int, optional
        Default ``n_before``.

    Returns
    -------
    dict
        ``statistic``, ``p_value``, ``dof`` (1), ``accuracy_before``, ``accuracy_after``.
    """
    n_after = n_before if n_after is None else n_after
    vals = {"n_correct_before": n_correct_before, "n_correct_after": n_correct_after,
            "n_before": n_before, "n_after": n_after}
    for name, v in vals.items():
        if int(v) != v or v < 0:
            raise ValueError(f"{name} must be a non-negative integer, got {v!r}")
    if n_before < 1 or n_after < 1:
        raise ValueError(f"n_before and n_after must be >= 1, got {n_before} and {n_after}")
    if n_correct_before > n_before or n_correct_after > n_after:
        raise ValueError("a number of correct predictions exceeds its number of samples")
    table = np.array(
        [[n_correct_before, n_before - n_correct_before],
         [n_correct_after, n_after - n_correct_after]], dtype=np.int64)
    out = {"accuracy_before": n_correct_before / n_before, "accuracy_after": n_correct_after / n_after,
           "dof": 1}
    if (table.sum(axis=0) == 0).any():
        return {"statistic": 0.0, "p_value": 1.0, **out}
    res = chi2_contingency(table, correction=False)
    return {"statistic": float(res[0]), "p_value": float(res[1]), **out}


def chi2_test(correct_before: ArrayLike, correct_after: ArrayLike) -> dict[str, float]:
    """The paper's (unpaired) chi-squared test on per-image correctness (Table 5).

    Counts the correct predictions of each method and calls :func:`chi2_test_counts`
    (Pearson, no Yates correction). The pairing of the predictions is ignored, as in the
    paper; prefer :func:`mcnemar_test` for a shift applied to the same images.

    Parameters
    ----------
    correct_before : array_like of bool, shape (n,)
        Whether each image was classified correctly without the shift.
    correct_after : array_like of bool, shape (n_after,)
        The same after the shift (usually the same images, ``n_after = n``).

    Returns
    -------
    dict
        ``statistic``, ``p_value``, ``dof``, ``accuracy_before``, ``accuracy_after``.
    """
    b = _bool_vector(correct_before, "correct_before")
    a = _bool_vector(correct_after, "correct_after")
    return chi2_test_counts(int(b.sum()), int(a.sum()), b.size, a.size)


def mcnemar_test(
    correct_before: ArrayLike, correct_after: ArrayLike, exact: bool | None = None
) -> dict[str, float | int | bool]:
    """McNemar's test of paired predictions (the same images before and after the shift).

    With ``b`` = images correct before and wrong after, ``c`` = wrong before and correct
    after, H0 is ``P(b) = P(c)``:

    * exact: two-sided binomial test of ``b`` successes in ``b + c`` trials with p = 1/2
      (``scipy.stats.binomtest``); statistic = ``min(b, c)``.
    * asymptotic: ``(max(|b - c| - 1, 0))^2 / (b + c)`` (Edwards' continuity correction)
      against chi-squared with 1 degree of freedom.

    ``b + c = 0`` gives statistic 0 and p-value 1.

    Parameters
    ----------
    correct_before, correct_after : array_like of bool, shape (n,)
        Per-image correctness, same images in the same order.
    exact : bool, optional
        Default: exact when ``b + c < 25``, asymptotic otherwise.

    Returns
    -------
    dict
        ``statistic``, ``p_value``, ``b``, ``c``, ``exact`` (the variant used).
    """
    before = _bool_vector(correct_before, "correct_before")
    after = _bool_vector(correct_after, "correct_after")
    if before.shape != after.shape:
        raise ValueError(
            f"correct_before and correct_after must be paired (same length), got "
            f"{before.size} and {after.size}"
        )
    b = int(np.sum(before & ~after))
    c = int(np.sum(~before & after))
    use_exact = (b + c < 25) if exact is None else bool(exact)
    if b + c == 0:
        return {"statistic": 0.0, "p_value": 1.0, "b": b, "c": c, "exact": use_exact}
    if use_exact:
        stat = float(min(b, c))
        p = float(binomtest(b, b + c, 0.5, alternative="two-sided").pvalue)
    else:
        stat = max(abs(b - c) - 1.0, 0.0) ** 2 / (b + c)
        p = float(chi2.sf(stat, 1))
    return {"statistic": float(stat), "p_value": min(p, 1.0), "b": b, "c": c, "exact": use_exact}


# --------------------------------------------------------------------------------------------
# synthetic task for tests and demos
# --------------------------------------------------------------------------------------------
def synthetic_classification_embeddings(
    n_per_class: int = 50,
    n_classes: int = 5,
    d: int = 32,
    seed: int = 0,
    n_templates: int = 2,
    noise: float = 2.0,
    class_tilt: float = 0.1,
) -> dict[str, np.ndarray | bool]:
    """SYNTHETIC zero-shot task with a modality gap, in the ``.npz`` layout of
    :mod:`modality_gap.embed` (not real embeddings; for tests and demos only).

    With an orthonormal basis ``e`` (random, from ``seed``): images of class ``c`` are
    ``normalize(e0 + 0.6 e1 + 0.8 e_{2+c} + noise * N(0, I/d))``, prompts are
    ``normalize(e0 - (0.6 + a_c) e1 + 0.8 e_{2+c} + 0.3 * N(0, I/d))`` with
    ``a_c ~ N(0, class_tilt^2)``: both cones share ``e0``, the gap runs along ``e1``, the class
    signal along ``e_{2+c}``. The per-class tilt ``a_c`` makes the classes unequally far from
    the images along the gap, so that the shift changes the accuracy.

    Parameters
    ----------
    n_per_class : int, default 50
    n_classes : int, default 5
    d : int, default 32
        Must be ``>= n_classes + 2``.
    seed : int, default 0
    n_templates : int, default 2
    noise : float, default 2.0
        Image noise scale (higher = harder task).
    class_tilt : float, default 0.1
        Standard deviation of the per-class offset along the gap direction.

    Returns
    -------
    dict
        ``image`` (n, d), ``labels`` (n,), ``text`` (k * t, d), ``text_labels`` (k * t,),
        ``synthetic`` (True).
    """
    for name, v, lo in (("n_per_class", n_per_class, 1), ("n_classes", n_classes, 2),
                        ("n_templates", n_templates, 1)):
        if int(v) != v or v < lo:
            raise ValueError(f"{name} must be an integer >= {lo}, got {v!r}")
    if int(d) != d or d < n_classes + 2:
        raise ValueError(f"d must be an integer >= n_classes + 2 = {n_classes + 2}, got {d!r}")
    for name, v in (("noise", noise), ("class_tilt", class_tilt)):
        if not (math.isfinite(v) and v >= 0):
            raise ValueError(f"{name} must be finite and >= 0, got {v!r}")
    rng = np.random.default_rng(seed)
    e, _ = np.linalg.qr(rng.standard_normal((d, d)))
    e = e.T  # rows = orthonormal directions
    labels = np.repeat(np.arange(n_classes), n_per_class)
    image = (e[0] + 0.6 * e[1] + 0.8 * e[2 + labels]
             + noise * rng.standard_normal((labels.size, d)) / math.sqrt(d))
    tilt = class_tilt * rng.standard_normal(n_classes)
    text_labels = np.repeat(np.arange(n_classes), n_templates)
    text = (e[0] - (0.6 + tilt[text_labels, None]) * e[1] + 0.8 * e[2 + text_labels]
            + 0.3 * rng.standard_normal((text_labels.size, d)) / math.sqrt(d))
    return {
        "image": l2_normalize(image),
        "labels": labels.astype(np.int64),
        "text": l2_normalize(text),
        "text_labels": text_labels.astype(np.int64),
        "synthetic": True,
    }


# --------------------------------------------------------------------------------------------
# one task end to end, and the tables
# --------------------------------------------------------------------------------------------
def evaluate_task(
    image: ArrayLike,
    labels: ArrayLike,
    text: ArrayLike,
    text_labels: ArrayLike,
    n_classes: int,
    lambdas: Iterable[float],
    metric: str = "accuracy",
    gap_vector: str = "task",
    reference: tuple[ArrayLike, ArrayLike] | None = None,
    seed: int = 0,
) -> tuple[pd.DataFrame, dict]:
    """Figure 10's curve and the Table 1 / Table 5 numbers of one zero-shot task.

    Parameters
    ----------
    image : array_like, shape (n, d)
    labels : array_like of int, shape (n,)
    text, text_labels : prompt embeddings (k * t, d) and their class, as in the ``.npz`` files
    n_classes : int
    lambdas : iterable of float
        Shift grid; must contain 0.
    metric : {"accuracy", "roc_auc"}
    gap_vector : {"task", "reference"}
        Direction of the shift: the task's own gap (the paper) or the reference pairs' gap.
    reference : (array_like (m, d), array_like (m', d)), optional
        Reference (image, text) pairs; when given, the curve's gap is measured on them.
    seed : int
        Seed of the held-out halves.

    Returns
    -------
    curve : pandas.DataFrame
        :func:`shift_curve` output.
    summary : dict
        ``n``, ``n_classes``, ``metric``, ``best`` (:func:`best_shift`: selected on the test set
        as the paper), ``held_out`` (mean over the two folds of :func:`held_out_shift`:
        ``metric_original``, ``metric_shifted``, ``improvement``, and per fold ``lam``), and, for
        accuracy tasks, ``chi2`` (:func:`chi2_test`) and ``mcnemar`` (:func:`mcnemar_test`) of
        the predictions at ``lam = 0`` against the best ``lam``; None for ROC-AUC (no per-image
        correctness).
    """
    if gap_vector not in ("task", "reference"):
        raise ValueError(f"gap_vector must be 'task' or 'reference', got {gap_vector!r}")
    if gap_vector == "reference" and reference is None:
        raise ValueError("gap_vector='reference' needs reference pairs")
    class_emb = class_embeddings(text, text_labels, n_classes)
    xa, ca = _task(image, class_emb)
    y = _int_labels(labels, "labels", n=xa.shape[0], k=ca.shape[0])
    lams = _lambdas(lambdas)
    ref = None if reference is None else _reference_pairs(reference, xa.shape[1])
    g = task_gap_vector(xa, ca) if gap_vector == "task" else _pairs_gap_vector(*ref)
    curve = shift_curve(xa, ca, y, lams, gap=g, metric=metric, reference=ref)
    best = best_shift(curve)
    # the held-out selection recomputes the task gap from the selection half only
    folds = held_out_shift(xa, ca, y, lams, gap=None if gap_vector == "task" else g, metric=metric, seed=seed)
    summary: dict = {
        "n": int(xa.shape[0]),
        "n_classes": int(ca.shape[0]),
        "metric": metric,
        "gap_vector": gap_vector,
        "gap_vector_norm": float(np.linalg.norm(g)),
        "best": best,
        "held_out": {
            "metric_original": float(folds["metric_original"].mean()),
            "metric_shifted": float(folds["metric_shifted"].mean()),
            "improvement": float(folds["improvement"].mean()),
            "lam": folds["lam"].astype(float).tolist(),
            "direction": folds["direction"].tolist(),
        },
        "chi2": None,
        "mcnemar": None,
    }
    if metric == "accuracy":
        scorer = _ShiftedScorer(xa, ca, g)
        before = np.argmax(scorer(0.0), axis=1) == y
        after = np.argmax(scorer(best["lam"]), axis=1) == y
        summary["chi2"] = chi2_test(before, after)
        summary["mcnemar"] = mcnemar_test(before, after)
    return curve, summary


def table1(summaries: dict[str, dict]) -> pd.DataFrame:
    """Table 1: original vs best-shift metric per task, with the honest held-out counterpart.

    Parameters
    ----------
    summaries : mapping of task name to :func:`evaluate_task` summary, optionally with
        ``paper_name`` (a key of :data:`PAPER_TABLE1`).

    Returns
    -------
    pandas.DataFrame
        One row per task: ``task``, ``metric``, ``n``, ``original``, ``modified`` (best on the test
        set, the paper's number), ``direction``, ``lam``, ``gap_original``, ``gap_modified``,
        ``held_out_original``, ``held_out_modified`` (lambda chosen on one half, scored on the
        other, mean of both folds), ``paper_original``, ``paper_modified``, ``paper_direction``
        (NaN / empty where the paper has no such task).
    """
    rows = []
    for task, s in summaries.items():
        paper = PAPER_TABLE1.get(s.get("paper_name") or "", (None, math.nan, math.nan, ""))
        b, h = s["best"], s["held_out"]
        rows.append({
            "task": task, "metric": s["metric"], "n": s["n"],
            "original": b["metric_original"], "modified": b["metric_best"], "direction": b["direction"],
            "lam": b["lam"], "gap_original": b["gap_original"], "gap_modified": b["gap_best"],
            "held_out_original": h["metric_original"], "held_out_modified": h["metric_shifted"],
            "paper_original": paper[1], "paper_modified": paper[2], "paper_direction": paper[3],
        })
    return pd.DataFrame(rows)


def table5(summaries: dict[str, dict]) -> pd.DataFrame:
    """Table 5: significance of the best shift (accuracy tasks only).

    Returns
    -------
    pandas.DataFrame
        One row per accuracy task: ``task``, ``n``, ``original``, ``modified``, ``direction``,
        ``chi2_statistic``, ``chi2_p_value`` (the paper's unpaired test), ``mcnemar_b``,
        ``mcnemar_c`` (images that the shift made wrong / right), ``mcnemar_p_value``
        (``mcnemar_exact``: which variant), ``paper_p_value`` (NaN where the paper has none).
    """
    rows = []
    for task, s in summaries.items():
        if s.get("chi2") is None:
            continue
        paper = PAPER_TABLE5.get(s.get("paper_name") or "", (math.nan, math.nan, "", math.nan))
        c, m = s["chi2"], s["mcnemar"]
        rows.append({
            "task": task, "n": s["n"], "original": c["accuracy_before"], "modified": c["accuracy_after"],
            "direction": s["best"]["direction"], "chi2_statistic": c["statistic"], "chi2_p_value": c["p_value"],
            "mcnemar_b": m["b"], "mcnemar_c": m["c"], "mcnemar_p_value": m["p_value"],
            "mcnemar_exact": m["exact"], "paper_p_value": paper[3],
        })
    cols = ["task", "n", "original", "modified", "direction", "chi2_statistic", "chi2_p_value", "mcnemar_b",
            "mcnemar_c", "mcnemar_p_value", "mcnemar_exact", "paper_p_value"]
    return pd.DataFrame(rows, columns=cols)
