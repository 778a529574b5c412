"""Summaries of training runs: Section 4.4's table and the tables behind Figures 8, 16 and the mismatch sweep.

Every function takes the per-epoch metrics that :func:`modality_gap.train.train_clip` writes
(``metrics.csv``: epoch 0 = the initial weights, then one row per epoch).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

__all__ = ["PAPER", "mean_ci", "section44_table", "sweep_table"]

#: the paper's numbers (NOTES.md): Section 4.4 gaps (mean, 95% CI half-width over 3 seeds) and Figure 8
PAPER = {
    "section44": {
        "original": {"gap_init": (1.1891, 0.0017), "gap_final": (1.2991, 0.0389)},
        "amended": {"gap_init": (0.0388, 0.0351), "gap_final": (0.7457, 0.0633)},
    },
    "figure8": {1.0: 0.2384, 0.1: 0.3028, 0.05: 0.5524, 1 / 30: 0.6352, 0.02: 0.7961, 0.01: 1.0006},
    "figure8_start": 0.8262,
}


def mean_ci(values, level: float = 0.95) -> tuple[float, float]:
    """Mean and half-width of the Student-t confidence interval of the mean (NaN half-width for n < 2)."""
    v = np.asarray(values, dtype=float)
    if v.size == 0:
        raise ValueError("values is empty")
    if v.size < 2:
        return float(v.mean()), float("nan")
    half = stats.t.ppf(0.5 + level / 2, df=v.size - 1) * v.std(ddof=1) / np.sqrt(v.size)
    return float(v.mean()), float(half)


def section44_table(metrics: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """Gap before and after training, original vs amended initialisation, mean and 95% CI over seeds.

    Parameters
    ----------
    metrics : dict
        ``{"section44_<original|amended>_seed<k>": metrics DataFrame}``.

    Returns
    -------
    pandas.DataFrame
        One row per initialisation: ``n_seeds``, ``gap_init``, ``gap_init_ci95``, ``gap_final``,
        ``gap_final_ci95``, ``r1_final`` (mean image-to-text and text-to-image R@1), and the paper's
        numbers beside them.
    """
    rows = []
    for init in ("original", "amended"):
        runs = {r: m for r, m in metrics.items() if r.startswith(f"section44_{init}_")}
        if not runs:
            continue
        first = [m.sort_values("epoch")["val_gap"].iloc[0] for m in runs.values()]
        last = [m.sort_values("epoch").iloc[-1] for m in runs.values()]
        g0, c0 = mean_ci(first)
        g1, c1 = mean_ci([r["val_gap"] for r in last])
        r1, _ = mean_ci([(r["val_r1_i2t"] + r["val_r1_t2i"]) / 2 for r in last])
        paper = PAPER["section44"][init]
        rows.append({
            "init": init, "n_seeds": len(runs), "epochs": int(last[0]["epoch"]),
            "gap_init": g0, "gap_init_ci95": c0, "gap_final": g1, "gap_final_ci95": c1, "r1_final": r1,
            "paper_gap_init": paper["gap_init"][0], "paper_gap_init_ci95": paper["gap_init"][1],
            "paper_gap_final": paper["gap_final"][0], "paper_gap_final_ci95": paper["gap_final"][1],
        })
    return pd.DataFrame(rows)


def sweep_table(runs: list[str], settings: list[dict], metrics: list[pd.DataFrame], **extra_columns) -> pd.DataFrame:
    """One row per run: its settings, the gap and R@1 before (epoch 0) and after its last epoch.

    ``extra_columns`` maps a column name to a function of a run's settings (e.g. the mismatch rate of
    its data set).
    """
    rows = []
    for run, s, m in zip(runs, settings, metrics):
        m = m.sort_values("epoch")
        first, last = m.iloc[0], m.iloc[-1]
        rows.append({
            "run": run, "dataset": s["dataset"], "temperature": s["temperature"],
            "embed_dim": s.get("embed_dim"), "seed": s["seed"], "epochs": int(last["epoch"]),
            **{name: fn(s) for name, fn in extra_columns.items()},
            "gap_start": first["val_gap"], "gap_final": last["val_gap"],
            "r1_final": (last["val_r1_i2t"] + last["val_r1_t2i"]) / 2, "val_loss_final": last["val_loss"],
        })
    return pd.DataFrame(rows)
