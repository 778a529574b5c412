"""Rule dataset: prepare one data set in the common format (generated, bundled, downloaded or licensed)."""

import logging
from pathlib import Path

from modality_gap.datasets import read_dataset
from modality_gap.runtime import log_to
from modality_gap.sources import prepare

log_to(snakemake.log[0])
name = snakemake.wildcards.dataset
inputs = {Path(f).name: f for f in snakemake.input.downloads}
prepare(snakemake.output[0], dict(snakemake.params.settings), name, inputs)
ds = read_dataset(snakemake.output[0])
logging.info("%s: %d samples, task %s, splits %s", name, len(ds), ds.task, ds.info["splits"])
