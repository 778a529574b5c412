"""Rule train_clip: one training run (from scratch or fine-tuning), resumable from its last epoch."""

import logging

from modality_gap.datasets import read_dataset
from modality_gap.embed import choose_device
from modality_gap.models import load_model
from modality_gap.runtime import log_to
from modality_gap.tables import write_csv
from modality_gap.train import save_trained_model, train_clip

log_to(snakemake.log[0])
p = snakemake.params
s, opt = p.settings, p.optimiser
device = choose_device()
logging.info("run %s: %s on %s, device %s", snakemake.wildcards.run, s, p.spec, device)
ds = read_dataset(snakemake.input.dataset)
model = load_model(p.spec, device=device, cache_dir=p.spec.get("cache_dir"))


def progress(row):
    logging.info("epoch %s: %s", row.get("epoch"), {k: v for k, v in row.items() if k != "epoch"})


result = train_clip(
    model, ds.split("train"), ds.split("val"),
    epochs=s["epochs"], batch_size=opt["batch_size"], lr=opt["lr"], betas=tuple(opt["betas"]), eps=opt["eps"],
    weight_decay=opt["weight_decay"], temperature=s["temperature"], warmup_steps=opt["warmup_steps"],
    schedule=opt["schedule"], seed=s["seed"], amend=s["amend"], device=device,
    checkpoint_dir=p.checkpoint_dir, resume=True, threads=snakemake.threads, progress=progress,
)
save_trained_model(snakemake.output.model, result.model, rotation=result.rotation,
                   meta={"run": snakemake.wildcards.run, "settings": s, "spec": p.spec})
write_csv(result.metrics, snakemake.output.metrics)
