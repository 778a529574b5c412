"""Rule figure3_loss_landscape: CLIP loss under embedding shift, per temperature (Figure 3b-d)."""

import logging

from modality_gap.figures_gap import plot_loss_landscape
from modality_gap.pairs import load_pairs
from modality_gap.plotting import save_figure
from modality_gap.runtime import log_to
from modality_gap.shift import default_lambdas, landscape_minimum, loss_landscape
from modality_gap.tables import write_csv

log_to(snakemake.log[0])
s = snakemake.params.settings
x, y = load_pairs(snakemake.input[0], snakemake.params.split)
lambdas = default_lambdas(limit=s["lambda_limit"], step=s["lambda_step"])
table = loss_landscape(x, y, s["temperatures"], lambdas, batch_size=s["batch_size"])
minimum = landscape_minimum(table)
logging.info("minimum per temperature:\n%s", minimum.to_string(index=False))
write_csv(table, snakemake.output.table)
write_csv(minimum, snakemake.output.minimum)
save_figure(plot_loss_landscape(table, temperatures=s["panel_temperatures"]), snakemake.output.figure)
