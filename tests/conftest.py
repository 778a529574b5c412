"""Shared pytest setup: puts ``scripts/`` on ``sys.path`` as Snakemake does for rule scripts."""

import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SCRIPTS = REPO / "scripts"
if str(SCRIPTS) not in sys.path:
    sys.path.insert(0, str(SCRIPTS))
