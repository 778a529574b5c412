"""Rule gap_metrics: one row of gap metrics per set of matched pairs."""

import logging

import pandas as pd

from modality_gap.gap import gap_metrics
from modality_gap.pairs import load_pairs
from modality_gap.runtime import log_to
from modality_gap.tables import write_csv

log_to(snakemake.log[0])
p = snakemake.params
rows = []
for source, path in zip(p.sources, snakemake.input):
    x, y = load_pairs(path, p.split)
    logging.info("%s: %d pairs of dimension %d", source, *x.shape)
    rows.append({"pairs": source, "file": str(path), **gap_metrics(x, y, seed=p.seed, n_boot=p.n_boot)})
write_csv(pd.DataFrame(rows), snakemake.output[0])
