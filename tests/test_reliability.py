"""Reliability end to end: identical numbers from two clean runs, kill -9 and resume, bad inputs.

Every test runs the real workflow (``python -m snakemake``) on a small configuration in a temporary
working directory and compares results with a reference run.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import REPO
from httpserver import FileServer
from runner import snakemake, snakemake_cmd, snakemake_env, workdir_args, write_config

from modality_gap.download import file_digest

SHARED_EMBEDDINGS = REPO.parent / "shared" / "data" / "paper_embeddings"

CONFIG = {
    "paper_embeddings": {"mirror": str(SHARED_EMBEDDINGS), "download": False, "systems": ["clip"]},
    "datasets": {
        "shapes": {"source": "synthetic_captions", "n_train": 600, "n_val": 100, "mismatch_rate": 0.1},
    },
    "models": {"tiny": {"kind": "open_clip", "arch": "TinyCLIP-ViT-64", "weights": "random", "seed": 0}},
    "embed": {"batch_size": 32, "threads": 1, "noise": {"n": 16}, "targets": {"tiny": ["shapes", "noise"]}},
    "gap": {"n_boot": 100},
    "cone": {
        "dataset": "shapes",
        "towers": [{"name": "ViT image", "random": "tiny", "modality": "image"},
                   {"name": "Text", "random": "tiny", "modality": "text"}],
        "n_seeds": 2,
        "bins": 1000,
        "max_points_per_seed": 50,
        "depth": {"n_layers": 3, "n_inputs": 64, "dim": 32, "seeds": [0]},
        "theorem1": {"d_outs": [8], "cosines": [0.5], "norm_ratios": [1.0], "n_trials": 50},
        "theorem2": {"depths": [1, 2], "n_seeds": 3, "n_inputs": 32, "dim": 16},
    },
    "data_preview": {"n_images": 4},
}


def new_workdir(root: Path, name: str, **overrides) -> tuple[Path, tuple[str, ...]]:
    work = root / name
    work.mkdir()
    cfg = {**CONFIG, **overrides}
    return work, workdir_args(work, write_config(work / "config.yaml", cfg))


def run_ok(args) -> None:
    r = snakemake(*args)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    work, args = new_workdir(tmp_path_factory.mktemp("reliability"), "reference")
    run_ok(args)
    return work


def tables(work: Path) -> dict[str, bytes]:
    """Every CSV the run wrote (results/ and the data-set tables), by relative path."""
    files = list((work / "results").rglob("*.csv")) + list((work / "resources/datasets").rglob("samples.csv"))
    return {str(p.relative_to(work)): p.read_bytes() for p in files}


def embeddings(work: Path) -> dict[str, dict[str, np.ndarray]]:
    out = {}
    for p in (work / "results/embeddings").rglob("*.npz"):
        with np.load(p) as z:
            out[str(p.relative_to(work))] = {k: z[k] for k in z.files if k != "meta"}
    return out


def assert_same_results(work: Path, reference: Path) -> None:
    ref, got = tables(reference), tables(work)
    assert sorted(got) == sorted(ref)
    differ = [name for name in ref if got[name] != ref[name]]
    assert not differ, f"tables differ from the reference run: {differ}"
    ref_e, got_e = embeddings(reference), embeddings(work)
    assert sorted(got_e) == sorted(ref_e)
    for name, arrays in ref_e.items():
        for key, value in arrays.items():
            assert np.array_equal(got_e[name][key], value), f"{name}:{key} differs"
    figures = sorted(p.name for p in (reference / "results/figures").iterdir())
    assert sorted(p.name for p in (work / "results/figures").iterdir() if not p.name.startswith(".")) == figures


def test_reference_run_is_complete_and_a_rerun_does_nothing(reference):
    assert len(tables(reference)) >= 10 and len(embeddings(reference)) == 4  # shapes, noise, 2 seed files
    r = snakemake(*workdir_args(reference, reference / "config.yaml"))
    assert r.returncode == 0 and "Nothing to be done" in r.stdout + r.stderr


def test_two_clean_runs_give_identical_numbers(reference, tmp_path):
    work, args = new_workdir(tmp_path, "second")
    run_ok(args)
    assert_same_results(work, reference)


def incomplete_outputs(work: Path) -> set[Path]:
    """Outputs Snakemake had not marked complete (its .snakemake/incomplete/ markers, base64 path names)."""
    import base64

    root = work / ".snakemake" / "incomplete"
    out = set()
    for marker in root.rglob("*") if root.exists() else ():
        if marker.is_file() and marker.name != "migration_underway":
            b64 = "".join(part.lstrip("@") for part in marker.relative_to(root).parts)
            path = Path(base64.urlsafe_b64decode(b64.encode()).decode())
            out.add((path if path.is_absolute() else work / path).resolve())
    return out


def wait_for(path_glob: str, work: Path, proc: subprocess.Popen, timeout: float = 300) -> Path:
    """Block until a file matching ``path_glob`` (relative to ``work``) exists; the run must still be going."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        hits = list(work.glob(path_glob))
        if hits:
            return hits[0]
        assert proc.poll() is None, f"the run ended before {path_glob} appeared"
        time.sleep(0.05)
    raise AssertionError(f"{path_glob} did not appear within {timeout} s")


@pytest.mark.parametrize(
    "stage, marker",
    [
        ("extraction", "logs/embed/tiny/shapes.log"),
        ("rendering", "logs/figure1_figure4/Figure1_workflow_models_umap.log"),
    ],
)
def test_sigkill_then_resume_gives_the_reference_results(reference, tmp_path, stage, marker):
    work, args = new_workdir(tmp_path, f"killed-{stage}")
    proc = subprocess.Popen(snakemake_cmd(*args), cwd=REPO, env=snakemake_env(), start_new_session=True,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_for(marker, work, proc)
        time.sleep(0.5)  # well inside the job
        os.killpg(proc.pid, signal.SIGKILL)
    finally:
        proc.wait(timeout=60)
    assert proc.returncode == -signal.SIGKILL
    # what Snakemake had recorded as finished; a job killed mid-way (even one whose file was already
    # written but not yet registered) is incomplete and rightly redone
    incomplete = incomplete_outputs(work)
    assert incomplete, "the kill should have interrupted at least one job"
    finished = {p: p.stat().st_mtime_ns for p in (work / "results").rglob("*")
                if p.is_file() and p.resolve() not in incomplete}

    # README, "When a run fails": unlock, then run again (profiles/default sets --rerun-incomplete)
    assert snakemake("--unlock", *args).returncode == 0
    run_ok(args)
    assert_same_results(work, reference)
    # what had finished before the kill was neither recomputed nor touched
    for path, mtime in finished.items():
        if path.exists() and "benchmarks" not in path.parts and not path.name.startswith("."):
            assert path.stat().st_mtime_ns == mtime, f"{path} was rewritten"


# ------------------------------------------------------------------------------------- bad inputs


@pytest.fixture(scope="module")
def data_only(tmp_path_factory):
    """A workdir whose data stage has run (small shapes), for corrupting inputs."""
    work, args = new_workdir(tmp_path_factory.mktemp("bad"), "data",
                             datasets={"shapes": {"source": "synthetic_captions", "n_train": 20, "n_val": 10}},
                             cone={}, embed={**CONFIG["embed"], "targets": {"tiny": ["shapes"]}})
    run_ok((*args, "resources/datasets/shapes"))
    return work, args


def copy_workdir(src: Path, dst: Path) -> tuple[Path, tuple[str, ...]]:
    import shutil

    shutil.copytree(src, dst, symlinks=True, ignore=shutil.ignore_patterns(".snakemake"))
    return dst, workdir_args(dst, dst / "config.yaml")


def failing(args, target) -> str:
    r = snakemake(*args, target)
    assert r.returncode != 0, "the run should have failed"
    return r.stdout + r.stderr


def test_corrupt_image_fails_naming_it_and_writes_nothing(data_only, tmp_path):
    work, args = copy_workdir(data_only[0], tmp_path / "w")
    img = work / "resources/datasets/shapes/images/07.png"
    img.write_bytes(img.read_bytes()[:30])
    out = failing(args, "results/embeddings/tiny/shapes.npz")
    assert "07.png" in out and "cannot be read" in out
    assert not (work / "results/embeddings/tiny/shapes.npz").exists()
    assert not list((work / "results/embeddings/tiny").glob(".*")) if (work / "results/embeddings/tiny").exists() else True


def test_empty_caption_and_missing_column_name_the_culprit(data_only, tmp_path):
    work, args = copy_workdir(data_only[0], tmp_path / "w")
    table = work / "resources/datasets/shapes/samples.csv"
    df = pd.read_csv(table, dtype=str, keep_default_na=False)
    df.loc[3, "caption"] = ""
    df.to_csv(table, index=False)
    out = failing(args, "results/embeddings/tiny/shapes.npz")
    assert "empty caption" in out and "03" in out
    df.drop(columns=["split"]).to_csv(table, index=False)
    out = failing(args, "results/embeddings/tiny/shapes.npz")
    assert "missing column(s) split" in out
    assert not (work / "results/embeddings/tiny/shapes.npz").exists()


@pytest.mark.parametrize("bad, words", [(np.nan, "NaN or infinite values"), (0.0, "all-zero vector")])
def test_degenerate_embeddings_stop_the_gap_stage(reference, tmp_path, bad, words):
    work, args = copy_workdir(reference, tmp_path / "w")
    npz = work / "results/embeddings/tiny/shapes.npz"
    with np.load(npz) as z:
        data = {k: z[k] for k in z.files}
    data["text"][650, :] = bad  # a validation row
    with open(npz, "wb") as fh:
        np.savez(fh, **data)
    (work / "results/tables/gap_metrics.csv").unlink()
    out = failing(args, "results/tables/gap_metrics.csv")
    assert "shapes.npz (text): row 650" in out and words in out
    assert not (work / "results/tables/gap_metrics.csv").exists()


def test_checksum_mismatch_fails_the_download_and_keeps_nothing(tmp_path):
    www = tmp_path / "www"
    www.mkdir()
    (www / "test_32x32.mat").write_bytes(b"not the real file")
    with FileServer(www) as srv:
        work, args = new_workdir(
            tmp_path, "w", cone={}, embed={"targets": {}},
            datasets={"svhn": {"source": "svhn"}},
            downloads={"retries": 0, "files": {"test_32x32.mat": {
                "url": f"{srv.url}/test_32x32.mat", "checksum": "sha256:" + "0" * 64}}},
        )
        out = failing(args, "resources/datasets/svhn")
    assert "checksum mismatch" in out
    assert not (work / "resources/downloads/test_32x32.mat").exists()
    assert not (work / "resources/datasets/svhn").exists()


def test_pretrained_weights_offline_say_how_to_predownload(data_only, tmp_path):
    work, args = copy_workdir(data_only[0], tmp_path / "w")
    cfg = {**CONFIG, "models": {"clip": {"arch": "ViT-B-32-quickgelu", "weights": "pretrained", "pretrained": "openai"}},
           "embed": {"targets": {}}, "cone": {}, "datasets": {"shapes": {"source": "synthetic_captions", "n_train": 20, "n_val": 10}}}
    write_config(work / "config.yaml", cfg)
    hf = tmp_path / "hf-empty"
    hf.mkdir()
    r = snakemake(*args, "results/embeddings/clip/shapes.npz", env=snakemake_env(HF_HUB_OFFLINE="1", HF_HOME=str(hf)))
    out = r.stdout + r.stderr + (work / "logs/embed/clip/shapes.log").read_text()
    assert r.returncode != 0
    assert "pretrained weights ViT-B-32-quickgelu/openai are not available" in out and "Pre-download them" in out
    assert not (work / "results/embeddings/clip/shapes.npz").exists()


def test_download_file_digest_helper_is_consistent(tmp_path):
    f = tmp_path / "x"
    f.write_bytes(b"abc")
    assert file_digest(f) == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
