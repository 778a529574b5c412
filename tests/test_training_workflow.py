"""The training stage through Snakemake: a tiny Section 4.4, and kill -9 during training then resume."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

import pandas as pd
import pytest
from conftest import REPO
from runner import snakemake, snakemake_cmd, snakemake_env, workdir_args, write_config

CONFIG = {
    "paper_embeddings": {"enabled": False},
    "datasets": {
        "pairs": {"source": "synthetic_captions", "n_train": 128, "n_val": 32, "max_shapes": 1, "seed": 3},
        "pairs_mm": {"source": "synthetic_captions", "n_train": 128, "n_val": 32, "max_shapes": 1, "seed": 3,
                     "mismatch_rate": 0.5},
    },
    "models": {"tiny": {"kind": "open_clip", "arch": "TinyCLIP-ViT-64", "weights": "random", "seed": 0},
               "tiny_trained": {"kind": "open_clip", "arch": "TinyCLIP-ViT-64", "weights": "checkpoint",
                                "checkpoint": "results/training/section44_original_seed0/model.pt"}},
    "train": {"dataset": "pairs", "model": "tiny", "epochs": 3, "batch_size": 32, "lr": 5e-4, "weight_decay": 0.0,
              "warmup_steps": 2, "temperature": 0.1, "threads": 1,
              "section44": {"seeds": [0]},
              "figure8": {"start": "tiny_trained", "temperatures": [1.0, 0.1], "epochs": 1},
              "figure16": {"dims": [16, 32]},
              "mismatch": {"datasets": ["pairs", "pairs_mm"], "temperatures": [0.1]}},
    "data_preview": {"n_images": 2},
}


def setup(root: Path, name: str) -> tuple[Path, tuple[str, ...]]:
    work = root / name
    work.mkdir()
    return work, workdir_args(work, write_config(work / "config.yaml", CONFIG))


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    work, args = setup(tmp_path_factory.mktemp("train"), "reference")
    r = snakemake(*args)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    return work


def test_training_stage_renders_its_tables_and_figures(reference):
    table = pd.read_csv(reference / "results/tables/Section4.4_initialisation.csv").set_index("init")
    assert set(table.index) == {"original", "amended"}
    # the Procrustes-amended initialisation starts with a smaller gap than the original one
    assert table.loc["amended", "gap_init"] < table.loc["original", "gap_init"]
    for stem in ("Section4.4_gap_during_training", "Figure8_finetune_temperature", "Figure16_embedding_dimension",
                 "Mismatch_temperature_sweep"):
        for ext in ("png", "pdf"):
            assert (reference / f"results/figures/{stem}.{ext}").stat().st_size > 0
    fig8 = pd.read_csv(reference / "results/tables/Figure8_finetune_temperature.csv")
    assert sorted(fig8["temperature"]) == [0.1, 1.0] and fig8["epochs"].eq(1).all()
    dims = pd.read_csv(reference / "results/tables/Figure16_embedding_dimension.csv")
    assert sorted(dims["embed_dim"]) == [16, 32]
    mm = pd.read_csv(reference / "results/tables/Mismatch_temperature_sweep.csv")
    assert sorted(mm["mismatch_rate"]) == [0.0, 0.5]
    metrics = pd.read_csv(reference / "results/training/section44_original_seed0/metrics.csv")
    assert list(metrics["epoch"]) == [0, 1, 2, 3] and metrics["logit_scale"].eq(metrics["logit_scale"][0]).all()


def test_sigkill_during_training_resumes_from_the_last_epoch(reference, tmp_path):
    work, args = setup(tmp_path, "killed")
    log = work / "logs/train_clip/section44_original_seed0.log"
    proc = subprocess.Popen(snakemake_cmd(*args, "results/training/section44_original_seed0/metrics.csv"),
                            cwd=REPO, env=snakemake_env(), start_new_session=True,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 600
        while not (log.exists() and "epoch 2:" in log.read_text()):
            assert proc.poll() is None, "the run ended before epoch 2"
            assert time.monotonic() < deadline, "epoch 2 never came"
            time.sleep(0.05)
        os.killpg(proc.pid, signal.SIGKILL)
    finally:
        proc.wait(timeout=60)
    assert proc.returncode == -signal.SIGKILL
    assert (work / "results/training/section44_original_seed0/checkpoint/last.pt").is_file()
    assert not (work / "results/training/section44_original_seed0/metrics.csv").exists()

    assert snakemake("--unlock", *args).returncode == 0
    r = snakemake(*args, "results/training/section44_original_seed0/metrics.csv")
    assert r.returncode == 0, r.stderr[-3000:]
    resumed_log = log.read_text()
    assert "epoch 3:" in resumed_log and "epoch 1:" not in resumed_log  # only the missing epoch ran
    got = (work / "results/training/section44_original_seed0/metrics.csv").read_text()
    ref = (reference / "results/training/section44_original_seed0/metrics.csv").read_text()
    drop_time = lambda text: pd.read_csv(pd.io.common.StringIO(text)).drop(columns=["seconds"])  # noqa: E731
    pd.testing.assert_frame_equal(drop_time(got), drop_time(ref))
