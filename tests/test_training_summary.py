"""Section 4.4's table and the sweep tables computed from per-epoch metrics."""

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from modality_gap import figures_train
from modality_gap.training_summary import PAPER, mean_ci, section44_table, sweep_table


def metrics(gaps, r1=0.1):
    return pd.DataFrame({"epoch": range(len(gaps)), "val_gap": gaps, "val_r1_i2t": r1, "val_r1_t2i": r1,
                         "val_loss": 1.0, "train_loss": np.nan})


def test_mean_ci_is_the_student_t_interval():
    v = [1.0, 2.0, 4.0]
    mean, half = mean_ci(v)
    lo, hi = stats.t.interval(0.95, df=2, loc=np.mean(v), scale=stats.sem(v))
    assert mean == pytest.approx(np.mean(v)) and half == pytest.approx((hi - lo) / 2)
    assert np.isnan(mean_ci([3.0])[1])
    with pytest.raises(ValueError):
        mean_ci([])


def test_section44_table_reads_first_and_last_epochs():
    runs = {
        "section44_original_seed0": metrics([1.2, 1.1, 1.0]),
        "section44_original_seed1": metrics([1.4, 1.3, 1.2]),
        "section44_amended_seed0": metrics([0.1, 0.3, 0.5], r1=0.2),
        "section44_amended_seed1": metrics([0.1, 0.3, 0.7], r1=0.4),
    }
    t = section44_table(runs).set_index("init")
    assert t.loc["original", "gap_init"] == pytest.approx(1.3)
    assert t.loc["original", "gap_final"] == pytest.approx(1.1)
    assert t.loc["amended", "gap_final"] == pytest.approx(0.6)
    assert t.loc["amended", "r1_final"] == pytest.approx(0.3)
    assert t.loc["amended", "epochs"] == 2 and t.loc["amended", "n_seeds"] == 2
    assert t.loc["original", "paper_gap_final"] == PAPER["section44"]["original"]["gap_final"][0]


def test_sweep_table_and_figures(tmp_path):
    settings = [{"dataset": "d", "temperature": t, "seed": 0, "embed_dim": e} for t, e in ((0.01, 64), (1.0, 128))]
    t = sweep_table(["a", "b"], settings, [metrics([1.2, 0.9]), metrics([1.2, 0.1])], mismatch_rate=lambda s: 0.3)
    assert list(t["gap_final"]) == [0.9, 0.1] and list(t["gap_start"]) == [1.2, 1.2]
    assert list(t["mismatch_rate"]) == [0.3, 0.3]
    for fig in (figures_train.plot_temperature_sweep(t, start_gap=1.2), figures_train.plot_dimension_sweep(t),
                figures_train.plot_mismatch_sweep(t),
                figures_train.plot_section44({"section44_original_seed0": metrics([1.2, 1.0])})):
        fig.savefig(tmp_path / "f.png")
