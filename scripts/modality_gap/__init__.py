"""modality_gap: the science behind the "Mind the Gap" reproduction workflow.

Small pure functions over arrays, grouped by the paper's sections. Rule entry scripts in
``scripts/`` import this package (Snakemake puts a script's folder on ``sys.path``), and so do the
tests in ``tests/``.
"""

__version__ = "0.1.0"
