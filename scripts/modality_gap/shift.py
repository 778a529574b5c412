"""Embedding-shift experiment of Liang et al. 2022, Section 4.2 and Figure 3(a-d).

Both modalities are translated along the gap vector and re-normalised onto the unit sphere;
the symmetric CLIP loss is then evaluated as a function of the remaining gap, for several
temperatures.

Conventions
-----------
* ``x`` (n, d): image-like embeddings, ``y`` (n, d): text embeddings, matched rows.
* ``gap`` = :func:`modality_gap.gap.gap_vector` = ``mean(x) - mean(y)`` of the normalised
  embeddings (points from the text centroid to the image centroid).
* The *signed remaining gap* is ``sign(<g', g>) * ||g'||`` where ``g'`` is the gap vector after
  shifting and ``g`` the original one: positive while the image centroid is still on its
  original side, negative once the modalities have been pushed past each other ("back to
  back"). This is the x axis of Figure 3(b-d), which runs from -2 to 2.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike, NDArray
from scipy.optimize import brentq
from scipy.special import logsumexp

from .gap import _as_float_array, _pair, gap_vector, l2_normalize

__all__ = [
    "shift_embeddings",
    "signed_gap",
    "closing_lambda",
    "default_lambdas",
    "clip_loss",
    "loss_landscape",
    "landscape_minimum",
    "PAPER_TEMPERATURES",
]

FloatArray = NDArray[np.float64]

#: Temperatures computed by the authors for Figure 3 (the paper shows 1/100, 1/50 and 1).
PAPER_TEMPERATURES: tuple[float, ...] = (1 / 100, 1 / 50, 1 / 30, 1 / 20, 1 / 10, 1.0)


def _gap_direction(gap: ArrayLike | None, x: FloatArray, y: FloatArray) -> FloatArray:
    if gap is None:
        return x.mean(axis=0) - y.mean(axis=0)
    g = _as_float_array(gap, "gap", ndim=1)
    if g.shape[0] != x.shape[1]:
        raise ValueError(f"gap must have shape ({x.shape[1]},), got {g.shape}")
    if not np.isfinite(g).all():
        raise ValueError("gap contains non-finite values")
    return g


def shift_embeddings(
    x: ArrayLike, y: ArrayLike, lam: float, gap: ArrayLike | None = None
) -> tuple[FloatArray, FloatArray]:
    """Shift both modalities along the gap vector and re-normalise (Liang et al. 2022, Eq. 4).

    ``x_i' = Normalize(x_i - lam * gap)``, ``y_i' = Normalize(y_i + lam * gap)``, applied to the
    L2-normalised inputs.

    Meaning of ``lam``: each modality is moved by ``lam`` times the gap vector, towards the
    other one, so the two centroids approach each other by ``2 * lam * ||gap||`` before
    re-normalisation. ``lam = 0`` leaves the data unchanged; ``lam = 0.5`` moves each centroid
    by half the gap, so *before* re-normalisation both centroids coincide at the midpoint and
    the remaining gap after re-normalisation is close to (not exactly) 0 -- see
    :func:`closing_lambda` for the exact root; ``lam > 0.5`` pushes the modalities past each
    other; ``lam < 0`` widens the gap. The authors' notebook used ``lam = 0.5 * delta`` with
    ``delta`` in ``[-5, 5]`` step 0.25 (they wrote the shift as ``0.5 * delta * gap``).

    Parameters
    ----------
    x, y : array_like, shape (n, d)
        Matched pairs.
    lam : float
        Shift amount (see above).
    gap : array_like, shape (d,), optional
        Shift direction and scale. Defaults to the gap vector of ``x`` and ``y``; pass a fixed
        vector to shift other data (e.g. a test set) along a reference gap.

    Returns
    -------
    x_shifted, y_shifted : ndarray, shape (n, d)
        Unit-norm rows.
    """
    xa, ya = _pair(x, y)
    if not np.isfinite(lam):
        raise ValueError(f"lam must be finite, got {lam!r}")
    g = _gap_direction(gap, xa, ya)
    xs = l2_normalize(xa - lam * g, name="x shifted by -lam*gap")
    ys = l2_normalize(ya + lam * g, name="y shifted by +lam*gap")
    return xs, ys


def signed_gap(x: ArrayLike, y: ArrayLike, reference: ArrayLike) -> float:
    """Centroid distance of ``x`` and ``y``, signed by its orientation relative to ``reference``.

    ``sign(<g, reference>) * ||g||`` with ``g = gap_vector(x, y)`` (sign taken as + when the
    dot product is exactly 0).

    Parameters
    ----------
    x : array_like, shape (n_x, d)
    y : array_like, shape (n_y, d)
    reference : array_like, shape (d,)
        Usually the original (unshifted) gap vector.

    Returns
    -------
    float in ``[-2, 2]``
    """
    g = gap_vector(x, y)
    ref = _as_float_array(reference, "reference", ndim=1)
    if ref.shape != g.shape:
        raise ValueError(f"reference must have shape {g.shape}, got {ref.shape}")
    sign = -1.0 if float(g @ ref) < 0.0 else 1.0
    return sign * float(np.linalg.norm(g))


def closing_lambda(x: ArrayLike, y: ArrayLike, gap: ArrayLike | None = None) -> float:
    """The shift ``lam`` at which the remaining gap changes sign (closes).

    Root in ``(0, 1]`` (bracket widened if needed) of ``lam -> <gap_vector(x', y'), gap>``
    where ``(x', y') = shift_embeddings(x, y, lam, gap)``, found with Brent's method. At the
    root the remaining gap vector is orthogonal to the original gap; for real embeddings its
    norm is ~0. The value is close to 0.5 (see :func:`shift_embeddings`).

    Parameters
    ----------
    x, y : array_like, shape (n, d)
    gap : array_like, shape (d,), optional
        Defaults to the gap vector of ``x`` and ``y``.

    Returns
    -------
    float
    """
    xa, ya = _pair(x, y)
    g = _gap_direction(gap, xa, ya)
    if not np.any(g):
        raise ValueError("the gap vector is zero; there is no gap to close")

    def proj(lam: float) -> float:
        xs, ys = shift_embeddings(xa, ya, lam, g)
        return float((xs.mean(axis=0) - ys.mean(axis=0)) @ g)

    lo, hi = 0.0, 1.0
    f_lo = proj(lo)
    if f_lo <= 0.0:
        raise ValueError("x and y are not separated along gap (projection <= 0 at lam=0)")
    while proj(hi) > 0.0:
        lo, hi = hi, 2.0 * hi
        if hi > 1e6:
            raise ValueError("could not bracket the closing shift; is gap degenerate?")
    return float(brentq(proj, lo, hi, xtol=1e-12))


def default_lambdas(limit: float = 2.5, step: float = 0.125) -> FloatArray:
    """Grid of shifts ``lam`` from ``-limit`` to ``+limit`` (inclusive) in steps of ``step``.

    The default reproduces the authors' grid (``lam = 0.5 * delta``, ``delta`` in
    ``-5..5`` step 0.25, i.e. 41 values of ``lam`` in ``[-2.5, 2.5]``). It covers
    widening the gap (``lam < 0``; remaining gap ~1.9 at ``lam = -2.5`` for CLIP), closing it
    (``lam ~ 0.5``) and pushing the modalities through each other into the "back to back"
    position (``lam > 0.5``; remaining gap ~ -1.8 at ``lam = 2.5``). ``lam = 0`` (the original
    embeddings) is always on the grid.

    Parameters
    ----------
    limit : float, default 2.5
    step : float, default 0.125
        Must divide ``limit`` (up to round-off) so the grid is symmetric and contains 0.

    Returns
    -------
    ndarray, shape (2 * limit / step + 1,)
    """
    if not (limit > 0 and step > 0):
        raise ValueError(f"limit and step must be > 0, got limit={limit!r}, step={step!r}")
    half = limit / step
    if abs(half - round(half)) > 1e-9:
        raise ValueError(f"step={step} must divide limit={limit}")
    k = int(round(half))
    return np.arange(-k, k + 1, dtype=np.float64) * step


def clip_loss(
    x: ArrayLike,
    y: ArrayLike,
    temperature: float,
    batch_size: int | None = 50,
    drop_last: bool = False,
) -> float:
    """Symmetric CLIP (InfoNCE) loss evaluated over consecutive batches.

    For a batch ``B`` with logits ``L = x_B @ y_B.T / temperature``::

        loss_i2t(i) = logsumexp_j L[i, j] - L[i, i]     (image -> text cross-entropy)
        loss_t2i(i) = logsumexp_j L[j, i] - L[i, i]     (text -> image cross-entropy)
        loss(i)     = (loss_i2t(i) + loss_t2i(i)) / 2

    (Liang et al. 2022, Eq. 1; Radford et al. 2021). Rows are taken in order in batches of
    ``batch_size`` (the paper: 50). The result is the mean of ``loss(i)`` over all rows used,
    which equals the mean of the per-batch losses when all batches are full. With
    ``drop_last=False`` (default) a final partial batch is included, with fewer negatives;
    with ``drop_last=True`` it is dropped. Both directions are computed (the authors' code
    repeated the image->text term by mistake).

    The rows are used as given: pass L2-normalised embeddings, as CLIP does.

    Parameters
    ----------
    x, y : array_like, shape (n, d)
        Matched pairs.
    temperature : float
        ``tau > 0``; logits are divided by it (CLIP's learned value is 1/100).
    batch_size : int or None, default 50
        ``None`` = a single batch of all ``n`` rows.
    drop_last : bool, default False

    Returns
    -------
    float
    """
    xa, ya = _check_loss_inputs(x, y)
    _check_temperature(temperature)
    return _loss_from_blocks(_similarity_blocks(xa, ya, batch_size, drop_last), temperature)


def _check_loss_inputs(x: ArrayLike, y: ArrayLike) -> tuple[FloatArray, FloatArray]:
    xa = _as_float_array(x, "x", ndim=2)
    ya = _as_float_array(y, "y", ndim=2)
    for name, arr in (("x", xa), ("y", ya)):
        bad = ~np.isfinite(arr)
        if bad.any():
            raise ValueError(
                f"{name} contains non-finite values at row {int(np.argwhere(bad)[0, 0])}"
            )
    if xa.shape != ya.shape:
        raise ValueError(f"x and y must have the same shape, got x {xa.shape} and y {ya.shape}")
    return xa, ya


def _check_temperature(temperature: float) -> None:
    if not (np.isfinite(temperature) and temperature > 0):
        raise ValueError(f"temperature must be a finite number > 0, got {temperature!r}")


def _similarity_blocks(
    xa: FloatArray, ya: FloatArray, batch_size: int | None, drop_last: bool
) -> list[FloatArray]:
    """Cosine-logit blocks ``x_B @ y_B.T`` of the consecutive batches ``B`` (each (b, b)).

    Computed once per embedding set so that several temperatures can reuse them.
    """
    n = xa.shape[0]
    if batch_size is None:
        batch_size = n
    if int(batch_size) != batch_size or batch_size < 1:
        raise ValueError(f"batch_size must be a positive integer or None, got {batch_size!r}")
    b = int(batch_size)
    stop = (n // b) * b if drop_last else n
    if stop == 0:
        raise ValueError(f"drop_last=True with batch_size={b} > n={n} leaves no batch")
    return [xa[i : i + b] @ ya[i : i + b].T for i in range(0, stop, b)]


def _loss_from_blocks(blocks: list[FloatArray], temperature: float) -> float:
    """Mean per-row symmetric CLIP loss over similarity blocks (see :func:`clip_loss`)."""
    total, rows = 0.0, 0
    for sims in blocks:
        logits = sims / temperature
        diag = np.diagonal(logits)
        i2t = logsumexp(logits, axis=1) - diag
        t2i = logsumexp(logits, axis=0) - diag
        total += float(0.5 * (i2t.sum() + t2i.sum()))
        rows += diag.size
    return total / rows


def loss_landscape(
    x: ArrayLike,
    y: ArrayLike,
    temperatures: Iterable[float],
    lambdas: Iterable[float],
    batch_size: int | None = 50,
) -> pd.DataFrame:
    """CLIP loss as a function of the embedding shift, for several temperatures (Fig. 3b-d).

    For every ``lam`` the pairs are shifted with :func:`shift_embeddings` along the original
    gap vector and :func:`clip_loss` is evaluated at every temperature.

    Parameters
    ----------
    x, y : array_like, shape (n, d)
        Matched pairs.
    temperatures : iterable of float
        E.g. :data:`PAPER_TEMPERATURES`.
    lambdas : iterable of float
        E.g. :func:`default_lambdas`.
    batch_size : int or None, default 50

    Returns
    -------
    pandas.DataFrame
        One row per (temperature, lam), sorted by temperature then lam, with columns
        ``temperature``, ``lam``, ``gap`` (signed remaining centroid distance, see module
        docstring), ``gap_norm`` (its absolute value), ``loss``, ``original_gap`` (the
        unshifted centroid distance, repeated on every row).
    """
    xa, ya = _pair(x, y)
    temps = [float(t) for t in temperatures]
    lams = [float(v) for v in lambdas]
    if not temps or not lams:
        raise ValueError("temperatures and lambdas must both be non-empty")
    for t in temps:
        if not (np.isfinite(t) and t > 0):
            raise ValueError(f"temperatures must be finite and > 0, got {t!r}")
    g = xa.mean(axis=0) - ya.mean(axis=0)
    original = float(np.linalg.norm(g))
    rows = []
    for lam in lams:
        xs, ys = shift_embeddings(xa, ya, lam, g)
        remaining = signed_gap(xs, ys, g)
        blocks = _similarity_blocks(xs, ys, batch_size, drop_last=False)
        for t in temps:
            rows.append(
                {
                    "temperature": t,
                    "lam": lam,
                    "gap": remaining,
                    "gap_norm": abs(remaining),
                    "loss": _loss_from_blocks(blocks, t),
                    "original_gap": original,
                }
            )
    df = pd.DataFrame(rows, columns=["temperature", "lam", "gap", "gap_norm", "loss", "original_gap"])
    return df.sort_values(["temperature", "lam"], kind="stable").reset_index(drop=True)


def landscape_minimum(df: pd.DataFrame) -> pd.DataFrame:
    """Grid point of minimum loss for each temperature of a :func:`loss_landscape` table.

    Parameters
    ----------
    df : pandas.DataFrame
        Output of :func:`loss_landscape` (needs ``temperature``, ``lam``, ``gap``, ``loss``,
        ``original_gap``).

    Returns
    -------
    pandas.DataFrame
        One row per temperature (ascending) with ``temperature``, ``lam``, ``gap`` (signed
        remaining gap at the minimum), ``loss`` (the minimum), ``original_gap``, and
        ``loss_original`` (the loss at ``lam == 0`` when it is on the grid, else NaN).
    """
    needed = {"temperature", "lam", "gap", "loss", "original_gap"}
    missing = needed - set(df.columns)
    if missing:
        raise ValueError(f"df lacks the columns {sorted(missing)}")
    if df.empty:
        raise ValueError("df is empty")
    rows = []
    for t, sub in df.groupby("temperature", sort=True):
        best = sub.loc[sub["loss"].idxmin()]
        at0 = sub.loc[np.isclose(sub["lam"].to_numpy(), 0.0), "loss"]
        rows.append(
            {
                "temperature": float(t),
                "lam": float(best["lam"]),
                "gap": float(best["gap"]),
                "loss": float(best["loss"]),
                "original_gap": float(best["original_gap"]),
                "loss_original": float(at0.iloc[0]) if len(at0) else float("nan"),
            }
        )
    return pd.DataFrame(rows)
