"""Configuration checking: the JSON schema (with defaults) plus the checks a schema cannot express.

Every problem is reported with the dotted key it concerns and how to fix it, before any job runs.
"""

from __future__ import annotations

import copy
import os
from pathlib import Path

import jsonschema
import yaml

from .sources import FAIRFACE_GENDERS, FAIRFACE_RACES, LICENSED_SOURCES, required_downloads
from .synthetic import ATTRIBUTES

__all__ = ["ConfigError", "load_schema", "validate_config", "check_config", "check_model_spec"]


class ConfigError(ValueError):
    """A configuration problem; the message names the key and the fix."""


def load_schema(path: str | os.PathLike) -> dict:
    """Read the YAML/JSON schema at ``path``."""
    with open(path, encoding="utf-8") as fh:
        return yaml.safe_load(fh)


def _with_defaults(validator_class):
    """Extend a jsonschema validator so that ``properties`` fill in each missing key's default."""
    validate_properties = validator_class.VALIDATORS["properties"]

    def set_defaults(validator, properties, instance, schema):
        if isinstance(instance, dict):
            for key, subschema in properties.items():
                if isinstance(subschema, dict) and "default" in subschema:
                    instance.setdefault(key, copy.deepcopy(subschema["default"]))
        yield from validate_properties(validator, properties, instance, schema)

    return jsonschema.validators.extend(validator_class, {"properties": set_defaults})


def _key_of(error: jsonschema.ValidationError) -> str:
    path = [str(p) for p in error.absolute_path]
    if error.validator == "additionalProperties" and isinstance(error.instance, dict):
        allowed = set(error.schema.get("properties", {}))
        extra = sorted(k for k in error.instance if k not in allowed)
        if extra:
            path.append(extra[0])
    return ".".join(path) if path else "<top level>"


def _fix_of(error: jsonschema.ValidationError) -> str:
    if error.validator == "additionalProperties":
        allowed = sorted(error.schema.get("properties", {}))
        return f"remove or rename it; the keys allowed here are: {', '.join(allowed)}"
    # the schema of the key itself (errors from items/enum point at the sub-schema already)
    s = error.schema
    wanted = []
    if "type" in s:
        t = s["type"]
        wanted.append(" or ".join(t) if isinstance(t, list) else t)
    if "enum" in s:
        wanted.append("one of " + ", ".join(map(str, s["enum"])))
    for kw, word in (("minimum", ">="), ("exclusiveMinimum", ">"), ("maximum", "<="), ("exclusiveMaximum", "<")):
        if kw in s:
            wanted.append(f"{word} {s[kw]}")
    if "pattern" in s:
        wanted.append(f"matching {s['pattern']}")
    fix = f"give a value that is {', '.join(wanted)}" if wanted else "correct the value"
    desc = s.get("description")
    if isinstance(desc, str):
        fix += f" (this key: {' '.join(desc.split())})"
    return fix + "; every key is documented in schemas/config.schema.yaml"


def _most_relevant(error: jsonschema.ValidationError) -> jsonschema.ValidationError:
    # Errors from allOf/if-then branches carry the specific failure in their context.
    best = jsonschema.exceptions.best_match([error] + list(error.context or []))
    while best.context:
        best = jsonschema.exceptions.best_match(best.context)
    return best


def validate_config(config: dict, schema: dict) -> dict:
    """Validate ``config`` in place against ``schema``, filling in defaults.

    Parameters
    ----------
    config : dict
        The loaded configuration; missing keys are set to the schema's defaults.
    schema : dict
        The JSON schema (``schemas/config.schema.yaml``).

    Returns
    -------
    dict
        ``config`` itself, completed with defaults.

    Raises
    ------
    ConfigError
        On the first violation (all violations are listed), naming the dotted key and the fix.
    """
    cls = _with_defaults(jsonschema.validators.validator_for(schema))
    validator = cls(schema)
    errors = sorted(validator.iter_errors(config), key=lambda e: list(map(str, e.absolute_path)))
    if errors:
        lines = []
        for err in errors:
            err = _most_relevant(err)
            lines.append(f"  - config key '{_key_of(err)}': {err.message}. Fix: {_fix_of(err)}")
        raise ConfigError("invalid configuration:\n" + "\n".join(lines))
    return config


def check_config(config: dict) -> list[str]:
    """Cross-key checks the schema cannot express.

    Parameters
    ----------
    config : dict
        A configuration already completed by :func:`validate_config`.

    Returns
    -------
    list of str
        Warnings to show the user (e.g. a licensed data set left out because no path is set).

    Raises
    ------
    ConfigError
        When a key refers to something that does not exist.
    """
    problems: list[str] = []
    warnings: list[str] = []
    files = config["downloads"]["files"]
    for name, ds in config["datasets"].items():
        for fname in required_downloads(ds["source"], ds):
            if fname not in files:
                problems.append(
                    f"  - config key 'datasets.{name}': it needs the download '{fname}', which is not in "
                    f"'downloads.files'. Fix: add downloads.files.{fname} with its url and checksum "
                    "(config.yaml lists the public ones)."
                )
    for name, ds in config["datasets"].items():
        if ds["source"] in LICENSED_SOURCES:
            path = ds.get("path")
            if path is None:
                warnings.append(
                    f"data set '{name}' ({ds['source']}) is left out: no local copy is configured. "
                    f"Obtain it (README, 'Licensed data sets') and set datasets.{name}.path."
                )
            elif not Path(path).expanduser().is_dir():
                problems.append(
                    f"  - config key 'datasets.{name}.path': folder '{path}' does not exist. Fix: point it at "
                    f"your local copy of {ds['source']} (README, 'Licensed data sets'), or set it to null "
                    "to leave this data set out."
                )
    if "noise" in config["datasets"]:
        problems.append(
            "  - config key 'datasets.noise': the name 'noise' is reserved for the paper's random-noise inputs. "
            "Fix: rename the data set."
        )
    archs = known_architectures()
    for name, spec in config.get("models", {}).items():
        problems.extend(f"  - {p}" for p in check_model_spec(name, spec, archs))
    for model, datasets in config.get("embed", {}).get("targets", {}).items():
        if model not in config.get("models", {}):
            problems.append(
                f"  - config key 'embed.targets.{model}': no model of that name. Fix: define models.{model} "
                f"or remove the entry (models: {', '.join(config.get('models', {})) or 'none'})."
            )
        for ds in datasets:
            if ds != "noise" and ds not in config["datasets"]:
                problems.append(
                    f"  - config key 'embed.targets.{model}': unknown data set '{ds}'. Fix: use one of "
                    f"{', '.join(['noise', *config['datasets']])}."
                )
    problems.extend(f"  - {p}" for p in check_implications(config))
    for i, mirror in enumerate(config["downloads"]["mirrors"]):
        if not Path(mirror).expanduser().is_dir():
            problems.append(
                f"  - config key 'downloads.mirrors[{i}]': folder '{mirror}' does not exist. "
                "Fix: remove it or create it."
            )
    if problems:
        raise ConfigError("invalid configuration:\n" + "\n".join(problems))
    return warnings


#: data set sources whose rows are image-caption pairs (usable as a gap reference)
CAPTION_SOURCES = ("synthetic_captions", "coco_captions")
#: data set sources that are generated (their group labels are synthetic stand-ins)
SYNTHETIC_SOURCES = ("synthetic_captions", "synthetic_attribute")
#: categories of the paper's 21 denigration prompts, in order (modality_gap.fairness.DENIGRATION_CLASSES;
#: kept here so that checking a config needs no scipy)
PAPER_CLASS_CATEGORIES = ("human",) * 14 + ("non-human",) * 4 + ("crime-related",) * 3
#: attributes (attr_<name> columns) each classification source provides
SOURCE_ATTRIBUTES = {
    "synthetic_attribute": tuple(ATTRIBUTES),
    "fairface": ("race", "gender", "age"),
}


def check_implications(config: dict) -> list[str]:
    """Cross-key problems of ``implications`` (zero-shot and fairness), as config-key messages."""
    problems: list[str] = []
    datasets, models = config["datasets"], config.get("models", {})
    section = config.get("implications", {})

    def need_model(key: str, name: str) -> None:
        if name not in models:
            problems.append(f"config key '{key}': no model '{name}'. Fix: use one of {', '.join(models) or 'none'}.")
        elif models[name]["kind"] != "open_clip":
            problems.append(f"config key '{key}': model '{name}' has no text tower (kind {models[name]['kind']}). "
                            "Fix: use an open_clip model.")

    def need_dataset(key: str, name: str, captions: bool) -> None:
        want = "a captions data set" if captions else "a classification data set"
        if name not in datasets:
            problems.append(f"config key '{key}': unknown data set '{name}'. Fix: use {want} of "
                            f"{', '.join(datasets) or 'none'}.")
        elif (datasets[name]["source"] in CAPTION_SOURCES) != captions:
            choices = [n for n, d in datasets.items() if (d["source"] in CAPTION_SOURCES) == captions]
            problems.append(f"config key '{key}': data set '{name}' ({datasets[name]['source']}) is not {want}. "
                            f"Fix: use one of {', '.join(choices) or 'none (define one)'}.")

    zs = section.get("zero_shot", {})
    if zs.get("model") is not None:
        need_model("implications.zero_shot.model", zs["model"])
        if not zs.get("tasks"):
            problems.append("config key 'implications.zero_shot.tasks': empty while a model is set. Fix: list "
                            "classification data sets, or set model to null.")
        for i, task in enumerate(zs.get("tasks", [])):
            need_dataset(f"implications.zero_shot.tasks[{i}]", task, captions=False)
        if zs.get("reference") is not None:
            need_dataset("implications.zero_shot.reference", zs["reference"], captions=True)
        elif zs.get("gap_vector") == "reference":
            problems.append("config key 'implications.zero_shot.reference': null, but gap_vector is 'reference'. "
                            "Fix: name a captions data set, or set gap_vector to 'task'.")
        half = zs.get("lambda_limit", 1.0) / zs.get("lambda_step", 0.05)
        if abs(half - round(half)) > 1e-9:
            problems.append("config key 'implications.zero_shot.lambda_step': it must divide lambda_limit "
                            f"({zs.get('lambda_limit')}). Fix: e.g. lambda_step 0.05 with lambda_limit 1.0.")
    fair = section.get("fairness", {})
    if fair.get("model") is not None:
        need_model("implications.fairness.model", fair["model"])
        if fair.get("dataset") is None:
            problems.append("config key 'implications.fairness.dataset': null while a model is set. Fix: name a "
                            "group-labelled classification data set (FairFace), or set model to null.")
        else:
            need_dataset("implications.fairness.dataset", fair["dataset"], captions=False)
            source = datasets.get(fair["dataset"], {}).get("source")
            attrs = SOURCE_ATTRIBUTES.get(source)
            if source is not None and attrs is None:
                problems.append(f"config key 'implications.fairness.dataset': data set '{fair['dataset']}' "
                                f"({source}) has no group labels. Fix: use a source with attributes "
                                f"({', '.join(SOURCE_ATTRIBUTES)}).")
            elif attrs is not None and fair.get("group_attribute") not in attrs:
                problems.append(f"config key 'implications.fairness.group_attribute': '{fair.get('group_attribute')}' "
                                f"is not an attribute of {source}. Fix: use one of {', '.join(attrs)}.")
        if fair.get("reference") is None:
            problems.append("config key 'implications.fairness.reference': null while a model is set. Fix: name the "
                            "captions data set whose gap vector shifts the images (COCO val in the paper).")
        else:
            need_dataset("implications.fairness.reference", fair["reference"], captions=True)
        classes = fair.get("classes")
        target = fair.get("target_category")
        cats = [c["category"] for c in classes] if classes is not None else list(PAPER_CLASS_CATEGORIES)
        for cat in [target, *fair.get("harmful", [])]:
            if cat not in cats:
                where = "classes" if classes is not None else "target_category' / 'implications.fairness.harmful"
                problems.append(f"config key 'implications.fairness.{where}': no class of category '{cat}'"
                                + (" among the paper's 21 (human, non-human, crime-related)" if classes is None else "")
                                + ". Fix: give every class a category among target_category and harmful.")
        if classes is not None:
            names = [c["name"] for c in classes]
            if len(set(names)) != len(names):
                problems.append("config key 'implications.fairness.classes': class names repeat. Fix: make them unique.")
        ds = datasets.get(fair.get("dataset") or "", {})
        n_data = {"fairface": len(FAIRFACE_RACES) * len(FAIRFACE_GENDERS),
                  "synthetic_attribute": len(ATTRIBUTES.get(ds.get("attribute", "shape"), ()))}.get(ds.get("source"))
        n_target = cats.count(target)
        if n_data is not None and n_target and n_target != n_data:
            problems.append(
                f"config key 'implications.fairness.classes': {n_target} classes of category '{target}', but data set "
                f"'{fair['dataset']}' has {n_data} classes, which map in order onto them. Fix: list one '{target}' "
                "class per data set class, in the data set's order"
                + (" (classes: null means the paper's 21 FairFace prompts)." if classes is None else "."))
        labels = [s["label"] for s in fair.get("settings", [])]
        if len(set(labels)) != len(labels):
            problems.append("config key 'implications.fairness.settings': labels repeat. Fix: make them unique.")
    return problems


def known_architectures() -> set[str]:
    """open_clip's built-in architectures and the workflow's own (``model_configs/*.json``).

    Read from the JSON files on disk, without importing open_clip (and torch) at DAG-build time.
    Empty when open_clip is not installed (then the extraction job itself reports it).
    """
    import importlib.util

    names = {p.stem for p in (Path(__file__).parent / "model_configs").glob("*.json")}
    spec = importlib.util.find_spec("open_clip")
    if spec is None or not spec.submodule_search_locations:
        return set()
    for folder in spec.submodule_search_locations:
        names |= {p.stem for p in (Path(folder) / "model_configs").glob("*.json")}
    return names


def check_model_spec(name: str, spec: dict, architectures: set[str] | None = None) -> list[str]:
    """Problems of a model spec that the schema cannot see; each names the key and the fix.

    ``architectures``: the known open_clip architecture names (default :func:`known_architectures`).
    """
    problems = []
    key = f"models.{name}"
    if spec["kind"] == "open_clip":
        archs = known_architectures() if architectures is None else architectures
        if spec.get("arch") and archs and spec["arch"] not in archs:
            import difflib

            close = difflib.get_close_matches(spec["arch"], sorted(archs), n=3)
            problems.append(
                f"config key '{key}.arch': unknown open_clip architecture '{spec['arch']}'. Fix: use one of "
                f"open_clip.list_models() ({', '.join(close) or 'e.g. ViT-B-32-quickgelu'}?) or add a JSON config "
                "to scripts/modality_gap/model_configs/."
            )
        if not spec.get("arch"):
            problems.append(f"config key '{key}.arch': missing. Fix: give an open_clip architecture name (e.g. ViT-B-32-quickgelu).")
        if spec["weights"] == "pretrained" and not spec.get("pretrained"):
            problems.append(f"config key '{key}.pretrained': missing. Fix: weights: pretrained needs an open_clip tag (e.g. openai).")
        if spec.get("pretrained") == "openai" and not str(spec.get("arch", "")).endswith("-quickgelu"):
            problems.append(
                f"config key '{key}.arch': OpenAI's weights were trained with QuickGELU; '{spec.get('arch')}' uses "
                f"GELU and would load them silently into the wrong activation. Fix: use '{spec.get('arch')}-quickgelu'."
            )
    if spec["weights"] == "checkpoint" and not spec.get("checkpoint"):
        problems.append(f"config key '{key}.checkpoint': missing. Fix: weights: checkpoint needs a state-dict file.")
    return problems
