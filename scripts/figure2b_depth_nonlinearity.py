"""Rule figure2b_depth_nonlinearity: average cosine after each layer of random MLPs (Figure 2b)."""

import logging

import numpy as np
import torch

from modality_gap.figures_cone import plot_depth_curves
from modality_gap.plotting import save_figure
from modality_gap.runtime import log_to
from modality_gap.tables import write_csv
from modality_gap.theory import random_mlp_cosine_curves

log_to(snakemake.log[0])
torch.set_num_threads(snakemake.threads)
s = snakemake.params.settings
table = random_mlp_cosine_curves(activations=s["activations"], seeds=s["seeds"], n_layers=s["n_layers"],
                                 n_inputs=s["n_inputs"], dim=s["dim"])
write_csv(table, snakemake.output.table)
curves = {
    act: np.stack([g.sort_values("layer")["mean_cosine"].to_numpy() for _, g in sub.groupby("seed")])
    for act, sub in table.groupby("activation", sort=False)
}
shown = [k for k in (1, 2, 3, 10, 25) if k <= s["n_layers"]]
logging.info("mean cosine after layers %s:\n%s", shown,
             "\n".join(f"{a}: {np.round(c.mean(0)[[k - 1 for k in shown]], 3)}" for a, c in curves.items()))
save_figure(plot_depth_curves(curves, input_cosine=0.0), snakemake.output.figure)
