"""Converters from each data source to the common format of :mod:`modality_gap.datasets`.

Every ``prepare_<source>`` takes the destination folder, the files it reads and the data set's
config entry, and writes the data set atomically through :class:`~modality_gap.datasets.DatasetWriter`.
"""

from __future__ import annotations

import gzip
import json
import logging
import os
import pickle
import shutil
import tarfile
import zipfile
import zlib
from contextlib import contextmanager
from pathlib import Path, PurePosixPath
from typing import Callable

import numpy as np
import pandas as pd
from PIL import Image

from .datasets import DatasetError, DatasetWriter
from .synthetic import synthetic_attribute_table, synthetic_captions_table

__all__ = [
    "PUBLIC_SOURCES",
    "LICENSED_SOURCES",
    "required_downloads",
    "subset_indices",
    "prepare",
    "LICENSED_INSTRUCTIONS",
]

log = logging.getLogger(__name__)

PUBLIC_SOURCES = ("coco_captions", "cifar10", "cifar100", "svhn", "eurosat")
LICENSED_SOURCES = ("fairface", "hateful_memes", "imagenet")

#: How to obtain each licensed data set, shown when its path is missing.
LICENSED_INSTRUCTIONS = {
    "fairface": (
        "FairFace (CC BY 4.0, distributed by its authors via Google Drive): download 'fairface-img-margin025-"
        "trainval.zip' and 'fairface_label_val.csv' from https://github.com/joojs/fairface, unzip the images "
        "into one folder together with the CSV (the folder then holds val/1.jpg ... and fairface_label_val.csv), "
        "and set datasets.<name>.path to that folder."
    ),
    "hateful_memes": (
        "Hateful Memes (Meta research licence): accept the licence and download the data set from "
        "https://hatefulmemeschallenge.com (or its Hugging Face mirror), unzip it so that the folder holds "
        "img/ and dev_seen.jsonl, and set datasets.<name>.path to that folder."
    ),
    "imagenet": (
        "ImageNet (research licence): download ILSVRC2012 from https://image-net.org, arrange the validation "
        "images in ImageFolder layout (<path>/val/<wnid>/*.JPEG, e.g. with the valprep.sh script many "
        "repositories ship) and set datasets.<name>.path to <path>."
    ),
}

EUROSAT_CLASSES = {  # folder name -> CLIP's zero-shot class name
    "AnnualCrop": "annual crop land",
    "Forest": "forest",
    "HerbaceousVegetation": "brushland or shrubland",
    "Highway": "highway or road",
    "Industrial": "industrial buildings or commercial buildings",
    "Pasture": "pasture land",
    "PermanentCrop": "permanent crop land",
    "Residential": "residential buildings or homes or apartments",
    "River": "river",
    "SeaLake": "lake or sea",
}

FAIRFACE_RACES = ("White", "Black", "Latino_Hispanic", "East Asian", "Southeast Asian", "Indian", "Middle Eastern")
FAIRFACE_GENDERS = ("Male", "Female")


#: the split a licensed source reads when its config leaves ``split`` null
DEFAULT_SPLITS = {"fairface": "val", "hateful_memes": "dev_seen", "imagenet": "val"}


def required_downloads(source: str, settings: dict) -> list[str]:
    """File names (keys of ``downloads.files``) a data set of ``source`` reads."""
    if source == "coco_captions":
        return [f"{settings.get('split', 'val')}2017.zip", "annotations_trainval2017.zip"]
    return {
        "cifar10": ["cifar-10-python.tar.gz"],
        "cifar100": ["cifar-100-python.tar.gz"],
        "svhn": ["test_32x32.mat"],
        "eurosat": ["EuroSAT.zip"],
    }.get(source, [])


def subset_indices(n_total: int, n: int | None, seed: int) -> np.ndarray:
    """Sorted indices of a random subset of size ``n`` (all of them when ``n`` is None or too big)."""
    if n is None or n >= n_total:
        return np.arange(n_total)
    return np.sort(np.random.default_rng(seed).choice(n_total, size=n, replace=False))


#: What reading a damaged (truncated, overwritten) archive raises.
_DAMAGED = (zipfile.BadZipFile, tarfile.TarError, gzip.BadGzipFile, EOFError, zlib.error, pickle.UnpicklingError)


@contextmanager
def _archive(path: Path):
    """Turn the errors of a damaged archive into a :class:`DatasetError` that names it."""
    try:
        yield
    except _DAMAGED as exc:
        raise DatasetError(
            f"{path}: damaged or not the expected archive ({type(exc).__name__}: {exc}); "
            "delete it and re-run the workflow to fetch it again"
        ) from exc


def _rows_classification(ids, split, paths, labels) -> pd.DataFrame:
    return pd.DataFrame({"id": ids, "split": split, "image": paths, "caption": "", "label": labels})


# --------------------------------------------------------------------------------------------- sources


def prepare_synthetic_captions(dest: Path, inputs: dict, settings: dict, name: str) -> Path:
    """Generate the synthetic shapes captions (see :mod:`modality_gap.synthetic`)."""
    keys = ("n_train", "n_val", "image_size", "max_shapes", "noise", "mismatch_rate", "seed")
    samples, images, info = synthetic_captions_table(**{k: settings[k] for k in keys})
    with DatasetWriter(dest) as w:
        for relpath, img in images:
            w.add_image(relpath, img)
        return w.finish(samples, {"name": name, **info})


def prepare_synthetic_attribute(dest: Path, inputs: dict, settings: dict, name: str) -> Path:
    """Generate a single-shape classification task labelled by one attribute (see :mod:`modality_gap.synthetic`)."""
    keys = ("n", "attribute", "image_size", "noise", "seed")
    samples, images, info = synthetic_attribute_table(**{k: settings[k] for k in keys})
    with DatasetWriter(dest) as w:
        for relpath, img in images:
            w.add_image(relpath, img)
        return w.finish(samples, {"name": name, **info, "templates": list(settings["templates"])})


def prepare_sklearn_digits(dest: Path, inputs: dict, settings: dict, name: str) -> Path:
    """scikit-learn's bundled 8x8 digits as a 10-class task (dark ink on white, upscaled)."""
    from sklearn.datasets import load_digits

    digits = load_digits()
    size = settings["image_size"]
    scale = size / 8
    with DatasetWriter(dest) as w:
        paths = []
        for i, img in enumerate(digits.images):
            gray = np.rint(255.0 - img * (255.0 / 16.0)).astype(np.uint8)
            pil = Image.fromarray(gray, mode="L").resize((size, size), Image.Resampling.NEAREST).convert("RGB")
            paths.append(f"images/{i:04d}.png")
            w.add_image(paths[-1], pil)
        samples = _rows_classification([f"{i:04d}" for i in range(len(paths))], "test", paths, digits.target)
        return w.finish(
            samples,
            {
                "name": name,
                "task": "classification",
                "source": "sklearn_digits",
                "description": f"UCI handwritten digits bundled with scikit-learn (8x8, upscaled x{scale:g}).",
                "license": "CC BY 4.0 (UCI ML repository)",
                "classes": [str(k) for k in range(10)],
                "templates": list(settings["templates"]),
            },
        )


def prepare_coco_captions(dest: Path, inputs: dict, settings: dict, name: str) -> Path:
    """COCO 2017 image-caption pairs: one caption per image (``caption_index``), optional subset."""
    split = settings["split"]
    ann_zip = inputs["annotations_trainval2017.zip"]
    with _archive(ann_zip), zipfile.ZipFile(ann_zip) as zf:
        member = f"annotations/captions_{split}2017.json"
        try:
            ann = json.loads(zf.read(member))
        except KeyError as exc:
            raise DatasetError(f"{inputs['annotations_trainval2017.zip']}: no {member} inside") from exc
    images = sorted(ann["images"], key=lambda r: r["id"])
    caps: dict[int, list[tuple[int, str]]] = {}
    for a in ann["annotations"]:
        caps.setdefault(a["image_id"], []).append((a["id"], a["caption"]))
    images = [im for im in images if im["id"] in caps]
    keep = subset_indices(len(images), settings["n"], settings["seed"])
    k = settings["caption_index"]
    rows = []
    img_zip = inputs[f"{split}2017.zip"]
    with _archive(img_zip), zipfile.ZipFile(img_zip) as zimg, DatasetWriter(dest) as w:
        for idx in keep:
            im = images[idx]
            options = [c for _, c in sorted(caps[im["id"]])]
            caption = " ".join(options[min(k, len(options) - 1)].split())
            member = f"{split}2017/{im['file_name']}"
            try:
                data = zimg.read(member)
            except KeyError as exc:
                raise DatasetError(f"{inputs[f'{split}2017.zip']}: image {member} missing from the archive") from exc
            relpath = f"images/{im['file_name']}"
            w.add_image(relpath, data)
            rows.append({"id": str(im["id"]), "split": split, "image": relpath, "caption": caption, "label": -1})
        return w.finish(
            pd.DataFrame(rows),
            {
                "name": name,
                "task": "captions",
                "source": "coco_captions",
                "description": f"MS-COCO 2017 {split}, caption #{k} of each image.",
                "license": "annotations CC BY 4.0; images under their Flickr licences",
                "settings": {key: settings[key] for key in ("split", "n", "seed", "caption_index")},
            },
        )


def _cifar(dest: Path, archive: Path, settings: dict, name: str, variant: str) -> Path:
    folder, batch, meta, label_key, names_key = {
        "cifar10": ("cifar-10-batches-py", "test_batch", "batches.meta", b"labels", b"label_names"),
        "cifar100": ("cifar-100-python", "test", "meta", b"fine_labels", b"fine_label_names"),
    }[variant]
    with _archive(archive), tarfile.open(archive, "r:gz") as tf:
        def load(member):
            f = tf.extractfile(f"{folder}/{member}")
            if f is None:
                raise DatasetError(f"{archive}: {folder}/{member} missing")
            return pickle.load(f, encoding="bytes")

        try:
            data, meta_d = load(batch), load(meta)
        except KeyError as exc:
            raise DatasetError(f"{archive}: not a {variant} python archive ({exc})") from exc
    x = np.asarray(data[b"data"], dtype=np.uint8).reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1)
    y = np.asarray(data[label_key], dtype=np.int64)
    classes = [c.decode().replace("_", " ") for c in meta_d[names_key]]
    return _write_array_images(dest, x, y, classes, settings, name, variant, "CIFAR test split (32x32).",
                               "see https://www.cs.toronto.edu/~kriz/cifar.html")


def _write_array_images(dest, x, y, classes, settings, name, source, description, license_) -> Path:
    keep = subset_indices(len(x), settings["n"], settings["seed"])
    with DatasetWriter(dest) as w:
        paths, ids = [], []
        for i in keep:
            ids.append(f"{i:05d}")
            paths.append(f"images/{i:05d}.png")
            w.add_image(paths[-1], x[i])
        samples = _rows_classification(ids, "test", paths, y[keep])
        return w.finish(
            samples,
            {
                "name": name,
                "task": "classification",
                "source": source,
                "description": description,
                "license": license_,
                "classes": classes,
                "templates": list(settings["templates"]),
                "settings": {"n": settings["n"], "seed": settings["seed"]},
            },
        )


def prepare_cifar10(dest: Path, inputs: dict, settings: dict, name: str) -> Path:
    return _cifar(dest, inputs["cifar-10-python.tar.gz"], settings, name, "cifar10")


def prepare_cifar100(dest: Path, inputs: dict, settings: dict, name: str) -> Path:
    return _cifar(dest, inputs["cifar-100-python.tar.gz"], settings, name, "cifar100")


def prepare_svhn(dest: Path, inputs: dict, settings: dict, name: str) -> Path:
    """SVHN cropped digits, test split; label 10 (the digit 0) becomes 0."""
    from scipy.io import loadmat

    path = inputs["test_32x32.mat"]
    try:
        mat = loadmat(path)
        x = np.ascontiguousarray(mat["X"].transpose(3, 0, 1, 2)).astype(np.uint8)
        y = mat["y"].reshape(-1).astype(np.int64) % 10
    except (KeyError, ValueError, OSError, IndexError, *_DAMAGED) as exc:
        raise DatasetError(f"{path}: not an SVHN .mat file ({exc})") from exc
    return _write_array_images(dest, x, y, [str(k) for k in range(10)], settings, name, "svhn",
                               "SVHN cropped digits, test split (32x32).", "non-commercial use only")


def prepare_eurosat(dest: Path, inputs: dict, settings: dict, name: str) -> Path:
    """EuroSAT RGB: 27,000 64x64 JPEGs in one folder per land-use class."""
    archive = inputs["EuroSAT.zip"]
    folders = list(EUROSAT_CLASSES)
    with _archive(archive), zipfile.ZipFile(archive) as zf:
        members = sorted(
            m for m in zf.namelist()
            if m.lower().endswith(".jpg") and PurePosixPath(m).parent.name in EUROSAT_CLASSES
        )
        if not members:
            raise DatasetError(f"{archive}: no EuroSAT class folders with .jpg files inside")
        keep = subset_indices(len(members), settings["n"], settings["seed"])
        with DatasetWriter(dest) as w:
            rows = []
            for i in keep:
                m = PurePosixPath(members[i])
                relpath = f"images/{m.parent.name}/{m.name}"
                w.add_image(relpath, zf.read(members[i]))
                rows.append({"id": m.stem, "split": "test", "image": relpath, "caption": "",
                             "label": folders.index(m.parent.name)})
            return w.finish(
                pd.DataFrame(rows),
                {
                    "name": name,
                    "task": "classification",
                    "source": "eurosat",
                    "description": "EuroSAT RGB Sentinel-2 patches (64x64), all 27,000 as one test set.",
                    "license": "MIT",
                    "classes": [EUROSAT_CLASSES[f] for f in folders],
                    "templates": list(settings["templates"]),
                    "settings": {"n": settings["n"], "seed": settings["seed"]},
                },
            )


def _link_or_copy(src: Path, dst: Path) -> None:
    try:
        os.link(src, dst)
    except OSError:
        shutil.copyfile(src, dst)


def _need(path: Path, what: str, source: str) -> Path:
    if not path.exists():
        raise DatasetError(f"{path}: {what} not found. {LICENSED_INSTRUCTIONS[source]}")
    return path


def prepare_fairface(dest: Path, inputs: dict, settings: dict, name: str) -> Path:
    """FairFace, labelled by the 14 race x gender classes, with race, gender and age attributes."""
    root = Path(settings["path"]).expanduser()
    table = _need(root / f"fairface_label_{settings['split']}.csv", "the label table", "fairface")
    df = pd.read_csv(table)
    missing = {"file", "race", "gender", "age"} - set(df.columns)
    if missing:
        raise DatasetError(f"{table}: missing column(s) {sorted(missing)}")
    df = df.iloc[subset_indices(len(df), settings["n"], settings["seed"])]
    classes = [f"{r}_{g}" for r in FAIRFACE_RACES for g in FAIRFACE_GENDERS]
    names = [f"{r.replace('_Hispanic', '').lower()} {'man' if g == 'Male' else 'woman'}"
             for r in FAIRFACE_RACES for g in FAIRFACE_GENDERS]
    with DatasetWriter(dest) as w:
        rows = []
        for rec in df.itertuples(index=False):
            src = _need(root / rec.file, "image", "fairface")
            relpath = f"images/{rec.file}"
            _link_or_copy(src, w.path(relpath))
            key = f"{rec.race}_{rec.gender}"
            if key not in classes:
                raise DatasetError(f"{table}: row {rec.file} has unknown race/gender {key!r}")
            rows.append({"id": PurePosixPath(rec.file).stem, "split": "val", "image": relpath, "caption": "",
                         "label": classes.index(key), "attr_race": rec.race, "attr_gender": rec.gender,
                         "attr_age": str(rec.age)})
        samples = pd.DataFrame(rows)
        return w.finish(
            samples,
            {
                "name": name,
                "task": "classification",
                "source": "fairface",
                "description": f"FairFace {settings['split']} images; label = race x gender class.",
                "license": "CC BY 4.0",
                "classes": names,
                "templates": list(settings["templates"]),
                "attributes": {
                    "race": list(FAIRFACE_RACES),
                    "gender": list(FAIRFACE_GENDERS),
                    "age": sorted(samples["attr_age"].unique().tolist()),
                },
            },
        )


def prepare_hateful_memes(dest: Path, inputs: dict, settings: dict, name: str) -> Path:
    """Hateful Memes as a binary task ('meme' / 'hatespeech meme'); the meme text goes to caption."""
    root = Path(settings["path"]).expanduser()
    table = _need(root / f"{settings['split']}.jsonl", "the split table", "hateful_memes")
    recs = [json.loads(line) for line in table.read_text(encoding="utf-8").splitlines() if line.strip()]
    recs = [recs[i] for i in subset_indices(len(recs), settings["n"], settings["seed"])]
    with DatasetWriter(dest) as w:
        rows = []
        for r in recs:
            src = _need(root / r["img"], "image", "hateful_memes")
            relpath = f"images/{PurePosixPath(r['img']).name}"
            _link_or_copy(src, w.path(relpath))
            rows.append({"id": str(r["id"]), "split": "test", "image": relpath,
                         "caption": " ".join(str(r.get("text", "")).split()), "label": int(r["label"])})
        return w.finish(
            pd.DataFrame(rows),
            {
                "name": name,
                "task": "classification",
                "source": "hateful_memes",
                "description": f"Hateful Memes {settings['split']}; caption = the meme's text.",
                "license": "Hateful Memes data set licence (research use)",
                "classes": ["meme", "hatespeech meme"],
                "templates": list(settings["templates"]),
                "metric": "roc_auc",
            },
        )


def prepare_imagenet(dest: Path, inputs: dict, settings: dict, name: str) -> Path:
    """ImageNet validation images in ImageFolder layout (classes = WordNet ids), for Figure 14."""
    root = _need(Path(settings["path"]).expanduser() / settings["split"], "the split folder", "imagenet")
    wnids = sorted(p.name for p in root.iterdir() if p.is_dir())
    files = [(c, f) for c, wnid in enumerate(wnids) for f in sorted((root / wnid).iterdir()) if f.is_file()]
    if not files:
        raise DatasetError(f"{root}: no images in ImageFolder layout (<split>/<wnid>/*.JPEG)")
    files = [files[i] for i in subset_indices(len(files), settings["n"], settings["seed"])]
    with DatasetWriter(dest) as w:
        rows = []
        for label, f in files:
            relpath = f"images/{wnids[label]}/{f.name}"
            _link_or_copy(f, w.path(relpath))
            rows.append({"id": f.stem, "split": "test", "image": relpath, "caption": "", "label": label})
        return w.finish(
            pd.DataFrame(rows),
            {
                "name": name,
                "task": "classification",
                "source": "imagenet",
                "description": f"ImageNet {settings['split']} (ImageFolder); classes are WordNet ids.",
                "license": "ImageNet terms of access",
                "classes": wnids,
                "templates": list(settings["templates"]),
            },
        )


_PREPARERS: dict[str, Callable[..., Path]] = {
    "synthetic_captions": prepare_synthetic_captions,
    "synthetic_attribute": prepare_synthetic_attribute,
    "sklearn_digits": prepare_sklearn_digits,
    "coco_captions": prepare_coco_captions,
    "cifar10": prepare_cifar10,
    "cifar100": prepare_cifar100,
    "svhn": prepare_svhn,
    "eurosat": prepare_eurosat,
    "fairface": prepare_fairface,
    "hateful_memes": prepare_hateful_memes,
    "imagenet": prepare_imagenet,
}


def prepare(dest: str | os.PathLike, settings: dict, name: str, inputs: dict | None = None) -> Path:
    """Prepare data set ``name`` (config entry ``settings``) into folder ``dest``.

    ``inputs`` maps download file names to local paths (for the public sources).
    """
    source = settings["source"]
    if source in LICENSED_SOURCES and not settings.get("path"):
        raise DatasetError(f"data set '{name}': no local path configured. {LICENSED_INSTRUCTIONS[source]}")
    try:
        fn = _PREPARERS[source]
    except KeyError as exc:
        raise DatasetError(f"data set '{name}': unknown source {source!r}; known: {sorted(_PREPARERS)}") from exc
    inputs = {k: Path(v) for k, v in (inputs or {}).items()}
    if source in DEFAULT_SPLITS and not settings.get("split"):
        settings = {**settings, "split": DEFAULT_SPLITS[source]}
    return fn(Path(dest), inputs, settings, name)
