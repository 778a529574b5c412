"""Training loop of Sec. 4.4 / Figures 8 and 16 on CPU: loss, Procrustes, temperature, resume, export.

Training runs use a micro CLIP (registered from a temporary JSON config) so the file stays well
under a minute on 2 cores; embedding-only checks use the demo's TinyCLIP-ViT-64.
"""

import json
import math

import numpy as np
import open_clip
import pytest
import torch

from modality_gap import train as T
from modality_gap.datasets import read_dataset
from modality_gap.gap import centroid_distance, l2_normalize
from modality_gap.models import load_model
from modality_gap.shift import clip_loss as clip_loss_numpy
from modality_gap.sources import prepare

SPEC = {"kind": "open_clip", "arch": "TinyCLIP-ViT-64", "weights": "random", "seed": 0,
        "preprocess": "model", "pretrained": None, "checkpoint": None, "image_size": None, "cache_dir": None}
MICRO_ARCH = "TestMicroCLIP-ViT-64"
MICRO_CFG = {
    "embed_dim": 32,
    "quick_gelu": False,
    "vision_cfg": {"image_size": 64, "layers": 2, "width": 64, "head_width": 32, "patch_size": 16},
    "text_cfg": {"context_length": 32, "vocab_size": 49408, "width": 32, "heads": 2, "layers": 1},
}
TAU = 0.07
RUN = dict(batch_size=16, lr=5e-4, weight_decay=0.2, temperature=TAU, warmup_steps=2, schedule="cosine",
           seed=3, threads=1)
NUMERIC = [c for c in T.METRIC_COLUMNS if c != "seconds"]
CPU = torch.device("cpu")


@pytest.fixture(scope="module")
def shapes(tmp_path_factory):
    root = tmp_path_factory.mktemp("ds") / "shapes"
    prepare(root, {"source": "synthetic_captions", "n_train": 64, "n_val": 32, "image_size": 64, "max_shapes": 1,
                   "noise": 0.0, "mismatch_rate": 0.0, "seed": 0}, "shapes")
    ds = read_dataset(root)
    return ds.split("train"), ds.split("val")


@pytest.fixture(scope="module")
def micro_spec(tmp_path_factory):
    path = tmp_path_factory.mktemp("cfg") / f"{MICRO_ARCH}.json"
    path.write_text(json.dumps(MICRO_CFG))
    open_clip.add_model_config(str(path))
    return {**SPEC, "arch": MICRO_ARCH}


def _state(model):
    return {k: v.detach().clone() for k, v in model.module.state_dict().items()}


@pytest.fixture(scope="module")
def run3(shapes, micro_spec, tmp_path_factory):
    """An uninterrupted 3-epoch run at a fixed temperature."""
    train, val = shapes
    model = load_model(micro_spec)
    init_scale = float(model.module.logit_scale.detach())
    ckpt = tmp_path_factory.mktemp("run3")
    res = T.train_clip(model, train, val, epochs=3, checkpoint_dir=ckpt, **RUN)
    return res, _state(res.model), ckpt, init_scale


# ------------------------------------------------------------------------------------------------
# loss
# ------------------------------------------------------------------------------------------------
def test_clip_loss_matches_numpy_and_direct_formula():
    g = torch.Generator().manual_seed(0)
    x, y = torch.randn(12, 8, generator=g), torch.randn(12, 8, generator=g)
    scale = 1 / 0.07
    got = T.clip_loss(x, y, torch.tensor(scale))
    xn, yn = l2_normalize(x.numpy()), l2_normalize(y.numpy())
    assert got.item() == pytest.approx(clip_loss_numpy(xn, yn, temperature=0.07, batch_size=None), rel=1e-5)
    logits = scale * xn @ yn.T
    i2t = -np.mean(np.diag(logits) - np.log(np.exp(logits).sum(1)))
    t2i = -np.mean(np.diag(logits) - np.log(np.exp(logits).sum(0)))
    assert got.item() == pytest.approx((i2t + t2i) / 2, rel=1e-5)
    # gradients flow and raw (unnormalised) scale does not matter
    assert T.clip_loss(3 * x, y, scale).item() == pytest.approx(got.item(), rel=1e-5)
    with pytest.raises(ValueError, match="same shape"):
        T.clip_loss(x, y[:5], scale)


# ------------------------------------------------------------------------------------------------
# Procrustes
# ------------------------------------------------------------------------------------------------
def test_procrustes_recovers_known_rotation():
    rng = np.random.default_rng(0)
    x = l2_normalize(rng.normal(size=(200, 16)))
    r, _ = np.linalg.qr(rng.normal(size=(16, 16)))
    y = x @ r  # text = image rotated
    w = T.procrustes_rotation(x, y)
    np.testing.assert_allclose(w @ w.T, np.eye(16), atol=1e-10)
    np.testing.assert_allclose(w, r, atol=1e-8)
    np.testing.assert_allclose(T.rotate_text(y, w), x, atol=1e-8)  # aligned text rows = y @ W.T


def test_procrustes_is_orthogonal_and_closes_the_init_gap(shapes):
    train, val = shapes
    model = load_model(SPEC)  # the demo's tiny architecture, random init
    img, txt = T.embed_pairs(model, train, device=CPU)
    w = T.procrustes_rotation(img, txt)
    assert w.shape == (128, 128)
    np.testing.assert_allclose(w @ w.T, np.eye(128), atol=1e-8)
    before = centroid_distance(img, txt)
    assert before > 0.8  # cone effect: a large gap at random init (paper: 1.19)
    assert centroid_distance(img, T.rotate_text(l2_normalize(txt), w)) < 0.3 * before
    # also on held-out pairs (W fitted on train)
    vi, vt = T.embed_pairs(model, val, device=CPU)
    assert centroid_distance(vi, T.rotate_text(l2_normalize(vt), w)) < 0.5 * centroid_distance(vi, vt)


# ------------------------------------------------------------------------------------------------
# optimiser pieces
# ------------------------------------------------------------------------------------------------
def test_param_groups_follow_open_clip(micro_spec):
    m = load_model(micro_spec).module
    m.logit_scale.requires_grad_(False)
    no_decay, decay = T.param_groups(m, 0.2)
    names = {id(p): n for n, p in m.named_parameters()}
    nd = {names[id(p)] for p in no_decay["params"]}
    d = {names[id(p)] for p in decay["params"]}
    assert no_decay["weight_decay"] == 0.0 and decay["weight_decay"] == 0.2
    assert "logit_scale" not in nd | d
    assert "visual.class_embedding" in nd and "ln_final.weight" in nd and "ln_final.bias" in nd
    assert "text_projection" in d and "token_embedding.weight" in d
    assert all(not n.endswith("bias") for n in d)


def test_lr_schedule():
    s = T.LRSchedule("cosine", 4, 20)
    assert [s(i) for i in range(4)] == [0.25, 0.5, 0.75, 1.0]
    assert s(4) == 1.0 and s(12) == pytest.approx(0.5) and s(20) == pytest.approx(0.0)
    assert T.LRSchedule("constant", 2, 20)(15) == 1.0
    with pytest.raises(ValueError, match="schedule"):
        T.LRSchedule("linear", 0, 10)


def test_epoch_order_is_a_seeded_permutation():
    a = T.epoch_order(64, 0, 1)
    assert sorted(a) == list(range(64))
    assert np.array_equal(a, T.epoch_order(64, 0, 1))
    assert not np.array_equal(a, T.epoch_order(64, 0, 2)) and not np.array_equal(a, T.epoch_order(64, 1, 1))


# ------------------------------------------------------------------------------------------------
# training
# ------------------------------------------------------------------------------------------------
def test_training_lowers_loss_and_reports_metrics(run3):
    res, _, ckpt, _ = run3
    m = res.metrics
    assert list(m.columns) == list(T.METRIC_COLUMNS)
    assert list(m["epoch"]) == [0, 1, 2, 3] and list(m["step"]) == [0, 4, 8, 12]
    assert np.isnan(m["train_loss"].iat[0])
    assert m["train_loss"].iat[3] < m["train_loss"].iat[1]
    assert m["val_loss"].iat[3] < m["val_loss"].iat[0]
    assert m[["val_gap", "val_r1_i2t", "val_r1_t2i"]].iloc[1:].notna().all().all()
    assert ((m["val_r1_i2t"] >= 0) & (m["val_r1_i2t"] <= 1)).all()
    assert (m["val_gap"] == m["val_gap_raw"]).all()  # not amended
    assert (ckpt / T.CHECKPOINT_NAME).is_file() and (ckpt / T.METRICS_NAME).is_file()
    assert not list(ckpt.glob("*.tmp"))


def test_fixed_temperature_stays_fixed_and_out_of_the_optimiser(run3):
    res, _, ckpt, init_scale = run3
    ls = res.model.module.logit_scale
    assert init_scale == pytest.approx(math.log(1 / 0.07))  # open_clip's init, before training sets it
    assert torch.equal(ls.detach(), torch.tensor(math.log(1 / TAU), dtype=torch.float32))  # unchanged, bitwise
    assert not ls.requires_grad
    assert res.metrics["logit_scale"].to_numpy() == pytest.approx(1 / TAU, rel=1e-6)
    state = T.load_checkpoint(ckpt / T.CHECKPOINT_NAME)
    n_opt = sum(len(g["params"]) for g in state["optimizer"]["param_groups"])
    assert n_opt == len(list(res.model.module.parameters())) - 1  # everything but logit_scale


def test_kill_and_resume_gives_the_same_run(run3, shapes, micro_spec, tmp_path):
    res3, state3, _, _ = run3
    train, val = shapes

    class Killed(Exception):
        pass

    def kill_after_epoch_2(row):
        if row["epoch"] == 2:
            raise Killed

    with pytest.raises(Killed):
        T.train_clip(load_model(micro_spec), train, val, epochs=3, checkpoint_dir=tmp_path,
                     progress=kill_after_epoch_2, **RUN)
    assert T.load_checkpoint(tmp_path / T.CHECKPOINT_NAME)["epoch"] == 2
    seen = []
    resumed = T.train_clip(load_model({**micro_spec, "seed": 5}), train, val, epochs=3, checkpoint_dir=tmp_path,
                           progress=seen.append, **RUN)
    assert [r["epoch"] for r in seen] == [3]  # only the missing epoch ran
    np.testing.assert_array_equal(resumed.metrics[NUMERIC].to_numpy(), res3.metrics[NUMERIC].to_numpy())
    state = _state(resumed.model)
    assert state.keys() == state3.keys()
    for k in state:
        assert torch.equal(state[k], state3[k]), k
    # a finished run called again returns its metrics without training
    again = T.train_clip(load_model(micro_spec), train, val, epochs=3, checkpoint_dir=tmp_path,
                         progress=seen.append, **RUN)
    assert len(seen) == 1
    np.testing.assert_array_equal(again.metrics[NUMERIC].to_numpy(), res3.metrics[NUMERIC].to_numpy())


def test_constant_schedule_can_be_extended(shapes, micro_spec, tmp_path):
    train, val = shapes
    kw = {**RUN, "schedule": "constant"}
    T.train_clip(load_model(micro_spec), train, val, epochs=1, checkpoint_dir=tmp_path, **kw)
    longer = T.train_clip(load_model(micro_spec), train, val, epochs=2, checkpoint_dir=tmp_path, **kw)
    straight = T.train_clip(load_model(micro_spec), train, val, epochs=2, **kw)
    np.testing.assert_array_equal(longer.metrics[NUMERIC].to_numpy(), straight.metrics[NUMERIC].to_numpy())


def test_corrupt_checkpoint_is_an_error_naming_the_file(shapes, micro_spec, tmp_path):
    train, val = shapes
    bad = tmp_path / T.CHECKPOINT_NAME
    bad.write_bytes(b"\x80\x02 this is not a checkpoint")
    with pytest.raises(T.CheckpointError, match=str(bad)):
        T.train_clip(load_model(micro_spec), train, val, epochs=1, checkpoint_dir=tmp_path, **RUN)
    assert bad.read_bytes().startswith(b"\x80\x02 this")  # not silently overwritten


def test_checkpoint_of_other_settings_is_refused(run3, shapes, micro_spec, tmp_path):
    _, _, ckpt, _ = run3
    train, val = shapes
    (tmp_path / T.CHECKPOINT_NAME).write_bytes((ckpt / T.CHECKPOINT_NAME).read_bytes())
    with pytest.raises(T.CheckpointError, match=r"lr: checkpoint 0\.0005, this call 0\.001"):
        T.train_clip(load_model(micro_spec), train, val, epochs=3, checkpoint_dir=tmp_path, **{**RUN, "lr": 1e-3})
    with pytest.raises(T.CheckpointError, match="epochs"):  # cosine horizon differs
        T.train_clip(load_model(micro_spec), train, val, epochs=4, checkpoint_dir=tmp_path, **RUN)


@pytest.mark.parametrize(
    "kw, name",
    [({"batch_size": 128}, "batch_size"), ({"temperature": -1.0}, "temperature"), ({"schedule": "step"}, "schedule"),
     ({"lr": 0.0}, "lr"), ({"epochs": 0}, "epochs"), ({"betas": (0.9, 1.5)}, "betas")],
)
def test_bad_arguments_name_themselves(shapes, micro_spec, kw, name):
    train, val = shapes
    args = {**RUN, "epochs": 1, **kw}
    with pytest.raises(ValueError, match=name):
        T.train_clip(load_model(micro_spec), train, val, **args)


def test_learnable_temperature_amended_run_and_export_round_trip(shapes, micro_spec, tmp_path):
    train, val = shapes
    model = load_model(micro_spec)
    res = T.train_clip(model, train, val, epochs=1, **{**RUN, "temperature": None, "warmup_steps": 0})
    ls = res.model.module.logit_scale
    assert ls.requires_grad and float(ls.detach()) != pytest.approx(math.log(1 / 0.07), abs=1e-6)
    assert 0 <= float(ls.detach()) <= math.log(100)
    # amended: W fitted at init closes the gap there; metrics report it after W
    assert res.rotation is None
    amended = T.train_clip(load_model(micro_spec), train, val, epochs=1, amend=True, **RUN)
    w, m0 = amended.rotation, amended.metrics.iloc[0]
    np.testing.assert_allclose(w @ w.T, np.eye(32), atol=1e-8)
    assert m0["val_gap"] < 0.5 * m0["val_gap_raw"]
    # export folds W into the text projection; load_model's checkpoint path accepts the file
    path = T.save_trained_model(tmp_path / "model.pt", amended.model, rotation=w, meta={"run": "amended"})
    reloaded = load_model({**micro_spec, "weights": "checkpoint", "checkpoint": str(path)})
    img, txt = T.embed_pairs(amended.model, val, device=CPU)
    img2, txt2 = T.embed_pairs(reloaded, val, device=CPU)
    np.testing.assert_array_equal(img2, img)
    np.testing.assert_allclose(txt2, T.rotate_text(txt, w), rtol=1e-4, atol=1e-5)
    ev = T.evaluate(reloaded, val, batch_size=RUN["batch_size"])
    assert ev["gap"] == pytest.approx(amended.metrics["val_gap"].iat[-1], abs=1e-5)
    # plain export: bitwise the same embeddings
    path = T.save_trained_model(tmp_path / "plain.pt", res.model)
    plain = load_model({**micro_spec, "weights": "checkpoint", "checkpoint": str(path)})
    a, b = T.embed_pairs(res.model, val, device=CPU), T.embed_pairs(plain, val, device=CPU)
    np.testing.assert_array_equal(a[0], b[0])
    np.testing.assert_array_equal(a[1], b[1])


def test_bare_open_clip_model_needs_a_tokenizer(shapes, micro_spec):
    train, val = shapes
    bare = load_model(micro_spec).module
    with pytest.raises(ValueError, match="tokenize"):
        T.evaluate(bare, val)
    ev = T.evaluate(bare, val, tokenize=open_clip.get_tokenizer(MICRO_ARCH))
    assert 0 <= ev["gap"] <= 2 and ev["n"] == 32
