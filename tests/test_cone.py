"""Tests for modality_gap.cone (cone-effect statistics) and its Figure 2a/2c plots."""

from __future__ import annotations

import numpy as np
import pytest

from modality_gap import cone


def brute_force(x: np.ndarray, bins: int):
    """All ordered pairs i != j from the full float64 cosine matrix."""
    x = np.asarray(x, dtype=np.float64)
    u = x / np.linalg.norm(x, axis=1, keepdims=True)
    c = u @ u.T
    values = c[~np.eye(len(u), dtype=bool)]
    counts, edges = np.histogram(np.clip(values, -1, 1), bins=bins, range=(-1.0, 1.0))
    return values, counts, edges


def cone_data(n: int, d: int, seed: int, offset: float = 0.7) -> np.ndarray:
    """Gaussian vectors shifted along one axis: a cone with mean cosine well above 0."""
    x = np.random.default_rng(seed).standard_normal((n, d))
    x[:, 0] += offset * np.sqrt(d)
    return x


# ---------------------------------------------------------------------------------------------
# cosine_stats
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("n", "d", "block_size"),
    [(2, 1, 1), (7, 3, 1), (50, 5, 7), (301, 16, 64), (300, 16, 100), (120, 8, 1000)],
)
def test_cosine_stats_matches_brute_force_float64(n, d, block_size):
    x = cone_data(n, d, seed=n)
    stats = cone.cosine_stats(x, bins=37, block_size=block_size, dtype=np.float64)
    values, counts, edges = brute_force(x, 37)
    assert stats.n_pairs == n * (n - 1) == values.size
    assert stats.mean == pytest.approx(values.mean(), abs=1e-12)
    assert stats.std == pytest.approx(values.std(), abs=1e-12)
    assert stats.min == pytest.approx(values.min(), abs=1e-12)
    assert stats.max == pytest.approx(values.max(), abs=1e-12)
    np.testing.assert_array_equal(stats.hist_counts, counts)
    np.testing.assert_allclose(stats.hist_edges, edges)


@pytest.mark.parametrize("block_size", [1, 13, 64, 512])
def test_cosine_stats_float32_close_to_brute_force(block_size):
    n, bins = 203, 50
    x = cone_data(n, 24, seed=1)
    stats = cone.cosine_stats(x.astype(np.float32), bins=bins, block_size=block_size)
    values, counts, _ = brute_force(x.astype(np.float32), bins)
    # mean and std come from float64 identities; min, max and bins from a float32 GEMM
    assert stats.mean == pytest.approx(values.mean(), abs=1e-9)
    assert stats.std == pytest.approx(values.std(), abs=1e-9)
    assert stats.min == pytest.approx(values.min(), abs=5e-7)
    assert stats.max == pytest.approx(values.max(), abs=5e-7)
    assert stats.hist_counts.sum() == n * (n - 1)
    # float32 rounding (~1e-7) may move a pair across a bin edge (width 0.04): at most a handful
    assert np.abs(stats.hist_counts - counts).sum() <= 8


def test_cosine_stats_histogram_is_exact_int64_and_sums_to_pairs():
    n = 257
    stats = cone.cosine_stats(cone_data(n, 8, seed=2), bins=1000, block_size=32)
    assert stats.hist_counts.dtype == np.int64
    assert stats.hist_counts.shape == (1000,)
    assert stats.hist_edges.shape == (1001,)
    assert stats.hist_edges[0] == -1.0 and stats.hist_edges[-1] == 1.0
    assert int(stats.hist_counts.sum()) == stats.n_pairs == n * (n - 1)
    assert np.all(stats.hist_counts % 2 == 0)  # every pair counted in both orders


def test_cosine_stats_default_bins_float32_vs_float64():
    x = cone_data(600, 32, seed=3)
    values, counts, _ = brute_force(x, cone.DEFAULT_BINS)
    exact = cone.cosine_stats(x, dtype=np.float64)
    np.testing.assert_array_equal(exact.hist_counts, counts)
    stats = cone.cosine_stats(x)
    assert stats.hist_counts.size == cone.DEFAULT_BINS
    assert stats.mean == pytest.approx(values.mean(), abs=1e-9)
    # Default bins are 2e-5 wide; float32 cosines carry ~1e-7 rounding, so a fraction of a percent
    # of the pairs (0.4% here) sits one bin off. Every pair is still counted exactly once.
    moved = np.abs(stats.hist_counts - counts).sum() / 2
    assert moved <= 0.01 * values.size
    assert stats.hist_counts.sum() == values.size


def test_cosine_stats_extreme_cosines_land_in_end_bins():
    x = np.tile(np.array([[1.0, 2.0, 3.0]]), (5, 1))  # identical rows: every cosine is 1
    stats = cone.cosine_stats(x, bins=10)
    assert stats.hist_counts[-1] == 20 and stats.hist_counts[:-1].sum() == 0
    assert stats.min == pytest.approx(1.0) and stats.max == 1.0
    assert stats.mean == pytest.approx(1.0) and stats.std == pytest.approx(0.0, abs=1e-7)
    anti = cone.cosine_stats(np.array([[1.0, 0.0], [-2.0, 0.0]]), bins=10)  # cosine -1
    assert anti.hist_counts[0] == 2 and anti.min == -1.0 and anti.mean == pytest.approx(-1.0)


def test_cosine_stats_narrow_cone_std_does_not_cancel():
    rng = np.random.default_rng(4)
    x = rng.standard_normal(64) + 0.01 * rng.standard_normal((400, 64))
    values, _, _ = brute_force(x, 10)
    assert values.std() < 1e-4  # cosines all within ~1e-4 of 0.9999
    stats = cone.cosine_stats(x.astype(np.float32), bins=10)
    assert stats.std == pytest.approx(values.std(), rel=1e-5)
    assert stats.mean == pytest.approx(values.mean(), abs=1e-9)


def test_cosine_stats_ignores_row_scale_and_handles_extreme_magnitudes():
    x = cone_data(40, 6, seed=5)
    scales = np.logspace(-30, 30, 40)[:, None]
    a = cone.cosine_stats(x, bins=20, dtype=np.float64)
    b = cone.cosine_stats(x * scales, bins=20, dtype=np.float64)
    assert b.mean == pytest.approx(a.mean, abs=1e-12)
    assert b.std == pytest.approx(a.std, abs=1e-12)
    np.testing.assert_array_equal(a.hist_counts, b.hist_counts)
    tiny = cone.cosine_stats((x * 1e-30).astype(np.float32), bins=20)  # squares underflow in float32
    assert tiny.mean == pytest.approx(a.mean, abs=1e-6)


def test_cosine_stats_is_frozen_dataclass():
    stats = cone.cosine_stats(cone_data(5, 3, seed=6), bins=4)
    with pytest.raises(AttributeError):
        stats.mean = 0.0  # type: ignore[misc]


@pytest.mark.parametrize(
    ("x", "kwargs", "match"),
    [
        (np.array([[1.0, np.nan], [1.0, 2.0], [0.5, 0.1]]), {}, "x contains NaN or infinite"),
        (np.array([[1.0, np.inf], [1.0, 2.0]]), {}, "x contains NaN or infinite"),
        (np.array([[1.0, 2.0], [0.0, 0.0], [3.0, 1.0]]), {}, r"x contains zero vector.*row\(s\) \[1\]"),
        (np.ones(5), {}, "x must be a 2-D array"),
        (np.ones((1, 4)), {}, "at least 2 embeddings"),
        (np.ones((3, 0)), {}, "at least one dimension"),
        (np.array([["a", "b"], ["c", "d"]]), {}, "real numbers"),
        (np.ones((3, 2)), {"bins": 0}, "bins must be a positive integer"),
        (np.ones((3, 2)), {"bins": 2.5}, "bins must be a positive integer"),
        (np.ones((3, 2)), {"block_size": 0}, "block_size must be a positive integer"),
        (np.ones((3, 2)), {"dtype": np.int32}, "dtype must be float32 or float64"),
    ],
)
def test_cosine_stats_rejects_bad_input(x, kwargs, match):
    with pytest.raises(ValueError, match=match):
        cone.cosine_stats(x, **kwargs)


def test_mean_pairwise_cosine_agrees_with_cosine_stats():
    x = cone_data(90, 7, seed=7)
    values, _, _ = brute_force(x, 10)
    assert cone.mean_pairwise_cosine(x) == pytest.approx(values.mean(), abs=1e-12)
    with pytest.raises(ValueError, match="zero vector"):
        cone.mean_pairwise_cosine(np.array([[0.0, 0.0], [1.0, 1.0]]))


def test_row_blocks_cover_all_rows():
    assert cone.row_blocks(10, 4) == [(0, 4), (4, 8), (8, 10)]
    assert cone.row_blocks(3, 10) == [(0, 3)]
    with pytest.raises(ValueError, match="block_size"):
        cone.row_blocks(3, 0)


# ---------------------------------------------------------------------------------------------
# between_within_variance and seed_predictability
# ---------------------------------------------------------------------------------------------


def test_between_within_variance_known_answer():
    # group 0 around (0, 0), group 1 around (10, 0), each point 1 away from its group mean
    x = np.array([[0.0, 1.0], [0.0, -1.0], [10.0, 1.0], [10.0, -1.0]])
    out = cone.between_within_variance(x, [0, 0, 1, 1])
    assert out.total == pytest.approx(26.0)
    assert out.within == pytest.approx(1.0)
    assert out.between == pytest.approx(25.0)
    assert out.between_share == pytest.approx(25.0 / 26.0)
    assert out.n_groups == 2


def test_between_within_variance_gaussian_clusters():
    rng = np.random.default_rng(8)
    n_groups, per_group, d, s_between, s_within = 50, 200, 4, 2.0, 1.0
    centres = rng.normal(0.0, s_between, (n_groups, d))
    labels = np.repeat(np.arange(n_groups), per_group)
    x = centres[labels] + rng.normal(0.0, s_within, (labels.size, d))
    out = cone.between_within_variance(x, labels)
    assert out.total == pytest.approx(out.within + out.between, rel=1e-12)
    expected = s_between**2 / (s_between**2 + s_within**2)  # 0.8
    assert out.between_share == pytest.approx(expected, abs=0.05)
    single = cone.between_within_variance(x, np.zeros(labels.size))
    assert single.between == pytest.approx(0.0, abs=1e-12) and single.between_share == pytest.approx(0.0, abs=1e-12)


def test_between_within_variance_rejects_bad_input():
    with pytest.raises(ValueError, match="labels must have shape"):
        cone.between_within_variance(np.ones((4, 2)), [0, 1])
    with pytest.raises(ValueError, match="NaN"):
        cone.between_within_variance(np.array([[np.nan, 1.0], [1.0, 1.0]]), [0, 1])
    with pytest.raises(ValueError, match="zero total variance"):
        cone.between_within_variance(np.ones((4, 2)), [0, 0, 1, 1])


def test_seed_predictability_separated_cones_and_identical_distributions():
    rng = np.random.default_rng(9)
    n_groups, per_group, d = 5, 120, 16
    labels = np.repeat(np.arange(n_groups), per_group)
    directions = rng.standard_normal((n_groups, d))
    cones = directions[labels] + 0.2 * rng.standard_normal((labels.size, d))
    assert cone.seed_predictability(cones, labels, seed=0) >= 0.98
    same = rng.standard_normal((labels.size, d))  # every "seed" has the same distribution
    chance = 1.0 / n_groups
    acc = cone.seed_predictability(same, labels, seed=0)
    assert abs(acc - chance) < 0.12  # 150 held-out rows: sd of the accuracy ~0.033


def test_seed_predictability_rejects_bad_input():
    with pytest.raises(ValueError, match="at least 2 distinct"):
        cone.seed_predictability(np.random.default_rng(0).standard_normal((10, 2)), np.zeros(10))
    with pytest.raises(ValueError, match="test_size"):
        cone.seed_predictability(np.random.default_rng(0).standard_normal((10, 2)), [0, 1] * 5, test_size=1.5)


# ---------------------------------------------------------------------------------------------
# Figure 2a / 2c plots
# ---------------------------------------------------------------------------------------------


def test_plot_cosine_histograms_and_save_figure(tmp_path):
    import matplotlib as mpl

    from modality_gap import figures_cone

    rc_before = dict(mpl.rcParams)
    grid = {
        ("ResNet", "Pretrained"): cone.cosine_stats(cone_data(60, 8, seed=10), bins=2000),
        ("ResNet", "Random init, noise"): cone.cosine_stats(cone_data(60, 8, seed=11, offset=20.0), bins=2000),
        ("Text", "Pretrained"): cone.cosine_stats(cone_data(60, 8, seed=12, offset=0.0), bins=2000),
    }
    fig = figures_cone.plot_cosine_histograms(grid)
    axes = np.array(fig.axes).reshape(2, 2)
    assert not axes[1, 1].axison  # missing cell left blank
    assert any("Avg=" in t.get_text() for t in axes[0, 0].texts)
    png, pdf = figures_cone.save_figure(fig, tmp_path / "fig2a")
    assert png.read_bytes()[:4] == b"\x89PNG" and pdf.read_bytes()[:4] == b"%PDF"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["fig2a.pdf", "fig2a.png"]  # no temp left
    assert dict(mpl.rcParams) == rc_before  # theme applied only inside the call
    with pytest.raises(ValueError, match="grid must contain"):
        figures_cone.plot_cosine_histograms({})


def test_plot_seed_cones():
    from modality_gap import figures_cone

    rng = np.random.default_rng(13)
    labels = np.repeat(np.arange(25), 20)
    xy = rng.normal(0, 5, (25, 2))[labels] + rng.standard_normal((labels.size, 2))
    fig = figures_cone.plot_seed_cones(xy, labels, "ResNet")
    colours = {tuple(np.round(c.get_facecolor()[0][:3], 3)) for c in fig.axes[0].collections}
    assert len(colours) == 25
    with pytest.raises(ValueError, match="embedding_2d must have shape"):
        figures_cone.plot_seed_cones(np.ones((4, 3)), np.zeros(4), "x")


def test_seed_predictability_subsampling():
    rng = np.random.default_rng(14)
    labels = np.repeat(np.arange(3), 300)
    x = rng.standard_normal((3, 8))[labels] + 0.1 * rng.standard_normal((labels.size, 8))
    assert cone.seed_predictability(x, labels, max_per_label=40) >= 0.95
    with pytest.raises(ValueError, match="max_per_label"):
        cone.seed_predictability(x, labels, max_per_label=1)
