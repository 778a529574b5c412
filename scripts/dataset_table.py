"""Rule dataset_table: one row per prepared data set."""

from modality_gap.datasets import dataset_summary, read_dataset
from modality_gap.runtime import log_to
from modality_gap.tables import write_csv

log_to(snakemake.log[0])
table = dataset_summary([read_dataset(d) for d in snakemake.input])
write_csv(table, snakemake.output[0])
