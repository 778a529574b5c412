"""Rule dataset_preview: a contact sheet of one prepared data set."""

from modality_gap.datasets import read_dataset
from modality_gap.plotting import save_figure
from modality_gap.preview import plot_dataset_preview, preview_rows
from modality_gap.runtime import log_to

log_to(snakemake.log[0])
ds = read_dataset(snakemake.input[0])
rows = preview_rows(ds, snakemake.params.n_images, snakemake.params.seed)
save_figure(plot_dataset_preview(ds, rows), snakemake.output[0], formats=("png",))
