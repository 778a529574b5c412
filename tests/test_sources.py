"""Tests for ``modality_gap.sources``: the converters from each data source to the common format.

Every public source is exercised on a small fake input built in ``tmp_path`` with the same layout
and the same tools as the real distribution (pickles in a ``.tar.gz`` for CIFAR, a MATLAB v5 file
for SVHN, zips for EuroSAT and COCO, folders for the licensed sets). Settings are completed with
the defaults of ``schemas/config.schema.yaml``, as the workflow does.
"""

from __future__ import annotations

import copy
import io
import json
import pickle
import tarfile
import zipfile
from pathlib import Path

import jsonschema
import numpy as np
import pandas as pd
import pytest
import yaml
from PIL import Image

from modality_gap import sources
from modality_gap.datasets import DatasetError, read_dataset

REPO = Path(__file__).resolve().parents[1]
SCHEMA = yaml.safe_load((REPO / "schemas" / "config.schema.yaml").read_text(encoding="utf-8"))


def settings_for(source: str, **entry) -> dict:
    """A ``datasets.<name>`` entry completed with the schema's defaults for ``source`` (and validated)."""
    entry = {"source": source, **entry}
    branches = SCHEMA["properties"]["datasets"]["additionalProperties"]["allOf"]
    matched = 0
    for branch in branches:
        cond = branch["if"]["properties"]["source"]
        if source == cond.get("const") or source in cond.get("enum", ()):
            matched += 1
            for key, sub in branch["then"]["properties"].items():
                if "default" in sub:
                    entry.setdefault(key, copy.deepcopy(sub["default"]))
    assert matched == 1, source
    jsonschema.validate({"datasets": {"d": entry}}, SCHEMA)
    return entry


def _leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


def _jpeg(seed: int, size: int = 16) -> bytes:
    arr = np.random.default_rng(seed).integers(0, 256, (size, size, 3), dtype=np.uint8)
    buf = io.BytesIO()
    Image.fromarray(arr).save(buf, format="JPEG", quality=90)
    return buf.getvalue()


def _png(seed: int, size: int = 16) -> bytes:
    arr = np.random.default_rng(seed).integers(0, 256, (size, size, 3), dtype=np.uint8)
    buf = io.BytesIO()
    Image.fromarray(arr).save(buf, format="PNG")
    return buf.getvalue()


def _tar_add(tf: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    info.mode = 0o644
    tf.addfile(info, io.BytesIO(data))


def _tar_dir(tf: tarfile.TarFile, name: str) -> None:
    info = tarfile.TarInfo(name)
    info.type = tarfile.DIRTYPE
    info.mode = 0o755
    tf.addfile(info)


def _zip_dir(zf: zipfile.ZipFile, name: str) -> None:
    zf.writestr(zipfile.ZipInfo(name.rstrip("/") + "/"), b"")


def _corrupt(path: Path) -> None:
    """Truncate a file to half its size (an interrupted download)."""
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


# ------------------------------------------------------------------------------------------ fake inputs

CIFAR10_NAMES = [b"airplane", b"automobile", b"bird", b"cat", b"deer", b"dog", b"frog", b"horse", b"ship",
                 b"truck"]
CIFAR100_NAMES = [b"apple", b"aquarium_fish", b"baby", b"bear", b"maple_tree", b"pickup_truck",
                  b"sweet_pepper", b"willow_tree"]


def make_cifar10(folder: Path, n: int = 12) -> tuple[Path, np.ndarray, list[int]]:
    """``cifar-10-python.tar.gz`` as distributed: pickled dicts with bytes keys (protocol 2)."""
    rng = np.random.default_rng(10)
    data = rng.integers(0, 256, (n, 3072), dtype=np.uint8)
    labels = [int(v) for v in rng.integers(0, 10, n)]
    test_batch = {b"batch_label": b"testing batch 1 of 1", b"labels": labels, b"data": data,
                  b"filenames": [f"img_{i}.png".encode() for i in range(n)]}
    meta = {b"num_cases_per_batch": n, b"label_names": CIFAR10_NAMES, b"num_vis": 3072}
    path = folder / "cifar-10-python.tar.gz"
    with tarfile.open(path, "w:gz") as tf:
        _tar_dir(tf, "cifar-10-batches-py")
        _tar_add(tf, "cifar-10-batches-py/data_batch_1", pickle.dumps({b"data": data[:2], b"labels": labels[:2]}, 2))
        _tar_add(tf, "cifar-10-batches-py/readme.html", b"<html></html>")
        _tar_add(tf, "cifar-10-batches-py/batches.meta", pickle.dumps(meta, protocol=2))
        _tar_add(tf, "cifar-10-batches-py/test_batch", pickle.dumps(test_batch, protocol=2))
    return path, data, labels


def make_cifar100(folder: Path, n: int = 10) -> tuple[Path, np.ndarray, list[int]]:
    rng = np.random.default_rng(100)
    data = rng.integers(0, 256, (n, 3072), dtype=np.uint8)
    fine = [int(v) for v in rng.integers(0, len(CIFAR100_NAMES), n)]
    fine[:2] = [1, 4]  # aquarium_fish, maple_tree
    test = {b"filenames": [f"t_{i}.png".encode() for i in range(n)], b"batch_label": b"testing batch 1 of 1",
            b"fine_labels": fine, b"coarse_labels": [0] * n, b"data": data}
    meta = {b"fine_label_names": CIFAR100_NAMES, b"coarse_label_names": [b"aquatic_mammals", b"fish"]}
    path = folder / "cifar-100-python.tar.gz"
    with tarfile.open(path, "w:gz") as tf:
        _tar_dir(tf, "cifar-100-python")
        _tar_add(tf, "cifar-100-python/file.txt~", b"")
        _tar_add(tf, "cifar-100-python/train", pickle.dumps({b"data": data[:1]}, protocol=2))
        _tar_add(tf, "cifar-100-python/test", pickle.dumps(test, protocol=2))
        _tar_add(tf, "cifar-100-python/meta", pickle.dumps(meta, protocol=2))
    return path, data, fine


def make_svhn(folder: Path, n: int = 11) -> tuple[Path, np.ndarray, np.ndarray]:
    """``test_32x32.mat``: X (32, 32, 3, N) uint8, y (N, 1) with 10 standing for the digit 0."""
    from scipy.io import savemat

    rng = np.random.default_rng(7)
    x = rng.integers(0, 256, (32, 32, 3, n), dtype=np.uint8)
    y = np.array([[10], [1], [2], [3], [4], [5], [6], [7], [8], [9], [10]], dtype=np.uint8)[:n]
    path = folder / "test_32x32.mat"
    savemat(path, {"X": x, "y": y})
    return path, x, y


EUROSAT_FILES = {"AnnualCrop": 3, "Forest": 2, "HerbaceousVegetation": 1, "Highway": 1, "Industrial": 1,
                 "Pasture": 1, "PermanentCrop": 1, "Residential": 2, "River": 1, "SeaLake": 2}


def make_eurosat(folder: Path) -> tuple[Path, dict[str, bytes]]:
    """``EuroSAT.zip``: ``2750/<ClassFolder>/<ClassFolder>_<k>.jpg`` (64x64 JPEGs), with folder entries."""
    path = folder / "EuroSAT.zip"
    members = {}
    seed = 0
    with zipfile.ZipFile(path, "w") as zf:
        _zip_dir(zf, "2750")
        for cls, count in EUROSAT_FILES.items():
            _zip_dir(zf, f"2750/{cls}")
            for k in range(1, count + 1):
                name = f"2750/{cls}/{cls}_{k}.jpg"
                members[name] = _jpeg(seed, 64)
                seed += 1
                zf.writestr(name, members[name])
    return path, members


COCO_IMAGES = [  # id, file_name (deliberately not in id order)
    (397133, "000000397133.jpg"),
    (37777, "000000037777.jpg"),
    (252219, "000000252219.jpg"),
    (87038, "000000087038.jpg"),
    (174482, "000000174482.jpg"),
    (403385, "000000403385.jpg"),
    (6818, "000000006818.jpg"),
    (480985, "000000480985.jpg"),
]


def _coco_captions(image_id: int) -> list[tuple[int, str]]:
    """(annotation id, caption): 5 captions per image, ids out of order, some untidy whitespace."""
    base = image_id % 1000 * 10
    ids = [base + 7, base + 2, base + 9, base + 4, base + 5]
    return [(ann_id, f"Caption {ann_id} of  image {image_id}.\n") for ann_id in ids]


def make_coco(folder: Path, *, with_orphan: bool = True) -> dict[str, Path]:
    """``val2017.zip`` (``val2017/<file_name>`` JPEGs) and ``annotations_trainval2017.zip``."""
    images = [{"license": 4, "file_name": fn, "coco_url": f"http://images.cocodataset.org/val2017/{fn}",
               "height": 16, "width": 16, "date_captured": "2013-11-14 17:02:52",
               "flickr_url": f"http://farm7.staticflickr.com/{fn}", "id": iid} for iid, fn in COCO_IMAGES]
    annotations = []
    for iid, _ in COCO_IMAGES:
        annotations += [{"image_id": iid, "id": aid, "caption": cap} for aid, cap in _coco_captions(iid)]
    np.random.default_rng(3).shuffle(annotations)
    if with_orphan:  # an image without any caption is left out
        images.append({"license": 1, "file_name": "000000000001.jpg", "coco_url": "", "height": 16, "width": 16,
                       "date_captured": "", "flickr_url": "", "id": 1})
    captions = {"info": {"description": "COCO 2017 Dataset", "version": "1.0", "year": 2017},
                "licenses": [{"url": "http://creativecommons.org/licenses/by-nc-sa/2.0/", "id": 1,
                              "name": "Attribution-NonCommercial-ShareAlike License"}],
                "images": images, "annotations": annotations}
    ann_path = folder / "annotations_trainval2017.zip"
    with zipfile.ZipFile(ann_path, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        _zip_dir(zf, "annotations")
        zf.writestr("annotations/captions_train2017.json", json.dumps({"images": [], "annotations": []}))
        zf.writestr("annotations/captions_val2017.json", json.dumps(captions))
        zf.writestr("annotations/instances_val2017.json", json.dumps({"images": images, "annotations": []}))
    img_path = folder / "val2017.zip"
    with zipfile.ZipFile(img_path, "w") as zf:
        _zip_dir(zf, "val2017")
        for k, (_, fn) in enumerate(COCO_IMAGES):
            zf.writestr(f"val2017/{fn}", _jpeg(k))
        if with_orphan:
            zf.writestr("val2017/000000000001.jpg", _jpeg(99))
    return {"val2017.zip": img_path, "annotations_trainval2017.zip": ann_path}


FAIRFACE_ROWS = [  # file, age, gender, race, service_test
    ("val/1.jpg", "3-9", "Male", "East Asian", False),
    ("val/2.jpg", "50-59", "Female", "East Asian", True),
    ("val/3.jpg", "30-39", "Male", "White", True),
    ("val/4.jpg", "20-29", "Female", "Latino_Hispanic", True),
    ("val/5.jpg", "more than 70", "Female", "Southeast Asian", False),
    ("val/6.jpg", "0-2", "Male", "Middle Eastern", True),
    ("val/7.jpg", "20-29", "Male", "Indian", False),
    ("val/8.jpg", "10-19", "Female", "Black", True),
]


def make_fairface(folder: Path) -> Path:
    root = folder / "fairface"
    (root / "val").mkdir(parents=True)
    (root / "train").mkdir()
    pd.DataFrame(FAIRFACE_ROWS, columns=["file", "age", "gender", "race", "service_test"]).to_csv(
        root / "fairface_label_val.csv", index=False)
    for k, (file, *_rest) in enumerate(FAIRFACE_ROWS):
        (root / file).write_bytes(_jpeg(k, 24))
    (root / "train" / "1.jpg").write_bytes(_jpeg(50, 24))
    return root


MEMES = [(8291, 1, "white people is this a shooting range"), (46971, 0, "bravery at its finest"),
         (3745, 1, "your order comes to $37.50 and your  privilege"), (83745, 0, "it is said that\nsome"),
         (80243, 1, "mississippi wind chime")]


def make_hateful_memes(folder: Path) -> Path:
    root = folder / "hateful_memes"
    (root / "img").mkdir(parents=True)
    lines = []
    for k, (mid, label, text) in enumerate(MEMES):
        # the distributed .jsonl escapes the slash: "img\/08291.png"
        lines.append(json.dumps({"id": mid, "img": f"img/{mid:05d}.png", "label": label, "text": text})
                     .replace("img/", "img\\/"))
        (root / "img" / f"{mid:05d}.png").write_bytes(_png(k))
    (root / "dev_seen.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    (root / "train.jsonl").write_text(lines[0] + "\n", encoding="utf-8")
    return root


IMAGENET = {"n01440764": ["ILSVRC2012_val_00000293.JPEG", "ILSVRC2012_val_00002138.JPEG"],
            "n01443537": ["ILSVRC2012_val_00000236.JPEG"],
            "n15075141": ["ILSVRC2012_val_00001079.JPEG", "ILSVRC2012_val_00003541.JPEG",
                          "ILSVRC2012_val_00000019.JPEG"]}


def make_imagenet(folder: Path) -> Path:
    root = folder / "imagenet"
    seed = 0
    for wnid, files in IMAGENET.items():
        (root / "val" / wnid).mkdir(parents=True)
        for f in files:
            (root / "val" / wnid / f).write_bytes(_jpeg(seed, 20))
            seed += 1
    (root / "val" / "LOC_synset_mapping.txt").write_text("n01440764 tench\n", encoding="utf-8")
    return root


# ------------------------------------------------------------------------------------------ helpers


def test_required_downloads_match_the_converters():
    assert sources.required_downloads("coco_captions", settings_for("coco_captions")) == [
        "val2017.zip", "annotations_trainval2017.zip"]
    assert sources.required_downloads("coco_captions", settings_for("coco_captions", split="train"))[0] == \
        "train2017.zip"
    assert sources.required_downloads("cifar10", {}) == ["cifar-10-python.tar.gz"]
    assert sources.required_downloads("cifar100", {}) == ["cifar-100-python.tar.gz"]
    assert sources.required_downloads("svhn", {}) == ["test_32x32.mat"]
    assert sources.required_downloads("eurosat", {}) == ["EuroSAT.zip"]
    for source in sources.LICENSED_SOURCES + ("sklearn_digits", "synthetic_captions"):
        assert sources.required_downloads(source, {}) == []


def test_subset_indices():
    np.testing.assert_array_equal(sources.subset_indices(5, None, 0), np.arange(5))
    np.testing.assert_array_equal(sources.subset_indices(5, 5, 0), np.arange(5))
    np.testing.assert_array_equal(sources.subset_indices(5, 9, 0), np.arange(5))
    a = sources.subset_indices(100, 10, 3)
    assert len(a) == 10 and len(set(a.tolist())) == 10 and list(a) == sorted(a) and a.max() < 100
    np.testing.assert_array_equal(a, sources.subset_indices(100, 10, 3))
    assert not np.array_equal(a, sources.subset_indices(100, 10, 4))


def test_unknown_source(tmp_path):
    with pytest.raises(DatasetError, match="unknown source 'mnist'"):
        sources.prepare(tmp_path / "x", {"source": "mnist"}, "x")
    assert _leftovers(tmp_path) == []


# ------------------------------------------------------------------------------------------ array sources


def test_cifar10(tmp_path):
    archive, data, labels = make_cifar10(tmp_path)
    dest = tmp_path / "out" / "cifar10"
    settings = settings_for("cifar10")
    assert sources.prepare(dest, settings, "cifar10", {"cifar-10-python.tar.gz": archive}) == dest
    ds = read_dataset(dest)
    assert ds.name == "cifar10" and ds.task == "classification" and ds.info["source"] == "cifar10"
    assert ds.classes == [c.decode() for c in CIFAR10_NAMES]
    assert ds.templates == ["a photo of a {}."]
    assert len(ds) == len(labels) and set(ds.samples["split"]) == {"test"}
    assert ds.samples["label"].tolist() == labels
    assert ds.samples["id"].tolist() == [f"{i:05d}" for i in range(len(labels))]
    # pixels exactly as stored: row i holds 1024 red, 1024 green, 1024 blue values, each row-major 32x32
    for i in (0, 7):
        img = np.asarray(ds.load_image(i))
        assert img.shape == (32, 32, 3)
        for ch in range(3):
            np.testing.assert_array_equal(img[:, :, ch], data[i, ch * 1024:(ch + 1) * 1024].reshape(32, 32))
    assert _leftovers(dest.parent) == ["cifar10"]


def test_cifar10_subset_is_deterministic(tmp_path):
    archive, data, labels = make_cifar10(tmp_path, n=20)
    inputs = {"cifar-10-python.tar.gz": archive}
    a = read_dataset(sources.prepare(tmp_path / "a", settings_for("cifar10", n=5, seed=1), "c", inputs))
    b = read_dataset(sources.prepare(tmp_path / "b", settings_for("cifar10", n=5, seed=1), "c", inputs))
    assert len(a) == 5 and a.samples["id"].tolist() == b.samples["id"].tolist()
    idx = [int(i) for i in a.samples["id"]]
    assert idx == list(sources.subset_indices(20, 5, 1))
    assert a.samples["label"].tolist() == [labels[i] for i in idx]
    assert a.info["settings"] == {"n": 5, "seed": 1}
    img = np.asarray(a.load_image(2))
    np.testing.assert_array_equal(img[:, :, 1], data[idx[2], 1024:2048].reshape(32, 32))


def test_cifar100_fine_labels_and_spaces(tmp_path):
    archive, data, fine = make_cifar100(tmp_path)
    dest = tmp_path / "cifar100"
    sources.prepare(dest, settings_for("cifar100", templates=["a photo of a {}.", "art of the {}."]),
                    "cifar100", {"cifar-100-python.tar.gz": archive})
    ds = read_dataset(dest)
    assert ds.classes == ["apple", "aquarium fish", "baby", "bear", "maple tree", "pickup truck",
                          "sweet pepper", "willow tree"]
    assert ds.samples["label"].tolist() == fine
    assert ds.classes[ds.samples["label"].iat[0]] == "aquarium fish"
    assert ds.class_prompts()[4] == ["a photo of a maple tree.", "art of the maple tree."]
    img = np.asarray(ds.load_image(3))
    np.testing.assert_array_equal(img, data[3].reshape(3, 32, 32).transpose(1, 2, 0))


def test_cifar_archive_of_the_other_variant_is_rejected(tmp_path):
    archive, _, _ = make_cifar10(tmp_path)
    wrong = tmp_path / "cifar-100-python.tar.gz"
    archive.rename(wrong)
    with pytest.raises(DatasetError, match="cifar-100-python.tar.gz"):
        sources.prepare(tmp_path / "out", settings_for("cifar100"), "c", {"cifar-100-python.tar.gz": wrong})
    assert not (tmp_path / "out").exists()


def test_svhn_ten_is_zero_and_pixels_exact(tmp_path):
    path, x, y = make_svhn(tmp_path)
    dest = tmp_path / "svhn"
    sources.prepare(dest, settings_for("svhn", templates=['a street sign of the number: "{}".']), "svhn",
                    {"test_32x32.mat": path})
    ds = read_dataset(dest)
    assert ds.classes == [str(k) for k in range(10)]
    assert ds.samples["label"].tolist() == [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 0]
    assert ds.class_prompts()[0] == ['a street sign of the number: "0".']
    for i in (0, 5, 10):
        np.testing.assert_array_equal(np.asarray(ds.load_image(i)), x[:, :, :, i])
    assert ds.info["source"] == "svhn"


def test_svhn_subset(tmp_path):
    path, x, _ = make_svhn(tmp_path)
    ds = read_dataset(sources.prepare(tmp_path / "s", settings_for("svhn", n=4, seed=2), "s",
                                      {"test_32x32.mat": path}))
    idx = list(sources.subset_indices(11, 4, 2))
    assert ds.samples["id"].tolist() == [f"{i:05d}" for i in idx]
    assert ds.samples["label"].tolist() == [[0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 0][i] for i in idx]
    np.testing.assert_array_equal(np.asarray(ds.load_image(1)), x[:, :, :, idx[1]])


def test_sklearn_digits(tmp_path, monkeypatch):
    import sklearn.datasets
    from sklearn.utils import Bunch

    full = sklearn.datasets.load_digits()
    # the real bundled digits, cut to the first 120 so that the test stays fast
    digits = Bunch(images=full.images[:120], target=full.target[:120], data=full.data[:120])
    monkeypatch.setattr(sklearn.datasets, "load_digits", lambda: digits)
    settings = settings_for("sklearn_digits", image_size=16)
    ds = read_dataset(sources.prepare(tmp_path / "digits", settings, "digits"))
    assert len(ds) == len(digits.target) and ds.classes == [str(k) for k in range(10)]
    assert ds.samples["label"].tolist() == digits.target.tolist()
    assert ds.templates == ['a photo of the number: "{}".']
    img = np.asarray(ds.load_image(5))
    assert img.shape == (16, 16, 3)
    # dark ink on white: 0 -> 255, 16 -> 0; each 8x8 pixel becomes a 2x2 block
    expected = np.rint(255.0 - digits.images[5] * (255.0 / 16.0)).astype(np.uint8)
    np.testing.assert_array_equal(img[::2, ::2, 0], expected)
    np.testing.assert_array_equal(img[1::2, 1::2, 2], expected)


# ------------------------------------------------------------------------------------------ EuroSAT


def test_eurosat(tmp_path):
    archive, members = make_eurosat(tmp_path)
    dest = tmp_path / "eurosat"
    sources.prepare(dest, settings_for("eurosat"), "eurosat", {"EuroSAT.zip": archive})
    ds = read_dataset(dest)
    assert ds.classes == ["annual crop land", "forest", "brushland or shrubland", "highway or road",
                          "industrial buildings or commercial buildings", "pasture land", "permanent crop land",
                          "residential buildings or homes or apartments", "river", "lake or sea"]
    assert ds.templates == ["a centered satellite photo of {}."]
    assert len(ds) == sum(EUROSAT_FILES.values())
    by_id = ds.samples.set_index("id")
    assert ds.classes[by_id.loc["Forest_2", "label"]] == "forest"
    assert ds.classes[by_id.loc["SeaLake_1", "label"]] == "lake or sea"
    assert ds.classes[by_id.loc["HerbaceousVegetation_1", "label"]] == "brushland or shrubland"
    for row in ds.samples.itertuples():
        folder = row.id.rsplit("_", 1)[0]
        assert row.image == f"images/{folder}/{row.id}.jpg"
        assert ds.classes[row.label] == sources.EUROSAT_CLASSES[folder]
    # the JPEG bytes are copied, not re-encoded
    i = ds.samples.index[ds.samples["id"] == "AnnualCrop_3"][0]
    assert ds.image_path(i).read_bytes() == members["2750/AnnualCrop/AnnualCrop_3.jpg"]
    assert ds.load_image(i).size == (64, 64)


def test_eurosat_subset_deterministic(tmp_path):
    archive, _ = make_eurosat(tmp_path)
    s = settings_for("eurosat", n=6, seed=5)
    a = read_dataset(sources.prepare(tmp_path / "a", s, "e", {"EuroSAT.zip": archive}))
    b = read_dataset(sources.prepare(tmp_path / "b", s, "e", {"EuroSAT.zip": archive}))
    assert len(a) == 6 and a.samples.equals(b.samples)


def test_eurosat_zip_without_class_folders(tmp_path):
    archive = tmp_path / "EuroSAT.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("2750/Unknown/Unknown_1.jpg", _jpeg(0))
    with pytest.raises(DatasetError, match="no EuroSAT class folders"):
        sources.prepare(tmp_path / "e", settings_for("eurosat"), "e", {"EuroSAT.zip": archive})
    assert not (tmp_path / "e").exists()


# ------------------------------------------------------------------------------------------ COCO


def _first_caption(image_id: int, k: int) -> str:
    caps = [c for _, c in sorted(_coco_captions(image_id))]
    return " ".join(caps[k].split())


def test_coco_all_images_first_caption(tmp_path):
    inputs = make_coco(tmp_path)
    dest = tmp_path / "coco"
    sources.prepare(dest, settings_for("coco_captions"), "coco_val2017", inputs)
    ds = read_dataset(dest)
    assert ds.task == "captions" and ds.info["source"] == "coco_captions"
    ids = sorted(iid for iid, _ in COCO_IMAGES)
    assert ds.samples["id"].tolist() == [str(i) for i in ids]  # ordered by image id, orphan left out
    assert set(ds.samples["split"]) == {"val"}
    assert ds.samples["label"].tolist() == [-1] * len(ids)
    for row in ds.samples.itertuples():
        iid = int(row.id)
        # the caption with the smallest annotation id, whitespace tidied
        assert row.caption == f"Caption {iid % 1000 * 10 + 2} of image {iid}."
        assert row.caption == _first_caption(iid, 0)
        assert row.image == f"images/{iid:012d}.jpg"
    # the JPEG bytes are copied as they are in the archive
    with zipfile.ZipFile(inputs["val2017.zip"]) as zf:
        assert ds.image_path(0).read_bytes() == zf.read(f"val2017/{ids[0]:012d}.jpg")
    assert ds.load_image(0).size == (16, 16)
    assert ds.info["settings"] == {"split": "val", "n": None, "seed": 0, "caption_index": 0}


@pytest.mark.parametrize("k", [1, 3, 4])
def test_coco_caption_index_by_annotation_id(tmp_path, k):
    inputs = make_coco(tmp_path, with_orphan=False)
    ds = read_dataset(sources.prepare(tmp_path / "coco", settings_for("coco_captions", caption_index=k), "c",
                                      inputs))
    for row in ds.samples.itertuples():
        iid = int(row.id)
        ann_ids = sorted(a for a, _ in _coco_captions(iid))
        assert row.caption == f"Caption {ann_ids[k]} of image {iid}."
    assert f"caption #{k}" in ds.info["description"]


def test_coco_caption_index_beyond_available_uses_last(tmp_path):
    inputs = make_coco(tmp_path, with_orphan=False)
    ann = inputs["annotations_trainval2017.zip"]
    with zipfile.ZipFile(ann) as zf:
        captions = json.loads(zf.read("annotations/captions_val2017.json"))
    target = COCO_IMAGES[0][0]
    keep = sorted(a["id"] for a in captions["annotations"] if a["image_id"] == target)[:2]
    captions["annotations"] = [a for a in captions["annotations"]
                               if a["image_id"] != target or a["id"] in keep]
    with zipfile.ZipFile(ann, "w") as zf:
        zf.writestr("annotations/captions_val2017.json", json.dumps(captions))
    ds = read_dataset(sources.prepare(tmp_path / "c", settings_for("coco_captions", caption_index=4), "c", inputs))
    row = ds.samples.set_index("id").loc[str(target)]
    assert row["caption"] == f"Caption {keep[1]} of image {target}."


def test_coco_subset_is_deterministic(tmp_path):
    inputs = make_coco(tmp_path)
    s = settings_for("coco_captions", n=3, seed=7)
    a = read_dataset(sources.prepare(tmp_path / "a", s, "c", inputs))
    b = read_dataset(sources.prepare(tmp_path / "b", s, "c", inputs))
    assert len(a) == 3
    pd.testing.assert_frame_equal(a.samples, b.samples)
    all_ids = sorted(iid for iid, _ in COCO_IMAGES)
    assert a.samples["id"].tolist() == [str(all_ids[i]) for i in sources.subset_indices(len(all_ids), 3, 7)]
    assert sorted(p.name for p in (tmp_path / "a" / "images").iterdir()) == sorted(
        f"{int(i):012d}.jpg" for i in a.samples["id"])
    draws = {tuple(read_dataset(sources.prepare(tmp_path / f"s{seed}", settings_for(
        "coco_captions", n=3, seed=seed), "c", inputs)).samples["id"]) for seed in range(4)}
    assert len(draws) > 1  # the seed matters


def test_coco_missing_caption_file_and_image(tmp_path):
    inputs = make_coco(tmp_path)
    # an annotations archive without the split's caption file
    only_val = tmp_path / "only_val.zip"
    with zipfile.ZipFile(only_val, "w") as zf:
        zf.writestr("annotations/captions_val2017.json", "{}")
    with pytest.raises(DatasetError, match=r"only_val\.zip: no annotations/captions_train2017\.json inside"):
        sources.prepare(tmp_path / "t", settings_for("coco_captions", split="train"), "t",
                        {"train2017.zip": inputs["val2017.zip"], "annotations_trainval2017.zip": only_val})
    # an image listed in the annotations but absent from the image archive
    with zipfile.ZipFile(inputs["val2017.zip"], "w") as zf:
        zf.writestr(f"val2017/{COCO_IMAGES[0][1]}", _jpeg(0))
    with pytest.raises(DatasetError, match=r"val2017\.zip: image val2017/\d{12}\.jpg missing"):
        sources.prepare(tmp_path / "v", settings_for("coco_captions"), "v", inputs)
    assert not (tmp_path / "t").exists() and not (tmp_path / "v").exists()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]


# ------------------------------------------------------------------------------------------ licensed


def test_fairface(tmp_path):
    root = make_fairface(tmp_path)
    dest = tmp_path / "ff"
    sources.prepare(dest, settings_for("fairface", path=str(root)), "fairface")
    ds = read_dataset(dest)
    assert len(ds.classes) == 14
    assert ds.classes[:4] == ["white man", "white woman", "black man", "black woman"]
    assert "latino woman" in ds.classes and "middle eastern man" in ds.classes
    assert ds.samples["id"].tolist() == [str(k) for k in range(1, 9)]
    assert set(ds.samples["split"]) == {"val"}
    names = [ds.classes[v] for v in ds.samples["label"]]
    assert names == ["east asian man", "east asian woman", "white man", "latino woman", "southeast asian woman",
                     "middle eastern man", "indian man", "black woman"]
    assert ds.samples["attr_race"].tolist() == [r[3] for r in FAIRFACE_ROWS]
    assert ds.samples["attr_gender"].tolist() == [r[2] for r in FAIRFACE_ROWS]
    assert ds.samples["attr_age"].tolist() == [r[1] for r in FAIRFACE_ROWS]
    assert ds.info["attributes"]["race"] == list(sources.FAIRFACE_RACES)
    assert ds.info["attributes"]["gender"] == ["Male", "Female"]
    assert set(ds.info["attributes"]["age"]) == {r[1] for r in FAIRFACE_ROWS}
    assert ds.image_path(2).read_bytes() == (root / "val" / "3.jpg").read_bytes()
    assert ds.samples["image"].iat[0] == "images/val/1.jpg"
    # the source folder is left as it was
    assert (root / "val" / "1.jpg").read_bytes() == _jpeg(0, 24)


def test_fairface_subset_and_errors(tmp_path):
    root = make_fairface(tmp_path)
    ds = read_dataset(sources.prepare(tmp_path / "a", settings_for("fairface", path=str(root), n=3, seed=1), "f"))
    assert ds.samples["id"].tolist() == [str(i + 1) for i in sources.subset_indices(8, 3, 1)]
    # a missing image: DatasetError naming it, with the instructions; nothing written
    (root / "val" / "5.jpg").unlink()
    with pytest.raises(DatasetError) as err:
        sources.prepare(tmp_path / "b", settings_for("fairface", path=str(root)), "f")
    assert str(root / "val" / "5.jpg") in str(err.value)
    assert sources.LICENSED_INSTRUCTIONS["fairface"] in str(err.value)
    assert not (tmp_path / "b").exists()
    # an unknown race
    table = pd.read_csv(root / "fairface_label_val.csv")
    table.loc[0, "race"] = "Martian"
    table.iloc[:4].to_csv(root / "fairface_label_val.csv", index=False)
    with pytest.raises(DatasetError, match="unknown race/gender 'Martian_Male'"):
        sources.prepare(tmp_path / "c", settings_for("fairface", path=str(root)), "f")
    # a missing column
    table.drop(columns=["race"]).to_csv(root / "fairface_label_val.csv", index=False)
    with pytest.raises(DatasetError, match=r"missing column\(s\) \['race'\]"):
        sources.prepare(tmp_path / "d", settings_for("fairface", path=str(root)), "f")
    assert [p.name for p in tmp_path.iterdir() if p.name not in ("fairface", "a")] == []


def test_hateful_memes(tmp_path):
    root = make_hateful_memes(tmp_path)
    dest = tmp_path / "hm"
    sources.prepare(dest, settings_for("hateful_memes", path=str(root), split="dev_seen", templates=["a {}."]),
                    "hateful_memes")
    ds = read_dataset(dest)
    assert ds.classes == ["meme", "hatespeech meme"]
    assert ds.class_prompts() == [["a meme."], ["a hatespeech meme."]]
    assert ds.info["metric"] == "roc_auc"
    assert ds.samples["id"].tolist() == [str(m[0]) for m in MEMES]
    assert ds.samples["label"].tolist() == [m[1] for m in MEMES]
    assert ds.samples["caption"].tolist() == [" ".join(m[2].split()) for m in MEMES]
    assert ds.samples["image"].tolist() == [f"images/{m[0]:05d}.png" for m in MEMES]
    np.testing.assert_array_equal(
        np.asarray(ds.load_image(1)), np.asarray(Image.open(root / "img" / "46971.png").convert("RGB")))


def test_hateful_memes_default_split_is_dev_seen(tmp_path):
    # the schema leaves split null; each licensed source then reads its usual split (dev_seen here)
    root = make_hateful_memes(tmp_path)
    assert settings_for("hateful_memes", path=str(root))["split"] is None
    ds = read_dataset(sources.prepare(tmp_path / "hm", settings_for("hateful_memes", path=str(root)), "hm"))
    assert ds.info["description"].startswith("Hateful Memes dev_seen")


def test_hateful_memes_missing_split_table_names_it(tmp_path):
    root = make_hateful_memes(tmp_path)
    with pytest.raises(DatasetError) as err:
        sources.prepare(tmp_path / "hm", settings_for("hateful_memes", path=str(root), split="test_unseen"), "hm")
    assert str(root / "test_unseen.jsonl") in str(err.value)
    assert sources.LICENSED_INSTRUCTIONS["hateful_memes"] in str(err.value)
    assert not (tmp_path / "hm").exists()


def test_imagenet(tmp_path):
    root = make_imagenet(tmp_path)
    ds = read_dataset(sources.prepare(tmp_path / "in", settings_for("imagenet", path=str(root)), "imagenet_val"))
    assert ds.classes == sorted(IMAGENET)
    expected = [(wnid, f) for wnid in sorted(IMAGENET) for f in sorted(IMAGENET[wnid])]
    assert ds.samples["image"].tolist() == [f"images/{w}/{f}" for w, f in expected]
    assert ds.samples["id"].tolist() == [Path(f).stem for _, f in expected]
    assert [ds.classes[v] for v in ds.samples["label"]] == [w for w, _ in expected]
    assert ds.image_path(3).read_bytes() == (root / "val" / expected[3][0] / expected[3][1]).read_bytes()
    sub = read_dataset(sources.prepare(tmp_path / "sub", settings_for("imagenet", path=str(root), n=2, seed=3),
                                       "i"))
    assert sub.samples["id"].tolist() == [Path(expected[i][1]).stem for i in sources.subset_indices(6, 2, 3)]


def test_imagenet_empty_or_missing_split(tmp_path):
    root = tmp_path / "imagenet"
    (root / "val").mkdir(parents=True)
    with pytest.raises(DatasetError, match="no images in ImageFolder layout"):
        sources.prepare(tmp_path / "a", settings_for("imagenet", path=str(root)), "i")
    with pytest.raises(DatasetError) as err:
        sources.prepare(tmp_path / "b", settings_for("imagenet", path=str(root), split="train"), "i")
    assert str(root / "train") in str(err.value) and sources.LICENSED_INSTRUCTIONS["imagenet"] in str(err.value)
    assert _leftovers(tmp_path) == ["imagenet"]


@pytest.mark.parametrize("source", sources.LICENSED_SOURCES)
@pytest.mark.parametrize("path", [None, ""])
def test_licensed_without_path_gives_instructions(tmp_path, source, path):
    settings = settings_for(source) if path is None else {**settings_for(source), "path": path}
    assert settings["path"] == path
    with pytest.raises(DatasetError) as err:
        sources.prepare(tmp_path / "x", settings, "my_set")
    msg = str(err.value)
    assert "my_set" in msg and "no local path" in msg
    assert sources.LICENSED_INSTRUCTIONS[source] in msg
    assert _leftovers(tmp_path) == []


# ------------------------------------------------------------------------------------------ corrupt inputs


def _corrupt_case(folder: Path, case: str) -> tuple[dict, dict, Path]:
    """(settings, inputs, the file to damage) for one public source."""
    folder.mkdir()
    if case in ("cifar10", "cifar100"):
        path = (make_cifar10 if case == "cifar10" else make_cifar100)(folder, n=300)[0]
        return settings_for(case), {path.name: path}, path
    if case == "svhn":
        path = make_svhn(folder)[0]
        return settings_for("svhn"), {path.name: path}, path
    if case == "eurosat":
        path = make_eurosat(folder)[0]
        return settings_for("eurosat"), {path.name: path}, path
    inputs = make_coco(folder)
    victim = inputs["val2017.zip" if case == "coco_images" else "annotations_trainval2017.zip"]
    return settings_for("coco_captions"), inputs, victim


@pytest.mark.parametrize("damage", ["truncated", "garbage"])
@pytest.mark.parametrize("case", ["cifar10", "cifar100", "svhn", "eurosat", "coco_images", "coco_annotations"])
def test_corrupt_archive_clear_error_and_no_output(tmp_path, case, damage):
    settings, inputs, victim = _corrupt_case(tmp_path / "in", case)
    if damage == "truncated":
        _corrupt(victim)
    else:
        victim.write_bytes(b"<html><body>404 Not Found</body></html>\n")
    out = tmp_path / "out"
    out.mkdir()
    with pytest.raises(DatasetError) as err:
        sources.prepare(out / "ds", settings, "ds", inputs)
    assert str(victim) in str(err.value)
    assert _leftovers(out) == []  # neither the data set nor a temporary folder


def _flip_member_bytes(archive: Path, member: str) -> None:
    """Damage the stored data of one zip member in place (the central directory stays intact)."""
    with zipfile.ZipFile(archive) as zf:
        info = zf.getinfo(member)
    data = bytearray(archive.read_bytes())
    name_len, extra_len = int.from_bytes(data[info.header_offset + 26:info.header_offset + 28], "little"), \
        int.from_bytes(data[info.header_offset + 28:info.header_offset + 30], "little")
    start = info.header_offset + 30 + name_len + extra_len + info.compress_size // 2
    for k in range(start, start + 16):
        data[k] ^= 0x5A
    archive.write_bytes(bytes(data))


@pytest.mark.parametrize("case", ["eurosat", "coco_images", "coco_annotations"])
def test_zip_member_with_bad_data_clear_error_and_no_output(tmp_path, case):
    settings, inputs, victim = _corrupt_case(tmp_path / "in", case)
    member = {"eurosat": "2750/Pasture/Pasture_1.jpg", "coco_images": f"val2017/{COCO_IMAGES[-1][1]}",
              "coco_annotations": "annotations/captions_val2017.json"}[case]
    _flip_member_bytes(victim, member)
    out = tmp_path / "out"
    out.mkdir()
    with pytest.raises(DatasetError) as err:
        sources.prepare(out / "ds", settings, "ds", inputs)
    assert str(victim) in str(err.value)
    assert _leftovers(out) == []
