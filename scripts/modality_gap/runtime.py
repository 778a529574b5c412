"""Plumbing shared by the rule entry scripts: logging into the rule's log file."""

from __future__ import annotations

import logging
import sys
import warnings
from pathlib import Path

__all__ = ["log_to"]


def log_to(path: str | None, level: int = logging.INFO) -> logging.Logger:
    """Send log records (and Python warnings) to the rule's ``log:`` file; errors also to stderr.

    Returns the root logger. Safe to call once per process (handlers are replaced).
    """
    root = logging.getLogger()
    for h in list(root.handlers):
        root.removeHandler(h)
    fmt = logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s", "%Y-%m-%d %H:%M:%S")
    if path:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        fh = logging.FileHandler(path, mode="w", encoding="utf-8")
        fh.setFormatter(fmt)
        root.addHandler(fh)
    err = logging.StreamHandler(sys.stderr)
    err.setLevel(logging.WARNING if path else level)
    err.setFormatter(fmt)
    root.addHandler(err)
    root.setLevel(level)
    logging.captureWarnings(True)
    warnings.simplefilter("default")

    trace = logging.getLogger("modality_gap.traceback")
    trace.propagate = False
    trace.handlers = [h for h in root.handlers if isinstance(h, logging.FileHandler)]

    def excepthook(exc_type, exc, tb):
        # the message to the log and the terminal; the traceback to the log only
        root.error("%s: %s", exc_type.__name__, exc)
        trace.error("traceback", exc_info=(exc_type, exc, tb))
        if not path:
            sys.__excepthook__(exc_type, exc, tb)

    sys.excepthook = excepthook
    return root
