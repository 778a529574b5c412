"""Tests for ``modality_gap.sphere`` (Figure 3e-g, Figure 9)."""

from __future__ import annotations

import numpy as np
import pytest

from modality_gap import sphere

LATITUDES = np.arange(-90, 91, 1)


@pytest.fixture(scope="module")
def curves():
    return {
        mm: sphere.sphere_loss_curve(LATITUDES, sphere.PAPER_LOGIT_SCALES, mismatch=mm)
        for mm in (True, False)
    }


def test_points_geometry():
    image, text = sphere.sphere_points(n=6, spacing_deg=15, latitude_deg=40, mismatch=False)
    assert image.shape == text.shape == (6, 3)
    np.testing.assert_allclose(np.linalg.norm(image, axis=1), 1.0)
    np.testing.assert_allclose(np.linalg.norm(text, axis=1), 1.0)
    np.testing.assert_allclose(image[:, 2], 0.0, atol=1e-15)
    np.testing.assert_allclose(text[:, 2], np.sin(np.deg2rad(40)))
    lon = np.rad2deg(np.arctan2(image[:, 1], image[:, 0]))
    np.testing.assert_allclose(np.diff(lon), 15.0)


def test_mismatched_pairs():
    image, text = sphere.sphere_points(latitude_deg=30, mismatch=True)
    sims = image @ text.T
    assert sims[0, 1] > sims[0, 0]  # I0 nearer T1
    assert sims[1, 0] > sims[1, 1]  # I1 nearer T0
    for i in range(2, 6):
        assert np.argmax(sims[i]) == i
    image, text = sphere.sphere_points(latitude_deg=30, mismatch=False)
    assert np.all(np.argmax(image @ text.T, axis=1) == np.arange(6))


def test_closed_gap_at_equator():
    for mm in (True, False):
        image, text = sphere.sphere_points(latitude_deg=0, mismatch=mm)
        np.testing.assert_allclose(image.mean(0), text.mean(0), atol=1e-15)


def test_loss_at_pole_is_log_n(curves):
    for df in curves.values():
        pole = df[df["latitude"].abs() == 90]
        np.testing.assert_allclose(pole["loss"], np.log(6), rtol=1e-12)


def test_curve_table(curves):
    df = curves[True]
    assert list(df.columns) == ["latitude", "logit_scale", "loss", "gap", "gap_norm", "mismatch"]
    assert len(df) == len(LATITUDES) * len(sphere.PAPER_LOGIT_SCALES)
    assert df["mismatch"].all()
    assert (np.sign(df["gap"]) == np.sign(df["latitude"])).all()
    assert df.loc[df["latitude"] == 0, "gap_norm"].max() < 1e-12


def test_barrier_with_mismatch_at_low_temperature(curves):
    """Paper, Fig. 3g: with mismatched pairs and logit scale 100 closing the gap goes uphill."""
    bar = sphere.sphere_loss_barrier(curves[True]).set_index("logit_scale")
    assert bar.loc[100.0, "barrier"] > 0.5
    assert bar.loc[100.0, "start_latitude"] > 45
    assert bar.loc[100.0, "loss_closed"] > bar.loc[100.0, "loss_start"]
    # ... also from a fixed starting latitude of 30 degrees
    bar30 = sphere.sphere_loss_barrier(curves[True], start_latitude_deg=30).set_index("logit_scale")
    assert bar30.loc[100.0, "barrier"] > 0.1
    # the repulsion fades with temperature: none at logit scale 1 and 5
    assert bar.loc[1.0, "barrier"] == pytest.approx(0.0, abs=1e-9)
    assert bar.loc[5.0, "barrier"] == pytest.approx(0.0, abs=1e-9)


def test_no_barrier_without_mismatch(curves):
    """Paper, Fig. 9: without mismatched pairs there is no repulsion at any temperature."""
    df = curves[False]
    for start in (None, 30):
        bar = sphere.sphere_loss_barrier(df, start_latitude_deg=start)
        np.testing.assert_allclose(bar["barrier"], 0.0, atol=1e-12)
    for scale, sub in df.groupby("logit_scale"):
        assert sub.loc[sub["loss"].idxmin(), "latitude"] == 0


def test_fifteen_degree_spacing_also_shows_the_barrier():
    df = sphere.sphere_loss_curve(LATITUDES, [100.0], mismatch=True, spacing_deg=15)
    assert sphere.sphere_loss_barrier(df)["barrier"].iloc[0] > 0.2


def test_errors():
    with pytest.raises(ValueError, match="latitude_deg"):
        sphere.sphere_points(latitude_deg=91)
    with pytest.raises(ValueError, match="spacing_deg"):
        sphere.sphere_points(n=6, spacing_deg=70)
    with pytest.raises(ValueError, match="logit_scales"):
        sphere.sphere_loss_curve([0, 10], [0.0])
    df = sphere.sphere_loss_curve([10, 20], [1.0])
    with pytest.raises(ValueError, match="latitude 0"):
        sphere.sphere_loss_barrier(df)
    df = sphere.sphere_loss_curve([0, 10], [1.0])
    with pytest.raises(ValueError, match="not on the latitude grid"):
        sphere.sphere_loss_barrier(df, start_latitude_deg=15)


def test_sphere_plots_smoke(curves):
    import pandas as pd

    from modality_gap import figures_gap

    image, text = sphere.sphere_points()
    assert figures_gap.plot_sphere(image, text, title="setup").axes
    fig = figures_gap.plot_sphere_loss(pd.concat(list(curves.values())))
    assert [ax.get_title() for ax in fig.axes] == ["with mismatched pairs", "without mismatched pairs"]
