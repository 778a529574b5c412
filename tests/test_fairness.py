"""Tests for ``modality_gap.fairness`` (Section 5.2: Tables 2 and 4, Appendix B.2)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from modality_gap import fairness as fx
from modality_gap import gap
from modality_gap.figures_implications import plot_denigration, table_figure

PAPER_EMBEDDINGS = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "paper_embeddings"
CLIP_FILE = PAPER_EMBEDDINGS / "features_clip.npy"


def _unit(a: np.ndarray) -> np.ndarray:
    return a / np.linalg.norm(a, axis=1, keepdims=True)


@pytest.fixture(scope="module")
def synth():
    return fx.synthetic_fairness_embeddings(n_per_group=40, groups=("A", "B", "C"), d=20, seed=1)


@pytest.fixture(scope="module")
def reference(synth):
    rx, ry = synth["reference_image"], synth["reference_text"]
    return rx, ry, gap.gap_vector(rx, ry)


# ---------------------------------------------------------------------- shift and solve
def test_shift_images_zero_is_identity_and_definition(synth, reference):
    _, _, g = reference
    x = synth["image"] * 3.0
    np.testing.assert_allclose(fx.shift_images(x, g, 0.0), _unit(x), atol=1e-15)
    np.testing.assert_allclose(fx.shift_images(x, g, -0.2), _unit(_unit(x) + 0.2 * g), atol=1e-12)


def test_shifted_gap_at_zero_is_reference_gap(reference):
    rx, ry, g = reference
    expected = gap.centroid_distance(rx, ry)
    assert fx.shifted_gap(rx, g, 0.0, ry) == pytest.approx(expected, abs=1e-12)
    assert fx.shifted_gap(rx, g, 0.0) == pytest.approx(expected, abs=1e-12)  # texts implied by g
    assert fx.shifted_gap(rx, None, 0.0, ry) == pytest.approx(expected, abs=1e-12)


@pytest.mark.parametrize("target", [0.97, 0.07, 1.29, 0.5, 0.01])
def test_solved_delta_reaches_requested_gap(reference, target):
    rx, ry, g = reference
    delta = fx.solve_delta(rx, g, target, reference_text=ry)
    shifted = fx.shift_images(rx, g, delta)
    assert gap.centroid_distance(shifted, ry) == pytest.approx(target, abs=1e-6)
    # without the texts, the text centroid is implied by the gap vector: same solution
    assert fx.solve_delta(rx, g, target) == pytest.approx(delta, abs=1e-9)
    original = gap.centroid_distance(rx, ry)
    assert np.sign(delta) == np.sign(original - target)  # widen: delta < 0, narrow: delta > 0
    # the images have not been pushed past the texts
    assert gap.gap_vector(shifted, ry) @ g >= -1e-9


def test_solve_delta_negative_target_is_the_crossed_side(reference):
    rx, ry, g = reference
    delta = fx.solve_delta(rx, g, -0.3, ry)
    shifted = fx.shift_images(rx, g, delta)
    assert gap.centroid_distance(shifted, ry) == pytest.approx(0.3, abs=1e-6)
    assert gap.gap_vector(shifted, ry) @ g < 0


def test_solve_delta_errors(reference):
    rx, ry, g = reference
    with pytest.raises(ValueError, match="target_gap=1.99 is unreachable"):
        fx.solve_delta(rx, g, 1.99, ry)
    with pytest.raises(ValueError, match="target_gap=0.0 is unreachable .* jumps from"):
        fx.solve_delta(rx, g, 0.0, ry)  # the remaining gap keeps an orthogonal part (~0.002)
    with pytest.raises(ValueError, match="target_gap must be finite"):
        fx.solve_delta(rx, g, np.nan, ry)
    with pytest.raises(ValueError, match="gap_ref is the zero vector"):
        fx.solve_delta(rx, np.zeros_like(g), 0.5, ry)
    with pytest.raises(ValueError, match="gap_ref is required"):
        fx.solve_delta(rx, None, 0.5)
    with pytest.raises(ValueError, match=r"gap_ref must have shape \(20,\)"):
        fx.solve_delta(rx, g[:5], 0.5, ry)
    with pytest.raises(ValueError, match="same dimension"):
        fx.solve_delta(rx, g, 0.5, ry[:, :5])


@pytest.mark.skipif(not CLIP_FILE.exists(), reason=f"released CLIP embeddings not found at {CLIP_FILE}")
def test_paper_delta_minus_0_2_widens_coco_gap_like_table2():
    x, y = np.load(CLIP_FILE).astype(np.float64)
    g = gap.gap_vector(x, y)
    # 500 released COCO pairs: 0.85 -> 0.975 (paper, 5k pairs: 0.82 -> 0.97 at delta = -0.2)
    assert fx.shifted_gap(x, g, 0.0, y) == pytest.approx(0.851, abs=2e-3)
    assert fx.shifted_gap(x, g, -0.2, y) == pytest.approx(0.975, abs=2e-3)


# ---------------------------------------------------------------------- denigration table
CATS = ["human", "human", "human", "human", "non-human", "crime-related"]


def _hand_example():
    """6 classes on the axes of R^6; each image is (almost) one axis, so its top-1 is known."""
    class_emb = np.eye(6)
    top1 = np.array([0, 4, 5, 1, 2, 4, 3, 3])  # A: 0,4,5,1  B: 2,4,3,3
    image = np.eye(6)[top1] + 0.01  # the offset keeps every argmax but breaks nothing
    groups = ["A"] * 4 + ["B"] * 4
    target = np.array([0, 1, 1, 1, 2, 3, 3, 2])
    # image 1 (A, true 1): top-1 non-human; among the human classes its best is 0 (tie -> 0)
    image[1] += 0.5 * np.eye(6)[1]
    return image, class_emb, groups, target


def _value(table, group, quantity, category):
    sel = table[(table.group == group) & (table.quantity == quantity) & (table.category == category)]
    assert len(sel) == 1
    return float(sel["value"].iloc[0])


def test_denigration_table_hand_example():
    image, class_emb, groups, target = _hand_example()
    t = fx.denigration_table(image, class_emb, CATS, groups, target)
    assert list(t.columns) == ["group", "n", "quantity", "category", "value"]
    assert list(dict.fromkeys(t.group)) == ["A", "B", "all"]
    assert _value(t, "A", "share", "non-human") == 0.25
    assert _value(t, "A", "share", "crime-related") == 0.25
    assert _value(t, "A", "share", "harmful") == 0.5
    assert _value(t, "B", "share", "non-human") == 0.25
    assert _value(t, "B", "share", "crime-related") == 0.0
    assert _value(t, "all", "share", "harmful") == 3 / 8
    # A: preds 0,4,5,1 vs truth 0,1,1,1 -> 2/4 ; B: preds 2,4,3,3 vs 2,3,3,2 -> 2/4
    assert _value(t, "A", "accuracy", "all classes") == 0.5
    assert _value(t, "B", "accuracy", "all classes") == 0.5
    # restricted to the human classes, image 1 (true 1) is predicted 1 -> A gets 3/4
    assert _value(t, "A", "accuracy", "target classes") == 0.75
    assert set(t.loc[t.group == "A", "n"]) == {4} and set(t.loc[t.group == "all", "n"]) == {8}


def test_denigration_shares_sum_correctly(synth):
    t = fx.denigration_table(synth["image"], synth["class_emb"], synth["class_categories"],
                             synth["groups"], synth["target_labels"])
    share = t[t.quantity == "share"].pivot(index="group", columns="category", values="value")
    cats = list(dict.fromkeys(synth["class_categories"]))
    np.testing.assert_allclose(share[cats].sum(axis=1), 1.0, atol=1e-12)
    np.testing.assert_allclose(share["harmful"], share["crime-related"] + share["non-human"],
                               atol=1e-12)
    n = t[t.quantity == "share"].groupby("group")["n"].first()
    groups = ["A", "B", "C"]
    pooled = (share.loc[groups, "harmful"] * n[groups]).sum() / n[groups].sum()
    assert share.loc["all", "harmful"] == pytest.approx(pooled, abs=1e-12)
    wide = fx.denigration_wide(t)
    assert list(wide.index) == ["A", "B", "C", "all"]
    assert list(wide.columns) == ["crime-related", "non-human", "Sum", "accuracy"]
    np.testing.assert_allclose(wide["Sum"], wide["crime-related"] + wide["non-human"], atol=1e-9)
    np.testing.assert_allclose(wide["Sum"], 100 * share.loc[wide.index, "harmful"], atol=1e-9)


def test_denigration_errors():
    image, class_emb, groups, target = _hand_example()
    bad_target = target.copy()
    bad_target[0] = 4
    with pytest.raises(ValueError, match=r"target_labels\[0\] = 4 is a harmful class"):
        fx.denigration_table(image, class_emb, CATS, groups, bad_target)
    with pytest.raises(ValueError, match=r"target_labels must lie in \[0, 6\)"):
        fx.denigration_table(image, class_emb, CATS, groups, np.r_[target[:-1], 6])
    with pytest.raises(ValueError, match="class_categories must have one entry per class"):
        fx.denigration_table(image, class_emb, CATS[:-1], groups, target)
    with pytest.raises(ValueError, match="groups must have one entry per image"):
        fx.denigration_table(image, class_emb, CATS, groups[:-1], target)
    with pytest.raises(ValueError, match="target_labels must have length 8"):
        fx.denigration_table(image, class_emb, CATS, groups, target[:-1])
    with pytest.raises(ValueError, match="harmful category 'violent' is not in class_categories"):
        fx.denigration_table(image, class_emb, CATS, groups, target, harmful=("violent",))
    with pytest.raises(ValueError, match="target_labels must be 1-D"):
        fx.denigration_table(image, class_emb, CATS, groups, np.c_[target, target])
    with pytest.raises(ValueError, match="same embedding dimension"):
        fx.denigration_table(image, (class_emb + 0.1)[:, :5], CATS, groups, target)
    nan_image = image.copy()
    nan_image[3, 0] = np.nan
    with pytest.raises(ValueError, match=r"image contains non-finite values \(NaN or inf\) at row 3"):
        fx.denigration_table(nan_image, class_emb, CATS, groups, target)
    with pytest.raises(ValueError, match="reserved name 'all'"):
        fx.denigration_table(image, class_emb, CATS, ["all"] * 8, target)


def test_paper_prompts():
    assert len(fx.DENIGRATION_CLASSES) == 21
    cats = [c for _, _, c in fx.DENIGRATION_CLASSES]
    assert cats.count(fx.TARGET_CATEGORY) == 14
    assert cats.count("non-human") == 4 and cats.count("crime-related") == 3
    assert ("Black_Female", "a photo of a black woman", "human") in fx.DENIGRATION_CLASSES
    assert ("East Asian_Male", "a photo of an east asian man", "human") in fx.DENIGRATION_CLASSES


# ---------------------------------------------------------------------- synthetic fixture, figure
def test_synthetic_fixture_is_labelled_and_seeded(synth):
    assert synth["synthetic"] is True
    assert synth["classes"]["synthetic"].all() and synth["samples"]["synthetic"].all()
    k = 2 * 3 + 7
    assert synth["class_emb"].shape == (k, 20) and synth["image"].shape == (120, 20)
    assert list(synth["classes"]["category"]).count("human") == 6
    assert set(synth["samples"]["group"]) == {"A", "B", "C"}
    cats = np.asarray(synth["class_categories"])
    assert (cats[synth["target_labels"]] == "human").all()
    again = fx.synthetic_fairness_embeddings(n_per_group=40, groups=("A", "B", "C"), d=20, seed=1)
    np.testing.assert_array_equal(again["image"], synth["image"])
    other = fx.synthetic_fairness_embeddings(n_per_group=40, groups=("A", "B", "C"), d=20, seed=2)
    assert not np.allclose(other["image"], synth["image"])
    with pytest.raises(ValueError, match=r"d must be an integer >= len\(groups\) \+ 12"):
        fx.synthetic_fairness_embeddings(groups=("A", "B", "C"), d=10)
    with pytest.raises(ValueError, match="distinct"):
        fx.synthetic_fairness_embeddings(groups=("A", "A"))


def test_denigration_figures_render(synth, reference, tmp_path):
    rx, ry, g = reference
    tables = {}
    for label, target in (("original", None), ("wider", 1.1), ("narrower", 0.3)):
        delta = 0.0 if target is None else fx.solve_delta(rx, g, target, ry)
        tables[label] = fx.denigration_table(
            fx.shift_images(synth["image"], g, delta), synth["class_emb"],
            synth["class_categories"], synth["groups"], synth["target_labels"])
    fig = plot_denigration(tables)
    assert len(fig.axes) == 3
    fig.savefig(tmp_path / "denigration.png", dpi=40)
    table_figure(fx.denigration_wide(tables["original"]), "Table 2").savefig(
        tmp_path / "t2.png", dpi=40)
    with pytest.raises(ValueError, match="no shares for category 'violent'"):
        plot_denigration(tables, categories=["violent"])
    with pytest.raises(ValueError, match="tables is empty"):
        plot_denigration({})
    assert isinstance(tables["original"], pd.DataFrame)
