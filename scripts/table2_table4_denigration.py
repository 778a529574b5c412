"""Rule table2_table4_denigration: denigration bias per group at each reference gap (Tables 2 and 4)."""

import logging

import numpy as np
import pandas as pd

from modality_gap.datasets import read_dataset
from modality_gap.embed import load_embeddings
from modality_gap.fairness import denigration_settings, denigration_wide
from modality_gap.figures_implications import plot_denigration, table_figure
from modality_gap.plotting import save_figure
from modality_gap.runtime import log_to
from modality_gap.tables import write_csv
from modality_gap.zeroshot import class_embeddings

log_to(snakemake.log[0])
p = snakemake.params
ds = read_dataset(snakemake.input.dataset)
images, _ = load_embeddings(snakemake.input.images)
prompts, _ = load_embeddings(snakemake.input.prompts)
reference, _ = load_embeddings(snakemake.input.reference)

categories = prompts["categories"].tolist()
names = prompts["class_names"].tolist()
target = [i for i, c in enumerate(categories) if c == p.target_category]
if len(target) != len(ds.classes):
    raise ValueError(
        f"implications.fairness.classes: {len(target)} classes of category '{p.target_category}', but data set "
        f"'{ds.name}' has {len(ds.classes)} classes ({', '.join(ds.classes)}); its classes map in order onto the "
        f"target classes. Fix: list one '{p.target_category}' class per data set class, in the data set's order."
    )
column = f"attr_{p.group_attribute}"
if column not in ds.samples.columns:
    raise ValueError(f"{snakemake.input.dataset}: no column {column}; implications.fairness.group_attribute must "
                     f"be one of {sorted(c.removeprefix('attr_') for c in ds.samples.columns if c.startswith('attr_'))}")
groups = ds.samples.set_index(ds.samples["id"].astype(str))[column].reindex(images["ids"])
if groups.isna().any():
    raise ValueError(f"{snakemake.input.images}: {int(groups.isna().sum())} embedded ids have no {column} in "
                     f"{snakemake.input.dataset}; re-run the extraction")
if p.synthetic:
    groups = "synthetic " + groups.astype(str)
target_labels = np.asarray(target)[images["labels"]]
class_emb = class_embeddings(prompts["text"], prompts["text_labels"], len(names))
settings = [(label, gap) for label, gap in p.settings]
long = denigration_settings(images["image"], class_emb, categories, groups.to_numpy(), target_labels,
                            reference["image"], reference["text"], settings, harmful=p.harmful)
long.insert(0, "synthetic_groups", bool(p.synthetic))
write_csv(long, snakemake.output.long)

note = " -- SYNTHETIC groups and stand-in classes, not FairFace" if p.synthetic else ""
labels = [label for label, _ in settings]
by_setting = {label: long[long["setting"] == label] for label in labels}
reached = {label: by_setting[label]["gap"].iloc[0] for label in labels}
wide = {}
for label, sub in by_setting.items():
    w = denigration_wide(sub, harmful=p.harmful)
    w.insert(0, "setting", label)
    w.insert(1, "gap", reached[label])
    w.insert(2, "delta", sub["delta"].iloc[0])
    wide[label] = w
    logging.info("%s: gap %.3f (delta %.4f), harmful %.2f%%, accuracy %.4f", label, reached[label],
                 sub["delta"].iloc[0], w.loc["all", "Sum"], w.loc["all", "accuracy"])
for key, chosen in (("table2", labels[:2]), ("table4", labels)):
    table = pd.concat([wide[label] for label in chosen]).reset_index()
    table.insert(0, "synthetic_groups", bool(p.synthetic))
    write_csv(table, snakemake.output[key])
    title = ("Table 2" if key == "table2" else "Table 4") + f": top-1 harmful shares (%), {p.model}{note}"
    shown = table.drop(columns=["synthetic_groups"]).set_index(["setting", "group"])
    shown.index = [f"{s} | {g}" for s, g in shown.index]
    shown.index.name = "setting | group"
    save_figure(table_figure(shown, title=title), snakemake.output[f"{key}_png"])

fig = plot_denigration({f"{label} (gap {reached[label]:.2f})": sub for label, sub in by_setting.items()},
                       categories=(*p.harmful, "harmful"))
fig.suptitle(f"Tables 2 and 4: denigration bias vs gap ({p.model}){note}")
save_figure(fig, snakemake.output.figure)
