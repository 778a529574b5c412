"""Tests for ``modality_gap.zeroshot`` (Section 5.1: Table 1, Figure 10, Table 5)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import accuracy_score, roc_auc_score

from modality_gap import gap, shift, zeroshot as zs
from modality_gap.figures_implications import format_cell, plot_metric_vs_gap, table_figure


def _unit(a: np.ndarray) -> np.ndarray:
    return a / np.linalg.norm(a, axis=1, keepdims=True)


@pytest.fixture(scope="module")
def task():
    s = zs.synthetic_classification_embeddings(n_per_class=40, n_classes=6, d=16, seed=3)
    s["class_emb"] = zs.class_embeddings(s["text"], s["text_labels"], 6)
    return s


@pytest.fixture(scope="module")
def binary_task():
    s = zs.synthetic_classification_embeddings(n_per_class=60, n_classes=2, d=12, seed=5, noise=3.0)
    s["class_emb"] = zs.class_embeddings(s["text"], s["text_labels"], 2)
    return s


# ---------------------------------------------------------------------- classifier
def test_class_embeddings_average_normalised_prompts_and_renormalise():
    rng = np.random.default_rng(0)
    text = rng.standard_normal((9, 5)) * rng.uniform(0.1, 10.0, (9, 1))  # arbitrary norms
    labels = np.array([0, 1, 2, 0, 1, 2, 0, 1, 2])
    w = zs.class_embeddings(text, labels, 3)
    assert w.shape == (3, 5)
    np.testing.assert_allclose(np.linalg.norm(w, axis=1), 1.0, atol=1e-12)
    u = _unit(text)
    for c in range(3):
        m = u[labels == c].mean(axis=0)
        np.testing.assert_allclose(w[c], m / np.linalg.norm(m), atol=1e-12)
    # rescaling a prompt does not change anything (each prompt is normalised first)
    text2 = text.copy()
    text2[0] *= 100.0
    np.testing.assert_allclose(zs.class_embeddings(text2, labels, 3), w, atol=1e-12)


@pytest.mark.parametrize(
    "labels, n_classes, match",
    [
        ([0, 1, 3], 3, "text_labels must lie in"),
        ([0, 1, -1], 3, "text_labels must lie in"),
        ([0, 0, 1], 3, "no prompt for classes \\[2\\]"),
        ([0, 1], 2, "text_labels must have length 3"),
        ([0.0, 1.5, 2.0], 3, "text_labels must hold integers"),
        ([0, 1, 2], 0, "n_classes must be a positive integer"),
    ],
)
def test_class_embeddings_bad_labels(labels, n_classes, match):
    text = np.eye(3)
    with pytest.raises(ValueError, match=match):
        zs.class_embeddings(text, labels, n_classes)


def test_class_embeddings_nan_text():
    text = np.eye(3)
    text[1, 2] = np.nan
    with pytest.raises(ValueError, match=r"text contains non-finite values \(NaN or inf\) at row 1"):
        zs.class_embeddings(text, [0, 1, 2], 3)


def test_zero_shot_scores_are_cosines():
    rng = np.random.default_rng(1)
    x = rng.standard_normal((7, 4)) * 3.0
    c = rng.standard_normal((3, 4))
    expected = _unit(x) @ _unit(c).T
    np.testing.assert_allclose(zs.zero_shot_scores(x, c), expected, atol=1e-12)
    with pytest.raises(ValueError, match="same embedding dimension"):
        zs.zero_shot_scores(x, c[:, :3])


def test_top1_accuracy_matches_sklearn():
    rng = np.random.default_rng(2)
    scores = rng.standard_normal((200, 7))
    labels = rng.integers(0, 7, 200)
    expected = accuracy_score(labels, scores.argmax(axis=1))
    assert zs.top1_accuracy(scores, labels) == pytest.approx(expected, abs=1e-15)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_roc_auc_matches_sklearn_with_ties(seed):
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 2, 150)
    labels[:2] = [0, 1]
    # coarse scores: many exact ties in the decision score
    scores = np.round(rng.standard_normal((150, 2)) + 0.4 * labels[:, None] * [0, 1], 1)
    expected = roc_auc_score(labels, scores[:, 1] - scores[:, 0])
    assert zs.roc_auc(scores, labels) == pytest.approx(expected, abs=1e-12)
    assert zs.roc_auc(scores[:, 1] - scores[:, 0], labels) == pytest.approx(expected, abs=1e-12)
    assert len(np.unique(scores[:, 1] - scores[:, 0])) < 150  # there were ties


def test_roc_auc_all_tied_is_one_half():
    assert zs.roc_auc(np.zeros((6, 2)), [0, 1, 0, 1, 1, 0]) == 0.5


def test_metric_errors():
    scores = np.zeros((4, 3))
    with pytest.raises(ValueError, match=r"labels must lie in \[0, 3\), got 3 at index 2"):
        zs.top1_accuracy(scores, [0, 1, 3, 0])
    with pytest.raises(ValueError, match="labels must have length 4"):
        zs.top1_accuracy(scores, [0, 1, 2])
    bad = scores.copy()
    bad[1, 1] = np.nan
    with pytest.raises(ValueError, match="scores contains non-finite values at row 1"):
        zs.top1_accuracy(bad, [0, 1, 2, 0])
    with pytest.raises(ValueError, match="2 columns"):
        zs.roc_auc(scores, [0, 1, 1, 0])
    with pytest.raises(ValueError, match="both classes"):
        zs.roc_auc(np.zeros((4, 2)), [1, 1, 1, 1])
    with pytest.raises(ValueError, match="metric must be one of"):
        zs.metric_score(np.zeros((4, 2)), [0, 1, 1, 0], "f1")


# ---------------------------------------------------------------------- shifting
def test_shift_with_lam_zero_is_identity(task):
    x, c = task["image"] * 2.0, task["class_emb"]
    xs, cs = zs.shift_task_embeddings(x, c, 0.0)
    np.testing.assert_allclose(xs, _unit(x), atol=1e-15)
    np.testing.assert_allclose(cs, c, atol=1e-15)
    curve = zs.shift_curve(x, c, task["labels"], [0.0], metric="accuracy")
    assert curve["metric"].iloc[0] == zs.top1_accuracy(zs.zero_shot_scores(x, c), task["labels"])
    assert curve["gap_after"].iloc[0] == pytest.approx(gap.centroid_distance(x, c), abs=1e-12)
    assert curve["gap_signed"].iloc[0] == pytest.approx(curve["gap_after"].iloc[0], abs=1e-15)


def test_shift_definition_and_task_gap(task):
    x, c = task["image"], task["class_emb"]
    g = zs.task_gap_vector(x, c)
    np.testing.assert_allclose(g, gap.gap_vector(x, c), atol=1e-15)
    xs, cs = zs.shift_task_embeddings(x, c, 0.3)
    np.testing.assert_allclose(xs, _unit(x - 0.3 * g), atol=1e-12)
    np.testing.assert_allclose(cs, _unit(c + 0.3 * g), atol=1e-12)


@pytest.mark.parametrize("lam", [-2.0, -0.4, 0.0, 0.37, 0.5, 1.3])
def test_fast_shifted_scores_equal_direct(task, lam):
    x, c = task["image"], task["class_emb"]
    g = zs.task_gap_vector(x, c)
    direct = zs.zero_shot_scores(*zs.shift_task_embeddings(x, c, lam, g))
    fast = zs._ShiftedScorer(x, c, g)(lam)
    np.testing.assert_allclose(fast, direct, atol=1e-12)


def test_shift_curve_metric_and_gap_match_direct(binary_task):
    x, c, y = binary_task["image"], binary_task["class_emb"], binary_task["labels"]
    lams = [-0.5, 0.0, 0.25, 0.6]
    curve = zs.shift_curve(x, c, y, lams, metric="roc_auc")
    assert list(curve.columns) == ["lam", "gap_after", "gap_signed", "metric", "metric_name"]
    g = zs.task_gap_vector(x, c)
    for lam, row in zip(lams, curve.itertuples()):
        xs, cs = zs.shift_task_embeddings(x, c, lam)
        s = zs.zero_shot_scores(xs, cs)
        assert row.metric == pytest.approx(roc_auc_score(y, s[:, 1] - s[:, 0]), abs=1e-12)
        assert row.gap_after == pytest.approx(gap.centroid_distance(xs, cs), abs=1e-12)
        assert np.sign(row.gap_signed) == np.sign(gap.gap_vector(xs, cs) @ g)


def test_shift_curve_with_reference_measures_reference_gap(task):
    rng = np.random.default_rng(4)
    d = task["image"].shape[1]
    rx = _unit(rng.standard_normal((30, d)) + 2.0)
    ry = _unit(rng.standard_normal((30, d)) - 2.0)
    lams = [-0.3, 0.0, 0.2]
    curve = zs.shift_curve(task["image"], task["class_emb"], task["labels"], lams,
                           reference=(rx, ry))
    g = gap.gap_vector(rx, ry)  # default direction = the reference gap
    for lam, row in zip(lams, curve.itertuples()):
        sx, sy = shift.shift_embeddings(rx, ry, lam, g)
        assert row.gap_after == pytest.approx(gap.centroid_distance(sx, sy), abs=1e-12)
        expected = zs.top1_accuracy(
            zs.zero_shot_scores(*zs.shift_task_embeddings(task["image"], task["class_emb"], lam, g)),
            task["labels"],
        )
        assert row.metric == pytest.approx(expected)


def test_shift_curve_errors(task):
    x, c, y = task["image"], task["class_emb"], task["labels"]
    with pytest.raises(ValueError, match="needs a binary task"):
        zs.shift_curve(x, c, y, [0.0], metric="roc_auc")
    with pytest.raises(ValueError, match=r"gap must have shape \(16,\)"):
        zs.shift_curve(x, c, y, [0.0], gap=np.ones(3))
    with pytest.raises(ValueError, match="lambdas must be finite"):
        zs.shift_curve(x, c, y, [0.0, np.nan])
    with pytest.raises(ValueError, match="labels must have length"):
        zs.shift_curve(x, c, y[:-1], [0.0])
    with pytest.raises(ValueError, match=r"labels must lie in \[0, 6\)"):
        zs.shift_curve(x, c, np.where(y == 0, 6, y), [0.0])
    xn = x.copy()
    xn[5, 0] = np.nan
    with pytest.raises(ValueError, match=r"image contains non-finite values \(NaN or inf\) at row 5"):
        zs.shift_curve(xn, c, y, [0.0])


# ---------------------------------------------------------------------- Table 1 selection
def _curve(lams, metric, gaps):
    return pd.DataFrame({"lam": lams, "metric": metric, "gap_after": gaps})


def test_best_shift_direction_and_ties():
    b = zs.best_shift(_curve([-0.2, 0.0, 0.2], [0.5, 0.6, 0.7], [1.0, 0.8, 0.6]))
    assert b["lam"] == 0.2 and b["direction"] == "decrease"
    assert b["metric_original"] == 0.6 and b["improvement"] == pytest.approx(0.1)
    b = zs.best_shift(_curve([-0.2, 0.0, 0.2], [0.7, 0.6, 0.5], [1.0, 0.8, 0.6]))
    assert b["lam"] == -0.2 and b["direction"] == "increase"
    # a tie with the original keeps the original
    b = zs.best_shift(_curve([-0.2, 0.0, 0.2], [0.7, 0.7, 0.7], [1.0, 0.8, 0.6]))
    assert b["lam"] == 0.0 and b["direction"] == "none" and b["improvement"] == 0.0
    # a tie away from 0 goes to the smaller |lam|
    b = zs.best_shift(_curve([-0.4, -0.1, 0.0, 0.3], [0.9, 0.9, 0.1, 0.2], [1.2, 0.9, 0.8, 0.5]))
    assert b["lam"] == -0.1


def test_best_shift_needs_original_point():
    with pytest.raises(ValueError, match="no row with lam == 0"):
        zs.best_shift(_curve([-0.1, 0.1], [0.5, 0.6], [0.9, 0.7]))
    with pytest.raises(ValueError, match="lacks the columns"):
        zs.best_shift(pd.DataFrame({"lam": [0.0]}))


def test_split_halves_stratified_and_seeded():
    labels = np.repeat([0, 1, 2], [11, 20, 7])
    a, b = zs.split_halves(labels, seed=1)
    assert np.intersect1d(a, b).size == 0
    np.testing.assert_array_equal(np.sort(np.r_[a, b]), np.arange(labels.size))
    for c in range(3):
        assert abs(np.sum(labels[a] == c) - np.sum(labels[b] == c)) <= 1
    a2, _ = zs.split_halves(labels, seed=1)
    a3, _ = zs.split_halves(labels, seed=2)
    np.testing.assert_array_equal(a, a2)
    assert not np.array_equal(a, a3)


def test_held_out_selection_never_sees_the_scored_half(task):
    x, c, y = task["image"], task["class_emb"], task["labels"]
    lams = np.linspace(-0.6, 0.6, 13)
    res = zs.held_out_shift(x, c, y, lams, seed=0)
    assert list(res["fold"]) == [0, 1]
    half_a, half_b = zs.split_halves(y, seed=0)
    # corrupt the half scored by fold 0 (= half B): its images replaced by noise. (Its labels
    # are kept: the stratified split itself depends on the class of every row.)
    rng = np.random.default_rng(9)
    x2 = x.copy()
    x2[half_b] = rng.standard_normal((half_b.size, x.shape[1]))
    res2 = zs.held_out_shift(x2, c, y, lams, seed=0)
    assert res2.loc[0, "lam"] == res.loc[0, "lam"]
    assert res2.loc[0, "metric_select"] == res.loc[0, "metric_select"]
    assert res2.loc[0, "metric_original"] != res.loc[0, "metric_original"]
    # the scored numbers are those of the other half, at lam = 0 and at the chosen lam
    g = x[half_a].mean(axis=0) - c.mean(axis=0)
    for lam_key, col in ((0.0, "metric_original"), (res.loc[0, "lam"], "metric_shifted")):
        xs, cs = zs.shift_task_embeddings(x[half_b], c, lam_key, g)
        assert res.loc[0, col] == pytest.approx(zs.top1_accuracy(zs.zero_shot_scores(xs, cs), y[half_b]))
    # the chosen lam is the best of the selection half
    best_a = zs.best_shift(zs.shift_curve(x[half_a], c, y[half_a], lams, gap=g))
    assert res.loc[0, "lam"] == best_a["lam"]


def test_held_out_needs_lam_zero(task):
    with pytest.raises(ValueError, match="lambdas must contain 0"):
        zs.held_out_shift(task["image"], task["class_emb"], task["labels"], [-0.1, 0.1])


# ---------------------------------------------------------------------- Table 5 statistics
def test_chi2_hand_computed_table():
    # before: 30 of 40 correct, after: 20 of 40. Expected counts 25 / 15 in every row, so
    # chi2 = 2 * (5^2/25 + 5^2/15) = 16/3 (no Yates correction), p = erfc(sqrt(chi2 / 2)).
    before = np.r_[np.ones(30, bool), np.zeros(10, bool)]
    after = np.r_[np.ones(20, bool), np.zeros(20, bool)]
    res = zs.chi2_test(before, after)
    assert res["statistic"] == pytest.approx(16.0 / 3.0, rel=1e-12)
    assert res["p_value"] == pytest.approx(math.erfc(math.sqrt(8.0 / 3.0)), rel=1e-10)
    assert res["accuracy_before"] == 0.75 and res["accuracy_after"] == 0.5
    from scipy.stats import chi2_contingency

    ref = chi2_contingency([[30, 10], [20, 20]], correction=False)
    assert res["p_value"] == pytest.approx(ref[1], rel=1e-12)


@pytest.mark.parametrize("name", ["CIFAR10", "CIFAR100"])
def test_chi2_reproduces_paper_table5(name):
    before, after, _, p_paper = zs.PAPER_TABLE5[name]
    n = 60_000  # CIFAR train + test ("the whole dataset")
    res = zs.chi2_test_counts(round(before * n), round(after * n), n)
    assert res["p_value"] == pytest.approx(p_paper, rel=5e-4)


def test_chi2_degenerate_and_errors():
    assert zs.chi2_test(np.ones(5, bool), np.ones(5, bool))["p_value"] == 1.0
    with pytest.raises(ValueError, match="correct_before must hold only True/False"):
        zs.chi2_test([0, 2, 1], [1, 1, 1])
    with pytest.raises(ValueError, match="exceeds"):
        zs.chi2_test_counts(11, 5, 10)


def _paired(b: int, c: int, both: int = 5, neither: int = 3):
    before = np.r_[np.ones(b, bool), np.zeros(c, bool), np.ones(both, bool), np.zeros(neither, bool)]
    after = np.r_[np.zeros(b, bool), np.ones(c, bool), np.ones(both, bool), np.zeros(neither, bool)]
    return before, after


def test_mcnemar_exact_small_counts():
    before, after = _paired(2, 7)
    res = zs.mcnemar_test(before, after)  # b + c = 9 < 25 -> exact
    assert res["exact"] and (res["b"], res["c"]) == (2, 7)
    # two-sided binomial: 2 * P(X <= 2 | 9, 1/2) = 2 * (1 + 9 + 36) / 512
    assert res["p_value"] == pytest.approx(92 / 512, rel=1e-12)
    assert res["statistic"] == 2.0


def test_mcnemar_asymptotic_and_exact_large_counts():
    before, after = _paired(10, 20)
    res = zs.mcnemar_test(before, after)  # b + c = 30 -> chi-squared with continuity correction
    assert not res["exact"]
    assert res["statistic"] == pytest.approx(81 / 30, rel=1e-12)  # (|10 - 20| - 1)^2 / 30
    assert res["p_value"] == pytest.approx(math.erfc(math.sqrt(81 / 60)), rel=1e-10)
    exact = zs.mcnemar_test(before, after, exact=True)
    tail = sum(math.comb(30, i) for i in range(11)) / 2**30
    assert exact["p_value"] == pytest.approx(2 * tail, rel=1e-10)


def test_mcnemar_no_discordant_pairs_and_errors():
    before, after = _paired(0, 0)
    assert zs.mcnemar_test(before, after)["p_value"] == 1.0
    with pytest.raises(ValueError, match="paired"):
        zs.mcnemar_test(np.ones(3, bool), np.ones(4, bool))


# ---------------------------------------------------------------------- synthetic fixture, figures
def test_synthetic_task_layout_and_seed():
    s = zs.synthetic_classification_embeddings(n_per_class=5, n_classes=3, d=8, seed=0, n_templates=2)
    assert s["synthetic"] is True
    assert s["image"].shape == (15, 8) and s["text"].shape == (6, 8)
    np.testing.assert_array_equal(s["text_labels"], [0, 0, 1, 1, 2, 2])
    s2 = zs.synthetic_classification_embeddings(n_per_class=5, n_classes=3, d=8, seed=0, n_templates=2)
    np.testing.assert_array_equal(s["image"], s2["image"])
    with pytest.raises(ValueError, match="d must be an integer >= n_classes \\+ 2"):
        zs.synthetic_classification_embeddings(n_classes=10, d=8)


def test_figures_render(task, binary_task, tmp_path):
    lams = [-0.4, -0.2, 0.0, 0.2, 0.4, 0.6, 0.8]
    curves = {
        "multi": zs.shift_curve(task["image"], task["class_emb"], task["labels"], lams),
        "binary": zs.shift_curve(binary_task["image"], binary_task["class_emb"],
                                 binary_task["labels"], lams, metric="roc_auc"),
    }
    fig = plot_metric_vs_gap(curves)
    assert sum(ax.get_visible() for ax in fig.axes) == 2
    fig.savefig(tmp_path / "fig10.png", dpi=40)
    table = pd.DataFrame({"task": ["a", "b"], "p": [3.476e-06, 0.5], "n": [3, 4]})
    fig = table_figure(table, "Table 5")
    fig.savefig(tmp_path / "t5.png", dpi=40)
    assert format_cell(3.476e-06) == "3.476e-06" and format_cell(0.90131) == "0.9013"
    with pytest.raises(ValueError, match="x must be one of"):
        plot_metric_vs_gap(curves, x="loss")
