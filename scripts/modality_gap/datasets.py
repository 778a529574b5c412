"""The one on-disk data-set format every later stage reads.

A data set is a folder::

    <root>/dataset.json   what it is: name, task, classes and prompt templates, attributes, provenance
    <root>/samples.csv    one row per sample (columns below)
    <root>/images/...     the image files the rows point at (PNG, or the source's own JPEGs)

``samples.csv`` columns:

=============  =====================================================================================
``id``         unique string id
``split``      ``train``, ``val`` or ``test``
``image``      path of the image file, relative to the folder (always under ``images/``)
``caption``    the caption (task ``captions``; never empty there), else empty
``label``      class index into ``dataset.json``'s ``classes`` (task ``classification``), else -1
``attr_<a>``   optional attributes (e.g. ``attr_color``) whose values ``dataset.json`` lists
``mismatched`` optional: True where the caption was deliberately swapped (annotation errors)
=============  =====================================================================================

Folders are written atomically: :class:`DatasetWriter` fills a temporary folder beside the target
and renames it into place only after the samples validate, so a crash leaves no partial data set.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from PIL import Image

__all__ = [
    "FORMAT_VERSION",
    "TASKS",
    "SPLITS",
    "DatasetError",
    "Dataset",
    "DatasetWriter",
    "read_dataset",
    "validate_samples",
    "dataset_summary",
]

FORMAT_VERSION = 1
TASKS = ("captions", "classification")
SPLITS = ("train", "val", "test")
REQUIRED_COLUMNS = ("id", "split", "image", "caption", "label")


class DatasetError(ValueError):
    """A data set on disk (or about to be written) is malformed; the message names the culprit."""


def validate_samples(samples: pd.DataFrame, info: dict, where: str = "samples.csv") -> None:
    """Check a samples table against the format and its ``dataset.json``.

    Raises
    ------
    DatasetError
        Listing every problem found (missing columns, duplicate ids, empty captions, labels out of
        range, unknown splits or attribute values, image paths outside ``images/``).
    """
    problems: list[str] = []
    missing = [c for c in REQUIRED_COLUMNS if c not in samples.columns]
    if missing:
        raise DatasetError(
            f"{where}: missing column(s) {', '.join(missing)}; a data set table needs "
            f"{', '.join(REQUIRED_COLUMNS)} (see modality_gap/datasets.py)"
        )
    task = info.get("task")
    if task not in TASKS:
        problems.append(f"dataset.json: task {task!r} is not one of {TASKS}")
    if len(samples) == 0:
        problems.append("no samples")
    ids = samples["id"].astype(str)
    dup = ids[ids.duplicated()]
    if len(dup):
        problems.append(f"duplicate id(s): {', '.join(dup.iloc[:5])}")
    bad_split = sorted(set(samples["split"]) - set(SPLITS))
    if bad_split:
        problems.append(f"unknown split(s) {bad_split}; allowed: {SPLITS}")
    images = samples["image"].astype(str)
    outside = images[~images.str.startswith("images/") | images.str.contains(r"\.\.", regex=True)]
    if len(outside):
        problems.append(f"image path(s) outside images/: {', '.join(outside.iloc[:5])}")
    if task == "captions":
        caps = samples["caption"].fillna("").astype(str).str.strip()
        empty = samples.loc[caps == "", "id"].astype(str)
        if len(empty):
            problems.append(f"empty caption in row(s) with id {', '.join(empty.iloc[:5])}")
    if task == "classification":
        classes = info.get("classes") or []
        if not classes:
            problems.append("dataset.json: a classification data set needs a non-empty 'classes' list")
        labels = pd.to_numeric(samples["label"], errors="coerce")
        bad = samples.loc[labels.isna() | (labels < 0) | (labels >= len(classes)), "id"].astype(str)
        if len(bad):
            problems.append(f"label outside 0..{len(classes) - 1} in row(s) with id {', '.join(bad.iloc[:5])}")
        if not info.get("templates"):
            problems.append("dataset.json: a classification data set needs prompt 'templates'")
    for attr, values in (info.get("attributes") or {}).items():
        col = f"attr_{attr}"
        if col not in samples.columns:
            problems.append(f"dataset.json lists attribute {attr!r} but column {col} is missing")
            continue
        unknown = sorted(set(samples[col].dropna().astype(str)) - set(map(str, values)))
        if unknown:
            problems.append(f"column {col}: value(s) {unknown[:5]} not listed in dataset.json")
    if problems:
        raise DatasetError(f"{where}: " + "; ".join(problems))


@dataclass(frozen=True)
class Dataset:
    """A prepared data set: its folder, its ``dataset.json`` and its samples table."""

    root: Path
    info: dict
    samples: pd.DataFrame

    @property
    def name(self) -> str:
        return self.info["name"]

    @property
    def task(self) -> str:
        return self.info["task"]

    @property
    def classes(self) -> list[str]:
        return list(self.info.get("classes") or [])

    @property
    def templates(self) -> list[str]:
        return list(self.info.get("templates") or [])

    def __len__(self) -> int:
        return len(self.samples)

    def split(self, *names: str) -> "Dataset":
        """The samples of the given split(s), as a data set over the same folder."""
        keep = self.samples["split"].isin(names)
        return Dataset(self.root, self.info, self.samples.loc[keep].reset_index(drop=True))

    def image_path(self, i: int) -> Path:
        """Absolute path of row ``i``'s image."""
        return self.root / self.samples["image"].iat[i]

    def load_image(self, i: int) -> Image.Image:
        """Row ``i``'s image as RGB. Raises :class:`DatasetError` naming the file if unreadable."""
        path = self.image_path(i)
        try:
            with Image.open(path) as im:
                im.load()
                return im.convert("RGB")
        except (OSError, SyntaxError, ValueError) as exc:
            raise DatasetError(f"image {path} (id {self.samples['id'].iat[i]}) cannot be read: {exc}") from exc

    def class_prompts(self) -> list[list[str]]:
        """For each class, its prompts (one per template)."""
        return [[t.format(c) for t in self.templates] for c in self.classes]


def read_dataset(root: str | os.PathLike) -> Dataset:
    """Open and validate the data set in folder ``root``.

    Raises
    ------
    DatasetError
        The folder, ``dataset.json`` or ``samples.csv`` is missing or malformed.
    """
    root = Path(root)
    info_path, table_path = root / "dataset.json", root / "samples.csv"
    for p in (info_path, table_path):
        if not p.is_file():
            raise DatasetError(f"{p}: missing; is {root} a prepared data set? Re-run the data stage for it.")
    try:
        info = json.loads(info_path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise DatasetError(f"{info_path}: not valid JSON ({exc})") from exc
    if not isinstance(info, dict):
        raise DatasetError(f"{info_path}: expected a JSON object, found {type(info).__name__}")
    if info.get("format_version") != FORMAT_VERSION:
        raise DatasetError(
            f"{info_path}: format_version {info.get('format_version')!r}, this code reads {FORMAT_VERSION}; "
            "re-run the data stage to rebuild the data set"
        )
    try:
        samples = pd.read_csv(table_path, dtype={"id": str, "split": str, "image": str, "caption": str},
                              keep_default_na=False)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise DatasetError(f"{table_path}: cannot be parsed ({exc})") from exc
    validate_samples(samples, info, where=str(table_path))
    samples["label"] = samples["label"].astype(int)
    return Dataset(root, info, samples)


class DatasetWriter:
    """Write a data set folder atomically.

    Use as a context manager::

        with DatasetWriter(dest) as w:
            w.add_image("images/0001.png", pil_image)
            w.finish(samples_df, info_dict)

    Images go into a temporary folder beside ``dest``; :meth:`finish` validates the table, writes
    ``samples.csv`` and ``dataset.json`` and renames the folder into place. Leaving the block
    without :meth:`finish` (an exception) removes the temporary folder: nothing partial remains.
    """

    def __init__(self, dest: str | os.PathLike):
        self.dest = Path(dest)
        self.tmp: Path | None = None
        self._finished = False

    def __enter__(self) -> "DatasetWriter":
        self.dest.parent.mkdir(parents=True, exist_ok=True)
        self.tmp = Path(tempfile.mkdtemp(prefix=f".{self.dest.name}.", suffix=".tmp", dir=self.dest.parent))
        (self.tmp / "images").mkdir()
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if self.tmp is not None and self.tmp.exists():
            shutil.rmtree(self.tmp, ignore_errors=True)
        if exc_type is None and not self._finished:
            raise RuntimeError("DatasetWriter closed without finish(); nothing was written")

    def path(self, relpath: str) -> Path:
        """Absolute temporary path for ``relpath`` (under ``images/``), parents created."""
        if not relpath.startswith("images/") or ".." in relpath:
            raise DatasetError(f"image path {relpath!r} must lie under images/")
        p = self.tmp / relpath
        p.parent.mkdir(parents=True, exist_ok=True)
        return p

    def add_image(self, relpath: str, image: Image.Image | bytes | np.ndarray) -> None:
        """Store an image (PIL image, encoded bytes, or uint8 HxWx3 array) at ``relpath``."""
        p = self.path(relpath)
        if isinstance(image, bytes):
            p.write_bytes(image)
            return
        if isinstance(image, np.ndarray):
            image = Image.fromarray(image)
        image.save(p)

    def finish(self, samples: pd.DataFrame, info: dict[str, Any]) -> Path:
        """Validate and publish the data set; returns the final folder."""
        info = {"format_version": FORMAT_VERSION, **info, "n_samples": int(len(samples))}
        validate_samples(samples, info, where=f"{self.dest.name}/samples.csv")
        info["splits"] = {s: int((samples["split"] == s).sum()) for s in SPLITS if (samples["split"] == s).any()}
        missing = [p for p in samples["image"] if not (self.tmp / p).is_file()]
        if missing:
            raise DatasetError(f"{self.dest.name}: {len(missing)} image file(s) were never written, e.g. {missing[0]}")
        samples.to_csv(self.tmp / "samples.csv", index=False)
        (self.tmp / "dataset.json").write_text(json.dumps(info, indent=2, sort_keys=True) + "\n", encoding="utf-8")
        if self.dest.exists():
            trash = Path(tempfile.mkdtemp(prefix=f".{self.dest.name}.", suffix=".old", dir=self.dest.parent))
            os.replace(self.dest, trash / "old")
            os.replace(self.tmp, self.dest)
            shutil.rmtree(trash, ignore_errors=True)
        else:
            os.replace(self.tmp, self.dest)
        self._finished = True
        return self.dest



def dataset_summary(datasets: list[Dataset]) -> pd.DataFrame:
    """One row per data set: name, source, task, samples per split, classes, licence, swapped captions."""
    rows = []
    for ds in datasets:
        splits = ds.info.get("splits", {})
        rows.append(
            {
                "dataset": ds.name,
                "source": ds.info.get("source", ""),
                "task": ds.task,
                "n_samples": len(ds),
                **{f"n_{s}": int(splits.get(s, 0)) for s in SPLITS},
                "n_classes": len(ds.classes),
                "n_mismatched": int(ds.info.get("n_mismatched", 0)),
                "license": ds.info.get("license", ""),
            }
        )
    return pd.DataFrame(rows)
