"""Figures for the cone effect and its theory (Figure 2a/b/c, Figures 5 and 7, Theorems 1 and 2).

Every ``plot_*`` function takes arrays or tables and returns a :class:`matplotlib.figure.Figure`
built with the object-oriented API (no pyplot figure registry); only :func:`save_figure` (the
workflow's shared :func:`modality_gap.plotting.save_figure`: ``stem.png`` at dpi 200 and
``stem.pdf``, each written to a temporary file in the same folder and moved into place with
``os.replace``) touches the file system. The theme ``seaborn.set_theme(context='paper',
style='whitegrid')`` is applied inside each function through
:func:`modality_gap.plotting.paper_style`, which restores the global rcParams on exit.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import matplotlib.ticker as mticker
import numpy as np
import numpy.typing as npt
import pandas as pd
import seaborn as sns
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from .cone import CosineStats
from .plotting import paper_style, save_figure

__all__ = [
    "plot_cosine_histograms",
    "plot_depth_curves",
    "plot_seed_cones",
    "plot_seed_cone_panels",
    "plot_theorem1",
    "plot_theorem2",
    "save_figure",
]

ACTIVATION_LABELS = {
    "sigmoid": "n*(Linear+Sigmoid)",
    "leaky_relu": "n*(Linear+LeakyReLU)",
    "relu": "n*(Linear+ReLU)",
    "tanh": "n*(Linear+Tanh)",
    "none": "n*(Linear)",
}
"""Legend labels of Figure 2b, by activation name."""


def _format_mean(value: float) -> str:
    """Two decimals, or as many more as needed (up to 6) so that a value below 1 is not shown as 1."""
    for decimals in range(2, 7):
        text = f"{value:.{decimals}f}"
        if value >= 1.0 or float(text) < 1.0:
            return text
    return f"{value:.6f}"


def _count_label(value: float, _pos: object = None) -> str:
    """Compact tick label for a pair count: 950, 20k, 1.5M, 2G."""
    for size, suffix in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if abs(value) >= size:
            return f"{value / size:.3g}{suffix}"
    return f"{value:.0f}"


def _display_histogram(stats: CosineStats, n_bins: int) -> tuple[np.ndarray, np.ndarray]:
    """Merge the fine fixed bins of ``stats`` into about ``n_bins`` bins spanning the occupied range."""
    counts = np.asarray(stats.hist_counts)
    edges = np.asarray(stats.hist_edges)
    occupied = np.flatnonzero(counts)
    if occupied.size == 0:
        return edges[[0, -1]], np.zeros(1, dtype=np.int64)
    first, last = int(occupied[0]), int(occupied[-1]) + 1
    factor = max(1, int(np.ceil((last - first) / n_bins)))
    stop = min(first + int(np.ceil((last - first) / factor)) * factor, counts.size)
    merged = np.add.reduceat(counts[first:stop], np.arange(0, stop - first, factor))
    merged_edges = np.append(edges[first:stop:factor], edges[stop])
    return merged_edges, merged


def plot_cosine_histograms(
    grid: Mapping[tuple[str, str], CosineStats],
    *,
    rows: Sequence[str] | None = None,
    cols: Sequence[str] | None = None,
    n_display_bins: int = 80,
    panel_size: tuple[float, float] = (2.3, 1.7),
) -> Figure:
    """Figure 2a: a grid of pairwise-cosine histograms, the mean printed in each panel.

    Parameters
    ----------
    grid : mapping (row, col) -> CosineStats
        E.g. rows = model tower ("ResNet", "ViT image", "Text"), columns = setting ("Pretrained",
        "Random init, real data", "Random init, noise"). Missing cells are left blank.
    rows, cols : sequence of str, optional
        Order of rows and columns; default: order of first appearance in ``grid``.
    n_display_bins : int, default 80
        The fine fixed bins of each ``CosineStats`` are merged into about this many bins over the
        occupied range, so narrow cones (e.g. all cosines in [0.9985, 0.9995]) stay visible.
    panel_size : (float, float)
        Width and height of one panel in inches.

    Returns
    -------
    matplotlib.figure.Figure
    """
    if not grid:
        raise ValueError("grid must contain at least one (row, col) -> CosineStats entry")
    for key, value in grid.items():
        if not (isinstance(key, tuple) and len(key) == 2):
            raise ValueError(f"grid keys must be (row, col) tuples, got {key!r}")
        if not isinstance(value, CosineStats):
            raise ValueError(f"grid values must be CosineStats, got {type(value).__name__} for {key!r}")
    rows = list(dict.fromkeys(k[0] for k in grid)) if rows is None else list(rows)
    cols = list(dict.fromkeys(k[1] for k in grid)) if cols is None else list(cols)
    with paper_style():
        fig = Figure(figsize=(panel_size[0] * len(cols), panel_size[1] * len(rows)), layout="constrained")
        axes = fig.subplots(len(rows), len(cols), squeeze=False)
        colour = sns.color_palette("deep")[0]
        for i, row in enumerate(rows):
            for j, col in enumerate(cols):
                ax = axes[i, j]
                stats = grid.get((row, col))
                if stats is None:
                    ax.set_axis_off()
                    continue
                edges, counts = _display_histogram(stats, n_display_bins)
                ax.stairs(counts, edges, fill=True, color=colour, alpha=0.75, linewidth=0)
                ax.stairs(counts, edges, color=colour, linewidth=0.6)
                ax.set_xlim(edges[0], edges[-1])
                ax.set_ylim(bottom=0)
                ax.text(
                    0.04,
                    0.94,
                    f"Avg={_format_mean(stats.mean)}",
                    transform=ax.transAxes,
                    ha="left",
                    va="top",
                    fontsize=9,
                    bbox={"boxstyle": "round,pad=0.2", "facecolor": "#cfe2f3", "edgecolor": "none"},
                )
                ax.text(
                    0.04,
                    0.74,
                    f"min={stats.min:.2f}",
                    transform=ax.transAxes,
                    ha="left",
                    va="top",
                    fontsize=7,
                    color="0.3",
                )
                ax.yaxis.set_major_formatter(mticker.FuncFormatter(_count_label))
                ax.tick_params(labelsize=7)
                ax.xaxis.set_major_locator(mticker.MaxNLocator(4))
                if i == 0:
                    ax.set_title(col, fontsize=9)
                if j == 0:
                    ax.set_ylabel(f"{row}\npairs", fontsize=9)
                if i == len(rows) - 1:
                    ax.set_xlabel("cosine similarity", fontsize=8)
    return fig


def plot_depth_curves(
    curves: Mapping[str, npt.ArrayLike],
    *,
    input_cosine: float | None = None,
    labels: Mapping[str, str] | None = None,
) -> Figure:
    """Figure 2b: average pairwise cosine similarity against the number of random layers.

    Parameters
    ----------
    curves : mapping activation -> array, shape (n_layers,) or (n_seeds, n_layers)
        Output of :func:`modality_gap.theory.random_mlp_cosine_curve` (stack several seeds to get a
        mean line with a min-max band).
    input_cosine : float, optional
        Average cosine of the inputs, drawn at layer 0 (the paper draws every curve from 0).
    labels : mapping activation -> str, optional
        Legend labels; default :data:`ACTIVATION_LABELS` (``n*(Linear+ReLU)``, ...).

    Returns
    -------
    matplotlib.figure.Figure
    """
    if not curves:
        raise ValueError("curves must contain at least one activation")
    labels = {**ACTIVATION_LABELS, **(labels or {})}
    with paper_style():
        fig = Figure(figsize=(5.6, 3.2), layout="constrained")
        ax = fig.subplots()
        for name, values in curves.items():
            arr = np.atleast_2d(np.asarray(values, dtype=np.float64))
            if arr.ndim != 2 or arr.shape[1] < 1:
                raise ValueError(f"curves[{name!r}] must have shape (n_layers,) or (n_seeds, n_layers)")
            layers = np.arange(1, arr.shape[1] + 1)
            mean = arr.mean(axis=0)
            if input_cosine is not None:
                layers = np.concatenate([[0], layers])
                mean = np.concatenate([[input_cosine], mean])
            (line,) = ax.plot(
                layers,
                mean,
                marker="o",
                markersize=4,
                markeredgecolor="white",
                markeredgewidth=0.6,
                linewidth=1.4,
                label=labels.get(name, name),
            )
            if arr.shape[0] > 1:
                lo, hi = arr.min(axis=0), arr.max(axis=0)
                if input_cosine is not None:
                    lo, hi = np.concatenate([[input_cosine], lo]), np.concatenate([[input_cosine], hi])
                ax.fill_between(layers, lo, hi, color=line.get_color(), alpha=0.2, linewidth=0)
        ax.set_xlabel("Number of layers (n)")
        ax.set_ylabel("Average cos similarity")
        ax.set_ylim(-0.03, 1.03)
        ax.legend(fontsize=7, loc="center left", bbox_to_anchor=(1.02, 0.5), frameon=False)
    return fig


def _seed_palette(n: int) -> list[tuple[float, float, float]]:
    """Distinct qualitative colours: seaborn 'deep' up to 10, tab20 up to 20, then tab20 + tab20b."""
    if n <= 10:
        return sns.color_palette("deep", n)
    if n <= 20:
        return sns.color_palette("tab20", n)
    pool = sns.color_palette("tab20", 20) + sns.color_palette("tab20b", 20) + sns.color_palette("tab20c", 20)
    if n <= len(pool):
        return pool[:n]
    return sns.color_palette("husl", n)


def plot_seed_cones(
    embedding_2d: npt.ArrayLike,
    labels: npt.ArrayLike,
    title: str = "",
    *,
    annotate: bool = True,
    ax_labels: tuple[str, str] = ("UMAP 1", "UMAP 2"),
    point_size: float = 3.0,
) -> Figure:
    """Figure 2c / 5 / 7 for one model: 2-D projection of embeddings coloured by random-initialisation seed.

    Parameters
    ----------
    embedding_2d : array_like, shape (n, 2)
        UMAP or PCA coordinates.
    labels : array_like, shape (n,)
        Seed of each point (e.g. 0..24).
    title : str
        Panel title, e.g. "ResNet".
    annotate : bool, default True
        Write each seed's label at the median of its points (a 25-entry legend would not fit).
    ax_labels : (str, str)
        Axis labels, e.g. ("PC 1", "PC 2") for Figure 7.
    point_size : float
        Marker area in points^2.

    Returns
    -------
    matplotlib.figure.Figure
    """
    return plot_seed_cone_panels(
        [(title, embedding_2d, labels)], annotate=annotate, ax_labels=ax_labels, point_size=point_size
    )


def plot_seed_cone_panels(
    panels: Sequence[tuple[str, npt.ArrayLike, npt.ArrayLike]],
    *,
    annotate: bool = True,
    ax_labels: tuple[str, str] = ("UMAP 1", "UMAP 2"),
    point_size: float = 3.0,
    panel_size: tuple[float, float] = (4.6, 3.6),
) -> Figure:
    """Figure 2c / 5 / 7: one panel per model tower (e.g. ResNet, ViT, Text), points coloured by seed.

    Parameters
    ----------
    panels : sequence of (title, embedding_2d (n, 2), labels (n,))
    annotate, ax_labels, point_size
        As in :func:`plot_seed_cones`.
    panel_size : (float, float)
        Width and height of one panel in inches.

    Returns
    -------
    matplotlib.figure.Figure
    """
    if not panels:
        raise ValueError("panels must contain at least one (title, embedding_2d, labels) entry")
    checked = []
    for title, embedding_2d, labels in panels:
        xy = np.asarray(embedding_2d, dtype=np.float64)
        lab = np.asarray(labels)
        if xy.ndim != 2 or xy.shape[1] != 2:
            raise ValueError(f"embedding_2d must have shape (n, 2), got {xy.shape}")
        if lab.shape != (xy.shape[0],):
            raise ValueError(f"labels must have shape ({xy.shape[0]},), got {lab.shape}")
        if not np.isfinite(xy).all():
            raise ValueError("embedding_2d contains NaN or infinite values")
        checked.append((title, xy, lab))
    with paper_style():
        fig = Figure(figsize=(panel_size[0] * len(checked), panel_size[1]), layout="constrained")
        axes = np.atleast_1d(fig.subplots(1, len(checked), squeeze=False)).ravel()
        for ax, (title, xy, lab) in zip(axes, checked):
            groups = list(dict.fromkeys(np.sort(np.unique(lab)).tolist()))
            palette = _seed_palette(len(groups))
            for group, colour in zip(groups, palette):
                pts = xy[lab == group]
                ax.scatter(pts[:, 0], pts[:, 1], s=point_size, color=colour, alpha=0.6, linewidths=0, rasterized=True)
                if annotate:
                    cx, cy = np.median(pts, axis=0)
                    ax.annotate(
                        str(group),
                        (cx, cy),
                        fontsize=6,
                        ha="center",
                        va="center",
                        color="0.1",
                        bbox={"boxstyle": "round,pad=0.1", "facecolor": "white", "alpha": 0.6, "edgecolor": "none"},
                    )
            ax.set_title(title)
            ax.set_xlabel(ax_labels[0])
            ax.set_ylabel(ax_labels[1])
    return fig


def _check_table(df: pd.DataFrame, columns: set[str], source: str) -> None:
    """Raise ``ValueError`` unless ``df`` is a non-empty table with the columns ``source`` writes."""
    missing = columns - set(df.columns)
    if missing:
        raise ValueError(f"df lacks {source} columns: {sorted(missing)}")
    if df.empty:
        raise ValueError("df is empty")


_THEOREM1_COLUMNS = {
    "d_out",
    "cos_uv",
    "norm_ratio",
    "condition_holds",
    "limit_cos",
    "p_increase",
    "p_ci_low",
    "p_ci_high",
}


def plot_theorem1(df: pd.DataFrame) -> Figure:
    """Theorem 1: Monte Carlo probability that one random Linear+ReLU layer increases the cosine.

    One panel per norm ratio ``r``; x = ``d_out`` (log scale), y = P(increase) with 95%
    Clopper-Pearson intervals, one colour per starting cosine. Line style says what is predicted:
    solid/filled -- Theorem 1's condition ``cos < 2r/(1+r^2)`` holds (P -> 1); dashed/open -- the
    condition fails but the exact large-width limit ``limit_cos`` still exceeds ``cos`` (P -> 1, not
    covered by the theorem); dotted/crosses -- ``limit_cos < cos`` (P -> 0).

    Parameters
    ----------
    df : pandas.DataFrame
        Output of :func:`modality_gap.theory.theorem1_table`.

    Returns
    -------
    matplotlib.figure.Figure
    """
    _check_table(df, _THEOREM1_COLUMNS, "theorem1_table")
    ratios = sorted(df["norm_ratio"].unique())
    cosines = sorted(df["cos_uv"].unique())
    palette = dict(zip(cosines, sns.color_palette("viridis", len(cosines))))
    styles = {
        "holds": {"linestyle": "-", "marker": "o", "filled": True},
        "beyond": {"linestyle": "--", "marker": "o", "filled": False},
        "falls": {"linestyle": ":", "marker": "X", "filled": True},
    }
    with paper_style():
        fig = Figure(figsize=(2.6 * len(ratios) + 1.6, 2.8), layout="constrained")
        axes = fig.subplots(1, len(ratios), sharey=True, squeeze=False)
        for ax, r in zip(axes[0], ratios):
            sub = df[df["norm_ratio"] == r]
            for c in cosines:
                cell = sub[sub["cos_uv"] == c].sort_values("d_out")
                if cell.empty:
                    continue
                if bool(cell["condition_holds"].iloc[0]):
                    style = styles["holds"]
                elif float(cell["limit_cos"].iloc[0]) > c:
                    style = styles["beyond"]
                else:
                    style = styles["falls"]
                p = cell["p_increase"].to_numpy()
                err = np.vstack([p - cell["p_ci_low"].to_numpy(), cell["p_ci_high"].to_numpy() - p])
                ax.errorbar(
                    cell["d_out"],
                    p,
                    yerr=np.clip(err, 0, None),
                    color=palette[c],
                    linestyle=style["linestyle"],
                    marker=style["marker"],
                    markersize=3.5,
                    markerfacecolor=palette[c] if style["filled"] else "white",
                    linewidth=1.1,
                    capsize=1.5,
                )
            ax.set_xscale("log", base=2)
            ax.set_title(f"r = {r:g}: condition cos < {2 * r / (1 + r * r):.3f}", fontsize=8)
            ax.set_xlabel("d_out")
            ax.set_ylim(-0.03, 1.03)
        axes[0, 0].set_ylabel("P[cos after layer > cos before]")
        handles = [
            Line2D([], [], color=palette[c], marker="o", linestyle="-", markersize=3.5, label=f"cos(u,v) = {c:g}")
            for c in cosines
        ]
        handles += [
            Line2D([], [], color="0.3", linestyle="-", marker="o", markersize=3.5, label="condition holds"),
            Line2D(
                [],
                [],
                color="0.3",
                linestyle="--",
                marker="o",
                markerfacecolor="white",
                markersize=3.5,
                label="condition fails,\nlimit > cos",
            ),
            Line2D([], [], color="0.3", linestyle=":", marker="X", markersize=3.5, label="limit < cos"),
        ]
        fig.legend(handles=handles, loc="outside right center", fontsize=6.5, frameon=False)
    return fig


_THEOREM2_COLUMNS = {"depth", "between_share", "between_share_se", "beta", "bound_proof", "mean_cos_prev"}


def plot_theorem2(df: pd.DataFrame) -> Figure:
    """Theorem 2: between-initialisation share of variance against its lower bounds, by depth.

    Left: the share ``Var[E[h|Theta]] / Var[h]`` (±2 jackknife SE), the bound reached in Step 3 of
    the proof, Theorem 2's ``beta`` and the mean cosine of the previous layer. Right: the same on
    a log scale as distances from 1 (the within-initialisation share ``1 - share`` must lie below
    ``1 - bound``), where the deep layers can be told apart.

    Parameters
    ----------
    df : pandas.DataFrame
        Output of :func:`modality_gap.theory.theorem2_table`.

    Returns
    -------
    matplotlib.figure.Figure
    """
    _check_table(df, _THEOREM2_COLUMNS, "theorem2_table")
    d = df.sort_values("depth")
    depth = d["depth"].to_numpy()
    share = d["between_share"].to_numpy()
    se = d["between_share_se"].to_numpy()
    series = [
        ("bound from proof, Step 3", d["bound_proof"].to_numpy(), {"linestyle": "--", "marker": "s"}),
        ("β = 1 − E tr Var[h$^{(L-1)}$ | Θ]  (Theorem 2)", d["beta"].to_numpy(), {"linestyle": ":", "marker": "^"}),
        (
            "mean cosine of layer L−1",
            d["mean_cos_prev"].to_numpy(),
            {"linestyle": "none", "marker": "x", "color": "0.3"},
        ),
    ]
    with paper_style():
        fig = Figure(figsize=(8.2, 3.2), layout="constrained")
        axes = fig.subplots(1, 2)
        for ax, transform in ((axes[0], lambda v: v), (axes[1], lambda v: 1.0 - v)):
            ax.errorbar(
                depth,
                transform(share),
                yerr=2 * se,
                marker="o",
                markersize=4,
                capsize=2,
                linewidth=1.4,
                label="Var[E[h|Θ]] / Var[h]  (empirical, ±2 SE)",
            )
            for label, values, kw in series:
                ax.plot(depth, transform(values), markersize=3.5, label=label, **kw)
            ax.set_xlabel("Depth L (ReLU layers)")
        axes[0].set_ylabel("Share of variance due to initialisation")
        axes[0].set_ylim(-0.03, 1.03)
        axes[0].legend(fontsize=6.5, loc="lower right")
        axes[1].set_yscale("log")
        axes[1].set_ylabel("1 − share  (within-initialisation share)")
    return fig
