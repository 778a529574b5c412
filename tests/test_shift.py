"""Tests for ``modality_gap.shift`` (Section 4.2 embedding shift, Figure 3b-d)."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from modality_gap import gap, shift

PAPER_EMBEDDINGS = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "paper_embeddings"
CLIP_FILE = PAPER_EMBEDDINGS / "features_clip.npy"
needs_clip = pytest.mark.skipif(
    not CLIP_FILE.exists(), reason=f"released CLIP embeddings not found at {CLIP_FILE}"
)


def _unit(a: np.ndarray) -> np.ndarray:
    return a / np.linalg.norm(a, axis=1, keepdims=True)


@pytest.fixture(scope="module")
def clip_pairs():
    x, y = np.load(CLIP_FILE)
    return x.astype(np.float64), y.astype(np.float64)


@pytest.fixture(scope="module")
def clip_landscape(clip_pairs):
    x, y = clip_pairs
    return shift.loss_landscape(x, y, shift.PAPER_TEMPERATURES, shift.default_lambdas())


# ---------------------------------------------------------------------------- clip_loss
def _clip_loss_slow(x, y, temperature, batch_size, drop_last=False):
    """Explicit loops over softmax probabilities; mean over rows used."""
    n = len(x)
    if batch_size is None:
        batch_size = n
    stop = (n // batch_size) * batch_size if drop_last else n
    per_row = []
    for start in range(0, stop, batch_size):
        idx = list(range(start, min(start + batch_size, stop)))
        for i in idx:
            row = [math.exp(float(x[i] @ y[j]) / temperature) for j in idx]
            col = [math.exp(float(x[j] @ y[i]) / temperature) for j in idx]
            p_i2t = row[idx.index(i)] / sum(row)
            p_t2i = col[idx.index(i)] / sum(col)
            per_row.append(0.5 * (-math.log(p_i2t) - math.log(p_t2i)))
    return sum(per_row) / len(per_row)


@pytest.mark.parametrize("temperature", [0.05, 0.1, 0.5, 1.0])
@pytest.mark.parametrize("batch_size", [1, 4, 7, 23, None])
def test_clip_loss_matches_slow(temperature, batch_size):
    rng = np.random.default_rng(7)
    x = _unit(rng.standard_normal((23, 6)))
    y = _unit(x + 0.8 * rng.standard_normal((23, 6)))
    fast = shift.clip_loss(x, y, temperature, batch_size=batch_size)
    assert fast == pytest.approx(_clip_loss_slow(x, y, temperature, batch_size), rel=1e-10)


@pytest.mark.parametrize("batch_size", [4, 7, 10])
def test_clip_loss_drop_last(batch_size):
    rng = np.random.default_rng(8)
    x = _unit(rng.standard_normal((23, 5)))
    y = _unit(rng.standard_normal((23, 5)))
    fast = shift.clip_loss(x, y, 0.2, batch_size=batch_size, drop_last=True)
    assert fast == pytest.approx(_clip_loss_slow(x, y, 0.2, batch_size, drop_last=True), rel=1e-10)


def test_clip_loss_is_symmetric_in_the_modalities():
    rng = np.random.default_rng(9)
    x = _unit(rng.standard_normal((12, 4)))
    y = _unit(np.abs(rng.standard_normal((12, 4))))  # i2t and t2i differ for this pair set
    logits = x @ y.T / 0.1
    i2t = np.mean(np.log(np.exp(logits).sum(1)) - np.diag(logits))
    t2i = np.mean(np.log(np.exp(logits).sum(0)) - np.diag(logits))
    assert abs(i2t - t2i) > 1e-3
    assert shift.clip_loss(x, y, 0.1, batch_size=None) == pytest.approx(0.5 * (i2t + t2i))
    assert shift.clip_loss(x, y, 0.1, batch_size=None) == pytest.approx(
        shift.clip_loss(y, x, 0.1, batch_size=None)
    )


def test_clip_loss_stable_at_tiny_temperature():
    rng = np.random.default_rng(10)
    x = _unit(rng.standard_normal((50, 8)))
    value = shift.clip_loss(x, x, 1e-4, batch_size=50)
    assert np.isfinite(value) and value == pytest.approx(0.0, abs=1e-6)


def test_clip_loss_errors():
    x = np.ones((4, 3))
    with pytest.raises(ValueError, match="temperature"):
        shift.clip_loss(x, x, 0.0)
    with pytest.raises(ValueError, match="batch_size"):
        shift.clip_loss(x, x, 0.1, batch_size=0)
    with pytest.raises(ValueError, match="same shape"):
        shift.clip_loss(x, x[:3], 0.1)
    with pytest.raises(ValueError, match="leaves no batch"):
        shift.clip_loss(x, x, 0.1, batch_size=5, drop_last=True)
    bad = x.copy()
    bad[2, 0] = np.nan
    with pytest.raises(ValueError, match=r"y contains non-finite values at row 2"):
        shift.clip_loss(x, bad, 0.1)


# ---------------------------------------------------------------------------- shifting
def test_shift_zero_is_identity_and_unit_norm():
    rng = np.random.default_rng(11)
    x = rng.standard_normal((30, 8)) + 1.0
    y = rng.standard_normal((30, 8)) - 1.0
    xs, ys = shift.shift_embeddings(x, y, 0.0)
    np.testing.assert_allclose(xs, _unit(x))
    np.testing.assert_allclose(ys, _unit(y))
    xs, ys = shift.shift_embeddings(x, y, 0.7)
    np.testing.assert_allclose(np.linalg.norm(xs, axis=1), 1.0)
    np.testing.assert_allclose(np.linalg.norm(ys, axis=1), 1.0)


def test_shift_formula_and_explicit_gap():
    rng = np.random.default_rng(12)
    x = _unit(rng.standard_normal((30, 8)) + 1.0)
    y = _unit(rng.standard_normal((30, 8)) - 1.0)
    g = gap.gap_vector(x, y)
    xs, ys = shift.shift_embeddings(x, y, 0.3)
    np.testing.assert_allclose(xs, _unit(x - 0.3 * g))
    np.testing.assert_allclose(ys, _unit(y + 0.3 * g))
    other = np.zeros(8)
    other[0] = 1.0
    xs2, _ = shift.shift_embeddings(x, y, 0.3, gap=other)
    np.testing.assert_allclose(xs2, _unit(x - 0.3 * other))
    with pytest.raises(ValueError, match="gap must have shape"):
        shift.shift_embeddings(x, y, 0.3, gap=np.ones(3))


def test_signed_gap_sign():
    x = np.array([[1.0, 0.1], [1.0, -0.1]])
    y = np.array([[-1.0, 0.1], [-1.0, -0.1]])
    g = gap.gap_vector(x, y)
    assert shift.signed_gap(x, y, g) > 0
    assert shift.signed_gap(y, x, g) < 0


def test_default_lambdas():
    lams = shift.default_lambdas()
    assert len(lams) == 41 and lams[0] == -2.5 and lams[-1] == 2.5
    assert 0.0 in lams and 0.5 in lams
    np.testing.assert_allclose(lams, -lams[::-1])
    with pytest.raises(ValueError, match="divide"):
        shift.default_lambdas(limit=1.0, step=0.3)


@needs_clip
def test_closing_shift_leaves_no_gap(clip_pairs):
    x, y = clip_pairs
    lam = shift.closing_lambda(x, y)
    assert lam == pytest.approx(0.5, abs=0.02)
    xs, ys = shift.shift_embeddings(x, y, lam)
    assert gap.centroid_distance(xs, ys) < 0.02
    # the "half gap each" shift closes it up to the re-normalisation
    xs, ys = shift.shift_embeddings(x, y, 0.5)
    assert gap.centroid_distance(xs, ys) < 0.05


# ---------------------------------------------------------------------------- Figure 3(b-d) claims
@needs_clip
def test_landscape_table_shape(clip_landscape, clip_pairs):
    df = clip_landscape
    assert list(df.columns) == ["temperature", "lam", "gap", "gap_norm", "loss", "original_gap"]
    assert len(df) == len(shift.PAPER_TEMPERATURES) * 41
    assert df["original_gap"].iloc[0] == pytest.approx(gap.centroid_distance(*clip_pairs))
    at0 = df[df["lam"] == 0.0]
    np.testing.assert_allclose(at0["gap"], df["original_gap"].iloc[0])
    assert df["gap"].max() > 1.8 and df["gap"].min() < -1.7  # widened and back to back


@needs_clip
def test_low_temperature_minimum_is_the_original_gap(clip_landscape):
    """Paper, Fig. 3b: at tau = 1/100 the original gap is the global minimum."""
    best = shift.landscape_minimum(clip_landscape).set_index("temperature")
    row = best.loc[1 / 100]
    assert abs(row["gap"] - row["original_gap"]) < 0.15


@needs_clip
def test_high_temperature_minimum_closes_the_gap(clip_landscape):
    """Paper, Fig. 3d: at tau = 1 closing the gap is optimal."""
    best = shift.landscape_minimum(clip_landscape).set_index("temperature")
    assert abs(best.loc[1.0, "gap"]) < 0.2


@needs_clip
def test_low_temperature_back_to_back_local_minimum(clip_landscape):
    """Paper, Fig. 3b: a second, local minimum once the modalities are pushed back to back."""
    sub = clip_landscape[clip_landscape["temperature"] == 1 / 100].sort_values("lam")
    loss = sub["loss"].to_numpy()
    gaps = sub["gap"].to_numpy()
    interior = np.flatnonzero((loss[1:-1] < loss[:-2]) & (loss[1:-1] < loss[2:])) + 1
    assert any(gaps[i] < -1.0 for i in interior)


@needs_clip
def test_minimum_moves_towards_closing_as_temperature_rises(clip_landscape):
    best = shift.landscape_minimum(clip_landscape).sort_values("temperature")
    assert np.all(np.diff(best["gap"].to_numpy()) <= 1e-12)


def test_landscape_minimum_errors():
    import pandas as pd

    with pytest.raises(ValueError, match="lacks the columns"):
        shift.landscape_minimum(pd.DataFrame({"temperature": [1.0]}))


def test_plot_loss_landscape_smoke():
    from modality_gap import figures_gap

    rng = np.random.default_rng(13)
    x = _unit(rng.standard_normal((40, 6)) + 2.0)
    y = _unit(rng.standard_normal((40, 6)) - 2.0)
    df = shift.loss_landscape(x, y, [0.01, 1.0], shift.default_lambdas(limit=1.0, step=0.25), batch_size=20)
    fig = figures_gap.plot_loss_landscape(df, temperatures=[0.01, 1.0])
    assert [ax.get_title() for ax in fig.axes if ax.get_visible()] == [
        "temperature = 1/100",
        "temperature = 1",
    ]
    with pytest.raises(ValueError, match="not in df"):
        figures_gap.plot_loss_landscape(df, temperatures=[0.5])
