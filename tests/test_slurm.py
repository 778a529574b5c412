"""The workflow on a real SLURM cluster through profiles/slurm (runs only where `sinfo` answers).

Part of the demo DAG (the data stage for a tiny synthetic data set, and three `embed` jobs, which
ask for gpu=1) runs with ``--profile profiles/slurm``. The test fails if any job did not go through
sbatch, if an embed job did not reach SLURM as ``--gpus=1`` (or another job got a GPU), if the two
GPU jobs that are ready together were not submitted together (a global gpu cap), or if any output
differs from a local run of the same targets.

CI starts a single-node cluster with one fake GPU (.ci/slurm-single-node.sh) and exports
MODALITY_GAP_REQUIRE_SLURM=1, which turns "no cluster" into a failure instead of a skip.
Elsewhere: the account and partition come from MODALITY_GAP_SLURM_ACCOUNT and
MODALITY_GAP_SLURM_PARTITION (default: the CI cluster's ci_acct / debug; the partition needs a
GPU), and MODALITY_GAP_SLURM_TMP names a folder that the compute nodes share (default: pytest's
temporary folder, which only a single-node cluster can see).
"""

import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
from datetime import datetime
from pathlib import Path

import numpy as np
import pytest
import yaml
from conftest import REPO
from PIL import Image

from modality_gap.embed import load_embeddings

PROFILE = REPO / "profiles" / "slurm"
REQUIRED = os.environ.get("MODALITY_GAP_REQUIRE_SLURM") == "1"
TIMEOUT = 1200  # seconds for one Snakemake run (it takes about a minute on the CI cluster)

TARGETS = {
    # (rule, wildcards as in the plugin's job comment) -> output
    ("dataset", "shapes"): "resources/datasets/shapes",
    ("dataset_preview", "shapes"): "results/data/preview_shapes.png",
    ("dataset_table", ""): "results/data/datasets.csv",
    ("embed", "tiny_shapes"): "results/embeddings/tiny/shapes.npz",
    # two GPU jobs with no inputs: ready together, so both must be submitted at once
    ("embed", "tiny_noise"): "results/embeddings/tiny/noise.npz",
    ("embed", "tiny.seed1_noise"): "results/embeddings/tiny.seed1/noise.npz",
}
CONFIG = {
    "paper_embeddings": {"enabled": False},
    "datasets": {"shapes": {"source": "synthetic_captions", "n_train": 30, "n_val": 10, "mismatch_rate": 0.2}},
    "data_preview": {"n_images": 4},
    "models": {"tiny": {"kind": "open_clip", "arch": "TinyCLIP-ViT-64", "weights": "random", "seed": 0}},
    "embed": {"batch_size": 16, "threads": 1, "mem_mb": 1000, "noise": {"n": 8},
              "targets": {"tiny": ["shapes", "noise"]}},
}


def slurm_reachable() -> tuple[bool, str]:
    """Whether a SLURM controller answers `sinfo`, and why not."""
    if shutil.which("sinfo") is None:
        return False, "sinfo is not installed"
    try:
        r = subprocess.run(["sinfo", "-h", "-o", "%P %T"], capture_output=True, text=True, timeout=30)
    except subprocess.TimeoutExpired:
        return False, "sinfo did not answer within 30 s"
    if r.returncode != 0 or not r.stdout.strip():
        return False, f"sinfo failed: {(r.stderr or r.stdout).strip()[:300]}"
    return True, r.stdout.strip()


REACHABLE, WHY = slurm_reachable()
pytestmark = pytest.mark.skipif(
    not REACHABLE and not REQUIRED,
    reason=f"no SLURM cluster reachable ({WHY}); CI starts one with .ci/slurm-single-node.sh",
)


def run_env() -> dict:
    env = dict(os.environ)
    # rule scripts run with the `python` first on PATH, inside the jobs too (sbatch --export=ALL)
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    env.setdefault("MODALITY_GAP_SLURM_ACCOUNT", "ci_acct")
    env.setdefault("MODALITY_GAP_SLURM_PARTITION", "debug")
    return env


def snakemake(workdir: Path, config: Path, *args: str) -> tuple[int, str]:
    """Run Snakemake on TARGETS; returns (exit code, stdout+stderr). Cancels its jobs on a timeout."""
    log = workdir.parent / f"{workdir.name}.snakemake.txt"
    # targets first: options such as --resources take any number of values
    cmd = [sys.executable, "-m", "snakemake", *TARGETS.values(), "-s", str(REPO / "Snakefile"), "-d", str(workdir),
           "--configfile", str(config), "--replace-workflow-config", *args]
    with open(log, "w") as out:
        proc = subprocess.Popen(cmd, cwd=workdir.parent, env=run_env(), stdout=out, stderr=subprocess.STDOUT)
        try:
            rc = proc.wait(timeout=TIMEOUT)
        except subprocess.TimeoutExpired:
            proc.send_signal(signal.SIGINT)  # lets Snakemake cancel its SLURM jobs
            try:
                proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
            run_id = re.search(r"SLURM run ID: (\S+)", log.read_text())
            if run_id:
                subprocess.run(["scancel", f"--name={run_id.group(1)}"], capture_output=True)
            pytest.fail(f"snakemake ran past {TIMEOUT} s; output in {log}")
    return rc, log.read_text()


def sacct(job_ids: list[str]) -> dict[str, dict]:
    """sacct's record of each job (allocation line and steps), keyed by job id / step id."""
    fields = "JobID,JobName,State,ExitCode,Account,Partition,AllocTRES,Submit,Start,End,Comment"
    r = subprocess.run(["sacct", "-n", "-P", "-j", ",".join(job_ids), "-o", fields],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    rows = [dict(zip(fields.split(","), line.split("|"))) for line in r.stdout.splitlines() if line]
    return {row["JobID"]: row for row in rows}


def tres_per_job(job_id: str) -> str | None:
    """`scontrol show job`'s TresPerJob (what --gpus=N sets), None once SLURM has forgotten the job."""
    r = subprocess.run(["scontrol", "show", "job", job_id], capture_output=True, text=True, timeout=60)
    if r.returncode != 0:
        return None
    m = re.search(r"TresPerJob=(\S*)", r.stdout)
    return m.group(1) if m else ""


def when(stamp: str) -> datetime:
    return datetime.fromisoformat(stamp)


@pytest.fixture
def workspace(tmp_path):
    base = os.environ.get("MODALITY_GAP_SLURM_TMP")
    if base:
        root = Path(tempfile.mkdtemp(prefix="test_slurm.", dir=base))
        yield root
        shutil.rmtree(root, ignore_errors=True)
    else:
        yield tmp_path


def test_demo_part_runs_through_sbatch_and_matches_a_local_run(workspace):
    if not REACHABLE:
        pytest.fail(f"MODALITY_GAP_REQUIRE_SLURM=1 but no SLURM cluster is reachable: {WHY}")
    config = workspace / "config.yaml"
    config.write_text(yaml.safe_dump(CONFIG))
    cluster, local = workspace / "cluster", workspace / "local"
    cluster.mkdir()
    local.mkdir()

    # ---- the cluster run: the profile as users run it; CI only polls faster and keeps the job logs
    rc, out = snakemake(
        cluster, config, "--profile", str(PROFILE),
        "--slurm-init-seconds-before-status-checks", "1", "--seconds-between-status-checks", "2",
        "--slurm-keep-successful-logs", "--verbose",  # --verbose prints every sbatch call
    )
    assert rc == 0, out[-6000:]
    assert re.search(r"Using profiles? .*profiles/slurm", out), "the slurm profile was not loaded"
    assert not re.search(r"^localrule ", out, re.M), "a job ran locally:\n" + out[-4000:]
    run_id = re.search(r"SLURM run ID: (\S+)", out).group(1)

    # every submission: the sbatch call (--verbose) and the SLURM job id it got
    calls = re.findall(r"^sbatch call: (sbatch .*)$", out, re.M)
    submitted = re.findall(r"has been submitted with SLURM jobid (\d+) \(log: (.+?)\)\.$", out, re.M)
    assert len(calls) == len(submitted) >= len(TARGETS), out[-4000:]
    jobs = {}  # (rule, wildcards) -> the last submission of that job (an earlier one failed, if any)
    for call in calls:
        comment = re.search(r"--comment (\S+)", call).group(1).strip("'")
        m = re.fullmatch(r"rule_(\w+?)(?:_wildcards_(.*))?", comment)
        key = (m.group(1), m.group(2) or "")
        log = re.search(r"--output (\S+)", call).group(1).strip("'")
        ids = [jid for jid, path in submitted if Path(path).parent == Path(log).parent]
        jobs[key] = {"call": call, "id": ids[-1], "log": Path(log.replace("%j", ids[-1]))}
    assert set(jobs) == set(TARGETS), f"submitted {sorted(jobs)}, expected {sorted(TARGETS)}"

    # SLURM's own record: each job is this run's, completed, and ran its rule in a job step
    acct = sacct([j["id"] for j in jobs.values()])
    for (rule, wildcards), job in jobs.items():
        row = acct.get(job["id"])
        assert row, f"sacct has no job {job['id']} ({rule} {wildcards})"
        assert row["JobName"] == run_id and row["State"] == "COMPLETED" and row["ExitCode"] == "0:0", row
        assert row["Account"] == run_env()["MODALITY_GAP_SLURM_ACCOUNT"].lower(), row
        if row["Comment"]:  # stored where AccountingStoreFlags=job_comment (the CI cluster)
            assert row["Comment"] == re.search(r"--comment (\S+)", job["call"]).group(1).strip("'"), row
        step = acct.get(f"{job['id']}.0")
        assert step and step["State"] == "COMPLETED", f"no completed job step for {rule} {wildcards}: {step}"
        text = job["log"].read_text()
        assert f"rule {rule}:" in text and re.search(rf"Finished jobid: \d+ \(Rule: {rule}\)", text), job["log"]

        # the GPU request: rule embed asks for gpu=1, which must reach SLURM as --gpus=1, and only there
        gpus = re.findall(r"--gpus=(\S+)", job["call"])
        tres = tres_per_job(job["id"])
        if rule == "embed":
            assert gpus == ["1"], job["call"]
            assert "gres/gpu=1" in row["AllocTRES"].split(","), row
            assert tres is None or tres in ("gres:gpu:1", "gres/gpu:1"), tres
        else:
            assert gpus == [] and "gres/gpu" not in row["AllocTRES"], (job["call"], row)

    # no global gpu cap: Snakemake's scheduler tracks no gpu budget (--verbose prints it) ...
    budgets = re.findall(r"^Resources before job selection: (\{.*\})$", out, re.M)
    assert budgets and not any("'gpu'" in b for b in budgets), budgets
    # ... and the two GPU jobs that were ready together were submitted together, i.e. both
    # before either ended (SLURM, with its one GPU here, decides when each runs)
    a, b = (acct[jobs[("embed", w)]["id"]] for w in ("tiny_noise", "tiny.seed1_noise"))
    assert max(when(a["Submit"]), when(b["Submit"])) < min(when(a["End"]), when(b["End"])), (a, b)

    # ---- the same targets locally, then the outputs must agree
    rc, out_local = snakemake(local, config, "--cores", "2")
    assert rc == 0, out_local[-6000:]

    ds = "resources/datasets/shapes"
    files = sorted(p.relative_to(cluster / ds) for p in (cluster / ds).rglob("*") if p.is_file())
    assert files == sorted(p.relative_to(local / ds) for p in (local / ds).rglob("*") if p.is_file())
    assert Path("samples.csv") in files and any(f.parts[0] == "images" for f in files)
    for f in files:  # samples.csv, dataset.json and every image, byte for byte
        assert (cluster / ds / f).read_bytes() == (local / ds / f).read_bytes(), f
    table = "results/data/datasets.csv"
    assert (cluster / table).read_text() == (local / table).read_text()
    preview = "results/data/preview_shapes.png"
    assert np.array_equal(np.asarray(Image.open(cluster / preview)), np.asarray(Image.open(local / preview)))

    for key in [k for k in TARGETS if k[0] == "embed"]:
        emb_c, meta_c = load_embeddings(cluster / TARGETS[key])
        emb_l, meta_l = load_embeddings(local / TARGETS[key])
        assert sorted(emb_c) == sorted(emb_l) and meta_c["spec"] == meta_l["spec"], key
        for name in ("ids", "split", "labels", "text_labels"):
            assert np.array_equal(emb_c[name], emb_l[name]), (key, name)
        for name in ("image", "text"):
            a, b = emb_c[name], emb_l[name]
            assert a.shape == b.shape and a.dtype == b.dtype == np.float32, (key, name)
            if meta_c["device"] == meta_l["device"] == "cpu":
                assert np.array_equal(a, b), (key, name)
            else:  # a real GPU (bf16 autocast) against the local CPU
                cos = (a * b).sum(1) / (np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1))
                assert cos.min() > 0.99, (key, name, cos.min())
    # the seed suffix really re-initialised the model
    noise0, _ = load_embeddings(cluster / TARGETS[("embed", "tiny_noise")])
    noise1, _ = load_embeddings(cluster / TARGETS[("embed", "tiny.seed1_noise")])
    assert not np.allclose(noise0["image"], noise1["image"])
