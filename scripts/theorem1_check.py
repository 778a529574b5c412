"""Rule theorem1_check: Monte-Carlo probability that a random Linear+ReLU layer raises the cosine."""

from modality_gap.figures_cone import plot_theorem1
from modality_gap.plotting import save_figure
from modality_gap.runtime import log_to
from modality_gap.tables import write_csv
from modality_gap.theory import theorem1_table

log_to(snakemake.log[0])
s = snakemake.params.settings
table = theorem1_table(d_outs=s["d_outs"], cosines=s["cosines"], norm_ratios=s["norm_ratios"],
                       n_trials=s["n_trials"], seed=snakemake.params.seed)
write_csv(table, snakemake.output.table)
save_figure(plot_theorem1(table), snakemake.output.figure)
