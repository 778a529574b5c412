"""Rule fairness_class_prompts: text embeddings of the denigration evaluation's class prompts."""

import logging

import numpy as np
import torch

from modality_gap.embed import choose_device, embed_texts, package_versions, save_embeddings
from modality_gap.fairness import DENIGRATION_CLASSES
from modality_gap.models import load_model
from modality_gap.runtime import log_to

log_to(snakemake.log[0])
p = snakemake.params
torch.set_num_threads(snakemake.threads)
device = choose_device()
classes = p.classes if p.classes is not None else DENIGRATION_CLASSES  # default: the paper's Figure 11
names, prompts, categories = (list(col) for col in zip(*classes))
logging.info("model %s (%s), %d class prompts, device %s", p.model, p.spec, len(prompts), device)
model = load_model(p.spec, device=device, cache_dir=p.spec.get("cache_dir"))
with torch.inference_mode():
    text = embed_texts(model, prompts, device)
arrays = {
    "image": np.zeros((0, 0), np.float32),
    "text": text,
    "text_labels": np.arange(len(prompts)),
    "class_names": np.asarray(names, dtype=str),
    "prompts": np.asarray(prompts, dtype=str),
    "categories": np.asarray(categories, dtype=str),
}
meta = {"model": p.model, "spec": p.spec, "model_description": model.description,
        "dataset": {"name": "fairness class prompts", "task": "prompts"}, "device": str(device),
        "stored": "raw embeddings (not L2-normalised), float32", "versions": package_versions()}
save_embeddings(snakemake.output[0], arrays, meta)
logging.info("wrote %s: text %s", snakemake.output[0], text.shape)
