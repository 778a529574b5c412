"""Tests for ``modality_gap.datasets``: the common on-disk data-set format.

Covers the round trip through :class:`DatasetWriter` and :func:`read_dataset`, the validation
messages (each must name its culprit), the atomicity of the writer, the errors of
:func:`read_dataset` and :meth:`Dataset.load_image` on damaged folders, and :func:`dataset_summary`.
"""

from __future__ import annotations

import io
import json
import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from modality_gap import datasets
from modality_gap.datasets import (
    FORMAT_VERSION,
    DatasetError,
    DatasetWriter,
    dataset_summary,
    read_dataset,
    validate_samples,
)

RNG = np.random.default_rng(0)


def _pixels(seed: int, size: int = 8) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (size, size, 3), dtype=np.uint8)


def _png_bytes(arr: np.ndarray) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(arr).save(buf, format="PNG")
    return buf.getvalue()


def _caption_table() -> tuple[pd.DataFrame, dict]:
    samples = pd.DataFrame(
        {
            "id": ["0007", "0012", "0100", "a-b"],
            "split": ["train", "train", "val", "test"],
            "image": ["images/0007.png", "images/0012.png", "images/sub/0100.png", "images/a-b.png"],
            "caption": ["a red square.", "two blue circles, one small", "NA", "1234"],
            "label": [-1, -1, -1, -1],
            "mismatched": [False, True, False, False],
        }
    )
    info = {"name": "toy_captions", "task": "captions", "source": "unit_test", "license": "CC0",
            "n_mismatched": 1}
    return samples, info


def _classification_table() -> tuple[pd.DataFrame, dict]:
    samples = pd.DataFrame(
        {
            "id": ["c0", "c1", "c2"],
            "split": ["test", "test", "val"],
            "image": ["images/c0.png", "images/c1.png", "images/c2.png"],
            "caption": ["", "", ""],
            "label": [0, 2, 1],
            "attr_color": ["red", "green", "red"],
            "attr_age": ["20-29", "more than 70", "3-9"],
        }
    )
    info = {
        "name": "toy_classes",
        "task": "classification",
        "source": "unit_test",
        "classes": ["cat", "dog", "aquarium fish"],
        "templates": ["a photo of a {}.", "a drawing of a {}."],
        "attributes": {"color": ["red", "green", "blue"], "age": ["20-29", "3-9", "more than 70"]},
    }
    return samples, info


def _write(dest: Path, samples: pd.DataFrame, info: dict, seed0: int = 0) -> dict[str, np.ndarray]:
    """Write a data set whose images are random PNGs; returns the pixels by image path."""
    pixels = {}
    with DatasetWriter(dest) as w:
        for k, rel in enumerate(samples["image"]):
            pixels[rel] = _pixels(seed0 + k)
            w.add_image(rel, pixels[rel])
        w.finish(samples, info)
    return pixels


def _entries(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


# ------------------------------------------------------------------------------------------ round trip


def test_round_trip_captions(tmp_path):
    samples, info = _caption_table()
    dest = tmp_path / "ds" / "toy_captions"
    pixels = _write(dest, samples, info)

    ds = read_dataset(dest)
    assert ds.root == dest
    assert ds.name == "toy_captions" and ds.task == "captions"
    assert ds.classes == [] and ds.templates == []
    assert len(ds) == 4
    assert ds.info["format_version"] == FORMAT_VERSION
    assert ds.info["n_samples"] == 4
    assert ds.info["splits"] == {"train": 2, "val": 1, "test": 1}
    assert ds.info["license"] == "CC0" and ds.info["n_mismatched"] == 1
    # ids and captions keep their exact strings (leading zeros, "NA", digits)
    assert ds.samples["id"].tolist() == ["0007", "0012", "0100", "a-b"]
    assert ds.samples["caption"].tolist() == samples["caption"].tolist()
    assert ds.samples["image"].tolist() == samples["image"].tolist()
    assert ds.samples["split"].tolist() == samples["split"].tolist()
    assert ds.samples["label"].tolist() == [-1] * 4
    assert ds.samples["label"].dtype.kind == "i"
    assert ds.samples["mismatched"].tolist() == [False, True, False, False]
    # images: PNG is lossless, so the pixels come back exactly
    for i, rel in enumerate(samples["image"]):
        assert ds.image_path(i) == dest / rel
        img = ds.load_image(i)
        assert img.mode == "RGB"
        np.testing.assert_array_equal(np.asarray(img), pixels[rel])
    # only the data set's own files are in the folder, no temporary folder beside it
    assert _entries(dest) == ["dataset.json", "images", "samples.csv"]
    assert _entries(dest.parent) == ["toy_captions"]


def test_round_trip_split_selects_rows(tmp_path):
    samples, info = _caption_table()
    dest = tmp_path / "toy"
    pixels = _write(dest, samples, info)
    ds = read_dataset(dest)
    train = ds.split("train")
    assert train.samples["id"].tolist() == ["0007", "0012"]
    assert train.samples.index.tolist() == [0, 1]
    assert train.root == ds.root and train.info is ds.info
    assert ds.split("val", "test").samples["id"].tolist() == ["0100", "a-b"]
    np.testing.assert_array_equal(np.asarray(train.load_image(1)), pixels["images/0012.png"])
    assert len(ds.split("train", "val", "test")) == 4 and len(ds.split()) == 0


def test_round_trip_classification_with_attributes(tmp_path):
    samples, info = _classification_table()
    dest = tmp_path / "toy_classes"
    pixels = _write(dest, samples, info, seed0=10)

    ds = read_dataset(dest)
    assert ds.task == "classification"
    assert ds.classes == ["cat", "dog", "aquarium fish"]
    assert ds.templates == ["a photo of a {}.", "a drawing of a {}."]
    assert ds.info["attributes"] == info["attributes"]
    assert ds.info["splits"] == {"test": 2, "val": 1}
    assert ds.samples["label"].tolist() == [0, 2, 1]
    assert ds.samples["caption"].tolist() == ["", "", ""]
    assert ds.samples["attr_color"].tolist() == ["red", "green", "red"]
    assert ds.samples["attr_age"].tolist() == ["20-29", "more than 70", "3-9"]
    assert ds.class_prompts() == [
        ["a photo of a cat.", "a drawing of a cat."],
        ["a photo of a dog.", "a drawing of a dog."],
        ["a photo of a aquarium fish.", "a drawing of a aquarium fish."],
    ]
    np.testing.assert_array_equal(np.asarray(ds.load_image(2)), pixels["images/c2.png"])


def test_writer_accepts_pil_bytes_and_arrays(tmp_path):
    arr = _pixels(3)
    gray = Image.fromarray(arr[..., 0], mode="L")
    samples = pd.DataFrame(
        {"id": ["a", "b", "c"], "split": "test", "image": ["images/a.png", "images/b.png", "images/x/c.png"],
         "caption": "", "label": [0, 0, 0]}
    )
    info = {"name": "kinds", "task": "classification", "classes": ["thing"], "templates": ["{}"]}
    with DatasetWriter(tmp_path / "kinds") as w:
        w.add_image("images/a.png", arr)
        w.add_image("images/b.png", _png_bytes(arr))
        w.add_image("images/x/c.png", gray)
        w.finish(samples, info)
    ds = read_dataset(tmp_path / "kinds")
    assert (ds.root / "images/b.png").read_bytes() == _png_bytes(arr)
    np.testing.assert_array_equal(np.asarray(ds.load_image(0)), arr)
    np.testing.assert_array_equal(np.asarray(ds.load_image(1)), arr)
    # a grey image is returned as RGB with three equal channels
    rgb = np.asarray(ds.load_image(2))
    assert rgb.shape == (8, 8, 3)
    np.testing.assert_array_equal(rgb[..., 1], arr[..., 0])


def test_finish_returns_dest_and_writes_readable_json(tmp_path):
    samples, info = _classification_table()
    dest = tmp_path / "out"
    with DatasetWriter(dest) as w:
        for rel in samples["image"]:
            w.add_image(rel, _pixels(0))
        assert w.finish(samples, info) == dest
    on_disk = json.loads((dest / "dataset.json").read_text(encoding="utf-8"))
    assert on_disk["format_version"] == FORMAT_VERSION
    assert on_disk["n_samples"] == 3
    assert on_disk["name"] == "toy_classes"
    # the caller's dict is not modified
    assert "format_version" not in info and "splits" not in info


# ------------------------------------------------------------------------------------------ validation


def _info_for(task: str) -> dict:
    return _caption_table()[1] if task == "captions" else _classification_table()[1]


def _table_for(task: str) -> pd.DataFrame:
    return (_caption_table() if task == "captions" else _classification_table())[0].copy()


def test_valid_tables_pass():
    for task in ("captions", "classification"):
        validate_samples(_table_for(task), _info_for(task))


@pytest.mark.parametrize("column", ["id", "split", "image", "caption", "label"])
def test_missing_column_is_named(column):
    samples = _table_for("captions").drop(columns=[column])
    with pytest.raises(DatasetError, match=rf"missing column\(s\) {column}\b") as err:
        validate_samples(samples, _info_for("captions"), where="foo/samples.csv")
    assert str(err.value).startswith("foo/samples.csv:")


def test_several_missing_columns_all_named():
    samples = _table_for("captions")[["id", "image"]]
    with pytest.raises(DatasetError) as err:
        validate_samples(samples, _info_for("captions"))
    assert "split, caption, label" in str(err.value)


def test_duplicate_id_is_named():
    samples = _table_for("captions")
    samples.loc[2, "id"] = "0012"
    with pytest.raises(DatasetError, match=r"duplicate id\(s\): 0012"):
        validate_samples(samples, _info_for("captions"))


@pytest.mark.parametrize("caption", ["", "   ", "\t\n"])
def test_empty_caption_is_named(caption):
    samples = _table_for("captions")
    samples.loc[1, "caption"] = caption
    with pytest.raises(DatasetError, match=r"empty caption in row\(s\) with id 0012"):
        validate_samples(samples, _info_for("captions"))


def test_missing_caption_value_is_empty():
    samples = _table_for("captions")
    samples.loc[3, "caption"] = None
    with pytest.raises(DatasetError, match=r"empty caption in row\(s\) with id a-b"):
        validate_samples(samples, _info_for("captions"))


@pytest.mark.parametrize("label", [3, -1, 99])
def test_label_out_of_range_is_named(label):
    samples = _table_for("classification")
    samples.loc[1, "label"] = label
    with pytest.raises(DatasetError, match=r"label outside 0\.\.2 in row\(s\) with id c1"):
        validate_samples(samples, _info_for("classification"))


def test_non_numeric_label_is_named():
    samples = _table_for("classification")
    samples["label"] = samples["label"].astype(object)
    samples.loc[0, "label"] = "cat"
    with pytest.raises(DatasetError, match=r"label outside .* id c0"):
        validate_samples(samples, _info_for("classification"))


def test_unknown_split_is_named():
    samples = _table_for("captions")
    samples.loc[0, "split"] = "validation"
    with pytest.raises(DatasetError, match=r"unknown split\(s\) \['validation'\]"):
        validate_samples(samples, _info_for("captions"))


def test_attribute_value_not_listed_is_named():
    samples = _table_for("classification")
    samples.loc[2, "attr_color"] = "purple"
    with pytest.raises(DatasetError, match=r"column attr_color: value\(s\) \['purple'\] not listed"):
        validate_samples(samples, _info_for("classification"))


def test_attribute_column_missing_is_named():
    samples = _table_for("classification").drop(columns=["attr_age"])
    with pytest.raises(DatasetError, match=r"attribute 'age' but column attr_age is missing"):
        validate_samples(samples, _info_for("classification"))


@pytest.mark.parametrize("path", ["other/0007.png", "images/../0007.png", "/abs/images/0007.png", "0007.png"])
def test_image_outside_images_is_named(path):
    samples = _table_for("captions")
    samples.loc[0, "image"] = path
    with pytest.raises(DatasetError, match=r"image path\(s\) outside images/") as err:
        validate_samples(samples, _info_for("captions"))
    assert path in str(err.value)


def test_unknown_task_and_missing_classes_templates():
    samples = _table_for("captions")
    with pytest.raises(DatasetError, match=r"task 'retrieval' is not one of"):
        validate_samples(samples, {**_info_for("captions"), "task": "retrieval"})
    info = {**_info_for("classification"), "classes": [], "templates": []}
    samples = _table_for("classification")
    with pytest.raises(DatasetError) as err:
        validate_samples(samples, info)
    assert "non-empty 'classes'" in str(err.value) and "prompt 'templates'" in str(err.value)


def test_empty_table_rejected():
    samples = _table_for("captions").iloc[0:0]
    with pytest.raises(DatasetError, match="no samples"):
        validate_samples(samples, _info_for("captions"))


def test_all_problems_listed_at_once():
    samples = _table_for("classification")
    samples.loc[1, "id"] = "c0"
    samples.loc[2, "label"] = 7
    samples.loc[0, "split"] = "dev"
    with pytest.raises(DatasetError) as err:
        validate_samples(samples, _info_for("classification"), where="x.csv")
    msg = str(err.value)
    assert msg.startswith("x.csv: ")
    assert "duplicate id(s): c0" in msg and "id c2" in msg and "['dev']" in msg


# ------------------------------------------------------------------------------------------ atomic writer


def test_writer_block_that_raises_leaves_nothing(tmp_path):
    dest = tmp_path / "sets" / "toy"
    with pytest.raises(RuntimeError, match="boom"):
        with DatasetWriter(dest) as w:
            w.add_image("images/a.png", _pixels(0))
            assert w.tmp.is_dir() and w.tmp.parent == dest.parent
            raise RuntimeError("boom")
    assert not dest.exists()
    assert _entries(dest.parent) == []


def test_writer_validation_failure_leaves_nothing(tmp_path):
    samples, info = _caption_table()
    samples.loc[0, "caption"] = ""
    dest = tmp_path / "toy"
    with pytest.raises(DatasetError, match=r"toy/samples.csv: empty caption .* id 0007"):
        _write(dest, samples, info)
    assert _entries(tmp_path) == []


def test_writer_missing_column_names_it(tmp_path):
    samples, info = _caption_table()
    with pytest.raises(DatasetError, match=r"missing column\(s\) split"):
        _write(tmp_path / "toy", samples.drop(columns=["split"]), info)
    assert _entries(tmp_path) == []


def test_writer_missing_image_file_is_named(tmp_path):
    samples, info = _caption_table()
    with pytest.raises(DatasetError, match=r"never written, e\.g\. images/a-b\.png"):
        with DatasetWriter(tmp_path / "toy") as w:
            for rel in samples["image"][:3]:
                w.add_image(rel, _pixels(0))
            w.finish(samples, info)
    assert _entries(tmp_path) == []


def test_writer_without_finish_raises_and_leaves_nothing(tmp_path):
    with pytest.raises(RuntimeError, match="without finish"):
        with DatasetWriter(tmp_path / "toy") as w:
            w.add_image("images/a.png", _pixels(0))
    assert _entries(tmp_path) == []


@pytest.mark.parametrize("relpath", ["a.png", "other/a.png", "images/../a.png", "images/x/../../a.png"])
def test_writer_rejects_paths_outside_images(tmp_path, relpath):
    with pytest.raises(DatasetError, match="must lie under images/"):
        with DatasetWriter(tmp_path / "toy") as w:
            w.add_image(relpath, _pixels(0))
    assert _entries(tmp_path) == []


def test_existing_dataset_replaced_only_on_success(tmp_path):
    dest = tmp_path / "toy"
    samples, info = _caption_table()
    pixels_old = _write(dest, samples, info, seed0=0)
    before = {p.relative_to(dest): p.read_bytes() for p in dest.rglob("*") if p.is_file()}

    # a failing rewrite (invalid table) leaves the old data set untouched
    bad = samples.copy()
    bad.loc[0, "split"] = "nope"
    with pytest.raises(DatasetError, match="nope"):
        _write(dest, bad, info, seed0=50)
    # so does an exception raised inside the block
    with pytest.raises(KeyError):
        with DatasetWriter(dest) as w:
            w.add_image("images/0007.png", _pixels(99))
            raise KeyError("interrupted")
    after = {p.relative_to(dest): p.read_bytes() for p in dest.rglob("*") if p.is_file()}
    assert after == before
    assert _entries(tmp_path) == ["toy"]
    np.testing.assert_array_equal(np.asarray(read_dataset(dest).load_image(0)), pixels_old["images/0007.png"])

    # a successful rewrite replaces it completely (no stale files from the old one)
    new_samples, new_info = _classification_table()
    new_pixels = _write(dest, new_samples, new_info, seed0=20)
    ds = read_dataset(dest)
    assert ds.name == "toy_classes" and ds.samples["id"].tolist() == ["c0", "c1", "c2"]
    assert not (dest / "images" / "0007.png").exists()
    np.testing.assert_array_equal(np.asarray(ds.load_image(0)), new_pixels["images/c0.png"])
    assert _entries(tmp_path) == ["toy"]


# ------------------------------------------------------------------------------------------ read errors


def _good(tmp_path: Path) -> Path:
    samples, info = _classification_table()
    dest = tmp_path / "good"
    _write(dest, samples, info)
    return dest


def test_read_folder_that_does_not_exist(tmp_path):
    with pytest.raises(DatasetError, match=r"dataset\.json: missing"):
        read_dataset(tmp_path / "nowhere")


def test_read_without_samples_csv(tmp_path):
    dest = _good(tmp_path)
    (dest / "samples.csv").unlink()
    with pytest.raises(DatasetError) as err:
        read_dataset(dest)
    assert str(dest / "samples.csv") in str(err.value) and "missing" in str(err.value)


def test_read_without_dataset_json(tmp_path):
    dest = _good(tmp_path)
    (dest / "dataset.json").unlink()
    with pytest.raises(DatasetError) as err:
        read_dataset(dest)
    assert str(dest / "dataset.json") in str(err.value)


@pytest.mark.parametrize("text", ['{"name": "good", "task": ', "", "not json at all", "{'single': 1}"])
def test_read_malformed_json(tmp_path, text):
    dest = _good(tmp_path)
    (dest / "dataset.json").write_text(text, encoding="utf-8")
    with pytest.raises(DatasetError, match="not valid JSON") as err:
        read_dataset(dest)
    assert str(dest / "dataset.json") in str(err.value)


@pytest.mark.parametrize("text", ["[1, 2]", "null", '"a string"', "3"])
def test_read_json_that_is_not_an_object(tmp_path, text):
    dest = _good(tmp_path)
    (dest / "dataset.json").write_text(text, encoding="utf-8")
    with pytest.raises(DatasetError) as err:
        read_dataset(dest)
    assert str(dest / "dataset.json") in str(err.value)


@pytest.mark.parametrize("version", [None, 0, 2, "1"])
def test_read_wrong_format_version(tmp_path, version):
    dest = _good(tmp_path)
    info = json.loads((dest / "dataset.json").read_text(encoding="utf-8"))
    if version is None:
        del info["format_version"]
    else:
        info["format_version"] = version
    (dest / "dataset.json").write_text(json.dumps(info), encoding="utf-8")
    with pytest.raises(DatasetError, match=rf"format_version {version!r}") as err:
        read_dataset(dest)
    assert str(dest / "dataset.json") in str(err.value)
    assert "re-run the data stage" in str(err.value)


def test_read_empty_samples_csv(tmp_path):
    dest = _good(tmp_path)
    (dest / "samples.csv").write_text("", encoding="utf-8")
    with pytest.raises(DatasetError, match="cannot be parsed") as err:
        read_dataset(dest)
    assert str(dest / "samples.csv") in str(err.value)


def test_read_samples_csv_failing_validation_names_file(tmp_path):
    dest = _good(tmp_path)
    table = pd.read_csv(dest / "samples.csv", dtype=str, keep_default_na=False)
    table.loc[1, "label"] = "5"
    table.to_csv(dest / "samples.csv", index=False)
    with pytest.raises(DatasetError) as err:
        read_dataset(dest)
    msg = str(err.value)
    assert msg.startswith(str(dest / "samples.csv")) and "id c1" in msg

    table.drop(columns=["label"]).to_csv(dest / "samples.csv", index=False)
    with pytest.raises(DatasetError, match=r"missing column\(s\) label"):
        read_dataset(dest)


# ------------------------------------------------------------------------------------------ load_image


def test_load_image_truncated_png(tmp_path):
    dest = _good(tmp_path)
    path = dest / "images" / "c1.png"
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    ds = read_dataset(dest)
    np.asarray(ds.load_image(0))  # the others are still fine
    with pytest.raises(DatasetError) as err:
        ds.load_image(1)
    msg = str(err.value)
    assert str(path) in msg and "(id c1)" in msg and "cannot be read" in msg


@pytest.mark.parametrize("content", [b"", b"\x89PNG\r\n\x1a\n", b"this is not an image", bytes(range(256)) * 4])
def test_load_image_corrupt_file(tmp_path, content):
    dest = _good(tmp_path)
    path = dest / "images" / "c2.png"
    path.write_bytes(content)
    ds = read_dataset(dest)
    with pytest.raises(DatasetError) as err:
        ds.load_image(2)
    assert str(path) in str(err.value) and "(id c2)" in str(err.value)


def test_load_image_corrupt_png_data(tmp_path):
    dest = _good(tmp_path)
    path = dest / "images" / "c0.png"
    data = bytearray(path.read_bytes())
    idat = data.index(b"IDAT")
    for k in range(idat + 8, idat + 40):
        data[k] ^= 0xA5
    path.write_bytes(bytes(data))
    with pytest.raises(DatasetError, match=r"c0\.png \(id c0\)"):
        read_dataset(dest).load_image(0)


def test_load_image_missing_file(tmp_path):
    dest = _good(tmp_path)
    (dest / "images" / "c0.png").unlink()
    with pytest.raises(DatasetError, match=r"c0\.png \(id c0\)"):
        read_dataset(dest).load_image(0)


# ------------------------------------------------------------------------------------------ summary


def test_dataset_summary(tmp_path):
    caps_samples, caps_info = _caption_table()
    cls_samples, cls_info = _classification_table()
    _write(tmp_path / "a", caps_samples, caps_info)
    _write(tmp_path / "b", cls_samples, {**cls_info, "license": "MIT"})
    table = dataset_summary([read_dataset(tmp_path / "a"), read_dataset(tmp_path / "b")])
    assert list(table.columns) == ["dataset", "source", "task", "n_samples", "n_train", "n_val", "n_test",
                                   "n_classes", "n_mismatched", "license"]
    assert table.to_dict("records") == [
        {"dataset": "toy_captions", "source": "unit_test", "task": "captions", "n_samples": 4, "n_train": 2,
         "n_val": 1, "n_test": 1, "n_classes": 0, "n_mismatched": 1, "license": "CC0"},
        {"dataset": "toy_classes", "source": "unit_test", "task": "classification", "n_samples": 3,
         "n_train": 0, "n_val": 1, "n_test": 2, "n_classes": 3, "n_mismatched": 0, "license": "MIT"},
    ]
    test_only = dataset_summary([read_dataset(tmp_path / "b").split("test")])
    assert test_only.loc[0, "n_samples"] == 2


def test_dataset_summary_empty_list():
    assert len(dataset_summary([])) == 0


def test_public_names():
    for name in datasets.__all__:
        assert hasattr(datasets, name)


def test_atomic_open_gives_the_permissions_of_a_plain_open(tmp_path):
    from modality_gap.atomic import atomic_open

    old = os.umask(0o022)
    try:
        with atomic_open(tmp_path / "a.csv", "w") as fh:
            fh.write("x\n")
        with open(tmp_path / "b.csv", "w") as fh:
            fh.write("x\n")
    finally:
        os.umask(old)
    assert (tmp_path / "a.csv").stat().st_mode & 0o777 == (tmp_path / "b.csv").stat().st_mode & 0o777 == 0o644
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.csv", "b.csv"]
