# Helpers and configuration checks shared by every stage.

import re
import sys
from pathlib import Path

from snakemake.exceptions import WorkflowError
from snakemake.logging import logger

sys.path.insert(0, str(Path(workflow.basedir) / "scripts"))

from modality_gap.config import (
    CAPTION_SOURCES,
    SYNTHETIC_SOURCES,
    ConfigError,
    check_config,
    load_schema,
    validate_config,
)

try:
    validate_config(
        config, load_schema(workflow.source_path("../schemas/config.schema.yaml"))
    )
    CONFIG_WARNINGS = check_config(config)
except ConfigError as exc:
    raise WorkflowError(str(exc)) from None

RESOURCES = config["paths"]["resources"]
RESULTS = config["paths"]["results"]
LOGS = config["paths"]["logs"]
DATASETS = config["datasets"]
DOWNLOADS = config["downloads"]
PAPER_EMB = config["paper_embeddings"]


def one_of(names):
    """A wildcard constraint matching exactly the given names (nothing when there are none)."""
    names = sorted(names)
    return "|".join(re.escape(n) for n in names) if names else "(?!x)x"


# --------------------------------------------------------------------------- data sets


def usable_datasets():
    """Data sets that can be prepared: licensed ones need a configured local path."""
    return [n for n, d in DATASETS.items() if "path" not in d or d["path"] is not None]


def dataset_dir(name):
    return f"{RESOURCES}/datasets/{name}"


def dataset_downloads(wildcards):
    """The downloaded files that data set ``wildcards.dataset`` is converted from."""
    from modality_gap.sources import required_downloads

    ds = DATASETS[wildcards.dataset]
    return [f"{RESOURCES}/downloads/{f}" for f in required_downloads(ds["source"], ds)]


def licensed_path(wildcards):
    """A licensed data set's local folder as an input, so that a missing one stops the DAG."""
    path = DATASETS[wildcards.dataset].get("path")
    return [path] if path else []


# --------------------------------------------------------------------------- released embeddings


def paper_embedding_files():
    """File names of the released arrays for the configured systems (pretrained and random)."""
    return [
        f"features_{s}{suffix}.npy"
        for suffix in ("", "_random")
        for s in PAPER_EMB["systems"]
    ]


def paper_embeddings_available():
    """Whether the released embeddings can be had here; warns once when they cannot."""
    if not PAPER_EMB["enabled"]:
        return False
    mirror = PAPER_EMB["mirror"]
    if PAPER_EMB["download"] or (mirror and Path(mirror).expanduser().is_dir()):
        return True
    CONFIG_WARNINGS.append(
        f"the released paper embeddings are left out (Figures 1 and 4 of the four released systems): "
        f"paper_embeddings.mirror ({mirror!r}) is not a folder and paper_embeddings.download is false. "
        "Point the mirror at a copy of the released .npy files, or allow the download."
    )
    return False


PAPER_EMBEDDINGS_AVAILABLE = paper_embeddings_available()


# --------------------------------------------------------------------------- models and embeddings

MODELS = config["models"]
#: a model name, optionally with ".seed<k>" (the same random-init architecture, seed k)
MODEL_WILDCARD = f"(?:{one_of(MODELS)})(?:\\.seed\\d+)?" if MODELS else one_of([])


def model_spec(model):
    """The spec of ``<name>`` or ``<name>.seed<k>`` (random init with seed k)."""
    name, _, seed = model.partition(".seed")
    spec = dict(MODELS[name])
    if seed:
        if spec["weights"] != "random":
            raise WorkflowError(
                f"{model}: only random-init models take a .seed<k> suffix"
            )
        spec["seed"] = int(seed)
    return spec


def model_inputs(model):
    """The checkpoint a model loads (a training-stage output), if any, as named inputs."""
    if model is None:
        return {}
    ckpt = model_spec(model).get("checkpoint")
    return {"checkpoint": ckpt} if ckpt else {}


def embed_inputs(wildcards):
    """The data set folder (unless noise) and the checkpoint (if any) an extraction reads."""
    inputs = model_inputs(wildcards.model)
    if wildcards.dataset != "noise":
        inputs["dataset"] = dataset_dir(wildcards.dataset)
    return inputs


def embedding(model, dataset):
    return f"{RESULTS}/embeddings/{model}/{dataset}.npz"


def embed_targets():
    usable = set(usable_datasets()) | {"noise"}
    return [
        embedding(m, d)
        for m, datasets in config["embed"]["targets"].items()
        for d in datasets
        if d in usable
    ]


# --------------------------------------------------------------------------- matched pairs (gap stage)


def pair_sources():
    """Every source of matched pairs: ``paper_<system>[_random]`` (released) and ``<model>--<dataset>``."""
    sources = {}
    if PAPER_EMBEDDINGS_AVAILABLE:
        for f in paper_embedding_files():
            system = f.removeprefix("features_").removesuffix(".npy")
            sources[f"paper_{system}"] = f"{RESOURCES}/paper_embeddings/{f}"
    usable = set(usable_datasets())
    for model, datasets in config["embed"]["targets"].items():
        if MODELS[model]["kind"] != "open_clip":
            continue
        for d in datasets:
            if d in usable and DATASETS[d]["source"] in CAPTION_SOURCES:
                sources[f"{model}--{d}"] = embedding(model, d)
    return sources


PAIR_SOURCES = pair_sources()


def released_sources():
    return [s for s in PAIR_SOURCES if s.startswith("paper_")]


def workflow_sources():
    return [s for s in PAIR_SOURCES if not s.startswith("paper_")]


def gap_targets():
    figs = f"{RESULTS}/figures"
    targets = [f"{RESULTS}/tables/gap_metrics.csv"] if PAIR_SOURCES else []
    for panels, sources in (
        ("paper_systems", released_sources()),
        ("workflow_models", workflow_sources()),
    ):
        if sources:
            targets += [
                f"{figs}/Figure1_{panels}_umap.png",
                f"{figs}/Figure4_{panels}_svd.png",
            ]
    landscapes = [
        s for s in PAIR_SOURCES if s == "paper_clip" or not s.startswith("paper_")
    ]
    targets += [f"{figs}/Figure3bcd_loss_landscape_{s}.png" for s in landscapes]
    targets += [
        f"{RESULTS}/tables/Figure3_landscape_minimum_{s}.csv" for s in landscapes
    ]
    targets += [
        f"{figs}/Figure3e_sphere_mismatch.png",
        f"{figs}/Figure9a_sphere_no_mismatch.png",
        f"{figs}/Figure3g_Figure9b_sphere_loss.png",
        f"{RESULTS}/tables/Figure3_Figure9_sphere_barrier.csv",
    ]
    return targets


# --------------------------------------------------------------------------- training (Section 4.4, Figures 8, 16)

TRAIN = config["train"]


def tau_label(tau):
    """0.01 -> '0.01', 1.0 -> '1', 1/30 -> '0.0333'."""
    return f"{tau:.3g}"


def train_runs():
    """Every training run: run id -> settings of the train_clip rule."""
    if (
        not (TRAIN["dataset"] and TRAIN["model"])
        or TRAIN["dataset"] not in usable_datasets()
    ):
        return {}
    base = dict(
        model=TRAIN["model"],
        dataset=TRAIN["dataset"],
        temperature=TRAIN["temperature"],
        amend=False,
        epochs=TRAIN["epochs"],
    )
    seed0 = MODELS[TRAIN["model"]]["seed"]
    runs = {}
    for k in TRAIN["section44"]["seeds"]:
        for init in ("original", "amended"):
            runs[f"section44_{init}_seed{k}"] = dict(
                base, seed=k, amend=init == "amended"
            )
    if TRAIN["figure8"]["start"]:
        for tau in TRAIN["figure8"]["temperatures"]:
            runs[f"figure8_tau{tau_label(tau)}"] = dict(
                base,
                model=TRAIN["figure8"]["start"],
                temperature=tau,
                epochs=TRAIN["figure8"]["epochs"],
                seed=seed0,
            )
    for dim in TRAIN["figure16"]["dims"]:
        runs[f"figure16_dim{dim}"] = dict(base, seed=seed0, embed_dim=dim)
    for d in TRAIN["mismatch"]["datasets"]:
        for tau in TRAIN["mismatch"]["temperatures"]:
            runs[f"mismatch_{d}_tau{tau_label(tau)}"] = dict(
                base, dataset=d, temperature=tau, seed=seed0
            )
    return runs


TRAIN_RUNS = train_runs()


def train_spec(run):
    """The model spec a run starts from (its own seed and embedding dimension)."""
    settings = TRAIN_RUNS[run]
    spec = dict(MODELS[settings["model"]])
    if spec["weights"] == "random":
        spec["seed"] = settings["seed"]
    if settings.get("embed_dim"):
        spec["embed_dim"] = settings["embed_dim"]
    return spec


def train_inputs(wildcards):
    inputs = {"dataset": dataset_dir(TRAIN_RUNS[wildcards.run]["dataset"])}
    ckpt = train_spec(wildcards.run).get("checkpoint")
    if ckpt:
        inputs["checkpoint"] = ckpt
    return inputs


def run_metrics(prefix):
    return [
        f"{RESULTS}/training/{r}/metrics.csv"
        for r in TRAIN_RUNS
        if r.startswith(prefix)
    ]


def train_targets():
    figs, tabs = f"{RESULTS}/figures", f"{RESULTS}/tables"
    targets = []
    if run_metrics("section44_"):
        targets += [
            f"{tabs}/Section4.4_initialisation.csv",
            f"{figs}/Section4.4_gap_during_training.png",
        ]
    for prefix, stem in (
        ("figure8_", "Figure8_finetune_temperature"),
        ("figure16_", "Figure16_embedding_dimension"),
        ("mismatch_", "Mismatch_temperature_sweep"),
    ):
        if run_metrics(prefix):
            targets += [f"{figs}/{stem}.png", f"{tabs}/{stem}.csv"]
    return targets


# --------------------------------------------------------------------------- cone effect (Sections 2-3)

CONE = config["cone"]
#: Figure 2a / 14 columns: (label, which model of the tower, data set or "noise")
CONE_SETTINGS = (
    ("Pretrained", "pretrained", "data"),
    ("Random init, real data", "random", "data"),
    ("Random init, noise", "random", "noise"),
)


def cone_dataset(figure):
    """The real-data set of Figure 2a / 6 (``cone.dataset``) or 14 (``cone.figure14_dataset``)."""
    return CONE["dataset"] if figure == "Figure2a" else CONE["figure14_dataset"]


def cone_figures():
    figs = []
    usable = set(usable_datasets())
    if CONE["towers"] and CONE["dataset"] in usable:
        figs.append("Figure2a")
    if CONE["towers"] and CONE["figure14_dataset"] in usable:
        figs.append("Figure14")
    return figs


def cone_cells(figure):
    """[(row, column, model, data set, modality)] of Figure 2a / 14; cells without a model are skipped."""
    cells = []
    for tower in CONE["towers"]:
        for label, which, data in CONE_SETTINGS:
            model = tower[which]
            if model is None:
                continue
            dataset = cone_dataset(figure) if data == "data" else "noise"
            cells.append((tower["name"], label, model, dataset, tower["modality"]))
    return cells


def cosine_stats_file(model, dataset, modality):
    return f"{RESULTS}/cone/cosine_stats/{model}/{dataset}_{modality}.npz"


def seeded(model, seed):
    """``model`` re-initialised with ``seed``: the model itself when that is its configured seed."""
    return model if MODELS[model]["seed"] == seed else f"{model}.seed{seed}"


def seed_embeddings(data):
    """The embeddings of Figures 2c / 5 / 7: every tower's random model x seeds, on real data or noise."""
    dataset = CONE["dataset"] if data == "data" else "noise"
    return [
        embedding(seeded(tower["random"], k), dataset)
        for tower in CONE["towers"]
        for k in range(CONE["n_seeds"])
    ]


def cone_targets():
    figs = f"{RESULTS}/figures"
    targets = [
        f"{figs}/Figure2b_depth_nonlinearity.png",
        f"{figs}/Theorem1_cosine_increase.png",
        f"{figs}/Theorem2_variance_share.png",
    ]
    targets += [
        f"{RESULTS}/tables/{t}.csv"
        for t in (
            "Figure2b_depth_nonlinearity",
            "Theorem1_cosine_increase",
            "Theorem2_variance_share",
        )
    ]
    for figure in cone_figures():
        targets.append(f"{figs}/{figure}_cosine_histograms.png")
        targets.append(f"{RESULTS}/tables/Figure6_cone_statistics_{figure}.csv")
    if "Figure2a" in cone_figures():
        targets += [
            f"{figs}/Figure2c_seed_cones_umap.png",
            f"{figs}/Figure5_seed_cones_noise_umap.png",
            f"{figs}/Figure7_seed_cones_pca.png",
            f"{RESULTS}/tables/Figure2c_seed_cones.csv",
        ]
    return targets


# --------------------------------------------------------------------------- targets


# --------------------------------------------------------------------------- implications (Section 5)

ZERO_SHOT = config["implications"]["zero_shot"]
FAIRNESS = config["implications"]["fairness"]


def zero_shot_tasks():
    """The zero-shot tasks that run: configured, with a model, and preparable here."""
    if ZERO_SHOT["model"] is None:
        return []
    usable = set(usable_datasets())
    return [t for t in ZERO_SHOT["tasks"] if t in usable]


def zero_shot_inputs(wildcards):
    inputs = {
        "task": embedding(ZERO_SHOT["model"], wildcards.task),
        "dataset": dataset_dir(wildcards.task),
    }
    if ZERO_SHOT["reference"]:
        inputs["reference"] = embedding(ZERO_SHOT["model"], ZERO_SHOT["reference"])
    return inputs


def fairness_enabled():
    return FAIRNESS["model"] is not None and FAIRNESS["dataset"] in usable_datasets()


def fairness_classes():
    """(name, prompt, category) of every class of the denigration evaluation; None = the paper's 21."""
    if FAIRNESS["classes"] is None:
        return None
    return [[c["name"], c["prompt"], c["category"]] for c in FAIRNESS["classes"]]


def implications_targets():
    figs, tables = f"{RESULTS}/figures", f"{RESULTS}/tables"
    targets = []
    if zero_shot_tasks():
        targets += [
            f"{figs}/Figure10_zero_shot_vs_gap.png",
            f"{tables}/Table1_zero_shot.csv",
            f"{tables}/Table5_significance.csv",
        ]
    if fairness_enabled():
        targets += [
            f"{figs}/Table2_Table4_denigration.png",
            f"{tables}/Table2_denigration.csv",
            f"{tables}/Table4_denigration.csv",
        ]
    return targets


if FAIRNESS["model"] is not None and not fairness_enabled():
    CONFIG_WARNINGS.append(
        f"Tables 2 and 4 are left out: data set '{FAIRNESS['dataset']}' is not available "
        "(README, 'Licensed data sets')."
    )


def data_targets():
    targets = [f"{RESULTS}/data/datasets.csv"]
    targets += [f"{RESULTS}/data/preview_{n}.png" for n in usable_datasets()]
    if PAPER_EMBEDDINGS_AVAILABLE:
        targets += [
            f"{RESOURCES}/paper_embeddings/{f}" for f in paper_embedding_files()
        ]
    return targets


def stage_targets():
    """Every figure and table of the stages (everything but the report)."""
    return list(
        dict.fromkeys(
            data_targets()
            + embed_targets()
            + gap_targets()
            + cone_targets()
            + train_targets()
            + implications_targets()
        )
    )


def evidence_tables():
    """The result tables the claims ledger reads: every stage table this configuration makes."""
    from modality_gap.report import EVIDENCE_PREFIXES

    return [
        t
        for t in stage_targets()
        if t.endswith(".csv") and Path(t).name.startswith(EVIDENCE_PREFIXES)
    ]


def all_targets():
    return stage_targets() + [
        f"{RESULTS}/claims.csv",
        f"{RESULTS}/report.ipynb",
        f"{RESULTS}/report.html",
    ]


for _warning in CONFIG_WARNINGS:
    logger.warning(f"Warning: {_warning}")
