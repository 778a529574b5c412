"""Rule theorem2_check: between-initialisation variance share against Theorem 2's bound beta."""

import torch

from modality_gap.figures_cone import plot_theorem2
from modality_gap.plotting import save_figure
from modality_gap.runtime import log_to
from modality_gap.tables import write_csv
from modality_gap.theory import theorem2_table

log_to(snakemake.log[0])
torch.set_num_threads(snakemake.threads)
s = snakemake.params.settings
table = theorem2_table(depths=s["depths"], seeds=range(s["n_seeds"]), dim=s["dim"], n_inputs=s["n_inputs"],
                       input_seed=snakemake.params.seed)
write_csv(table, snakemake.output.table)
save_figure(plot_theorem2(table), snakemake.output.figure)
