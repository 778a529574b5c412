"""Tests for modality_gap.theory: Figure 2b and Theorems 1 and 2 (Liang et al., 2022)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from modality_gap import theory

# ---------------------------------------------------------------------------------------------
# Figure 2b
# ---------------------------------------------------------------------------------------------

# (activation, layer, value read off the published Figure 2b, seed-to-seed sd of one curve).
# The sd is the standard deviation over seeds 0..19 of random_mlp_cosine_curve (measured once,
# 1024 inputs, 512 wide): the published curve is a single unseeded draw, so its distance from our
# multi-seed mean has sd ~ sd * sqrt(1 + 1/m). Values read off the figure carry ~0.01 of error.
PUBLISHED_FIG2B = [
    ("sigmoid", 1, 0.85, 0.0004),
    ("sigmoid", 2, 0.99, 0.0002),
    ("relu", 1, 0.32, 0.0009),
    ("relu", 2, 0.51, 0.0089),
    ("relu", 3, 0.60, 0.0184),
    ("relu", 10, 0.95, 0.0050),
    ("relu", 13, 1.00, 0.0011),
    ("tanh", 3, 0.01, 0.0012),
    ("tanh", 10, 0.15, 0.0112),
    ("tanh", 25, 0.52, 0.0267),
    ("none", 25, 0.04, 0.0060),
]
FIG2B_SEEDS = (0, 1, 2)
READ_OFF_ERROR = 0.01


@pytest.fixture(scope="module")
def fig2b_curves() -> dict[str, np.ndarray]:
    depth = {"sigmoid": 2, "relu": 13, "leaky_relu": 13, "tanh": 25, "none": 25}
    return {
        act: np.stack([theory.random_mlp_cosine_curve(act, n_layers=n, seed=s) for s in FIG2B_SEEDS])
        for act, n in depth.items()
    }


@pytest.mark.parametrize(("activation", "layer", "published", "sd"), PUBLISHED_FIG2B)
def test_fig2b_matches_published_curve(fig2b_curves, activation, layer, published, sd):
    m = len(FIG2B_SEEDS)
    ours = fig2b_curves[activation][:, layer - 1].mean()
    tolerance = 3 * sd * math.sqrt(1 + 1 / m) + READ_OFF_ERROR
    assert abs(ours - published) <= tolerance, (ours, published, tolerance)


def test_fig2b_leaky_relu_like_relu_and_relu_monotone(fig2b_curves):
    relu, leaky = fig2b_curves["relu"], fig2b_curves["leaky_relu"]
    assert np.abs(relu - leaky).max() < 0.02  # same seeds, slope 0.01 on the negative side
    assert np.all(np.diff(relu, axis=1) > -0.01)
    assert relu[:, -1].min() > 0.98


def test_fig2b_variance_convention():
    # "N(0, 1/512)" is a variance: std 1/sqrt(512) reproduces Sigmoid 0.85 after one layer;
    # std 1/512 (variance 1/512^2) would give ~0.9995 and PyTorch's default init (variance
    # 1/(3*512)) ~0.93.
    paper = theory.random_mlp_cosine_curve("sigmoid", n_layers=1, n_inputs=256)[0]
    tiny = theory.random_mlp_cosine_curve("sigmoid", n_layers=1, n_inputs=256, weight_variance=512.0**-2)[0]
    torch_default = theory.random_mlp_cosine_curve("sigmoid", n_layers=1, n_inputs=256, weight_variance=1 / (3 * 512))[
        0
    ]
    assert abs(paper - 0.85) < 0.01
    assert tiny > 0.99
    assert 0.9 < torch_default < 0.95


def test_random_mlp_cosine_curve_api():
    curve = theory.random_mlp_cosine_curve("none", n_layers=3, n_inputs=16, dim=8, seed=4)
    assert curve.shape == (3,) and curve.dtype == np.float64
    again = theory.random_mlp_cosine_curve("none", n_layers=3, n_inputs=16, dim=8, seed=4)
    np.testing.assert_array_equal(curve, again)
    df = theory.random_mlp_cosine_curves(("relu", "tanh"), seeds=(0, 1), n_layers=2, n_inputs=8, dim=32)
    assert list(df.columns) == ["activation", "seed", "layer", "mean_cosine"]
    assert len(df) == 2 * 2 * 2
    with pytest.raises(ValueError, match="activation must be one of"):
        theory.random_mlp_cosine_curve("gelu")
    with pytest.raises(ValueError, match="n_inputs must be at least 2"):
        theory.random_mlp_cosine_curve("relu", n_inputs=1)
    with pytest.raises(ValueError, match="weight_variance must be positive"):
        theory.random_mlp_cosine_curve("relu", weight_variance=0.0)
    with pytest.raises(ValueError, match="map to the zero vector"):
        theory.random_mlp_cosine_curve("relu", n_layers=5, n_inputs=64, dim=2)


# ---------------------------------------------------------------------------------------------
# Theorem 1
# ---------------------------------------------------------------------------------------------


def test_theorem1_condition_and_threshold():
    assert theory.theorem1_threshold(1.0) == 1.0
    assert theory.theorem1_threshold(2.0) == pytest.approx(0.8)
    assert theory.theorem1_threshold(0.5) == pytest.approx(0.8)  # symmetric in r <-> 1/r
    assert theory.theorem1_condition(0.79, 2.0) and not theory.theorem1_condition(0.8, 2.0)
    assert theory.theorem1_condition(-1.0, 100.0)
    assert not theory.theorem1_condition(1.0, 1.0)
    with pytest.raises(ValueError, match="cos_uv must lie in"):
        theory.theorem1_condition(1.5, 1.0)
    with pytest.raises(ValueError, match="norm_ratio must be positive"):
        theory.theorem1_threshold(0.0)
    with pytest.raises(ValueError, match="cos_uv must be finite"):
        theory.theorem1_condition(float("nan"), 1.0)


@pytest.mark.parametrize("norm_v", [0.1, 1.0, 10.0])
def test_theorem1_proof_step_preactivation_cosine_exceeds_cos(norm_v):
    # The proof: 0 < cos < 2r/(1+r^2) implies (1+u.v)/sqrt((1+|u|^2)(1+|v|^2)) > cos, any norm.
    for r in (0.25, 0.7, 1.0, 1.5, 3.0):
        for c in np.linspace(0.01, 0.999, 40):
            if theory.theorem1_condition(c, r):
                assert theory.preactivation_cosine(c, r, norm_v) > c
            assert theory.relu_limit_cosine(c, r, norm_v) >= theory.preactivation_cosine(c, r, norm_v) - 1e-12


def test_cosine_increase_probability_d_in_reduction_is_exact():
    # Monte Carlo with d_in = 2 (the library) vs an explicit d_in = 40 simulation.
    c, r, d_out, n = 0.9, 2.0, 32, 1500
    p2 = theory.cosine_increase_probability(c, r, d_out, n_trials=n, seed=1)
    rng = np.random.default_rng(2)
    basis = np.linalg.qr(rng.standard_normal((40, 2)))[0]
    v = basis[:, 0]
    u = r * (c * basis[:, 0] + math.sqrt(1 - c * c) * basis[:, 1])
    hits = 0
    for _ in range(n):
        w = rng.standard_normal((d_out, 40)) / math.sqrt(d_out)
        b = rng.standard_normal(d_out) / math.sqrt(d_out)
        hu, hv = np.maximum(w @ u + b, 0), np.maximum(w @ v + b, 0)
        norm = np.linalg.norm(hu) * np.linalg.norm(hv)
        hits += norm > 0 and hu @ hv / norm > c
    p40 = hits / n
    se = math.sqrt(p2 * (1 - p2) / n + p40 * (1 - p40) / n)
    assert abs(p2 - p40) < 4 * se + 1e-9


@pytest.fixture(scope="module")
def theorem1_small():
    return theory.theorem1_table(
        d_outs=(16, 256), cosines=(-0.5, 0.0, 0.5, 0.9, 0.95, 0.99), norm_ratios=(1.0, 2.0), n_trials=600, seed=3
    )


def test_theorem1_table_columns_and_intervals(theorem1_small):
    df = theorem1_small
    assert len(df) == 2 * 6 * 2
    for col in (
        "d_out",
        "cos_uv",
        "norm_ratio",
        "condition_holds",
        "p_increase",
        "p_increase_se",
        "p_ci_low",
        "p_ci_high",
        "limit_cos",
        "preactivation_cos",
        "n_degenerate",
    ):
        assert col in df.columns
    assert (df["p_ci_low"] <= df["p_increase"]).all() and (df["p_increase"] <= df["p_ci_high"]).all()
    se = np.sqrt(df["p_increase"] * (1 - df["p_increase"]) / df["n_trials"])
    np.testing.assert_allclose(df["p_increase_se"], se)
    again = theory.theorem1_table(
        d_outs=(16, 256), cosines=(-0.5, 0.0, 0.5, 0.9, 0.95, 0.99), norm_ratios=(1.0, 2.0), n_trials=600, seed=3
    )
    np.testing.assert_array_equal(df["p_increase"], again["p_increase"])


def test_theorem1_high_probability_where_condition_holds(theorem1_small):
    df = theorem1_small
    wide = df[df["d_out"] == 256]
    holds = wide[wide["condition_holds"]]
    assert len(holds) == 6 + 3  # r = 1: all six cosines; r = 2: cos < 0.8
    # 1 - O(1/d_out): every cell with the condition is (almost) always increased at d_out = 256
    assert (holds["p_ci_high"] >= 0.99).all(), holds[["cos_uv", "norm_ratio", "p_increase"]]
    assert (holds["p_increase"] >= 0.97).all()
    # and the probability does not fall as the layer widens
    for (c, r), cell in df[df["condition_holds"]].groupby(["cos_uv", "norm_ratio"]):
        narrow, wide_p = cell.sort_values("d_out")["p_increase"].to_numpy()
        assert wide_p >= narrow - 0.05, (c, r)


def test_theorem1_probability_vanishes_when_the_limit_is_below(theorem1_small):
    df = theorem1_small
    below = df[(df["limit_cos"] < df["cos_uv"]) & (df["d_out"] == 256)]
    assert set(below["cos_uv"]) >= {0.95, 0.99}
    assert not below["condition_holds"].any()  # the theorem's condition is sufficient
    strong = below[below["limit_cos"] < below["cos_uv"] - 0.01]
    assert (strong["p_increase"] <= 0.05).all()


# ---------------------------------------------------------------------------------------------
# Theorem 2
# ---------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def theorem2_small():
    return theory.theorem2_table(depths=(1, 2, 3, 4, 6), seeds=range(10), dim=128, n_inputs=256)


def test_theorem2_between_share_exceeds_beta(theorem2_small):
    df = theorem2_small
    assert (df["between_share"] >= df["beta"]).all()
    assert (df["z_beta"] > 1).all()
    # the bound from Step 3 of the proof is sharper and nearly tight in deep layers
    assert (df["between_share"] >= df["bound_proof"] - 3 * df["between_share_se"]).all()
    assert (df["bound_proof"] >= df["beta"]).all()  # since E||h||^2 ~ 1 >= 1/(pi-1)


def test_theorem2_beta_tracks_previous_cosine_and_grows_with_depth(theorem2_small):
    df = theorem2_small.sort_values("depth")
    assert abs(df["beta"].iloc[0]) < 0.01  # unit-sphere inputs: tr Var[U] = 1
    np.testing.assert_allclose(df["beta"], df["mean_cos_prev"], atol=0.03)
    np.testing.assert_allclose(df["mean_sq_norm_prev"], 1.0, atol=0.1)  # ||h|| ~ 1 at every layer
    assert np.all(np.diff(df["between_share"]) > 0)
    assert df["between_share"].iloc[-1] > 0.95


def test_theorem2_accepts_inputs_and_rejects_bad_ones():
    x = (np.random.default_rng(0).standard_normal((64, 10)) + 3.0) * 5.0  # rescaled to unit norm
    df = theory.theorem2_table(inputs=x, depths=(1, 2), seeds=(0, 1, 2), dim=32)
    assert list(df["depth"]) == [1, 2] and (df["n_inputs"] == 64).all()
    assert df["beta"].iloc[0] > 0.2  # non-centred inputs: beta at L = 1 is their mean cosine
    with pytest.raises(ValueError, match="at least 2 network seeds"):
        theory.theorem2_table(inputs=x, depths=(1,), seeds=(0,))
    with pytest.raises(ValueError, match="inputs contain NaN"):
        theory.theorem2_table(inputs=np.full((4, 3), np.nan), depths=(1,), seeds=(0, 1))
    with pytest.raises(ValueError, match="zero vectors"):
        theory.theorem2_table(inputs=np.zeros((4, 3)), depths=(1,), seeds=(0, 1))


# ---------------------------------------------------------------------------------------------
# Figures 2b and the theorem plots
# ---------------------------------------------------------------------------------------------


def test_theory_plots(fig2b_curves, theorem1_small, theorem2_small):
    from modality_gap import figures_cone

    fig = figures_cone.plot_depth_curves(fig2b_curves, input_cosine=0.0)
    assert len(fig.axes[0].get_lines()) == len(fig2b_curves)
    fig = figures_cone.plot_theorem1(theorem1_small)
    assert len(fig.axes) == 2
    fig = figures_cone.plot_theorem2(theorem2_small)
    assert len(fig.axes) == 2
    with pytest.raises(ValueError, match="lacks theorem1_table columns"):
        figures_cone.plot_theorem1(theorem2_small)
