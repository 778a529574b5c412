"""Figures for Section 5 (implications of the gap): Figure 10, Tables 1/2/4/5 as figures.

Every function returns a new ``matplotlib.figure.Figure`` built with the object-oriented API
(no pyplot), styled by :func:`modality_gap.plotting.paper_style`; write it with
:func:`modality_gap.plotting.save_figure`.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence

import numpy as np
import pandas as pd
import seaborn as sns
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from .fairness import HARMFUL_CATEGORIES
from .plotting import IMAGE_COLOR, TEXT_COLOR, panel_grid, paper_style
from .zeroshot import best_shift

__all__ = ["plot_metric_vs_gap", "plot_denigration", "table_figure", "format_cell"]

METRIC_LABELS = {"accuracy": "top-1 accuracy", "roc_auc": "ROC-AUC"}
GAP_LABELS = {
    "gap_signed": "gap after shift (signed)",
    "gap_after": "gap after shift",
    "lam": "shift $\\lambda$",
}


def plot_metric_vs_gap(
    curves: Mapping[str, pd.DataFrame],
    x: str = "gap_signed",
    ncols: int | None = None,
    panel_size: float = 2.8,
) -> Figure:
    """Figure 10: zero-shot metric against the gap after the shift, one panel per task.

    The curve is drawn in order of ``lam``. A dashed vertical line and a black circle mark the
    original embeddings (``lam = 0``); a red star marks the best grid point
    (:func:`modality_gap.zeroshot.best_shift`, ties towards ``lam = 0``); the panel title gives
    the original and best values, the best ``lam`` and the direction of the gap change. On the signed axis the line is broken where the
    sign flips: there the two sides pass each other and the remaining gap jumps from ``+r`` to
    ``-r``, ``r`` being its component orthogonal to the shift direction.

    Parameters
    ----------
    curves : mapping of str to pandas.DataFrame
        Task name -> output of :func:`modality_gap.zeroshot.shift_curve` (``lam``,
        ``gap_after``, ``gap_signed``, ``metric``, ``metric_name``); each needs ``lam == 0``.
    x : {"gap_signed", "gap_after", "lam"}, default "gap_signed"
        Horizontal axis. The signed gap keeps a grid that pushes the modalities past each
        other from folding back onto itself.
    ncols : int, optional
        Default ``min(3, n_tasks)``.
    panel_size : float, default 2.8
        Width and height of a panel in inches.

    Returns
    -------
    matplotlib.figure.Figure
    """
    if x not in GAP_LABELS:
        raise ValueError(f"x must be one of {sorted(GAP_LABELS)}, got {x!r}")
    items = list(curves.items())
    nrows, ncols = panel_grid(len(items), ncols, default_ncols=3)
    with paper_style():
        fig = Figure(figsize=(panel_size * ncols, panel_size * nrows + 0.3), layout="constrained")
        axes = fig.subplots(nrows, ncols, squeeze=False).ravel()
        for ax, (name, curve) in zip(axes, items):
            if missing := {"lam", "metric", "gap_after", x} - set(curve.columns):
                raise ValueError(f"curve {name!r} lacks the columns {sorted(missing)}")
            sub = curve.sort_values("lam", kind="stable")
            best = best_shift(sub)
            orig = sub.loc[sub["lam"] == 0.0].iloc[0]
            top = sub.loc[sub["lam"] == best["lam"]].iloc[0]
            xs = sub[x].to_numpy(dtype=float)
            ys = sub["metric"].to_numpy(dtype=float)
            if x == "gap_signed":  # do not join the two sides of the closing point
                cut = np.flatnonzero(np.signbit(xs[1:]) != np.signbit(xs[:-1])) + 1
                xs = np.insert(xs, cut, np.nan)
                ys = np.insert(ys, cut, np.nan)
            ax.plot(xs, ys, "-o", color=TEXT_COLOR, ms=2.5, lw=1.2, zorder=2)
            ax.axvline(float(orig[x]), color="k", ls="--", lw=0.9, zorder=1)
            ax.plot(orig[x], orig["metric"], "o", color="k", ms=5, zorder=3)
            ax.plot(top[x], top["metric"], "*", color=IMAGE_COLOR, ms=12, zorder=4)
            metric_name = str(sub["metric_name"].iloc[0]) if "metric_name" in sub else "metric"
            ax.set_title(
                f"{name}\n{best['metric_original']:.4f} \u2192 {best['metric_best']:.4f} "
                f"($\\lambda$ = {best['lam']:g}, {best['direction']})",
                fontsize="medium",
            )
            ax.set_xlabel(GAP_LABELS[x])
            ax.set_ylabel(METRIC_LABELS.get(metric_name, metric_name))
        for ax in axes[len(items):]:
            ax.set_visible(False)
        handles = [
            Line2D([], [], color="k", marker="o", ls="--", lw=0.9, ms=5, label="original gap"),
            Line2D([], [], color=IMAGE_COLOR, marker="*", ls="", ms=10, label="best shift (on this set)"),
        ]
        fig.legend(handles=handles, loc="outside lower center", ncols=2, frameon=False)
    return fig


def plot_denigration(
    tables: Mapping[str, pd.DataFrame],
    categories: Sequence[str] = (*HARMFUL_CATEGORIES, "harmful"),
    include_all: bool = True,
    panel_width: float = 4.2,
    panel_height: float = 2.6,
) -> Figure:
    """Tables 2 / 4 as grouped bars: share of harmful top-1 predictions per group and setting.

    One panel per category (default crime-related, non-human and their sum), groups on the x
    axis, one bar per gap setting (e.g. original, modified, too small, too large), in percent.

    Parameters
    ----------
    tables : mapping of str to pandas.DataFrame
        Setting label (e.g. ``"gap 0.82 (original)"``) -> output of
        :func:`modality_gap.fairness.denigration_table`. All must have the same groups.
    categories : sequence of str
        Share categories to show; ``"harmful"`` is titled "sum".
    include_all : bool, default True
        Show the pooled group ``"all"`` as the last group.
    panel_width, panel_height : float
        Size of one panel in inches.

    Returns
    -------
    matplotlib.figure.Figure
    """
    if not tables:
        raise ValueError("tables is empty")
    categories = list(categories)
    if not categories:
        raise ValueError("categories is empty")
    frames = []
    for label, table in tables.items():
        if missing := {"group", "quantity", "category", "value"} - set(table.columns):
            raise ValueError(f"table {label!r} lacks the columns {sorted(missing)}")
        share = table[table["quantity"] == "share"].assign(setting=str(label))
        frames.append(share)
    data = pd.concat(frames, ignore_index=True)
    groups = list(dict.fromkeys(data["group"]))
    if not include_all:
        groups = [g for g in groups if g != "all"]
    settings = [str(s) for s in tables]
    colors = sns.color_palette("colorblind", len(settings))
    width = 0.8 / len(settings)
    pos = np.arange(len(groups))
    with paper_style():
        fig = Figure(
            figsize=(panel_width * len(categories), panel_height + 0.5), layout="constrained"
        )
        axes = fig.subplots(1, len(categories), squeeze=False).ravel()
        for ax, cat in zip(axes, categories):
            sub = data[data["category"] == cat]
            if sub.empty:
                raise ValueError(f"no shares for category {cat!r}")
            for j, (setting, color) in enumerate(zip(settings, colors)):
                vals = (
                    sub[sub["setting"] == setting].set_index("group")["value"]
                    .reindex(groups).to_numpy(dtype=float) * 100.0
                )
                ax.bar(pos + (j - (len(settings) - 1) / 2) * width, vals, width,
                       color=color, label=setting, edgecolor="white", linewidth=0.4)
            ax.set_xticks(pos, groups, rotation=30, ha="right")
            ax.set_title("sum" if cat == "harmful" else cat)
            ax.set_ylabel("top-1 share (%)")
            ax.set_ylim(bottom=0)
            ax.grid(axis="x", visible=False)
        handles, labels = axes[0].get_legend_handles_labels()
        fig.legend(handles, labels, loc="outside lower center", ncols=min(len(settings), 4),
                   frameon=False)
    return fig


def format_cell(value: object) -> str:
    """Default cell text of :func:`table_figure`: 4 decimals, scientific below 1e-3."""
    if isinstance(value, (bool, np.bool_)):
        return str(bool(value))
    if isinstance(value, (int, np.integer)):
        return str(int(value))
    if isinstance(value, (float, np.floating)):
        v = float(value)
        if math.isnan(v):
            return ""
        if v != 0.0 and abs(v) < 1e-3:
            return f"{v:.3e}"
        return f"{v:.4f}"
    return str(value)


def table_figure(
    df: pd.DataFrame,
    title: str | None = None,
    formatters: Mapping[str, Callable[[object], str]] | None = None,
    show_index: bool | None = None,
    col_width: float = 0.8,
    row_height: float = 0.25,
) -> Figure:
    """Render a small DataFrame as a figure (Tables 1, 2, 4, 5 as PNG/PDF).

    Parameters
    ----------
    df : pandas.DataFrame
        At most a few dozen rows.
    title : str, optional
    formatters : mapping of column name to callable, optional
        Cell text per column; others use :func:`format_cell`.
    show_index : bool, optional
        Draw the index as a first (bold) column; default: when it is not a plain
        ``RangeIndex``.
    col_width, row_height : float
        Minimum width of a column and height of a row in inches; columns widen to fit their
        longest text.

    Returns
    -------
    matplotlib.figure.Figure
    """
    if not isinstance(df, pd.DataFrame):
        raise ValueError(f"df must be a pandas DataFrame, got {type(df).__name__}")
    if df.shape[1] == 0:
        raise ValueError("df has no columns")
    formatters = dict(formatters or {})
    if show_index is None:
        show_index = not isinstance(df.index, pd.RangeIndex)
    if show_index:
        name = df.index.name if df.index.name is not None else ""
        df = df.reset_index(names=[name] if df.index.nlevels == 1 else None)
    cells = [
        [formatters.get(c, format_cell)(v) for c, v in zip(df.columns, row)]
        for row in df.itertuples(index=False, name=None)
    ]
    col_labels = [str(c) for c in df.columns]
    if not cells:
        cells = [[""] * len(col_labels)]
    # width of each column from its longest text (about 0.075 in per character at 9 pt)
    widths = np.array([
        max(col_width, 0.075 * max(len(col_labels[j]), *(len(r[j]) for r in cells)) + 0.3)
        for j in range(len(col_labels))
    ])
    width = float(widths.sum()) + 0.2
    height = row_height * (len(cells) + 1) + (0.4 if title else 0.1)
    with paper_style():
        fig = Figure(figsize=(width, height), layout="constrained")
        ax = fig.add_subplot()
        ax.axis("off")
        table = ax.table(
            cellText=cells,
            colLabels=col_labels,
            colWidths=list(widths / widths.sum()),
            loc="center",
            cellLoc="center",
        )
        table.auto_set_font_size(False)
        table.set_fontsize(9)
        for (r, c), cell in table.get_celld().items():
            cell.set_edgecolor("0.8")
            if r == 0 or (show_index and c == 0):
                cell.set_text_props(fontweight="bold")
                cell.set_facecolor("0.93")
        if title:
            ax.set_title(title, fontsize=10)
    return fig
