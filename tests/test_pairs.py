"""Matched pairs from released arrays and from the workflow's own embeddings."""

import numpy as np
import pytest

from modality_gap.embed import save_embeddings
from modality_gap.pairs import load_pairs


def npz(path, task, n=6, text_rows=None, split=("train", "train", "val", "val", "val", "val")):
    rng = np.random.default_rng(0)
    arrays = {"image": rng.normal(size=(n, 4)).astype(np.float32),
              "text": rng.normal(size=(text_rows or n, 4)).astype(np.float32),
              "ids": np.array([str(i) for i in range(n)]), "split": np.array(split[:n]),
              "labels": np.full(n, -1), "text_labels": np.arange(text_rows or n)}
    save_embeddings(path, arrays, {"dataset": {"name": "d", "task": task}})
    return arrays


def test_released_array(tmp_path):
    arr = np.random.default_rng(0).normal(size=(2, 5, 3)).astype(np.float32)
    np.save(tmp_path / "f.npy", arr)
    x, y = load_pairs(tmp_path / "f.npy")
    assert np.array_equal(x, arr[0]) and np.array_equal(y, arr[1])
    np.save(tmp_path / "bad.npy", arr[0])
    with pytest.raises(ValueError, match=r"\(2, n, d\)"):
        load_pairs(tmp_path / "bad.npy")


def test_workflow_pairs_select_the_split(tmp_path):
    arrays = npz(tmp_path / "e.npz", "captions")
    x, y = load_pairs(tmp_path / "e.npz", split="val")
    assert np.array_equal(x, arrays["image"][2:]) and np.array_equal(y, arrays["text"][2:])
    x, _ = load_pairs(tmp_path / "e.npz", split="test")  # absent split: every row
    assert len(x) == 6
    x, _ = load_pairs(tmp_path / "e.npz", split=None)
    assert len(x) == 6


def test_classification_embeddings_are_not_pairs(tmp_path):
    npz(tmp_path / "c.npz", "classification", text_rows=3)
    with pytest.raises(ValueError, match="not matched image-caption pairs"):
        load_pairs(tmp_path / "c.npz")


@pytest.mark.parametrize("bad, words", [(np.nan, "NaN or infinite"), (0.0, "an all-zero vector")])
def test_degenerate_embeddings_name_the_file_and_row(tmp_path, bad, words):
    arr = np.random.default_rng(0).normal(size=(2, 5, 3)).astype(np.float32)
    arr[1, 3, :] = bad
    np.save(tmp_path / "f.npy", arr)
    with pytest.raises(ValueError, match=rf"f\.npy \(text\): row 3 holds {words}"):
        load_pairs(tmp_path / "f.npy")
    arrays = npz(tmp_path / "e.npz", "captions")
    arrays["image"][4, :] = 0.0
    with np.load(tmp_path / "e.npz") as z:
        data = {k: z[k] for k in z.files}
    data["image"] = arrays["image"]
    np.savez(tmp_path / "e.npz", **data)
    with pytest.raises(ValueError, match=r"e\.npz \(image\): row 4 \(id 4\) holds an all-zero vector"):
        load_pairs(tmp_path / "e.npz")
