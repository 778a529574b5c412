"""Figures of the training stage: Section 4.4, Figure 8, Figure 16 and the mismatch sweep."""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from .figures_gap import format_temperature
from .plotting import paper_style

__all__ = ["plot_section44", "plot_temperature_sweep", "plot_dimension_sweep", "plot_mismatch_sweep"]

_INIT_COLORS = {"original": "#1f77b4", "amended": "#d62728"}


def _log_x(axes, values, labels, xlabel: str, base: int = 10, rotation: float = 0) -> None:
    """A log x axis on every panel, ticked only at ``values`` (labelled ``labels``, turned by ``rotation``)."""
    for ax in axes:
        ax.set_xscale("log", base=base)
        ax.set_xticks(values, labels, rotation=rotation, ha="right" if rotation else "center")
        ax.minorticks_off()
        ax.set_xlabel(xlabel)


def plot_section44(metrics: dict[str, pd.DataFrame]) -> Figure:
    """Validation gap and R@1 against the epoch, one line per run, coloured by initialisation."""
    with paper_style():
        fig = Figure(figsize=(7.6, 3.0), layout="constrained")
        ax_gap, ax_r1 = fig.subplots(1, 2)
        for run, m in sorted(metrics.items()):
            init = "amended" if "_amended_" in run else "original"
            m = m.sort_values("epoch")
            kw = {"color": _INIT_COLORS[init], "marker": "o", "ms": 3, "alpha": 0.8}
            ax_gap.plot(m["epoch"], m["val_gap"], label=init, **kw)
            ax_r1.plot(m["epoch"], (m["val_r1_i2t"] + m["val_r1_t2i"]) / 2, **kw)
        handles, labels = ax_gap.get_legend_handles_labels()
        unique = dict(zip(labels, handles))
        ax_gap.legend(unique.values(), [f"{k} init" for k in unique], frameon=False)
        ax_gap.set(xlabel="epoch", ylabel="validation gap", title="modality gap during training")
        ax_r1.set(xlabel="epoch", ylabel="validation R@1 (mean of both directions)", title="retrieval")
    return fig


def plot_temperature_sweep(df: pd.DataFrame, start_gap: float | None = None, paper: dict | None = None) -> Figure:
    """Figure 8: gap and R@1 after fine-tuning against the temperature (log axis)."""
    d = df.sort_values("temperature")
    with paper_style():
        fig = Figure(figsize=(7.6, 3.0), layout="constrained")
        ax_gap, ax_r1 = fig.subplots(1, 2)
        ax_gap.plot(d["temperature"], d["gap_final"], marker="o", color="#1f77b4", label="after fine-tuning")
        if start_gap is not None:
            ax_gap.axhline(start_gap, ls="--", color="0.3", label=f"before ({start_gap:.3f})")
        if paper:
            taus = sorted(paper)
            ax_gap.plot(taus, [paper[t] for t in taus], marker="x", ls=":", color="0.5", label="paper (CLIP, COCO)")
        ax_r1.plot(d["temperature"], d["r1_final"], marker="o", color="#2ca02c")
        _log_x((ax_gap, ax_r1), d["temperature"].to_numpy(), [format_temperature(t) for t in d["temperature"]],
               "temperature", rotation=45)
        ax_gap.set(ylabel="validation gap", title="gap falls as the temperature rises")
        ax_r1.set(ylabel="validation R@1", title="retrieval after fine-tuning")
        ax_gap.legend(frameon=False, fontsize=7)
    return fig


def plot_dimension_sweep(df: pd.DataFrame) -> Figure:
    """Figure 16: gap (and R@1) after training against the embedding dimension."""
    d = df.sort_values("embed_dim")
    with paper_style():
        fig = Figure(figsize=(7.6, 3.0), layout="constrained")
        ax_gap, ax_r1 = fig.subplots(1, 2)
        ax_gap.plot(d["embed_dim"], d["gap_final"], marker="o", label="after training")
        ax_gap.plot(d["embed_dim"], d["gap_start"], marker="s", ls="--", color="0.5", label="at initialisation")
        ax_r1.plot(d["embed_dim"], d["r1_final"], marker="o", color="#2ca02c")
        _log_x((ax_gap, ax_r1), d["embed_dim"].to_numpy(), [str(int(v)) for v in d["embed_dim"]],
               "embedding dimension", base=2)
        ax_gap.set(ylabel="validation gap", ylim=(0, max(1.5, float(np.nanmax(d[["gap_final", "gap_start"]].to_numpy())) + 0.1)))
        ax_r1.set(ylabel="validation R@1")
        ax_gap.legend(frameon=False)
    return fig


def plot_mismatch_sweep(df: pd.DataFrame) -> Figure:
    """Gap and R@1 after training against the temperature, one line per mismatch rate."""
    with paper_style():
        fig = Figure(figsize=(7.6, 3.0), layout="constrained")
        ax_gap, ax_r1 = fig.subplots(1, 2)
        for rate, sub in df.groupby("mismatch_rate"):
            sub = sub.sort_values("temperature")
            ax_gap.plot(sub["temperature"], sub["gap_final"], marker="o", label=f"{rate:.0%} mismatched")
            ax_r1.plot(sub["temperature"], sub["r1_final"], marker="o")
        taus = sorted(df["temperature"].unique())
        _log_x((ax_gap, ax_r1), taus, [format_temperature(t) for t in taus], "temperature", rotation=45)
        ax_gap.set(ylabel="validation gap after training", title="mismatched pairs x temperature")
        ax_r1.set(ylabel="validation R@1", title="retrieval (compare gaps at equal R@1)")
        ax_gap.legend(frameon=False, fontsize=7)
    return fig
