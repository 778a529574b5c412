"""Rule figure2c_figure5_figure7_seed_cones: one cone per random initialisation (Figures 2c, 5, 7).

For each tower, the embeddings of the same inputs under seeds 0..n-1 are projected together
(UMAP for Figure 2c on real data and Figure 5 on noise, PCA for Figure 7) and coloured by seed.
The table puts numbers on the picture: held-out accuracy of predicting the seed from one embedding
and the share of variance between seeds (Theorem 2's quantity).
"""

import logging

import numpy as np
import pandas as pd
import umap
from sklearn.decomposition import PCA

from modality_gap.cone import between_within_variance, seed_predictability
from modality_gap.embed import load_embeddings
from modality_gap.figures_cone import plot_seed_cone_panels
from modality_gap.gap import l2_normalize
from modality_gap.plotting import save_figure
from modality_gap.runtime import log_to
from modality_gap.tables import write_csv

log_to(snakemake.log[0])
p = snakemake.params
rng = np.random.default_rng(p.seed)


def seed_stack(paths, modality, split):
    """L2-normalised embeddings of all seeds (at most max_points_per_seed each) and their seed labels."""
    xs, labels = [], []
    for k, path in enumerate(paths):
        arrays, _ = load_embeddings(path)
        x = arrays[modality]
        if split and len(x) == len(arrays["split"]) and (arrays["split"] == split).any():
            x = x[arrays["split"] == split]
        if len(x) > p.max_points_per_seed:
            x = x[np.sort(rng.choice(len(x), p.max_points_per_seed, replace=False))]
        xs.append(l2_normalize(x))
        labels.append(np.full(len(x), k))
    return np.concatenate(xs), np.concatenate(labels)


rows, panels = [], {"data_umap": [], "noise_umap": [], "data_pca": []}
for t, tower in enumerate(p.towers):
    for inputs in ("data", "noise"):
        files = snakemake.input[inputs][t * p.n_seeds : (t + 1) * p.n_seeds]
        x, labels = seed_stack(files, tower["modality"], p.split if inputs == "data" else None)
        acc = seed_predictability(x, labels, seed=p.seed)
        var = between_within_variance(x, labels)
        rows.append({"tower": tower["name"], "model": tower["random"], "inputs": inputs, "n_seeds": p.n_seeds,
                     "n_per_seed": len(x) // p.n_seeds, "seed_predictability": acc,
                     "chance": 1.0 / p.n_seeds, "between_seed_variance_share": var.between_share})
        logging.info("%s on %s: seed predictability %.3f, between-seed variance share %.3f",
                     tower["name"], inputs, acc, var.between_share)
        xy = umap.UMAP(n_components=2, random_state=p.seed).fit_transform(x)
        panels[f"{inputs}_umap"].append((tower["name"], xy, labels))
        if inputs == "data":
            panels["data_pca"].append((tower["name"], PCA(n_components=2, random_state=p.seed).fit_transform(x), labels))

out = snakemake.output
save_figure(plot_seed_cone_panels(panels["data_umap"]), out.umap)
save_figure(plot_seed_cone_panels(panels["noise_umap"]), out.noise)
save_figure(plot_seed_cone_panels(panels["data_pca"], ax_labels=("PC 1", "PC 2")), out.pca)
write_csv(pd.DataFrame(rows), out.table)
