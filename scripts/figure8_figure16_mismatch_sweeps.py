"""Rule figure8_figure16_mismatch_sweeps: the temperature, dimension and mismatch sweeps of training."""

import pandas as pd

from modality_gap.figures_train import plot_dimension_sweep, plot_mismatch_sweep, plot_temperature_sweep
from modality_gap.plotting import save_figure
from modality_gap.runtime import log_to
from modality_gap.tables import write_csv
from modality_gap.training_summary import PAPER, sweep_table

log_to(snakemake.log[0])
p = snakemake.params
figure = snakemake.wildcards.figure
metrics = [pd.read_csv(path) for path in snakemake.input]
if figure == "Mismatch":
    table = sweep_table(p.runs, p.settings, metrics, mismatch_rate=lambda s: p.mismatch_rates[s["dataset"]])
    fig = plot_mismatch_sweep(table)
elif figure == "Figure8":
    table = sweep_table(p.runs, p.settings, metrics)
    table["paper_gap"] = [next((g for t, g in PAPER["figure8"].items() if abs(t - tau) < 1e-9), None)
                          for tau in table["temperature"]]
    fig = plot_temperature_sweep(table, start_gap=float(table["gap_start"].iloc[0]))
else:
    table = sweep_table(p.runs, p.settings, metrics)
    fig = plot_dimension_sweep(table)
write_csv(table, snakemake.output.table)
save_figure(fig, snakemake.output.figure)
