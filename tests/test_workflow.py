"""The workflow as a user runs it: DAGs, lint, formatting, config errors, and the data stage end to end."""

import io
import pickle
import subprocess
import sys
import tarfile
from pathlib import Path

import numpy as np
import pytest
from conftest import REPO
from httpserver import FileServer
from runner import snakemake, write_config

from modality_gap.datasets import read_dataset
from modality_gap.download import file_digest

SHARED_EMBEDDINGS = REPO.parent / "shared" / "data" / "paper_embeddings"


def test_paper_config_builds_a_dag():
    r = snakemake("-n", "--cores", "8", "--resources", "gpu=1")
    assert r.returncode == 0, r.stderr
    assert "rule download:" in r.stdout and "coco_val2017" in r.stdout


def test_demo_preset_builds_a_dag():
    r = snakemake("-n", "--profile", "profiles/demo", "--forceall")
    assert r.returncode == 0, r.stderr
    assert "rule download:" not in r.stdout  # the demo needs no network
    assert "wildcards: dataset=shapes" in r.stdout


def test_lint_is_clean():
    r = snakemake("--lint")
    assert r.returncode == 0, r.stdout + r.stderr
    out = r.stdout + r.stderr
    assert "Congratulations, your workflow is in a good condition!" in out
    assert "Lints for" not in out


def test_snakefmt_is_clean():
    exe = Path(sys.executable).parent / "snakefmt"
    r = subprocess.run([str(exe), "--check", "Snakefile", "rules"], cwd=REPO, capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr


@pytest.mark.parametrize(
    "patch, key",
    [
        ({"bogus": 1}, "'bogus'"),
        ({"datasets": {"s": {"source": "synthetic_captions", "n_train": "many"}}}, "'datasets.s.n_train'"),
        ({"datasets": {"s": {"source": "synthetic_captions", "n_val": -3}}}, "'datasets.s.n_val'"),
        ({"datasets": {"f": {"source": "fairface", "path": "/no/such/folder"}}}, "'datasets.f.path'"),
        ({"models": {"m": {"arch": "ViT-Q-99"}}}, "'models.m.arch'"),
        ({"embed": {"targets": {"ghost": ["noise"]}}}, "'embed.targets.ghost'"),
    ],
)
def test_bad_config_stops_before_any_job(tmp_path, patch, key):
    cfg = write_config(tmp_path / "bad.yaml", patch)
    r = snakemake("--cores", "1", "-d", str(tmp_path), "--configfile", str(cfg), "--replace-workflow-config")
    assert r.returncode != 0
    assert key in r.stderr and "Fix:" in r.stderr
    assert sorted(p.name for p in tmp_path.iterdir() if p.name != ".snakemake") == ["bad.yaml"]


def fake_cifar10(path: Path, n: int = 20) -> np.ndarray:
    """A tarball laid out exactly like cifar-10-python.tar.gz (pickled batches)."""
    rng = np.random.default_rng(0)
    data = rng.integers(0, 256, size=(n, 3072), dtype=np.uint8)
    batch = {b"data": data, b"labels": [i % 10 for i in range(n)]}
    meta = {b"label_names": [s.encode() for s in
                             "airplane automobile bird cat deer dog frog horse ship truck".split()]}
    with tarfile.open(path, "w:gz") as tf:
        for name, obj in (("test_batch", batch), ("batches.meta", meta)):
            blob = pickle.dumps(obj)
            info = tarfile.TarInfo(f"cifar-10-batches-py/{name}")
            info.size = len(blob)
            tf.addfile(info, io.BytesIO(blob))
    return data


@pytest.fixture
def data_workdir(tmp_path):
    www = tmp_path / "www"
    www.mkdir()
    pixels = fake_cifar10(www / "cifar-10-python.tar.gz")
    work = tmp_path / "work"
    work.mkdir()
    return work, www, pixels


def data_config(work: Path, url: str, www: Path) -> Path:
    cfg = {
        "downloads": {
            "retries": 1,
            "timeout": 10,
            "files": {
                "cifar-10-python.tar.gz": {
                    "url": f"{url}/cifar-10-python.tar.gz",
                    "checksum": "sha256:" + file_digest(www / "cifar-10-python.tar.gz"),
                }
            },
        },
        "paper_embeddings": {"mirror": str(SHARED_EMBEDDINGS), "download": False, "systems": ["clip"]},
        "datasets": {
            "shapes": {"source": "synthetic_captions", "n_train": 30, "n_val": 10, "mismatch_rate": 0.2},
            "digits": {"source": "sklearn_digits"},
            "cifar10": {"source": "cifar10"},
        },
        "data_preview": {"n_images": 4},
        "models": {"tiny": {"kind": "open_clip", "arch": "TinyCLIP-ViT-64", "weights": "random", "seed": 0}},
        "embed": {"batch_size": 16, "threads": 1, "noise": {"n": 8}, "targets": {"tiny": ["shapes", "noise"]}},
        "cone": {
            "dataset": "shapes",
            "towers": [{"name": "ViT image", "random": "tiny", "modality": "image"},
                       {"name": "Text", "random": "tiny", "modality": "text"}],
            "n_seeds": 2,
            "bins": 1000,
            "depth": {"n_layers": 3, "n_inputs": 64, "dim": 32, "seeds": [0]},
            "theorem1": {"d_outs": [8, 32], "cosines": [0.5], "norm_ratios": [1.0], "n_trials": 50},
            "theorem2": {"depths": [1, 2], "n_seeds": 3, "n_inputs": 32, "dim": 16},
        },
    }
    return write_config(work / "config.yaml", cfg)


def test_data_stage_end_to_end(data_workdir):
    work, www, pixels = data_workdir
    with FileServer(www) as srv:
        cfg = data_config(work, srv.url, www)
        args = ("--cores", "2", "-d", str(work), "--configfile", str(cfg), "--replace-workflow-config")
        r = snakemake(*args)
        assert r.returncode == 0, r.stdout + r.stderr
        assert srv.hits == {"cifar-10-python.tar.gz": 1}

        cifar = read_dataset(work / "resources/datasets/cifar10")
        assert cifar.classes[1] == "automobile" and len(cifar) == 20
        first = np.asarray(cifar.load_image(0))
        assert np.array_equal(first, pixels[0].reshape(3, 32, 32).transpose(1, 2, 0))
        shapes = read_dataset(work / "resources/datasets/shapes")
        assert shapes.info["n_mismatched"] == 6
        for name in ("shapes", "digits", "cifar10"):
            assert (work / f"results/data/preview_{name}.png").stat().st_size > 0
        from modality_gap.embed import load_embeddings

        emb, meta = load_embeddings(work / "results/embeddings/tiny/shapes.npz")
        assert emb["image"].shape == emb["text"].shape == (40, 128)
        assert meta["spec"]["arch"] == "TinyCLIP-ViT-64" and meta["versions"]["torch"]
        noise, _ = load_embeddings(work / "results/embeddings/tiny/noise.npz")
        assert noise["image"].shape == (8, 128)
        assert (work / "results/benchmarks/embed/tiny/shapes.tsv").is_file()
        # the gap stage: Figures 1, 3, 4, 9 and the metrics table
        figs = work / "results/figures"
        expected = ["Figure1_workflow_models_umap", "Figure4_workflow_models_svd",
                    "Figure3bcd_loss_landscape_tiny--shapes", "Figure3e_sphere_mismatch",
                    "Figure9a_sphere_no_mismatch", "Figure3g_Figure9b_sphere_loss"]
        if SHARED_EMBEDDINGS.is_dir():
            expected += ["Figure1_paper_systems_umap", "Figure4_paper_systems_svd", "Figure3bcd_loss_landscape_paper_clip"]
        for stem in expected:
            for ext in ("png", "pdf"):
                assert (figs / f"{stem}.{ext}").stat().st_size > 0, stem
        # the cone stage: Figures 2a, 2b, 2c, 5, 6, 7 and the theorem checks
        expected = ["Figure2a_cosine_histograms", "Figure2b_depth_nonlinearity", "Figure2c_seed_cones_umap",
                    "Figure5_seed_cones_noise_umap", "Figure7_seed_cones_pca", "Theorem1_cosine_increase",
                    "Theorem2_variance_share"]
        for stem in expected:
            for ext in ("png", "pdf"):
                assert (figs / f"{stem}.{ext}").stat().st_size > 0, stem
        fig6 = (work / "results/tables/Figure6_cone_statistics_Figure2a.csv").read_text().splitlines()
        assert len(fig6) == 1 + 4 and fig6[1].startswith("ViT image,")  # 2 towers x (real, noise)
        seeds = (work / "results/tables/Figure2c_seed_cones.csv").read_text()
        assert "seed_predictability" in seeds and (work / "results/embeddings/tiny.seed1/shapes.npz").is_file()
        metrics = (work / "results/tables/gap_metrics.csv").read_text().splitlines()
        assert metrics[0].startswith("pairs,file,n_pairs,dim,centroid_distance")
        assert any(line.startswith("tiny--shapes,") for line in metrics)
        table = (work / "results/data/datasets.csv").read_text()
        assert "cifar10,cifar10,classification,20" in table
        if SHARED_EMBEDDINGS.is_dir():
            emb = np.load(work / "resources/paper_embeddings/features_clip.npy")
            assert emb.shape == (2, 500, 512)

        # a second run has nothing to do, and downloads nothing
        again = snakemake(*args)
        assert again.returncode == 0 and "Nothing to be done" in again.stdout + again.stderr
        assert srv.hits == {"cifar-10-python.tar.gz": 1}


def test_truncated_download_fails_the_job_and_leaves_nothing(data_workdir):
    work, www, _ = data_workdir
    with FileServer(www, truncate={"cifar-10-python.tar.gz"}) as srv:
        cfg = data_config(work, srv.url, www)
        target = "resources/datasets/cifar10"
        r = snakemake("--cores", "1", "-d", str(work), "--configfile", str(cfg), "--replace-workflow-config", target)
        assert r.returncode != 0
        assert "truncated" in (work / "logs/download/cifar-10-python.tar.gz.log").read_text()
        assert srv.hits["cifar-10-python.tar.gz"] == 2  # first try + one retry
    downloads = work / "resources/downloads"
    assert not downloads.exists() or list(downloads.iterdir()) == []
    assert not (work / target).exists()


def test_missing_mirror_without_download_leaves_the_panels_out_with_one_warning(tmp_path):
    cfg = write_config(tmp_path / "c.yaml", {
        "paper_embeddings": {"mirror": str(tmp_path / "nowhere"), "download": False},
        "datasets": {"digits": {"source": "sklearn_digits"}},
    })
    r = snakemake("-n", "--cores", "1", "-d", str(tmp_path), "--configfile", str(cfg), "--replace-workflow-config")
    assert r.returncode == 0, r.stderr
    out = r.stdout + r.stderr
    assert out.count("released paper embeddings are left out") == 1
    assert "rule paper_embeddings" not in out
