"""The claims ledger: verdicts from result tables, 'not run' where a table is missing, demo scope."""

import numpy as np
import pandas as pd
import pytest

from modality_gap.claims import CLAIMS, COLUMNS, VERDICTS, claims_ledger


def tables(amended_final=0.7, fig8_gaps=(1.0, 0.8, 0.5, 0.24), barrier_clean=0.0, modified_sum=(1.0, 13.7)):
    t = {
        "gap_metrics.csv": pd.DataFrame({
            "pairs": ["paper_clip", "mine"], "centroid_distance": [0.851, 1.2],
            "centroid_distance_ci_low": [0.845, 1.1], "centroid_distance_ci_high": [0.859, 1.3]}),
        "Section4.4_initialisation.csv": pd.DataFrame({
            "init": ["original", "amended"], "n_seeds": [3, 3], "gap_final": [1.3, amended_final]}),
        "Figure8_finetune_temperature.csv": pd.DataFrame({
            "temperature": [0.01, 0.02, 0.1, 1.0], "gap_final": list(fig8_gaps)}),
        "Figure3_Figure9_sphere_barrier.csv": pd.DataFrame({
            "logit_scale": [1, 100, 1, 100], "barrier": [0.0, 1.2, 0.0, barrier_clean],
            "mismatch": [True, True, False, False]}),
        "Figure2b_depth_nonlinearity.csv": pd.DataFrame({
            "activation": ["relu", "relu", "sigmoid"], "seed": [0, 0, 0], "layer": [1, 10, 1],
            "mean_cosine": [0.33, 0.94, 0.86]}),
        "Table4_denigration.csv": pd.DataFrame({
            "synthetic_groups": False, "group": ["Black", "White", "all"] * 2,
            "setting": ["original"] * 3 + ["modified"] * 3, "gap": [0.82] * 3 + [0.97] * 3,
            "crime-related": 0.0, "non-human": 0.0, "Sum": [1.1, 15.7, 5.0, *modified_sum, 4.0],
            "accuracy": 0.5}),
    }
    return t


def by_id(ledger):
    return ledger.set_index("claim_id")


def test_claims_hold_on_paper_like_tables():
    led = by_id(claims_ledger(tables()))
    assert list(claims_ledger(tables()).columns) == COLUMNS
    assert set(led["verdict"]) <= set(VERDICTS) and len(led) == len(CLAIMS)
    for cid in ("gap_every_model", "gap_clip_value", "amended_init_smaller_gap", "gap_falls_with_temperature",
                "sphere_repulsion_needs_mismatch", "depth_nonlinearity", "denigration_lower_at_larger_gap"):
        assert led.loc[cid, "verdict"] == "holds", (cid, led.loc[cid].to_dict())
    assert led.loc["gap_clip_value", "evidence"] == "gap_metrics.csv"
    assert "0.851" in led.loc["gap_clip_value", "reproduced_value"]
    assert (led["scope"] != "qualitative at demo scale").all()


@pytest.mark.parametrize(
    "kwargs, claim",
    [
        ({"amended_final": 1.5}, "amended_init_smaller_gap"),
        ({"fig8_gaps": (0.2, 0.8, 0.5, 1.0)}, "gap_falls_with_temperature"),
        ({"barrier_clean": 0.3}, "sphere_repulsion_needs_mismatch"),
        ({"modified_sum": (1.2, 13.7)}, "denigration_lower_at_larger_gap"),
    ],
)
def test_a_contrary_result_fails_its_claim(kwargs, claim):
    assert by_id(claims_ledger(tables(**kwargs))).loc[claim, "verdict"] == "fails"


def test_missing_tables_are_not_run_and_demo_scope_is_marked():
    led = by_id(claims_ledger({}, demo_scale=True))
    assert (led["verdict"] == "not run").all() and (led["evidence"] == "").all()
    assert led.loc["amended_init_smaller_gap", "scope"] == "qualitative at demo scale"
    assert led.loc["depth_nonlinearity", "scope"] == "quantitative"
    assert led.loc["zero_shot_held_out", "scope"] == "beyond the paper"


def test_depth_claim_fails_far_from_the_published_curve():
    t = tables()
    t["Figure2b_depth_nonlinearity.csv"].loc[1, "mean_cosine"] = 0.6  # relu layer 10: paper 0.95
    led = by_id(claims_ledger(t))
    assert led.loc["depth_nonlinearity", "verdict"] == "fails"
    assert "relu layer 10" in led.loc["depth_nonlinearity", "reproduced_value"]
    assert np.isfinite(float(led.loc["depth_nonlinearity", "reproduced_value"].split()[2]))


def test_theorem2_margin_within_noise_holds():
    t = {"Theorem2_variance_share.csv": pd.DataFrame({
        "depth": [1, 2], "between_share": [0.42, 0.9987], "between_share_se": [0.01, 0.0005], "beta": [0.0, 0.999]})}
    assert by_id(claims_ledger(t)).loc["theorem2_variance_share", "verdict"] == "holds"
    t["Theorem2_variance_share.csv"].loc[1, "between_share"] = 0.99
    assert by_id(claims_ledger(t)).loc["theorem2_variance_share", "verdict"] == "fails"


def test_groups_without_harmful_predictions_do_not_count():
    t = tables()
    t4 = t["Table4_denigration.csv"]
    t4.loc[t4["group"] == "Black", "Sum"] = 0.0  # none at either gap: cannot be lowered
    led = by_id(claims_ledger(t))
    assert led.loc["denigration_lower_at_larger_gap", "verdict"] == "holds"
    assert "1 of 1 groups" in led.loc["denigration_lower_at_larger_gap", "reproduced_value"]
