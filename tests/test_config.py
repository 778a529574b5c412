"""The config schema: defaults, and clear errors naming the key and the fix."""

import copy

import pytest
import yaml
from conftest import REPO

from modality_gap.config import ConfigError, check_config, load_schema, validate_config

SCHEMA = load_schema(REPO / "schemas" / "config.schema.yaml")


def load(path):
    return yaml.safe_load((REPO / path).read_text())


def valid_demo():
    return validate_config(load("profiles/demo/demo.yaml"), SCHEMA)


def test_paper_and_demo_configs_validate():
    paper = validate_config(load("config.yaml"), SCHEMA)
    assert paper["datasets"]["coco_val2017"]["caption_index"] == 0
    demo = valid_demo()
    assert demo["datasets"]["shapes"]["mismatch_rate"] == 0.0


def test_defaults_fill_every_missing_key():
    cfg = validate_config({"datasets": {"s": {"source": "synthetic_captions"}}}, SCHEMA)
    assert cfg["paths"] == {"resources": "resources", "results": "results", "logs": "logs"}
    assert cfg["downloads"]["retries"] == 3
    assert cfg["datasets"]["s"]["n_train"] == 5000
    assert len(cfg["paper_embeddings"]["sha256"]) == 8


def _schema_props(node, path=""):
    """Yield (dotted path, property schema) for every property the schema declares."""
    for key, sub in (node.get("properties") or {}).items():
        yield f"{path}.{key}".lstrip("."), sub
        yield from _schema_props(sub, f"{path}.{key}")
    for branch in node.get("allOf", []):
        yield from _schema_props(branch.get("then", {}), path)
    ap = node.get("additionalProperties")
    if isinstance(ap, dict):
        yield from _schema_props(ap, f"{path}.<name>")


def test_every_key_has_a_type_description_and_default():
    missing = []
    for key, sub in _schema_props(SCHEMA):
        if key.endswith(".source") or key.endswith(".url") or key.endswith(".checksum"):
            continue  # the discriminator and the download table's required fields
        if "description" not in sub:
            missing.append(f"{key}: description")
        if "default" not in sub and "<name>" not in key.split(".")[-1]:
            if not key.startswith("downloads.files.<name>"):
                missing.append(f"{key}: default")
    assert not missing, missing


@pytest.mark.parametrize(
    "mutate, key, words",
    [
        (lambda c: c.update(bogus=1), "bogus", "remove or rename"),
        (lambda c: c["datasets"]["shapes"].update(n_trian=5), "datasets.shapes.n_trian", "remove or rename"),
        (lambda c: c["datasets"]["shapes"].update(n_train="many"), "datasets.shapes.n_train", "not of type"),
        (lambda c: c["datasets"]["shapes"].update(n_val=-5), "datasets.shapes.n_val", "minimum"),
        (lambda c: c["datasets"]["shapes"].update(mismatch_rate=1.5), "datasets.shapes.mismatch_rate", "maximum"),
        (lambda c: c["datasets"].update(x={"source": "nope"}), "datasets.x.source", "is not one of"),
        (lambda c: c["paper_embeddings"].update(systems=["clip", "dalle"]), "paper_embeddings.systems.1", "is not one of"),
        (lambda c: c.update(downloads={"files": {"a.zip": {"url": "x", "checksum": "md5:0"}}}), "downloads.files.a.zip", ""),
    ],
)
def test_bad_values_name_the_key(mutate, key, words):
    cfg = load("profiles/demo/demo.yaml")
    mutate(cfg)
    with pytest.raises(ConfigError) as err:
        validate_config(cfg, SCHEMA)
    msg = str(err.value)
    assert f"'{key}" in msg and words in msg and "Fix:" in msg


def test_missing_licensed_path_is_an_error_and_null_a_warning(tmp_path):
    cfg = valid_demo()
    cfg["datasets"]["ff"] = {"source": "fairface", "path": None}
    cfg = validate_config(cfg, SCHEMA)
    warnings = check_config(cfg)
    assert any("ff" in w and "datasets.ff.path" in w for w in warnings)

    cfg["datasets"]["ff"]["path"] = str(tmp_path / "not-there")
    with pytest.raises(ConfigError, match=r"datasets\.ff\.path.*does not exist.*Fix"):
        check_config(cfg)
    (tmp_path / "not-there").mkdir()
    check_config(cfg)


def test_a_dataset_needing_an_unlisted_download_is_an_error():
    cfg = validate_config({"datasets": {"c": {"source": "cifar10"}}}, SCHEMA)
    with pytest.raises(ConfigError, match=r"datasets\.c.*cifar-10-python\.tar\.gz.*downloads\.files"):
        check_config(cfg)


def test_validation_does_not_share_default_objects():
    a = validate_config({}, SCHEMA)
    a["downloads"]["mirrors"].append("/x")
    b = validate_config({}, SCHEMA)
    assert b["downloads"]["mirrors"] == []
    assert copy.deepcopy(b) == b


def models_config(**spec):
    cfg = valid_demo()
    cfg["models"]["m"] = {"kind": "open_clip", "weights": "random", **spec}
    return validate_config(cfg, SCHEMA)


def test_unknown_architecture_is_a_config_error_with_suggestions():
    with pytest.raises(ConfigError, match=r"models\.m\.arch.*unknown open_clip architecture 'ViT-B-23'.*ViT-B-32"):
        check_config(models_config(arch="ViT-B-23"))
    check_config(models_config(arch="TinyCLIP-ViT-64"))  # the workflow's own architecture


def test_openai_weights_need_quickgelu():
    with pytest.raises(ConfigError, match=r"models\.m\.arch.*QuickGELU.*ViT-B-32-quickgelu"):
        check_config(models_config(arch="ViT-B-32", weights="pretrained", pretrained="openai"))
    check_config(models_config(arch="ViT-B-32-quickgelu", weights="pretrained", pretrained="openai"))


def test_embed_targets_must_name_known_models_and_data_sets():
    cfg = valid_demo()
    cfg["embed"]["targets"] = {"nope": ["shapes"], "tiny_clip_random": ["nothere"]}
    with pytest.raises(ConfigError) as err:
        check_config(cfg)
    assert "embed.targets.nope" in str(err.value) and "unknown data set 'nothere'" in str(err.value)
