"""Rule figure3_figure9_sphere_simulation: the 3-D sphere simulation with and without mismatched pairs."""

import logging

import numpy as np
import pandas as pd

from modality_gap.figures_gap import plot_sphere, plot_sphere_loss
from modality_gap.plotting import save_figure
from modality_gap.runtime import log_to
from modality_gap.sphere import sphere_loss_barrier, sphere_loss_curve, sphere_points
from modality_gap.tables import write_csv

log_to(snakemake.log[0])
s = snakemake.params.settings
out = snakemake.output
latitudes = np.arange(90.0, -90.5, -1.0)  # texts from the north pole to the south pole, 1-degree steps
curves = [sphere_loss_curve(latitudes, s["logit_scales"], mismatch=m, spacing_deg=s["spacing_deg"]) for m in (True, False)]
table = pd.concat(curves, ignore_index=True)
barrier = pd.concat([sphere_loss_barrier(c).assign(mismatch=m) for c, m in zip(curves, (True, False))], ignore_index=True)
logging.info("loss barrier against closing the gap:\n%s", barrier.to_string(index=False))
write_csv(table, out.table)
write_csv(barrier, out.barrier)
for mismatch, path, title in ((True, out.sphere_mismatch, "two mismatched pairs"), (False, out.sphere_clean, "no mismatched pairs")):
    x, y = sphere_points(spacing_deg=s["spacing_deg"], mismatch=mismatch)
    save_figure(plot_sphere(x, y, title=title), path)
save_figure(plot_sphere_loss(table), out.loss)
