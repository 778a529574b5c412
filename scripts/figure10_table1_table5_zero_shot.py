"""Rule figure10_table1_table5_zero_shot: Figure 10 and Tables 1 and 5 over all zero-shot tasks."""

import json

import pandas as pd

from modality_gap.figures_implications import plot_metric_vs_gap, table_figure
from modality_gap.plotting import save_figure
from modality_gap.runtime import log_to
from modality_gap.tables import write_csv
from modality_gap.zeroshot import table1, table5

log_to(snakemake.log[0])
tasks = snakemake.params.tasks
curves = {t: pd.read_csv(f) for t, f in zip(tasks, snakemake.input.curves)}
summaries = {}
for t, f in zip(tasks, snakemake.input.summaries):
    with open(f, encoding="utf-8") as fh:
        summaries[t] = json.load(fh)
model = snakemake.params.model

fig = plot_metric_vs_gap(curves)
fig.suptitle(f"Figure 10: zero-shot performance vs gap ({model})")
save_figure(fig, snakemake.output.figure)

t1 = table1(summaries)
write_csv(t1, snakemake.output.table1)
shown = t1[["task", "metric", "original", "modified", "direction", "held_out_original", "held_out_modified",
            "paper_original", "paper_modified"]].set_index("task")
save_figure(table_figure(shown, title=f"Table 1: zero-shot, original vs modified gap ({model})"),
            snakemake.output.table1_png)

t5 = table5(summaries)
write_csv(t5, snakemake.output.table5)
shown = t5[["task", "n", "original", "modified", "direction", "chi2_p_value", "mcnemar_b", "mcnemar_c",
            "mcnemar_p_value", "paper_p_value"]].set_index("task")
save_figure(table_figure(shown, title="Table 5: significance (chi-squared as the paper; McNemar, paired)"),
            snakemake.output.table5_png)
