"""Section 5 end to end on arrays: one zero-shot task, Tables 1 and 5, the denigration settings, the
synthetic attribute task, and the configuration checks of ``implications``."""

import copy

import numpy as np
import pandas as pd
import pytest
import yaml
from conftest import REPO
from scipy.stats import chi2_contingency
from sklearn.metrics import accuracy_score, roc_auc_score

from modality_gap import fairness as fair
from modality_gap import zeroshot as zs
from modality_gap.config import ConfigError, check_config, load_schema, validate_config
from modality_gap.shift import default_lambdas
from modality_gap.synthetic import ATTRIBUTES, synthetic_attribute_table

SCHEMA = load_schema(REPO / "schemas" / "config.schema.yaml")
LAMBDAS = default_lambdas(1.0, 0.05)


@pytest.fixture(scope="module")
def task():
    return zs.synthetic_classification_embeddings(n_per_class=60, n_classes=5, d=24, seed=3, class_tilt=0.3)


def test_evaluate_task_matches_sklearn_and_scipy(task):
    curve, s = zs.evaluate_task(task["image"], task["labels"], task["text"], task["text_labels"], 5, LAMBDAS)
    w = zs.class_embeddings(task["text"], task["text_labels"], 5)
    pred = np.argmax(zs.zero_shot_scores(task["image"], w), axis=1)
    assert s["best"]["metric_original"] == pytest.approx(accuracy_score(task["labels"], pred))
    assert curve.loc[curve["lam"] == 0.0, "metric"].item() == pytest.approx(accuracy_score(task["labels"], pred))
    assert s["best"]["metric_best"] == pytest.approx(curve["metric"].max())
    # the best shift's predictions, recomputed directly, give Table 5's counts
    xs, cs = zs.shift_task_embeddings(task["image"], w, s["best"]["lam"])
    after = np.argmax(zs.zero_shot_scores(xs, cs), axis=1) == task["labels"]
    before = pred == task["labels"]
    assert s["chi2"]["accuracy_after"] == pytest.approx(after.mean())
    table = [[before.sum(), (~before).sum()], [after.sum(), (~after).sum()]]
    if s["best"]["lam"] != 0.0:
        stat, p, _, _ = chi2_contingency(np.array(table), correction=False)
        assert s["chi2"]["p_value"] == pytest.approx(p) and s["chi2"]["statistic"] == pytest.approx(stat)
    assert s["mcnemar"]["b"] == int(np.sum(before & ~after)) and s["mcnemar"]["c"] == int(np.sum(~before & after))
    assert len(s["held_out"]["lam"]) == 2 and 0.0 <= s["held_out"]["metric_shifted"] <= 1.0


def test_evaluate_task_roc_auc_has_no_correctness_test():
    t = zs.synthetic_classification_embeddings(n_per_class=80, n_classes=2, d=16, seed=1, noise=3.0)
    _, s = zs.evaluate_task(t["image"], t["labels"], t["text"], t["text_labels"], 2, LAMBDAS, metric="roc_auc")
    w = zs.class_embeddings(t["text"], t["text_labels"], 2)
    scores = zs.zero_shot_scores(t["image"], w)
    assert s["best"]["metric_original"] == pytest.approx(roc_auc_score(t["labels"], scores[:, 1] - scores[:, 0]))
    assert s["chi2"] is None and s["mcnemar"] is None
    assert zs.table5({"memes": s}).empty


def test_evaluate_task_reference_gap_vector(task):
    ref = fair.synthetic_fairness_embeddings(n_per_group=4, d=24, seed=0, n_reference=50)
    pairs = (ref["reference_image"], ref["reference_text"])
    curve, s = zs.evaluate_task(task["image"], task["labels"], task["text"], task["text_labels"], 5, LAMBDAS,
                                gap_vector="reference", reference=pairs)
    g = pairs[0].mean(axis=0) - pairs[1].mean(axis=0)
    assert s["gap_vector_norm"] == pytest.approx(np.linalg.norm(g))
    # the gap on the axis is the reference pairs' gap: at lambda 0 their centroid distance
    assert curve.loc[curve["lam"] == 0.0, "gap_after"].item() == pytest.approx(np.linalg.norm(g))
    with pytest.raises(ValueError, match="reference pairs"):
        zs.evaluate_task(task["image"], task["labels"], task["text"], task["text_labels"], 5, LAMBDAS,
                         gap_vector="reference")


def test_tables_carry_paper_values(task):
    _, s = zs.evaluate_task(task["image"], task["labels"], task["text"], task["text_labels"], 5, LAMBDAS)
    t1 = zs.table1({"cifar10": {**s, "paper_name": "CIFAR10"}, "mine": s})
    assert t1.loc[0, "paper_original"] == 0.9013 and np.isnan(t1.loc[1, "paper_original"])
    assert (t1["modified"] >= t1["original"]).all()
    t5 = zs.table5({"cifar10": {**s, "paper_name": "CIFAR10"}})
    assert t5.loc[0, "paper_p_value"] == 3.476e-06


def test_denigration_settings_reach_the_requested_gaps():
    s = fair.synthetic_fairness_embeddings(n_per_group=40, seed=2)
    ref = (s["reference_image"], s["reference_text"])
    original = fair.shifted_gap(ref[0], None, 0.0, reference_text=ref[1])
    settings = [("original", None), ("wider", original + 0.15), ("closed", 0.1)]
    long = fair.denigration_settings(s["image"], s["class_emb"], s["class_categories"], s["groups"],
                                     s["target_labels"], *ref, settings)
    reached = long.groupby("setting", sort=False)["gap"].first()
    assert reached["original"] == pytest.approx(original)
    assert reached["wider"] == pytest.approx(original + 0.15, abs=1e-8)
    assert reached["closed"] == pytest.approx(0.1, abs=1e-8)
    delta = long.groupby("setting", sort=False)["delta"].first()
    assert delta["original"] == 0.0 and delta["wider"] < 0.0 < delta["closed"]
    # the "original" rows are the plain denigration table
    plain = fair.denigration_table(s["image"], s["class_emb"], s["class_categories"], s["groups"], s["target_labels"])
    got = long[long["setting"] == "original"][plain.columns].reset_index(drop=True)
    pd.testing.assert_frame_equal(got, plain)


def test_synthetic_attribute_task_is_labelled_by_its_attribute():
    samples, images, info = synthetic_attribute_table(n=30, attribute="color", image_size=32, seed=4)
    assert info["classes"] == list(ATTRIBUTES["color"]) and info["task"] == "classification"
    assert [info["classes"][k] for k in samples["label"]] == samples["attr_color"].tolist()
    rel, img = next(images)
    assert rel == samples["image"].iat[0] and img.size == (32, 32)
    again, _, _ = synthetic_attribute_table(n=30, attribute="color", image_size=32, seed=4)
    pd.testing.assert_frame_equal(samples, again)
    with pytest.raises(ValueError, match="attribute must be one of"):
        synthetic_attribute_table(n=3, attribute="texture")


def _demo():
    return yaml.safe_load((REPO / "profiles/demo/demo.yaml").read_text())


@pytest.mark.parametrize(
    "mutate, words",
    [
        (lambda c: c["implications"]["zero_shot"].update(model="resnet18_random"), "no text tower"),
        (lambda c: c["implications"]["zero_shot"].update(tasks=["shapes"]), "is not a classification data set"),
        (lambda c: c["implications"]["zero_shot"].update(tasks=["nope"]), "unknown data set 'nope'"),
        (lambda c: c["implications"]["zero_shot"].update(reference=None, gap_vector="reference"),
         "gap_vector is 'reference'"),
        (lambda c: c["implications"]["zero_shot"].update(lambda_step=0.3), "must divide lambda_limit"),
        (lambda c: c["implications"]["fairness"].update(dataset="digits"), "has no group labels"),
        (lambda c: c["implications"]["fairness"].update(group_attribute="race"), "is not an attribute"),
        (lambda c: c["implications"]["fairness"].update(reference="digits"), "is not a captions data set"),
        (lambda c: c["implications"]["fairness"].update(harmful=["stand-in A", "missing"]),
         "no class of category 'missing'"),
        (lambda c: c["implications"]["fairness"]["classes"].pop(0), "5 classes of category 'shape'"),
        (lambda c: c["implications"]["fairness"].update(classes=None), "the paper's 21"),
    ],
)
def test_implications_config_errors_name_the_key(mutate, words):
    cfg = _demo()
    mutate(cfg)
    with pytest.raises(ConfigError, match=words) as err:
        check_config(validate_config(copy.deepcopy(cfg), SCHEMA))
    assert "config key 'implications." in str(err.value) and "Fix:" in str(err.value)


def test_paper_config_evaluates_the_papers_tasks_and_classes():
    paper = validate_config(yaml.safe_load((REPO / "config.yaml").read_text()), SCHEMA)
    zs_cfg, fair_cfg = paper["implications"]["zero_shot"], paper["implications"]["fairness"]
    assert zs_cfg["model"] == "clip_vit_b16" and zs_cfg["gap_vector"] == "task"
    assert {paper["datasets"][t]["source"] for t in zs_cfg["tasks"]} == set(zs.PAPER_TASK_NAMES)
    assert fair_cfg["model"] == "clip_vit_b32" and fair_cfg["classes"] is None  # the paper's 21 prompts
    assert [s["gap"] for s in fair_cfg["settings"]] == [None, 0.97, 0.07, 1.29]


def test_config_knows_the_papers_prompt_categories():
    from modality_gap.config import PAPER_CLASS_CATEGORIES

    assert PAPER_CLASS_CATEGORIES == tuple(c[2] for c in fair.DENIGRATION_CLASSES)
