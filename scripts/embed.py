"""Rule embed: image and text embeddings of one data set (or the noise inputs) under one model."""

import logging
import time

import torch
from tqdm import tqdm

from modality_gap.datasets import read_dataset
from modality_gap.embed import (
    choose_device,
    embed_dataset,
    embed_noise,
    loader_workers,
    package_versions,
    save_embeddings,
)
from modality_gap.models import load_model
from modality_gap.runtime import log_to

log_to(snakemake.log[0])
p = snakemake.params
threads = snakemake.threads
torch.set_num_threads(threads)
device = choose_device()
logging.info("model %s (%s), data set %s, device %s, %d threads",
             snakemake.wildcards.model, p.spec, snakemake.wildcards.dataset, device, threads)

model = load_model(p.spec, device=device, cache_dir=p.spec.get("cache_dir"))
log_file = open(snakemake.log[0], "a", encoding="utf-8")  # tqdm writes its bar into the log


def progress(**kw):
    return tqdm(file=log_file, mininterval=5, **kw)


start = time.perf_counter()
if snakemake.wildcards.dataset == "noise":
    arrays = embed_noise(model, p.noise["n"], p.noise["seed"], device, batch_size=p.batch_size)
    skipped = []
    dataset_info = {"name": "noise", **p.noise,
                    "definition": "images randn(3,H,W) in the model's input space; texts uniform token ids "
                                  "in [0, vocab_size), full context length"}
else:
    ds = read_dataset(snakemake.input.dataset)
    arrays, skipped = embed_dataset(
        model, ds, device, batch_size=p.batch_size, num_workers=loader_workers(threads, device),
        skip_bad=p.on_bad_image == "skip", progress_factory=progress,
    )
    dataset_info = {"name": ds.name, "task": ds.task, "n_samples": len(ds), "source": ds.info.get("source")}
    if skipped:
        logging.warning("skipped %d unreadable image(s): %s", len(skipped), ", ".join(skipped[:20]))
elapsed = time.perf_counter() - start
meta = {
    "model": snakemake.wildcards.model,
    "spec": p.spec,
    "model_description": model.description,
    "dataset": dataset_info,
    "stored": "raw embeddings (not L2-normalised), float32",
    "preprocess": "imagenet mean/std" if p.spec.get("preprocess") == "imagenet" else "the model's own transform",
    "device": str(device),
    "dtype": "bf16 autocast" if device.type == "cuda" else "float32",
    "skipped_images": skipped,
    "n_skipped": len(skipped),
    "versions": package_versions(),
}
save_embeddings(snakemake.output[0], arrays, meta)
logging.info("wrote %s: image %s, text %s in %.1f s (%.1f images/s)", snakemake.output[0],
             arrays["image"].shape, arrays["text"].shape, elapsed, len(arrays["image"]) / elapsed)
