"""Rule cosine_stats: exact pairwise cosine statistics of one tower's embeddings (self-pairs excluded)."""

import logging

import torch

from modality_gap.cone import cosine_stats, save_cosine_stats
from modality_gap.embed import load_embeddings
from modality_gap.runtime import log_to

log_to(snakemake.log[0])
torch.set_num_threads(snakemake.threads)
p = snakemake.params
arrays, meta = load_embeddings(snakemake.input[0])
x = arrays[snakemake.wildcards.modality]
if x.size == 0:
    raise ValueError(f"{snakemake.input[0]}: the model has no {snakemake.wildcards.modality} tower")
if snakemake.wildcards.dataset != "noise" and len(x) == len(arrays["split"]) and (arrays["split"] == p.split).any():
    x = x[arrays["split"] == p.split]
stats = cosine_stats(x, bins=p.bins, block_size=p.block_size)
logging.info("%s %s on %s: n=%d, %d pairs, mean %.4f, std %.4f, min %.4f, max %.4f", snakemake.wildcards.model,
             snakemake.wildcards.modality, snakemake.wildcards.dataset, len(x), stats.n_pairs, stats.mean,
             stats.std, stats.min, stats.max)
save_cosine_stats(snakemake.output[0], stats, {"n": len(x), "embeddings": snakemake.input[0], "model": meta["model"]})
