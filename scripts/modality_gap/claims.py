"""The claims ledger: every finding of the paper the workflow measures, with a verdict.

Each claim reads one or more result tables (by file name, e.g. ``gap_metrics.csv``) and returns
the paper's value, the reproduced value, the tolerance it was judged by and a verdict:

* ``holds``   -- the reproduced value meets the tolerance;
* ``fails``   -- it does not;
* ``not run`` -- the table it needs was not produced by this configuration.

``scope`` says how to read a verdict: ``quantitative`` (same setup as the paper, judged against
its number), ``qualitative at demo scale`` (the demo's tiny models and generated data can only
show the direction of the effect) or ``beyond the paper`` (a check the paper did not make).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.stats import spearmanr

from .training_summary import PAPER
from .zeroshot import PAPER_TABLE1, PAPER_TABLE5

__all__ = ["COLUMNS", "VERDICTS", "CLAIMS", "Claim", "PAPER_FIGURE2B", "claims_ledger"]

COLUMNS = ["claim_id", "section", "statement", "paper_value", "reproduced_value", "tolerance", "verdict",
           "evidence", "scope"]
VERDICTS = ("holds", "fails", "not run")

#: Points read off the published Figure 2b: (activation, layer, mean cosine).
PAPER_FIGURE2B: tuple[tuple[str, int, float], ...] = (
    ("sigmoid", 1, 0.85), ("sigmoid", 2, 0.99), ("relu", 1, 0.32), ("relu", 2, 0.51), ("relu", 3, 0.60),
    ("relu", 10, 0.95), ("tanh", 10, 0.15), ("tanh", 25, 0.52), ("none", 25, 0.04),
)

Tables = Mapping[str, pd.DataFrame]
Outcome = tuple[str, str, str, bool, str]  # paper_value, reproduced_value, tolerance, holds, evidence


@dataclass(frozen=True)
class Claim:
    """One finding: where it is in the paper, what it says, and how to judge it from the tables."""

    claim_id: str
    section: str
    statement: str
    judge: Callable[[Tables], Outcome | None]
    #: the demo's tiny models / generated data reproduce only the direction of this effect
    demo_qualitative: bool = False
    beyond_paper: bool = False


def _f(x: float, digits: int = 3) -> str:
    return f"{x:.{digits}f}"


def _first(tables: Tables, prefix: str) -> tuple[str, pd.DataFrame] | None:
    names = sorted(n for n in tables if n.startswith(prefix))
    return (names[0], tables[names[0]]) if names else None


# --------------------------------------------------------------------------------------------- cone
def _cone_positive(t: Tables) -> Outcome | None:
    names = sorted(n for n in t if n.startswith("Figure6_cone_statistics_"))
    if not names:
        return None
    df = pd.concat([t[n] for n in names], ignore_index=True)
    i = int(df["mean"].idxmin())
    low = df.loc[i]
    return ("mean cosine 0.41-0.999 in every cell (Fig. 2a)",
            f"lowest mean cosine {_f(low['mean'])} ({low['tower']}, {low['setting']}) over {len(df)} cells",
            "every cell > 0.1", bool(df["mean"].min() > 0.1), ", ".join(names))


def _cone_paper_means(t: Tables) -> Outcome | None:
    name = "Figure6_cone_statistics_Figure2a.csv"
    if name not in t:
        return None
    df = t[name].dropna(subset=["paper_mean"])
    if df.empty:
        return None
    dev = (df["mean"] - df["paper_mean"]).abs()
    i = int(dev.idxmax())
    return (f"{len(df)} published means (Fig. 2a)",
            f"largest deviation {_f(dev.max())} ({df.loc[i, 'tower']}, {df.loc[i, 'setting']}: "
            f"{_f(df.loc[i, 'mean'])} vs {df.loc[i, 'paper_mean']})",
            "|mean - paper| <= 0.1 in every cell", bool(dev.max() <= 0.1), name)


def _depth_curve(t: Tables) -> Outcome | None:
    name = "Figure2b_depth_nonlinearity.csv"
    if name not in t:
        return None
    means = t[name].groupby(["activation", "layer"])["mean_cosine"].mean()
    devs = []
    for act, layer, paper in PAPER_FIGURE2B:
        if (act, layer) in means.index:
            devs.append((abs(means[(act, layer)] - paper), act, layer, means[(act, layer)], paper))
    if not devs:
        return None
    worst = max(devs)
    return ("ReLU 0.32/0.51/0.60 at layers 1-3, 0.95 at 10; sigmoid 0.85/0.99; tanh 0.52 at 25; linear 0.04",
            f"largest deviation {_f(worst[0])} ({worst[1]} layer {worst[2]}: {_f(worst[3])} vs {worst[4]}) "
            f"over {len(devs)} points", "|mean - paper| <= 0.08 at every point", bool(worst[0] <= 0.08), name)


def _seed_cones(t: Tables) -> Outcome | None:
    name = "Figure2c_seed_cones.csv"
    if name not in t:
        return None
    df = t[name]
    i = int(df["seed_predictability"].idxmin())
    return ("one distinct cone per seed (25 seeds, UMAP)",
            f"seed predicted from one embedding with accuracy >= {_f(df.loc[i, 'seed_predictability'])} "
            f"(chance {_f(df.loc[i, 'chance'])}; lowest: {df.loc[i, 'tower']} on {df.loc[i, 'inputs']})",
            "accuracy >= 0.9 in every tower", bool(df["seed_predictability"].min() >= 0.9), name)


def _theorem2(t: Tables) -> Outcome | None:
    name = "Theorem2_variance_share.csv"
    if name not in t:
        return None
    df = t[name]
    margin = df["between_share"] - df["beta"]
    se = df["between_share_se"].fillna(0.0) if "between_share_se" in df else 0.0 * margin
    i = int((margin + 2 * se).idxmin())
    return ("between-initialisation variance share >= beta (Theorem 2)",
            f"smallest margin {margin[i]:+.4f} (2 se {2 * se[i]:.4f}, depth {df.loc[i, 'depth']}) over depths "
            f"{df['depth'].min()}-{df['depth'].max()}",
            "share + 2 jackknife se >= beta at every depth", bool((margin + 2 * se >= 0).all()), name)


# ---------------------------------------------------------------------------------------------- gap
def _gap_every_model(t: Tables) -> Outcome | None:
    name = "gap_metrics.csv"
    if name not in t:
        return None
    df = t[name]
    i = int(df["centroid_distance_ci_low"].idxmin())
    return ("a gap in every model (CLIP 0.82; VideoCLIP, ConVIRT, CLASP: Fig. 1)",
            f"smallest gap {_f(df.loc[i, 'centroid_distance'])} (95% CI low {_f(df.loc[i, 'centroid_distance_ci_low'])},"
            f" {df.loc[i, 'pairs']}) over {len(df)} sets of pairs",
            "95% CI of the centroid distance above 0.1 for every model",
            bool(df["centroid_distance_ci_low"].min() > 0.1), name)


def _gap_clip(t: Tables) -> Outcome | None:
    name = "gap_metrics.csv"
    if name not in t or "paper_clip" not in set(t[name]["pairs"]):
        return None
    row = t[name].set_index("pairs").loc["paper_clip"]
    return ("0.82 (CLIP, 5,000 COCO pairs)", f"{_f(row['centroid_distance'])} (released CLIP pairs, "
            f"95% CI [{_f(row['centroid_distance_ci_low'])}, {_f(row['centroid_distance_ci_high'])}])",
            "|gap - 0.82| <= 0.05", bool(abs(row["centroid_distance"] - 0.82) <= 0.05), name)


def _landscape(tau: float, closed: bool) -> Callable[[Tables], Outcome | None]:
    def judge(t: Tables) -> Outcome | None:
        found = ("Figure3_landscape_minimum_paper_clip.csv", t["Figure3_landscape_minimum_paper_clip.csv"]) \
            if "Figure3_landscape_minimum_paper_clip.csv" in t else _first(t, "Figure3_landscape_minimum_")
        if found is None:
            return None
        name, df = found
        rows = df[np.isclose(df["temperature"], tau)]
        if rows.empty:
            return None
        row = rows.iloc[0]
        if closed:
            return ("minimum at gap ~0 (Fig. 3d)", f"minimum at gap {_f(row['gap'])} (original {_f(row['original_gap'])})",
                    "|gap at minimum| <= 0.1", bool(abs(row["gap"]) <= 0.1), name)
        dev = abs(row["gap"] - row["original_gap"])
        return ("minimum at the original gap (Fig. 3b)",
                f"minimum at gap {_f(row['gap'])}, original {_f(row['original_gap'])} (lambda {row['lam']:g})",
                "|gap at minimum - original| <= 0.05", bool(dev <= 0.05), name)

    return judge


def _sphere(t: Tables) -> Outcome | None:
    name = "Figure3_Figure9_sphere_barrier.csv"
    if name not in t:
        return None
    df = t[name]
    mm = df[df["mismatch"].astype(str).str.lower() == "true"]
    clean = df[df["mismatch"].astype(str).str.lower() == "false"]
    if mm.empty or clean.empty:
        return None
    top = mm.loc[mm["logit_scale"].idxmax()]
    return ("repulsion only with mismatched pairs, at low temperature (Fig. 3e-g vs Fig. 9)",
            f"barrier {_f(top['barrier'])} at logit scale {top['logit_scale']:g} with mismatch; "
            f"largest without mismatch {_f(clean['barrier'].max(), 4)}",
            "barrier > 0.01 with mismatch, < 1e-6 without",
            bool(top["barrier"] > 0.01 and clean["barrier"].max() < 1e-6), name)


# -------------------------------------------------------------------------------------------- train
def _amended_init(t: Tables) -> Outcome | None:
    name = "Section4.4_initialisation.csv"
    if name not in t:
        return None
    df = t[name].set_index("init")
    if not {"original", "amended"} <= set(df.index):
        return None
    o, a = df.loc["original", "gap_final"], df.loc["amended", "gap_final"]
    paper = PAPER["section44"]
    return (f"{paper['amended']['gap_final'][0]:.3f} (amended) < {paper['original']['gap_final'][0]:.3f} (original)",
            f"{_f(a)} (amended) vs {_f(o)} (original), {int(df.loc['original', 'n_seeds'])} seeds",
            "amended < original after training", bool(a < o), name)


def _temperature(t: Tables) -> Outcome | None:
    name = "Figure8_finetune_temperature.csv"
    if name not in t or len(t[name]) < 3:
        return None
    df = t[name].sort_values("temperature")
    rho = float(spearmanr(df["temperature"], df["gap_final"]).statistic)
    gaps = ", ".join(f"{g:.2f}" for g in df["gap_final"])
    return ("1.00 (tau 1/100) ... 0.24 (tau 1), monotone (Fig. 8)",
            f"{gaps} for tau {', '.join(f'{x:.3g}' for x in df['temperature'])}; Spearman {rho:.2f}",
            "Spearman(tau, gap) <= -0.9", bool(rho <= -0.9), name)


def _dimension(t: Tables) -> Outcome | None:
    name = "Figure16_embedding_dimension.csv"
    if name not in t or len(t[name]) < 2:
        return None
    df = t[name].sort_values("embed_dim")
    spread = float((df["gap_final"].max() - df["gap_final"].min()) / df["gap_final"].mean())
    return ("gap hardly changes with the dimension 64-512 (Fig. 16)",
            f"{', '.join(f'{g:.2f}' for g in df['gap_final'])} for dims "
            f"{', '.join(str(int(d)) for d in df['embed_dim'])}; spread {spread:.0%} of the mean",
            "(max - min) / mean <= 25%", bool(spread <= 0.25), name)


def _mismatch(t: Tables) -> Outcome | None:
    name = "Mismatch_temperature_sweep.csv"
    if name not in t:
        return None
    df = t[name]
    if df["mismatch_rate"].nunique() < 2:
        return None
    tau = sorted(df["temperature"].unique())
    pick = next((x for x in tau if abs(x - 0.1) < 1e-9), tau[len(tau) // 2])
    sub = df[np.isclose(df["temperature"], pick)].sort_values("mismatch_rate")
    rho = float(spearmanr(sub["mismatch_rate"], sub["gap_final"]).statistic) if len(sub) > 1 else float("nan")
    return ("(not measured in the paper)",
            f"gap {', '.join(f'{g:.2f}' for g in sub['gap_final'])} at mismatch "
            f"{', '.join(f'{m:.0%}' for m in sub['mismatch_rate'])} (tau {pick:g})",
            "gap rises with the mismatch rate (Spearman > 0.9)", bool(rho > 0.9), name)


# ------------------------------------------------------------------------------------- implications
def _zero_shot_best(t: Tables) -> Outcome | None:
    name = "Table1_zero_shot.csv"
    if name not in t or t[name].empty:
        return None
    df = t[name]
    better = df["modified"] > df["original"]
    detail = "; ".join(f"{r.task} {r.original:.4f} -> {r.modified:.4f}" for r in df.itertuples())
    paper = "; ".join(f"{k} {v[1]:.4f} -> {v[2]:.4f}" for k, v in PAPER_TABLE1.items())
    return (paper, detail, "modified > original on every task", bool(better.all()), name)


def _zero_shot_held_out(t: Tables) -> Outcome | None:
    name = "Table1_zero_shot.csv"
    if name not in t or t[name].empty:
        return None
    df = t[name]
    gain = df["held_out_modified"] - df["held_out_original"]
    detail = "; ".join(f"{r.task} {g:+.4f}" for r, g in zip(df.itertuples(), gain))
    return ("(the paper selected lambda on the test set)", f"held-out gain {detail}",
            "held-out gain > 0 on every task", bool((gain > 0).all()), name)


def _significance(t: Tables) -> Outcome | None:
    name = "Table5_significance.csv"
    if name not in t or t[name].empty:
        return None
    df = t[name]
    detail = "; ".join(f"{r.task} chi2 p={r.chi2_p_value:.2g}, McNemar p={r.mcnemar_p_value:.2g}" for r in df.itertuples())
    paper = "; ".join(f"{k} p={v[3]:.3g}" for k, v in PAPER_TABLE5.items())
    return (paper, detail, "chi-squared p < 0.01 on every accuracy task", bool((df["chi2_p_value"] < 0.01).all()), name)


def _denigration(setting: str, column: int | None) -> Callable[[Tables], Outcome | None]:
    """Harmful share at ``setting`` vs original, per group: lower (column None: the sum) or
    higher (column k: the k-th harmful category)."""

    def judge(t: Tables) -> Outcome | None:
        name = "Table4_denigration.csv"
        if name not in t:
            return None
        df = t[name]
        if not {"original", setting} <= set(df["setting"]):
            return None
        harmful = [c for c in df.columns if c not in
                   {"synthetic_groups", "group", "setting", "gap", "delta", "Sum", "accuracy"}]
        col = "Sum" if column is None else harmful[column] if column < len(harmful) else None
        if col is None:
            return None
        groups = df[df["group"] != "all"]
        base = groups[groups["setting"] == "original"].set_index("group")[col]
        new = groups[groups["setting"] == setting].set_index("group")[col].reindex(base.index)
        gap0 = df.loc[df["setting"] == "original", "gap"].iloc[0]
        gap1 = df.loc[df["setting"] == setting, "gap"].iloc[0]
        # groups with no such predictions at either gap cannot move; they are left out of the count
        moved = (base > 0) | (new > 0)
        base, new = base[moved], new[moved]
        if base.empty:
            return None
        ok = (new < base) if column is None else (new > base)
        word = "lower" if column is None else "higher"
        idle = f", {int((~moved).sum())} group(s) with none at either gap left out" if (~moved).any() else ""
        paper = {"modified": "Sum lower for all 7 races at gap 0.97 vs 0.82 (e.g. White 15.7% -> 13.7%)",
                 "too small": "crime-related higher for all races at gap 0.07",
                 "too large": "non-human higher for all races at gap 1.29"}.get(setting, "")
        return (paper, f"{col} {word} for {int(ok.sum())} of {len(ok)} groups at gap {gap1:.2f} vs {gap0:.2f}{idle}"
                f" (all: {df[(df['group'] == 'all') & (df['setting'] == 'original')][col].iloc[0]:.2f}% -> "
                f"{df[(df['group'] == 'all') & (df['setting'] == setting)][col].iloc[0]:.2f}%)",
                f"{col} {word} than at the original gap for every group", bool(ok.all()), name)

    return judge


CLAIMS: tuple[Claim, ...] = (
    Claim("cone_positive_mean", "2.1, Fig. 2a", "Embeddings occupy a narrow cone: the mean pairwise cosine is well "
          "above 0 for every tower, pretrained and random, on real data and noise.", _cone_positive,
          demo_qualitative=True),
    Claim("cone_paper_means", "2.1, Fig. 2a", "The mean cosines match the published ones.", _cone_paper_means),
    Claim("depth_nonlinearity", "2.2, Fig. 2b", "Depth and nonlinearity narrow the cone of a random MLP; a linear "
          "network does not.", _depth_curve),
    Claim("distinct_seed_cones", "2.3, Fig. 2c", "Each random initialisation forms its own cone.", _seed_cones,
          demo_qualitative=True),
    Claim("theorem2_variance_share", "3, Theorem 2", "The variance due to the initialisation is at least beta.",
          _theorem2),
    Claim("gap_every_model", "2.3-4, Fig. 1", "Every multi-modal contrastive model shows a modality gap.",
          _gap_every_model),
    Claim("gap_clip_value", "4.1", "CLIP's gap on COCO is 0.82.", _gap_clip),
    Claim("landscape_min_tau_0.01", "4.1, Fig. 3b", "At tau = 1/100 the loss is lowest at the original gap: "
          "shifting the embeddings to close the gap raises the loss.", _landscape(0.01, closed=False)),
    Claim("landscape_min_tau_1", "4.1, Fig. 3d", "At tau = 1 the loss is lowest near a closed gap.",
          _landscape(1.0, closed=True)),
    Claim("sphere_repulsion_needs_mismatch", "4.2, Figs. 3e-g, 9", "Mismatched pairs at low temperature make "
          "closing the gap cost loss; without mismatch there is no barrier.", _sphere),
    Claim("amended_init_smaller_gap", "4.4", "Training from an initialisation without a gap ends with a smaller "
          "gap than from the usual one.", _amended_init, demo_qualitative=True),
    Claim("gap_falls_with_temperature", "4.3, Fig. 8", "Fine-tuning at a higher temperature leaves a smaller gap.",
          _temperature, demo_qualitative=True),
    Claim("gap_flat_across_dimensions", "Appendix, Fig. 16", "The gap hardly depends on the embedding dimension.",
          _dimension, demo_qualitative=True),
    Claim("mismatch_holds_gap_open", "beyond 4.2", "In real training, mismatched captions leave a larger gap.",
          _mismatch, demo_qualitative=True, beyond_paper=True),
    Claim("zero_shot_changes_with_gap", "5.1, Table 1", "Shifting the gap improves zero-shot performance (best "
          "point of the grid, chosen on the test set).", _zero_shot_best, demo_qualitative=True),
    Claim("zero_shot_held_out", "5.1, Table 1", "The improvement survives choosing lambda on held-out images.",
          _zero_shot_held_out, demo_qualitative=True, beyond_paper=True),
    Claim("zero_shot_significant", "Appendix, Table 5", "The improvements are statistically significant.",
          _significance, demo_qualitative=True),
    Claim("denigration_lower_at_larger_gap", "5.2, Table 2", "Widening the gap (the modified setting) lowers the "
          "denigration harms for every group.", _denigration("modified", None), demo_qualitative=True),
    Claim("too_small_gap_raises_first_harm", "Appendix, Table 4", "A gap that is too small raises the first "
          "harmful category (crime-related) for every group.", _denigration("too small", 0), demo_qualitative=True),
    Claim("too_large_gap_raises_second_harm", "Appendix, Table 4", "A gap that is too large raises the second "
          "harmful category (non-human) for every group.", _denigration("too large", 1), demo_qualitative=True),
)


def claims_ledger(tables: Tables, demo_scale: bool = False, claims: tuple[Claim, ...] = CLAIMS) -> pd.DataFrame:
    """Judge every claim from the result tables.

    Parameters
    ----------
    tables : mapping of file name (e.g. ``"gap_metrics.csv"``) to DataFrame
        The result tables this run produced; a claim whose table is absent is ``not run``.
    demo_scale : bool, default False
        Mark the claims that the demo reproduces only qualitatively.

    Returns
    -------
    pandas.DataFrame
        One row per claim, columns :data:`COLUMNS`.
    """
    rows = []
    for c in claims:
        out = c.judge(tables)
        scope = ("beyond the paper" if c.beyond_paper else
                 "qualitative at demo scale" if demo_scale and c.demo_qualitative else "quantitative")
        if out is None:
            rows.append([c.claim_id, c.section, c.statement, "", "", "", "not run", "", scope])
            continue
        paper, reproduced, tolerance, holds, evidence = out
        rows.append([c.claim_id, c.section, c.statement, paper, reproduced, tolerance,
                     "holds" if holds else "fails", evidence, scope])
    return pd.DataFrame(rows, columns=COLUMNS)
