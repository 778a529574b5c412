"""Rule zero_shot_shift: Figure 10's curve and the Table 1 / Table 5 numbers of one zero-shot task."""

import json
import logging

from modality_gap.atomic import atomic_open
from modality_gap.datasets import read_dataset
from modality_gap.embed import load_embeddings
from modality_gap.shift import default_lambdas
from modality_gap.runtime import log_to
from modality_gap.tables import write_csv
from modality_gap.zeroshot import PAPER_TASK_NAMES, evaluate_task

log_to(snakemake.log[0])
p = snakemake.params
s = p.settings
task = snakemake.wildcards.task
ds = read_dataset(snakemake.input.dataset)
if ds.task != "classification":
    raise ValueError(f"{snakemake.input.dataset}: data set '{task}' is a {ds.task} data set; zero-shot "
                     "needs a classification data set (implications.zero_shot.tasks)")
arrays, meta = load_embeddings(snakemake.input.task)
reference = None
if "reference" in snakemake.input.keys():
    ref, _ = load_embeddings(snakemake.input.reference)
    reference = (ref["image"], ref["text"])
metric = ds.info.get("metric", "accuracy")
lambdas = default_lambdas(s["lambda_limit"], s["lambda_step"])
logging.info("task %s: %d images, %d classes, %d prompts, metric %s, gap vector %s, %d lambdas",
             task, len(arrays["image"]), len(ds.classes), len(arrays["text"]), metric, s["gap_vector"], len(lambdas))
curve, summary = evaluate_task(
    arrays["image"], arrays["labels"], arrays["text"], arrays["text_labels"], len(ds.classes), lambdas,
    metric=metric, gap_vector=s["gap_vector"], reference=reference, seed=s["split_seed"],
)
summary.update(task=task, model=p.model, paper_name=PAPER_TASK_NAMES.get(p.source), reference=s["reference"],
               templates=ds.templates, classes=ds.classes)
b, h = summary["best"], summary["held_out"]
logging.info("original %.4f, best %.4f at lambda %.3g (%s the gap: %.3f -> %.3f); held-out %.4f -> %.4f",
             b["metric_original"], b["metric_best"], b["lam"], b["direction"], b["gap_original"], b["gap_best"],
             h["metric_original"], h["metric_shifted"])
write_csv(curve.assign(task=task), snakemake.output.curve)
with atomic_open(snakemake.output.summary, "w") as fh:
    json.dump(summary, fh, indent=2)
