"""Figures for the modality-gap experiments: Figure 1 / 4, Figure 3(b-d), Figure 3(e-g) / 9.

Every ``plot_*`` function takes arrays or DataFrames and returns a new
``matplotlib.figure.Figure``. Figures are built with the object-oriented API (no pyplot, no
global figure registry, no backend selection), so they work headless and never leak between
calls; write them with :func:`modality_gap.plotting.save_figure`. Styling uses
``seaborn.set_theme(context="paper", style="whitegrid")`` inside :func:`paper_style`, a
context manager that restores the global rcParams on exit.

Colours follow Figure 1 of the paper: image-like modality red, text blue.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence

import numpy as np
import pandas as pd
import seaborn as sns
from matplotlib.collections import LineCollection
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from numpy.typing import ArrayLike, NDArray

from .gap import _same_dim, centroid_distance
from .plotting import IMAGE_COLOR, TEXT_COLOR, panel_grid, paper_style

__all__ = [
    "format_temperature",
    "svd_projection",
    "paired_projection",
    "plot_paired_embeddings",
    "plot_loss_landscape",
    "plot_sphere",
    "plot_sphere_loss",
]

FloatArray = NDArray[np.float64]
Panel = tuple[str, ArrayLike, ArrayLike]

PAIR_LINE_COLOR = "0.55"  # grey


def format_temperature(t: float) -> str:
    """``0.01 -> "1/100"``, ``1.0 -> "1"``, ``0.3 -> "0.3"``."""
    inv = 1.0 / float(t)
    r = round(inv)
    if r >= 1 and abs(inv - r) < 1e-6 * max(1.0, inv):
        return "1" if r == 1 else f"1/{r}"
    return f"{t:g}"


# --------------------------------------------------------------------------------------------
# 2-D projections for Figure 1 / 4
# --------------------------------------------------------------------------------------------
def svd_projection(z: ArrayLike, n_components: int = 2, center: bool = False) -> FloatArray:
    """Project rows onto their top singular directions: ``U[:, :k] * S[:k]``.

    With ``center=False`` (default) this is the plain, *uncentred* SVD used for the paper's
    Figure 4 (the authors' ``svd`` helper: ``U, S, Vt = svd(X); X @ Vt[:k].T``). On
    normalised embeddings inside a narrow cone the first uncentred component is roughly the
    mean direction of all points; the gap shows up along the second. ``center=True`` gives
    PCA scores instead. Signs are fixed so that the largest-magnitude entry of each column of
    ``U`` is positive (deterministic output).

    Parameters
    ----------
    z : array_like, shape (m, d)
    n_components : int, default 2
    center : bool, default False

    Returns
    -------
    ndarray, shape (m, n_components)
    """
    arr = np.asarray(z, dtype=np.float64)
    if arr.ndim != 2:
        raise ValueError(f"z must be 2-D, got shape {arr.shape}")
    if not 1 <= n_components <= min(arr.shape):
        raise ValueError(f"n_components must lie in [1, {min(arr.shape)}], got {n_components!r}")
    if center:
        arr = arr - arr.mean(axis=0)
    u, s, _ = np.linalg.svd(arr, full_matrices=False)
    u = u[:, :n_components]
    signs = np.sign(u[np.argmax(np.abs(u), axis=0), np.arange(n_components)])
    signs[signs == 0] = 1.0
    return u * signs * s[:n_components]


def paired_projection(
    x: ArrayLike, y: ArrayLike, method: str = "umap", seed: int = 0
) -> tuple[FloatArray, FloatArray]:
    """2-D embedding of both modalities, fitted jointly on the stacked normalised rows.

    Parameters
    ----------
    x : array_like, shape (n_x, d)
    y : array_like, shape (n_y, d)
    method : {"umap", "svd"}
        ``"umap"``: ``umap.UMAP(n_components=2, random_state=seed)`` with default settings
        (Figure 1; fixing the seed makes UMAP deterministic but single-threaded).
        ``"svd"``: :func:`svd_projection`, uncentred (Figure 4).
    seed : int, default 0
        UMAP seed (ignored by SVD).

    Returns
    -------
    px : ndarray, shape (n_x, 2)
    py : ndarray, shape (n_y, 2)
    """
    xa, ya = _same_dim(x, y)
    z = np.vstack([xa, ya])
    if method == "svd":
        proj = svd_projection(z, 2)
    elif method == "umap":
        import umap  # slow import (numba); only when needed

        with warnings.catch_warnings():
            # "n_jobs value 1 overridden to 1 by setting random_state" and numba chatter
            warnings.simplefilter("ignore", UserWarning)
            proj = umap.UMAP(n_components=2, random_state=seed).fit_transform(z)
        proj = np.asarray(proj, dtype=np.float64)
    else:
        raise ValueError(f"method must be 'umap' or 'svd', got {method!r}")
    return proj[: len(xa)], proj[len(xa) :]


_CORNERS = {  # (x, y, ha, va) in axes fraction, in order of preference
    "upper left": (0.03, 0.97, "left", "top"),
    "upper right": (0.97, 0.97, "right", "top"),
    "lower left": (0.03, 0.03, "left", "bottom"),
    "lower right": (0.97, 0.03, "right", "bottom"),
}


def _label_emptiest_corner(ax, points: FloatArray, text: str) -> None:
    """Write ``text`` in the axes corner covering the fewest ``points`` (data coordinates).

    When every corner holds points, the y range is extended upwards to free the upper left.
    """
    (x0, x1), (y0, y1) = ax.get_xlim(), ax.get_ylim()
    fx = (points[:, 0] - x0) / (x1 - x0)
    fy = (points[:, 1] - y0) / (y1 - y0)
    w, h = 0.38, 0.16  # box of the label, generous
    counts = {
        "upper left": np.sum((fx < w) & (fy > 1 - h)),
        "upper right": np.sum((fx > 1 - w) & (fy > 1 - h)),
        "lower left": np.sum((fx < w) & (fy < h)),
        "lower right": np.sum((fx > 1 - w) & (fy < h)),
    }
    corner = min(_CORNERS, key=lambda c: counts[c])  # ties keep the order of preference
    if counts[corner] > 0:
        ax.set_ylim(y0, y1 + (y1 - y0) * h / (1 - h))
        corner = "upper left"
    cx, cy, ha, va = _CORNERS[corner]
    ax.text(
        cx, cy, text, transform=ax.transAxes, ha=ha, va=va, fontsize="small", zorder=3,
        bbox={"boxstyle": "round,pad=0.25", "fc": "white", "ec": "0.8", "alpha": 0.9},
    )


def plot_paired_embeddings(
    panels: Sequence[Panel],
    method: str = "umap",
    seed: int = 0,
    ncols: int | None = None,
    labels: tuple[str, str] = ("Image", "Text"),
    panel_size: float = 2.6,
) -> Figure:
    """Figure 1 (UMAP) / Figure 4 (SVD): matched pairs of two modalities in 2-D.

    Each panel projects its own ``x`` and ``y`` with :func:`paired_projection`; image points
    are red, text points blue, and light grey lines join matched pairs. The modality gap
    (:func:`modality_gap.gap.centroid_distance`, computed in the full embedding space, not in
    2-D) is printed in the corner of each panel.

    Parameters
    ----------
    panels : sequence of (title, x, y)
        ``x`` (n, d) image-like, ``y`` (n, d) text, matched rows (lines are drawn only when
        ``n_x == n_y``).
    method : {"umap", "svd"}, default "umap"
    seed : int, default 0
    ncols : int, optional
        Panels per row; default ``min(4, len(panels))`` (Figure 1: 8 panels -> 2 x 4, top
        row pretrained, bottom row random weights).
    labels : (str, str), default ("Image", "Text")
        Legend names of the two modalities.
    panel_size : float, default 2.6
        Width and height of one panel in inches.

    Returns
    -------
    matplotlib.figure.Figure
    """
    if method not in ("umap", "svd"):
        raise ValueError(f"method must be 'umap' or 'svd', got {method!r}")
    panels = list(panels)
    for i, p in enumerate(panels):
        if len(p) != 3:
            raise ValueError(f"panels[{i}] must be a (title, x, y) tuple")
    nrows, ncols = panel_grid(len(panels), ncols, default_ncols=4)
    axis_name = "UMAP" if method == "umap" else "SVD"
    with paper_style():
        fig = Figure(figsize=(panel_size * ncols, panel_size * nrows + 0.35), layout="constrained")
        axes = np.atleast_1d(fig.subplots(nrows, ncols, squeeze=False)).ravel()
        for k, (ax, (title, x, y)) in enumerate(zip(axes, panels)):
            px, py = paired_projection(x, y, method=method, seed=seed)
            if len(px) == len(py):
                segs = np.stack([px, py], axis=1)
                ax.add_collection(
                    LineCollection(segs, colors=PAIR_LINE_COLOR, linewidths=0.4, alpha=0.25, zorder=1)
                )
            ax.scatter(px[:, 0], px[:, 1], s=7, c=IMAGE_COLOR, alpha=0.55, linewidths=0, zorder=2)
            ax.scatter(py[:, 0], py[:, 1], s=7, c=TEXT_COLOR, alpha=0.55, linewidths=0, zorder=2)
            ax.autoscale_view()
            ax.set_title(str(title))
            _label_emptiest_corner(ax, np.vstack([px, py]), f"gap = {centroid_distance(x, y):.2f}")
            if k // ncols == nrows - 1 or k + ncols >= len(panels):
                ax.set_xlabel(f"{axis_name} 1")
            if k % ncols == 0:
                ax.set_ylabel(f"{axis_name} 2")
        for ax in axes[len(panels) :]:
            ax.set_visible(False)
        handles = [
            Line2D([], [], ls="", marker="o", color=IMAGE_COLOR, label=labels[0]),
            Line2D([], [], ls="", marker="o", color=TEXT_COLOR, label=labels[1]),
            Line2D([], [], color=PAIR_LINE_COLOR, lw=1.0, label="matched pair"),
        ]
        fig.legend(handles=handles, loc="outside lower center", ncols=3, frameon=False)
    return fig


# --------------------------------------------------------------------------------------------
# Figure 3(b-d)
# --------------------------------------------------------------------------------------------
def plot_loss_landscape(
    df: pd.DataFrame,
    temperatures: Sequence[float] | None = None,
    ncols: int | None = None,
    panel_size: float = 2.8,
) -> Figure:
    """Figure 3(b-d): CLIP loss against the (signed) remaining gap, one panel per temperature.

    A vertical dashed line marks the original gap and a star the grid minimum.

    Parameters
    ----------
    df : pandas.DataFrame
        Output of :func:`modality_gap.shift.loss_landscape` (columns ``temperature``, ``gap``,
        ``loss``, ``original_gap``).
    temperatures : sequence of float, optional
        Subset and order of panels (e.g. ``[1/100, 1/50, 1]`` as in the paper); default all
        temperatures of ``df`` ascending. Matched with ``numpy.isclose``.
    ncols : int, optional
        Default ``min(4, n_panels)``.
    panel_size : float, default 2.8

    Returns
    -------
    matplotlib.figure.Figure
    """
    needed = {"temperature", "gap", "loss", "original_gap"}
    if missing := needed - set(df.columns):
        raise ValueError(f"df lacks the columns {sorted(missing)}")
    available = np.sort(df["temperature"].unique())
    temps = list(available) if temperatures is None else [float(t) for t in temperatures]
    nrows, ncols = panel_grid(len(temps), ncols)
    with paper_style():
        fig = Figure(figsize=(panel_size * ncols, panel_size * nrows), layout="constrained")
        axes = fig.subplots(nrows, ncols, squeeze=False).ravel()
        for ax, t in zip(axes, temps):
            sub = df[np.isclose(df["temperature"].to_numpy(dtype=float), t)].sort_values("gap")
            if sub.empty:
                raise ValueError(f"temperature {t} is not in df")
            ax.plot(sub["gap"], sub["loss"], "-o", color=TEXT_COLOR, ms=3, lw=1.2)
            ax.axvline(float(sub["original_gap"].iloc[0]), color="k", ls="--", lw=1.0)
            best = sub.loc[sub["loss"].idxmin()]
            ax.plot(best["gap"], best["loss"], marker="*", ms=12, color=IMAGE_COLOR, ls="", zorder=3)
            ax.set_title(f"temperature = {format_temperature(t)}")
            ax.set_xlabel("remaining gap (signed)")
            ax.set_ylabel("CLIP loss")
        for ax in axes[len(temps) :]:
            ax.set_visible(False)
        handles = [
            Line2D([], [], color="k", ls="--", lw=1.0, label="original gap"),
            Line2D([], [], color=IMAGE_COLOR, marker="*", ms=10, ls="", label="minimum"),
        ]
        fig.legend(handles=handles, loc="outside lower center", ncols=2, frameon=False)
    return fig


# --------------------------------------------------------------------------------------------
# Figure 3(e-g) / Figure 9
# --------------------------------------------------------------------------------------------
def _slerp(a: FloatArray, b: FloatArray, n: int = 30) -> FloatArray:
    omega = math.acos(float(np.clip(a @ b, -1.0, 1.0)))
    if omega < 1e-9:
        return np.vstack([a, b])
    ts = np.linspace(0.0, 1.0, n)[:, None]
    return (np.sin((1 - ts) * omega) * a + np.sin(ts * omega) * b) / math.sin(omega)


def plot_sphere(
    x: ArrayLike,
    y: ArrayLike,
    title: str | None = None,
    annotate: bool = True,
    size: float = 4.0,
) -> Figure:
    """Figure 3(e) / 9(a,b): image and text points on a wireframe unit sphere.

    Image points: red triangles, text points: blue diamonds, labelled ``I0..``, ``T0..``;
    matched pairs are joined by grey great-circle arcs. The camera looks at the mean
    longitude of the image points.

    Parameters
    ----------
    x, y : array_like, shape (n, 3)
        Image and text unit vectors (e.g. :func:`modality_gap.sphere.sphere_points`).
    title : str, optional
    annotate : bool, default True
        Write ``I{i}`` / ``T{i}`` next to the points.
    size : float, default 4
        Figure width and height in inches.

    Returns
    -------
    matplotlib.figure.Figure
    """
    xa = np.asarray(x, dtype=np.float64)
    ya = np.asarray(y, dtype=np.float64)
    if xa.ndim != 2 or xa.shape[1] != 3 or xa.shape != ya.shape:
        raise ValueError(f"x and y must both have shape (n, 3), got {xa.shape} and {ya.shape}")
    if not (np.isfinite(xa).all() and np.isfinite(ya).all()):
        raise ValueError("x and y must be finite")
    with paper_style():
        fig = Figure(figsize=(size, size), layout="constrained")
        ax = fig.add_subplot(projection="3d")
        u, v = np.meshgrid(np.linspace(0, 2 * np.pi, 37), np.linspace(0, np.pi, 19))
        ax.plot_wireframe(
            np.cos(u) * np.sin(v), np.sin(u) * np.sin(v), np.cos(v), color="0.75", lw=0.35, alpha=0.6
        )
        for a, b in zip(xa, ya):
            arc = _slerp(a / np.linalg.norm(a), b / np.linalg.norm(b))
            ax.plot(arc[:, 0], arc[:, 1], arc[:, 2], color=PAIR_LINE_COLOR, lw=1.0)
        ax.scatter(*xa.T, color=IMAGE_COLOR, marker="^", s=40, depthshade=False, label="image")
        ax.scatter(*ya.T, color=TEXT_COLOR, marker="D", s=30, depthshade=False, label="text")
        if annotate:
            up = np.array([0.0, 0.0, 0.09])
            for i, (a, b) in enumerate(zip(xa, ya)):
                below_text = a[2] <= b[2]  # put each label on the side away from its partner
                ax.text(*(a - up if below_text else a + up), f"I{i}", color=IMAGE_COLOR,
                        fontsize="small", ha="center", va="top" if below_text else "bottom")
                ax.text(*(b + up if below_text else b - up), f"T{i}", color=TEXT_COLOR,
                        fontsize="small", ha="center", va="bottom" if below_text else "top")
        lon = float(np.degrees(np.arctan2(xa[:, 1].mean(), xa[:, 0].mean())))
        ax.view_init(elev=15, azim=lon)
        ax.set_box_aspect((1, 1, 1))
        for setter in (ax.set_xlim, ax.set_ylim, ax.set_zlim):
            setter(-1, 1)
        ticks = [-1.0, 0.0, 1.0]
        ax.set_xticks(ticks)
        ax.set_yticks(ticks)
        ax.set_zticks(ticks)
        ax.set_xlabel("x")
        ax.set_ylabel("y")
        ax.set_zlabel("z")
        ax.legend(loc="upper right", fontsize="small")
        if title:
            ax.set_title(title)
    return fig


def plot_sphere_loss(df: pd.DataFrame, panel_size: float = 3.4) -> Figure:
    """Figure 3(g) / 9(c,d): sphere-simulation loss against the text latitude.

    One line per logit scale (legend in temperatures, ``tau = 1 / logit_scale``); one panel
    per value of the ``mismatch`` column when present (mismatched first), sharing the y axis.

    Parameters
    ----------
    df : pandas.DataFrame
        Output of :func:`modality_gap.sphere.sphere_loss_curve`, or several concatenated
        (columns ``latitude``, ``logit_scale``, ``loss``, optionally ``mismatch``).
    panel_size : float, default 3.4

    Returns
    -------
    matplotlib.figure.Figure
    """
    needed = {"latitude", "logit_scale", "loss"}
    if missing := needed - set(df.columns):
        raise ValueError(f"df lacks the columns {sorted(missing)}")
    if "mismatch" in df.columns:
        groups = [(bool(m), df[df["mismatch"] == m]) for m in sorted(df["mismatch"].unique(), reverse=True)]
    else:
        groups = [(None, df)]
    scales = np.sort(df["logit_scale"].unique())
    palette = sns.color_palette("viridis_r", n_colors=len(scales))
    with paper_style():
        fig = Figure(figsize=(panel_size * len(groups) + 0.9, panel_size * 0.8), layout="constrained")
        axes = fig.subplots(1, len(groups), squeeze=False, sharey=True).ravel()
        for ax, (mm, sub) in zip(axes, groups):
            for color, s in zip(palette, scales):
                line = sub[np.isclose(sub["logit_scale"].to_numpy(dtype=float), s)].sort_values("latitude")
                ax.plot(
                    line["latitude"], line["loss"], color=color, lw=1.5,
                    label=f"τ = {format_temperature(1.0 / s)}",
                )
            ax.axvline(0.0, color="k", ls=":", lw=0.8)
            ax.set_xlabel("text latitude (degrees; 0 = gap closed)")
            ax.set_xticks(np.arange(-90, 91, 30))
            if mm is not None:
                ax.set_title("with mismatched pairs" if mm else "without mismatched pairs")
        axes[0].set_ylabel("CLIP loss")
        axes[-1].legend(title="temperature", loc="center left", bbox_to_anchor=(1.02, 0.5), frameon=False)
    return fig
