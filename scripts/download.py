"""Rule download: fetch one file of the download table, checksum-verified and atomic."""

from modality_gap.download import fetch
from modality_gap.runtime import log_to

log_to(snakemake.log[0])
p = snakemake.params
fetch(p.url, snakemake.output[0], p.checksum, retries=p.retries, timeout=p.timeout, mirrors=p.mirrors)
