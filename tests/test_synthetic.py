"""The synthetic captions generator: determinism, attributes, captions and mismatch bookkeeping."""

import numpy as np
import pytest

from modality_gap import synthetic as syn


def table(**kw):
    args = dict(n_train=60, n_val=20, image_size=32, max_shapes=2, noise=0.05, mismatch_rate=0.0, seed=3)
    args.update(kw)
    return syn.synthetic_captions_table(**args)


def pixels(images):
    return [np.asarray(im) for _, im in images]


def test_same_seed_same_data_set():
    a, ia, info_a = table()
    b, ib, info_b = table()
    assert a.equals(b) and info_a == info_b
    assert all(np.array_equal(x, y) for x, y in zip(pixels(ia), pixels(ib)))


def test_other_seed_other_data_set():
    a, ia, _ = table()
    b, ib, _ = table(seed=4)
    assert not a["caption"].equals(b["caption"])
    assert not np.array_equal(pixels(ia)[0], pixels(ib)[0])


def test_rows_do_not_depend_on_the_data_set_size():
    small, ismall, _ = table(n_train=10, n_val=5)
    big, ibig, _ = table(n_train=60, n_val=20)
    # ids are zero-padded differently, but row i is the same scene
    assert list(small["attr_shape"][:10]) == list(big["attr_shape"][:10])
    assert np.array_equal(pixels(ismall)[3], pixels(ibig)[3])


def test_splits_sizes_and_images():
    samples, images, info = table()
    assert (samples["split"] == "train").sum() == 60 and (samples["split"] == "val").sum() == 20
    imgs = pixels(images)
    assert len(imgs) == 80 and imgs[0].shape == (32, 32, 3) and imgs[0].dtype == np.uint8
    assert info["settings"]["seed"] == 3


def test_captions_describe_the_first_shape():
    samples, _, _ = table(n_train=200, n_val=1)
    for row in samples.itertuples():
        first = row.caption.split(" and ")[0].lower()
        assert row.attr_shape in first and row.attr_color in first
        assert int(row.attr_n_shapes) == row.caption.count(" and ") + 1
        assert " a orange" not in row.caption.lower() and not row.caption.lower().startswith("a orange")


def test_attribute_values_are_listed_in_info():
    samples, _, info = table(n_train=100)
    for attr, values in info["attributes"].items():
        assert set(samples[f"attr_{attr}"]) <= set(values)


def test_single_shape_images_draw_the_shape_colour():
    # one shape on grey: the most frequent non-grey colour is the shape's colour
    samples, images, _ = table(n_train=40, n_val=1, max_shapes=1, noise=0.0, image_size=48)
    for (row, img) in zip(samples.itertuples(), pixels(images)):
        flat = img.reshape(-1, 3).astype(int)
        shape_px = flat[np.abs(flat - 128).sum(1) > 60]
        assert len(shape_px) > 20
        target = np.array(syn.COLORS[row.attr_color])
        assert np.median(np.abs(shape_px - target).sum(1)) < 60


@pytest.mark.parametrize("rate", [0.0, 0.1, 0.3, 1.0])
def test_mismatch_bookkeeping(rate):
    samples, _, info = table(n_train=100, n_val=20, mismatch_rate=rate)
    train = samples[samples["split"] == "train"]
    k = int(round(rate * 100))
    assert info["n_mismatched"] == train["mismatched"].sum() == (k if k != 1 else 2)
    swapped = train[train["mismatched"]]
    assert (swapped["caption"] != swapped["true_caption"]).all() or len(set(train["true_caption"])) < 100
    kept = train[~train["mismatched"]]
    assert (kept["caption"] == kept["true_caption"]).all()
    # captions are permuted among the swapped rows, none invented or lost
    assert sorted(swapped["caption"]) == sorted(swapped["true_caption"])
    val = samples[samples["split"] == "val"]
    assert not val["mismatched"].any() and (val["caption"] == val["true_caption"]).all()


def test_mismatch_permutation_is_a_derangement_of_the_chosen_rows():
    rng = np.random.default_rng(0)
    perm = syn.mismatch_permutation(1000, 0.25, rng)
    moved = perm != np.arange(1000)
    assert moved.sum() == 250
    assert sorted(perm) == list(range(1000))
    with pytest.raises(ValueError, match="mismatch_rate"):
        syn.mismatch_permutation(10, 1.5, rng)


@pytest.mark.parametrize("kw", [{"n_train": 0}, {"image_size": 0}, {"max_shapes": 9}])
def test_bad_settings_are_rejected(kw):
    with pytest.raises(ValueError):
        table(**kw)
