"""Rule figure2a_figure6_cosine_histograms: the grid of cosine histograms and its table (Figure 6)."""

import pandas as pd

from modality_gap.cone import load_cosine_stats
from modality_gap.figures_cone import plot_cosine_histograms
from modality_gap.plotting import save_figure
from modality_gap.runtime import log_to
from modality_gap.tables import write_csv

log_to(snakemake.log[0])
p = snakemake.params
paper = {t["name"]: t for t in p.towers}
grid, rows = {}, []
for (row, col, model, dataset, modality), path in zip(p.cells, snakemake.input):
    stats, meta = load_cosine_stats(path)
    grid[(col, row)] = stats  # the paper's layout: settings down, towers across
    k = p.columns.index(col)
    means = paper[row].get("paper_mean") or []
    rows.append({
        "tower": row, "setting": col, "model": model, "dataset": dataset, "modality": modality,
        "n_embeddings": meta["n"], "n_pairs": stats.n_pairs, "mean": stats.mean, "std": stats.std,
        "min": stats.min, "max": stats.max,
        "paper_mean": means[k] if k < len(means) else None,
        "paper_min": paper[row].get("paper_min_pretrained") if k == 0 else None,
    })
settings = [c for c in p.columns if any(key[0] == c for key in grid)]  # drop a column no model fills
fig = plot_cosine_histograms(grid, rows=settings, cols=[t["name"] for t in p.towers])
save_figure(fig, snakemake.output.figure)
write_csv(pd.DataFrame(rows), snakemake.output.table)
