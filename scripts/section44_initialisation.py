"""Rule section44_initialisation: gap before and after training, original vs amended initialisation."""

import pandas as pd

from modality_gap.figures_train import plot_section44
from modality_gap.plotting import save_figure
from modality_gap.runtime import log_to
from modality_gap.tables import write_csv
from modality_gap.training_summary import section44_table

log_to(snakemake.log[0])
metrics = {run: pd.read_csv(path) for run, path in zip(snakemake.params.runs, snakemake.input)}
write_csv(section44_table(metrics), snakemake.output.table)
save_figure(plot_section44(metrics), snakemake.output.figure)
