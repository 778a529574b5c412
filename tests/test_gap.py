"""Known-answer and error tests for ``modality_gap.gap``."""

from __future__ import annotations

from itertools import combinations
from pathlib import Path

import numpy as np
import pytest

from modality_gap import gap

PAPER_EMBEDDINGS = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "paper_embeddings"


def _unit(a: np.ndarray) -> np.ndarray:
    return a / np.linalg.norm(a, axis=1, keepdims=True)


def _cloud(rng: np.random.Generator, n: int, d: int, centre: np.ndarray, spread: float) -> np.ndarray:
    return _unit(centre + spread * rng.standard_normal((n, d)))


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(1234)


@pytest.fixture
def gapped(rng):
    """Two clouds on the sphere with a clear gap (n=200, d=32)."""
    d = 32
    cx = np.zeros(d)
    cx[0] = 1.0
    cy = np.zeros(d)
    cy[1] = 1.0
    x = _cloud(rng, 200, d, cx, 0.1)
    y = _cloud(rng, 200, d, cy, 0.1)
    return x, y


# ---------------------------------------------------------------------------- normalisation
def test_l2_normalize_unit_rows(rng):
    x = rng.standard_normal((10, 5)) * 7
    out = gap.l2_normalize(x)
    np.testing.assert_allclose(np.linalg.norm(out, axis=1), 1.0)
    np.testing.assert_allclose(out * np.linalg.norm(x, axis=1, keepdims=True), x)


def test_l2_normalize_axis0(rng):
    x = rng.standard_normal((4, 6))
    np.testing.assert_allclose(np.linalg.norm(gap.l2_normalize(x, axis=0), axis=0), 1.0)


def test_l2_normalize_nan_names_row(rng):
    x = rng.standard_normal((6, 4))
    x[3, 1] = np.nan
    with pytest.raises(ValueError, match=r"x .*non-finite.*row 3"):
        gap.l2_normalize(x)


def test_l2_normalize_inf_names_row(rng):
    x = rng.standard_normal((6, 4))
    x[5, 0] = np.inf
    with pytest.raises(ValueError, match=r"row 5"):
        gap.l2_normalize(x)


def test_l2_normalize_zero_vector_names_row(rng):
    x = rng.standard_normal((6, 4))
    x[2] = 0.0
    with pytest.raises(ValueError, match=r"zero-norm vector at row 2"):
        gap.l2_normalize(x)


def test_metrics_name_the_bad_argument(rng):
    x = rng.standard_normal((8, 4))
    y = rng.standard_normal((8, 4))
    y[4] = 0.0
    with pytest.raises(ValueError, match=r"^y has a zero-norm vector at row 4"):
        gap.centroid_distance(x, y)
    x[1, 2] = np.nan
    with pytest.raises(ValueError, match=r"^x contains non-finite values .*row 1"):
        gap.matched_pair_distance(x, rng.standard_normal((8, 4)))


def test_shape_errors(rng):
    x = rng.standard_normal((8, 4))
    with pytest.raises(ValueError, match="same shape"):
        gap.matched_pair_distance(x, x[:7])
    with pytest.raises(ValueError, match="same embedding dimension"):
        gap.gap_vector(x, x[:, :3])
    with pytest.raises(ValueError, match="x must be 2-D"):
        gap.centroid_distance(x[0], x)
    with pytest.raises(ValueError, match="real numeric"):
        gap.centroid_distance(np.array([["a", "b"]]), x)


# ---------------------------------------------------------------------------- the gap
def test_identical_modalities(rng):
    x = rng.standard_normal((100, 16))
    assert gap.centroid_distance(x, x) == pytest.approx(0.0, abs=1e-12)
    np.testing.assert_allclose(gap.gap_vector(x, x), 0.0, atol=1e-12)
    assert gap.matched_pair_distance(x, x) == pytest.approx(0.0, abs=1e-7)
    assert gap.matched_pair_cosine(x, x) == pytest.approx(1.0)
    assert gap.relative_modality_gap(x, x) == pytest.approx(0.0, abs=1e-9)
    assert gap.alignment(x, x) == pytest.approx(0.0, abs=1e-12)
    # each test point appears with both labels: exactly chance
    assert gap.linear_separability(x, x, seed=0) == pytest.approx(0.5, abs=0.05)


def test_antipodal_clusters(rng):
    d = 16
    c = np.zeros(d)
    c[3] = 1.0
    x = _cloud(rng, 120, d, c, 0.01)
    y = _cloud(rng, 120, d, -c, 0.01)
    assert gap.centroid_distance(x, y) == pytest.approx(2.0, abs=0.02)
    assert gap.linear_separability(x, y, seed=0) == 1.0
    assert gap.matched_pair_cosine(x, y) < -0.98
    assert gap.relative_modality_gap(x, y) > 0.95


def test_gap_vector_follows_translation(rng):
    d = 64
    c = np.zeros(d)
    c[0] = 1.0
    v = np.zeros(d)
    v[5], v[9] = 0.2, -0.2  # orthogonal to the cloud centre
    base = c + 0.01 * rng.standard_normal((300, d))
    x, y = base, base + v  # y is x translated by v before normalisation
    g = gap.gap_vector(x, y)  # points from the text centroid to the image centroid: ~ -v
    cos = g @ (-v) / (np.linalg.norm(g) * np.linalg.norm(v))
    assert cos > 0.98


def test_gap_vector_allows_unequal_counts(gapped):
    x, y = gapped
    # orthogonal cluster centres: gap ~ sqrt(2) shrunk by the spread
    assert gap.centroid_distance(x, y[:50]) == pytest.approx(gap.centroid_distance(x, y), abs=0.05)
    assert gap.centroid_distance(x, y[:50]) > 1.0


def test_centroid_distance_formula(gapped):
    x, y = gapped
    assert gap.centroid_distance(x, y) == pytest.approx(np.linalg.norm(x.mean(0) - y.mean(0)))


def test_bootstrap_ci_contains_estimate(gapped):
    x, y = gapped
    est, low, high = gap.centroid_distance_ci(x, y, n_boot=500, seed=3)
    assert est == pytest.approx(gap.centroid_distance(x, y))
    assert low <= est <= high
    assert high - low < 0.2
    assert (est, low, high) == gap.centroid_distance_ci(x, y, n_boot=500, seed=3)
    _, low90, high90 = gap.centroid_distance_ci(x, y, n_boot=500, seed=3, level=0.9)
    assert low <= low90 <= high90 <= high


@pytest.mark.skipif(
    not (PAPER_EMBEDDINGS / "features_clip.npy").exists(),
    reason=f"released CLIP embeddings not found at {PAPER_EMBEDDINGS / 'features_clip.npy'}",
)
def test_bootstrap_ci_contains_estimate_clip():
    x, y = np.load(PAPER_EMBEDDINGS / "features_clip.npy")
    est, low, high = gap.centroid_distance_ci(x, y, n_boot=300, seed=0)
    assert low <= est <= high
    assert est == pytest.approx(0.8514, abs=1e-3)


def test_bootstrap_argument_errors(gapped):
    x, y = gapped
    with pytest.raises(ValueError, match="n_boot"):
        gap.centroid_distance_ci(x, y, n_boot=0)
    with pytest.raises(ValueError, match="level"):
        gap.centroid_distance_ci(x, y, level=1.5)


# ---------------------------------------------------------------------------- RMG
def _rmg_slow(x, y):
    x, y = _unit(x), _unit(y)
    n = len(x)
    d = lambda a, b: (1.0 - a @ b) / 2.0  # noqa: E731
    m = np.mean([d(x[i], y[i]) for i in range(n)])
    within = sum(d(x[i], x[j]) + d(y[i], y[j]) for i in range(n) for j in range(n) if i != j)
    w = within / (2 * n * (n - 1))
    return m / (m + w)


def test_relative_modality_gap_matches_definition(rng):
    x = rng.standard_normal((15, 6)) + 1.0
    y = rng.standard_normal((15, 6)) - 0.5
    assert gap.relative_modality_gap(x, y) == pytest.approx(_rmg_slow(x, y), rel=1e-10)


def test_relative_modality_gap_range(gapped):
    value = gap.relative_modality_gap(*gapped)
    assert 0.0 < value < 1.0


# ---------------------------------------------------------------------------- alignment / uniformity
def test_alignment_matches_definition(rng):
    x = _unit(rng.standard_normal((20, 5)))
    y = _unit(rng.standard_normal((20, 5)))
    expected = np.mean([np.linalg.norm(x[i] - y[i]) ** 3 for i in range(20)])
    assert gap.alignment(x, y, alpha=3) == pytest.approx(expected)


def test_uniformity_matches_definition(rng):
    x = _unit(rng.standard_normal((25, 4)))
    vals = [np.exp(-2.0 * np.sum((x[i] - x[j]) ** 2)) for i, j in combinations(range(25), 2)]
    assert gap.uniformity(x, t=2.0) == pytest.approx(np.log(np.mean(vals)))


def test_uniformity_extremes(rng):
    same = np.tile([[1.0, 0.0, 0.0]], (10, 1))
    assert gap.uniformity(same) == pytest.approx(0.0)
    spread = _unit(rng.standard_normal((300, 3)))
    assert gap.uniformity(spread) < gap.uniformity(_cloud(rng, 300, 3, np.array([1.0, 0, 0]), 0.1))


def test_joint_uniformity_is_union(gapped):
    x, y = gapped
    assert gap.joint_uniformity(x, y) == pytest.approx(gap.uniformity(np.vstack([x, y])))


# ---------------------------------------------------------------------------- dimension / concentration
@pytest.mark.parametrize("k", [1, 3, 7])
def test_effective_dimension_of_subspace(rng, k):
    basis, _ = np.linalg.qr(rng.standard_normal((40, k)))
    x = rng.standard_normal((200, k)) @ basis.T
    assert gap.effective_dimension(x, threshold=0.99) <= k
    assert gap.effective_dimension(x, threshold=0.99, normalize=False) <= k
    assert gap.effective_dimension(x, threshold=1.0, normalize=False) == k


def test_effective_dimension_isotropic(rng):
    x = rng.standard_normal((500, 20))
    assert gap.effective_dimension(x, threshold=0.99) >= 18
    with pytest.raises(ValueError, match="threshold"):
        gap.effective_dimension(x, threshold=0.0)


def test_gap_coordinate_concentration(rng):
    d = 50
    x = _unit(rng.standard_normal((100, d)))
    y = x.copy()
    y[:, 7] += 0.5  # gap lives in one coordinate (up to the renormalisation)
    assert gap.gap_coordinate_share(x, y, k=1) > 0.9
    assert gap.gap_participation_ratio(x, y) < 1.5
    # permutation-symmetric sets: the gap has equal coordinates, participation ratio = d
    xs, ys = np.eye(d) + 1.0, np.eye(d)
    assert gap.gap_participation_ratio(xs, ys) == pytest.approx(d)
    assert gap.gap_coordinate_share(xs, ys, k=10) == pytest.approx(10 / d)
    with pytest.raises(ValueError, match="k must be"):
        gap.gap_coordinate_share(x, y, k=0)


def test_gap_principal_share_range(gapped):
    x, y = gapped
    s1 = gap.gap_principal_share(x, y, k=1)
    s10 = gap.gap_principal_share(x, y, k=10)
    assert 0.0 <= s1 <= s10 <= 1.0 + 1e-12
    assert gap.gap_principal_share(x, y, k=x.shape[1]) == pytest.approx(1.0)


# ---------------------------------------------------------------------------- one row
def test_gap_metrics_keys_and_values(gapped):
    x, y = gapped
    row = gap.gap_metrics(x, y, seed=0, n_boot=100)
    assert list(row) == [
        "n_pairs",
        "dim",
        "centroid_distance",
        "centroid_distance_ci_low",
        "centroid_distance_ci_high",
        "matched_pair_distance",
        "matched_pair_cosine",
        "relative_modality_gap",
        "linear_separability",
        "alignment",
        "uniformity_x",
        "uniformity_y",
        "uniformity_joint",
        "effective_dimension_x",
        "effective_dimension_y",
        "gap_top1_coordinate_share",
        "gap_top10_coordinate_share",
        "gap_participation_ratio",
        "gap_top1_principal_share",
        "gap_top10_principal_share",
    ]
    assert row["n_pairs"] == 200 and row["dim"] == 32
    assert all(np.isfinite(v) for v in row.values())
    assert row["linear_separability"] == 1.0
    assert row == gap.gap_metrics(x, y, seed=0, n_boot=100)


# ---------------------------------------------------------------------------- Figure 1 / 4 smoke test
def test_plot_paired_embeddings_svd_smoke(gapped, tmp_path):
    from modality_gap import figures_gap, plotting

    x, y = gapped
    fig = figures_gap.plot_paired_embeddings([("a", x, y), ("b", y, x), ("c", x[:50], y[:50])], method="svd")
    assert len([ax for ax in fig.axes if ax.get_visible()]) == 3
    written = plotting.save_figure(fig, tmp_path / "sub" / "fig1.png")
    assert [p.name for p in written] == ["fig1.png", "fig1.pdf"]
    assert sorted(p.name for p in (tmp_path / "sub").iterdir()) == ["fig1.pdf", "fig1.png"]
    with pytest.raises(ValueError, match="method"):
        figures_gap.plot_paired_embeddings([("a", x, y)], method="tsne")
