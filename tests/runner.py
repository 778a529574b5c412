"""Running the workflow from tests, as a user would: ``python -m snakemake`` in a subprocess."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import yaml
from conftest import REPO


def snakemake_env(**extra) -> dict:
    """The environment of a rule job: the test's Python first on PATH."""
    return dict(os.environ, PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}", **extra)


def snakemake_cmd(*args) -> list[str]:
    return [sys.executable, "-m", "snakemake", "-s", str(REPO / "Snakefile"), *args]


def snakemake(*args, cwd=REPO, timeout=900, env=None):
    """Run snakemake with ``args``; returns the CompletedProcess (stdout and stderr captured)."""
    return subprocess.run(snakemake_cmd(*args), cwd=cwd, env=env or snakemake_env(), capture_output=True,
                          text=True, timeout=timeout)


def write_config(path: Path, cfg: dict) -> Path:
    path.write_text(yaml.safe_dump(cfg))
    return path


def workdir_args(work: Path, config: Path, cores: int = 2) -> tuple[str, ...]:
    """Arguments running the workflow in ``work`` with ``config`` replacing config.yaml."""
    return ("--cores", str(cores), "-d", str(work), "--configfile", str(config), "--replace-workflow-config")
