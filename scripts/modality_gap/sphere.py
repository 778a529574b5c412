"""3-D sphere simulation of Liang et al. 2022, Sec. 4.3, Figure 3(e-g) and Figure 9.

Six image points sit on the equator of the unit sphere, ``spacing_deg`` apart in longitude.
Six text points sit at the same longitudes at latitude ``latitude_deg``; moving the latitude
from +90 (all texts at the north pole) through 0 (gap closed, texts on the images) to -90
closes and then reverses the gap. With ``mismatch=True`` the texts of pairs 0 and 1 swap
longitudes, so ``I0`` is nearer ``T1`` and ``I1`` nearer ``T0`` (hard negatives / annotation
errors). The symmetric CLIP loss over the single batch of six pairs is recorded for several
logit scales (``1 / temperature``).

Spacing: Appendix A of the paper states 15 degrees, but the published Fig. 3(g) curves are
reproduced by 20 degrees (loss at the closed gap 2.01 / 1.08 / 0.89 / 1.10 / 1.55 for logit
scales 100 / 50 / 35 / 5 / 1, minima 0.81 near +-78 degrees at scale 100, as read off the
figure), so 20 is the default here. Both show the claimed barrier.

Latitude <-> the figure's axis: ``Delta theta`` in Fig. 3(g) is the polar-angle change, which
equals minus/plus our latitude (the curves are symmetric, the loss is ``log 6`` at +-90).
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from .shift import clip_loss

__all__ = [
    "PAPER_LOGIT_SCALES",
    "sphere_points",
    "sphere_loss_curve",
    "sphere_loss_barrier",
]

FloatArray = NDArray[np.float64]

#: Logit scales (1/temperature) of Fig. 3(g) and Fig. 9.
PAPER_LOGIT_SCALES: tuple[float, ...] = (1.0, 5.0, 35.0, 50.0, 100.0)


def _unit(lat_rad: float | FloatArray, lon_rad: FloatArray) -> FloatArray:
    lat = np.broadcast_to(lat_rad, lon_rad.shape)
    return np.stack(
        [np.cos(lat) * np.cos(lon_rad), np.cos(lat) * np.sin(lon_rad), np.sin(lat)], axis=1
    )


def sphere_points(
    n: int = 6,
    spacing_deg: float = 20.0,
    latitude_deg: float = 30.0,
    mismatch: bool = True,
) -> tuple[FloatArray, FloatArray]:
    """Image and text points of the sphere simulation.

    Image ``i``: latitude 0, longitude ``i * spacing_deg``. Text ``i``: latitude
    ``latitude_deg``, longitude ``i * spacing_deg``, except that with ``mismatch=True`` texts 0
    and 1 exchange longitudes (``T0`` above ``I1``, ``T1`` above ``I0``).

    Parameters
    ----------
    n : int, default 6
        Number of pairs (>= 2).
    spacing_deg : float, default 20
        Longitude step, in ``(0, 360 / n]`` so that points do not wrap onto each other.
    latitude_deg : float, default 30
        Text latitude in ``[-90, 90]``; 0 closes the gap.
    mismatch : bool, default True
        Swap the longitudes of texts 0 and 1.

    Returns
    -------
    image, text : ndarray, shape (n, 3)
        Unit vectors; row ``i`` of each forms pair ``i``.
    """
    if int(n) != n or n < 2:
        raise ValueError(f"n must be an integer >= 2, got {n!r}")
    n = int(n)
    if not (np.isfinite(spacing_deg) and 0 < spacing_deg <= 360.0 / n):
        raise ValueError(f"spacing_deg must lie in (0, 360/n] = (0, {360.0 / n}], got {spacing_deg!r}")
    if not (np.isfinite(latitude_deg) and -90.0 <= latitude_deg <= 90.0):
        raise ValueError(f"latitude_deg must lie in [-90, 90], got {latitude_deg!r}")
    lon = np.deg2rad(np.arange(n) * float(spacing_deg))
    text_lon = lon.copy()
    if mismatch:
        text_lon[[0, 1]] = text_lon[[1, 0]]
    image = _unit(0.0, lon)
    text = _unit(np.deg2rad(float(latitude_deg)), text_lon)
    return image, text


def sphere_loss_curve(
    latitudes_deg: Iterable[float],
    logit_scales: Iterable[float],
    mismatch: bool = True,
    n: int = 6,
    spacing_deg: float = 20.0,
) -> pd.DataFrame:
    """Symmetric CLIP loss of the sphere simulation along the text latitude.

    Parameters
    ----------
    latitudes_deg : iterable of float
        Text latitudes, e.g. ``np.arange(-90, 91)`` (the paper's 1-degree steps).
    logit_scales : iterable of float
        ``1 / temperature`` values (> 0), e.g. :data:`PAPER_LOGIT_SCALES`.
    mismatch : bool, default True
    n : int, default 6
    spacing_deg : float, default 20

    Returns
    -------
    pandas.DataFrame
        Columns ``latitude``, ``logit_scale``, ``loss`` (one batch of all ``n`` pairs,
        :func:`modality_gap.shift.clip_loss` with ``temperature = 1 / logit_scale``), ``gap``
        (centroid distance, signed by the latitude: > 0 while texts are north of the
        equator), ``gap_norm`` and ``mismatch``; sorted by logit scale then latitude.
    """
    lats = [float(v) for v in latitudes_deg]
    scales = [float(s) for s in logit_scales]
    if not lats or not scales:
        raise ValueError("latitudes_deg and logit_scales must both be non-empty")
    for s in scales:
        if not (np.isfinite(s) and s > 0):
            raise ValueError(f"logit_scales must be finite and > 0, got {s!r}")
    rows = []
    for lat in lats:
        image, text = sphere_points(n=n, spacing_deg=spacing_deg, latitude_deg=lat, mismatch=mismatch)
        gap_norm = float(np.linalg.norm(image.mean(axis=0) - text.mean(axis=0)))
        gap = -gap_norm if lat < 0 else gap_norm
        for s in scales:
            rows.append(
                {
                    "latitude": lat,
                    "logit_scale": s,
                    "loss": clip_loss(image, text, temperature=1.0 / s, batch_size=None),
                    "gap": gap,
                    "gap_norm": gap_norm,
                    "mismatch": bool(mismatch),
                }
            )
    df = pd.DataFrame(rows, columns=["latitude", "logit_scale", "loss", "gap", "gap_norm", "mismatch"])
    return df.sort_values(["logit_scale", "latitude"], kind="stable").reset_index(drop=True)


def sphere_loss_barrier(df: pd.DataFrame, start_latitude_deg: float | None = None) -> pd.DataFrame:
    """Loss barrier met when closing the gap from a starting latitude, per logit scale.

    Along the path from the start latitude ``s > 0`` down to 0 (gap closed) the barrier is
    ``max_{0 <= lat <= s} loss(lat) - loss(s)``: positive when closing the gap must go uphill
    (repulsion), 0 when the loss never rises above its starting value on the way. By default
    ``s`` is the latitude of minimum loss among the latitudes ``> 0`` of the table (the
    local optimum on the starting side), so the barrier is how much the loss rises from that
    optimum to the worst point on the way to a closed gap.

    Parameters
    ----------
    df : pandas.DataFrame
        Output of :func:`sphere_loss_curve` for a single ``mismatch`` setting; must contain
        latitude 0 and at least one positive latitude.
    start_latitude_deg : float, optional
        Fixed start latitude (must be on the grid, > 0).

    Returns
    -------
    pandas.DataFrame
        One row per logit scale: ``logit_scale``, ``start_latitude``, ``loss_start``,
        ``loss_closed`` (loss at latitude 0), ``barrier`` (>= 0).
    """
    needed = {"latitude", "logit_scale", "loss"}
    missing = needed - set(df.columns)
    if missing:
        raise ValueError(f"df lacks the columns {sorted(missing)}")
    if "mismatch" in df.columns and df["mismatch"].nunique() > 1:
        raise ValueError("df mixes mismatch settings; pass one sphere_loss_curve table at a time")
    if start_latitude_deg is not None and not start_latitude_deg > 0:
        raise ValueError(f"start_latitude_deg must be > 0, got {start_latitude_deg!r}")
    rows = []
    for scale, sub in df.groupby("logit_scale", sort=True):
        lat = sub["latitude"].to_numpy(dtype=float)
        loss = sub["loss"].to_numpy(dtype=float)
        closed = np.isclose(lat, 0.0)
        if not closed.any():
            raise ValueError("df must contain latitude 0 (the closed gap)")
        positive = lat > 0
        if not positive.any():
            raise ValueError("df must contain at least one positive latitude")
        if start_latitude_deg is None:
            cand = np.flatnonzero(positive)
            i_start = int(cand[np.argmin(loss[cand])])
        else:
            hit = np.flatnonzero(np.isclose(lat, float(start_latitude_deg)))
            if hit.size == 0:
                raise ValueError(f"start_latitude_deg={start_latitude_deg} is not on the latitude grid")
            i_start = int(hit[0])
        s = lat[i_start]
        on_path = (lat >= 0) & (lat <= s)
        barrier = float(loss[on_path].max() - loss[i_start])
        rows.append(
            {
                "logit_scale": float(scale),
                "start_latitude": float(s),
                "loss_start": float(loss[i_start]),
                "loss_closed": float(loss[closed][0]),
                "barrier": max(barrier, 0.0),
            }
        )
    return pd.DataFrame(rows)
