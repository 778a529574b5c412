"""Embedding extraction on CPU with a tiny random-init open_clip model (no network)."""

import os
import subprocess
import sys

import numpy as np
import pytest
import torch
from conftest import SCRIPTS

from modality_gap import embed as E
from modality_gap.datasets import DatasetError, read_dataset
from modality_gap.models import load_model
from modality_gap.sources import prepare

TINY = {"kind": "open_clip", "arch": "TinyCLIP-ViT-64", "weights": "random", "seed": 0,
        "preprocess": "model", "pretrained": None, "checkpoint": None, "image_size": None, "cache_dir": None}
CPU = torch.device("cpu")


@pytest.fixture(scope="module")
def shapes(tmp_path_factory):
    root = tmp_path_factory.mktemp("ds") / "shapes"
    prepare(root, {"source": "synthetic_captions", "n_train": 20, "n_val": 10, "image_size": 64, "max_shapes": 2,
                   "noise": 0.05, "mismatch_rate": 0.0, "seed": 0}, "shapes")
    return read_dataset(root)


@pytest.fixture(scope="module")
def digits(tmp_path_factory):
    root = tmp_path_factory.mktemp("ds") / "digits"
    prepare(root, {"source": "sklearn_digits", "image_size": 32, "templates": ["a {}.", "the number {}."]}, "digits")
    ds = read_dataset(root)
    return type(ds)(ds.root, ds.info, ds.samples.iloc[:40].reset_index(drop=True))


@pytest.fixture(scope="module")
def tiny():
    return load_model(TINY)


def test_captions_shapes_dtypes_and_alignment(tiny, shapes):
    arrays, skipped = E.embed_dataset(tiny, shapes, CPU, batch_size=7)
    n = len(shapes)
    assert skipped == []
    assert arrays["image"].shape == (n, 128) and arrays["image"].dtype == np.float32
    assert arrays["text"].shape == (n, 128) and arrays["text"].dtype == np.float32
    assert list(arrays["ids"]) == list(shapes.samples["id"])
    assert np.isfinite(arrays["image"]).all() and np.linalg.norm(arrays["image"], axis=1).min() > 0
    # row i of text is the embedding of caption i, whatever the batching
    i = 13
    alone = E.embed_texts(tiny, [shapes.samples["caption"].iat[i]], CPU)
    np.testing.assert_allclose(arrays["text"][i], alone[0], rtol=1e-4, atol=1e-5)
    img_alone = tiny.encode_image(tiny.preprocess(shapes.load_image(i))[None]).detach().numpy()
    np.testing.assert_allclose(arrays["image"][i], img_alone[0], rtol=1e-4, atol=1e-5)


def test_same_seed_same_embeddings_other_seed_other(shapes):
    a, _ = E.embed_dataset(load_model(TINY), shapes, CPU)
    b, _ = E.embed_dataset(load_model(TINY), shapes, CPU, batch_size=5, num_workers=1)
    c, _ = E.embed_dataset(load_model({**TINY, "seed": 1}), shapes, CPU)
    assert np.array_equal(a["image"], b["image"]) or np.allclose(a["image"], b["image"], atol=1e-6)
    assert np.allclose(a["text"], b["text"], atol=1e-6)
    assert not np.allclose(a["image"], c["image"], atol=1e-3)


def test_classification_texts_are_class_prompts(tiny, digits):
    arrays, _ = E.embed_dataset(tiny, digits, CPU)
    assert arrays["image"].shape == (40, 128)
    assert arrays["text"].shape == (20, 128)  # 10 classes x 2 templates
    assert list(arrays["text_labels"]) == [k for k in range(10) for _ in range(2)]
    assert list(arrays["labels"]) == list(digits.samples["label"])
    one = E.embed_texts(tiny, ['the number 3.'], CPU)
    np.testing.assert_allclose(arrays["text"][7], one[0], rtol=1e-4, atol=1e-5)


def test_noise_inputs_follow_the_paper():
    x = E.noise_images(64, 32, seed=0)
    assert x.shape == (64, 3, 32, 32) and x.dtype == torch.float32
    assert abs(float(x.mean())) < 0.01 and abs(float(x.std()) - 1) < 0.01
    # batch-invariant: a slice drawn on its own equals the same rows drawn together
    assert torch.equal(E.noise_images(5, 32, seed=0, start=10), x[10:15])
    t = E.noise_tokens(2000, 77, 49408, seed=0)
    assert t.shape == (2000, 77) and t.dtype == torch.long
    assert int(t.min()) >= 0 and int(t.max()) < 49408
    counts = np.bincount(t.flatten().numpy() // 4941, minlength=10)  # ten equal bins: uniform
    assert counts.min() > 0.9 * counts.mean()


def test_embed_noise(tiny):
    arrays = E.embed_noise(tiny, 10, seed=3, device=CPU, batch_size=4)
    assert arrays["image"].shape == (10, 128) and arrays["text"].shape == (10, 128)
    again = E.embed_noise(tiny, 10, seed=3, device=CPU, batch_size=10)
    np.testing.assert_allclose(arrays["image"], again["image"], atol=1e-5)


def test_resnet18_is_image_only():
    rn = load_model({"kind": "resnet18", "weights": "random", "seed": 0, "image_size": 32, "preprocess": "model"})
    arrays = E.embed_noise(rn, 4, seed=0, device=CPU)
    assert arrays["image"].shape == (4, 512) and arrays["text"].shape == (0, 0)


def corrupt_copy(dataset, tmp_path):
    import shutil

    root = tmp_path / "broken"
    shutil.copytree(dataset.root, root)
    bad = root / dataset.samples["image"].iat[3]
    bad.write_bytes(bad.read_bytes()[:40])  # truncated PNG
    return read_dataset(root), bad


def test_corrupt_image_fails_naming_the_file(tiny, shapes, tmp_path):
    broken, bad = corrupt_copy(shapes, tmp_path)
    for workers in (0, 1):
        with pytest.raises(DatasetError, match=bad.name):
            E.embed_dataset(tiny, broken, CPU, num_workers=workers)


def test_corrupt_image_can_be_skipped_and_counted(tiny, shapes, tmp_path):
    broken, _ = corrupt_copy(shapes, tmp_path)
    arrays, skipped = E.embed_dataset(tiny, broken, CPU, skip_bad=True)
    assert skipped == [shapes.samples["id"].iat[3]]
    assert len(arrays["image"]) == len(arrays["text"]) == len(shapes) - 1
    assert shapes.samples["id"].iat[3] not in set(arrays["ids"])
    # captions stay aligned with their images after the gap
    cap = shapes.samples["caption"].iat[4]
    np.testing.assert_allclose(arrays["text"][3], E.embed_texts(tiny, [cap], CPU)[0], rtol=1e-4, atol=1e-5)


def test_save_and_load_round_trip(tmp_path):
    arrays = {"image": np.ones((3, 4), np.float32), "text": np.ones((3, 4), np.float32),
              "ids": np.array(["a", "b", "c"], dtype=object), "split": np.array(["val"] * 3),
              "labels": np.full(3, -1), "text_labels": np.arange(3)}
    path = E.save_embeddings(tmp_path / "e.npz", arrays, {"model": "m"})
    back, meta = E.load_embeddings(path)
    assert meta == {"model": "m"} and list(back["ids"]) == ["a", "b", "c"]
    arrays["image"][1, 2] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        E.save_embeddings(tmp_path / "bad.npz", arrays, {})
    assert sorted(p.name for p in tmp_path.iterdir()) == ["e.npz"]


def test_pretrained_without_weights_offline_says_how_to_predownload(tmp_path):
    code = (
        "from modality_gap.models import load_model, WeightsUnavailableError\n"
        "spec = dict(kind='open_clip', arch='ViT-B-32-quickgelu', weights='pretrained', pretrained='openai',"
        " seed=0, preprocess='model', checkpoint=None, image_size=None)\n"
        f"try:\n    load_model(spec, cache_dir={str(tmp_path)!r})\n"
        "except WeightsUnavailableError as e:\n    print('MESSAGE', e)\n"
    )
    env = dict(os.environ, HF_HUB_OFFLINE="1", HF_HOME=str(tmp_path), PYTHONPATH=str(SCRIPTS))
    r = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=300)
    assert "MESSAGE pretrained weights ViT-B-32-quickgelu/openai are not available" in r.stdout, r.stderr
    assert "Pre-download them" in r.stdout and "open_clip.create_model('ViT-B-32-quickgelu'" in r.stdout


def test_unknown_architecture_is_a_clear_error():
    with pytest.raises(ValueError, match="unknown open_clip architecture 'ViT-Z-99'"):
        load_model({**TINY, "arch": "ViT-Z-99"})
