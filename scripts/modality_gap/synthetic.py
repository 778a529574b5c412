"""Synthetic image-caption pairs for the demo: scenes of coloured shapes with template captions.

Each image is a pure function of ``(seed, index)`` and the settings, so any subset can be regenerated
and the data set does not depend on generation order. Every image keeps its attributes (shape,
colour, size and position of each shape), from which classification tasks can be derived, and a
``mismatch_rate`` swaps captions among a recorded fraction of the training pairs, imitating the
annotation errors that Section 4.3 of the paper argues keep the modality gap open.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np
import pandas as pd
from PIL import Image, ImageDraw

__all__ = [
    "SHAPES",
    "COLORS",
    "SIZES",
    "POSITIONS",
    "TEMPLATES",
    "Shape",
    "render_scene",
    "random_shapes",
    "random_scene",
    "caption_of",
    "mismatch_permutation",
    "synthetic_captions_table",
    "synthetic_attribute_table",
    "ATTRIBUTES",
]

SHAPES = ("circle", "square", "triangle", "diamond", "star", "cross")
COLORS = {
    "red": (220, 40, 40),
    "green": (40, 170, 60),
    "blue": (40, 80, 220),
    "yellow": (235, 215, 40),
    "purple": (140, 60, 180),
    "orange": (245, 140, 30),
    "white": (250, 250, 250),
    "black": (15, 15, 15),
}
#: half-extent of a shape as a fraction of the image side
SIZES = {"small": 0.09, "large": 0.16}
#: centre of each position as fractions of the image side (x, y)
POSITIONS = {
    "top left": (0.27, 0.27),
    "top right": (0.73, 0.27),
    "bottom left": (0.27, 0.73),
    "bottom right": (0.73, 0.73),
    "center": (0.5, 0.5),
}
#: the attributes of a shape and their values (the class order of :func:`synthetic_attribute_table`)
ATTRIBUTES = {"shape": SHAPES, "color": tuple(COLORS), "size": tuple(SIZES), "position": tuple(POSITIONS)}
#: caption templates for one shape; a scene's caption joins its shapes' descriptions with "and"
TEMPLATES = (
    "a {size} {color} {shape} in the {position}",
    "a {color} {shape} at the {position} of the picture",
    "there is a {size} {color} {shape} in the {position}",
)
_BACKGROUND = 128
_SUPERSAMPLE = 4


@dataclass(frozen=True)
class Shape:
    """One shape of a scene."""

    shape: str
    color: str
    size: str
    position: str


def _polygon(shape: str, cx: float, cy: float, r: float) -> list[tuple[float, float]]:
    if shape == "square":
        return [(cx - r, cy - r), (cx + r, cy - r), (cx + r, cy + r), (cx - r, cy + r)]
    if shape == "triangle":
        return [(cx, cy - r), (cx + r, cy + r * 0.8), (cx - r, cy + r * 0.8)]
    if shape == "diamond":
        return [(cx, cy - r), (cx + r, cy), (cx, cy + r), (cx - r, cy)]
    if shape == "star":
        pts = []
        for k in range(10):
            rad = r if k % 2 == 0 else r * 0.45
            ang = -np.pi / 2 + k * np.pi / 5
            pts.append((cx + rad * np.cos(ang), cy + rad * np.sin(ang)))
        return pts
    if shape == "cross":
        w = r * 0.38
        return [
            (cx - w, cy - r), (cx + w, cy - r), (cx + w, cy - w), (cx + r, cy - w), (cx + r, cy + w),
            (cx + w, cy + w), (cx + w, cy + r), (cx - w, cy + r), (cx - w, cy + w), (cx - r, cy + w),
            (cx - r, cy - w), (cx - w, cy - w),
        ]
    raise ValueError(f"unknown shape {shape!r}; known: {SHAPES}")


def render_scene(
    shapes: list[Shape],
    image_size: int,
    jitter: np.ndarray | None = None,
    noise: np.ndarray | None = None,
) -> Image.Image:
    """Draw ``shapes`` on a grey background.

    Parameters
    ----------
    shapes : list of Shape
    image_size : int
        Side of the square RGB image.
    jitter : (len(shapes), 2) array, optional
        Offsets of the shape centres, as fractions of the image side.
    noise : (image_size, image_size, 3) array, optional
        Additive background noise on [0, 1] intensities.

    Returns
    -------
    PIL.Image.Image
        RGB image, anti-aliased by supersampling.
    """
    big = image_size * _SUPERSAMPLE
    canvas = Image.new("RGB", (big, big), (_BACKGROUND,) * 3)
    draw = ImageDraw.Draw(canvas)
    for k, s in enumerate(shapes):
        fx, fy = POSITIONS[s.position]
        if jitter is not None:
            fx, fy = fx + jitter[k, 0], fy + jitter[k, 1]
        cx, cy, r = fx * big, fy * big, SIZES[s.size] * big
        color = COLORS[s.color]
        if s.shape == "circle":
            draw.ellipse([cx - r, cy - r, cx + r, cy + r], fill=color)
        else:
            draw.polygon(_polygon(s.shape, cx, cy, r), fill=color)
    img = canvas.resize((image_size, image_size), Image.Resampling.LANCZOS)
    if noise is not None:
        arr = np.asarray(img, dtype=np.float32) / 255.0 + noise
        img = Image.fromarray(np.clip(np.rint(arr * 255.0), 0, 255).astype(np.uint8))
    return img


def random_shapes(rng: np.random.Generator, max_shapes: int) -> list[Shape]:
    """Draw 1..``max_shapes`` shapes at distinct positions (the attribute draws of a scene)."""
    n = int(rng.integers(1, max_shapes + 1))
    positions = rng.choice(len(POSITIONS), size=n, replace=False)
    pos_names, colors, sizes = list(POSITIONS), list(COLORS), list(SIZES)
    return [
        Shape(
            shape=SHAPES[int(rng.integers(len(SHAPES)))],
            color=colors[int(rng.integers(len(colors)))],
            size=sizes[int(rng.integers(len(sizes)))],
            position=pos_names[int(p)],
        )
        for p in positions
    ]


def random_scene(
    rng: np.random.Generator, image_size: int, max_shapes: int, noise: float
) -> tuple[Image.Image, list[Shape]]:
    """Draw a random scene (shapes, centre jitter, background noise) and render it."""
    shapes = random_shapes(rng, max_shapes)
    jitter = rng.uniform(-0.03, 0.03, size=(len(shapes), 2))
    noise_arr = rng.normal(0.0, noise, size=(image_size, image_size, 3)).astype(np.float32) if noise > 0 else None
    return render_scene(shapes, image_size, jitter, noise_arr), shapes


def caption_of(shapes: list[Shape], template: int) -> str:
    """The caption of a scene: each shape described with template ``template``, joined by "and"."""
    parts = [TEMPLATES[template].format(**vars(s)) for s in shapes]
    text = re.sub(r"\ba (?=[aeiou])", "an ", " and ".join(parts))
    return text[0].upper() + text[1:] + "."


def mismatch_permutation(n: int, rate: float, rng: np.random.Generator) -> np.ndarray:
    """A permutation of ``range(n)`` moving exactly ``round(rate * n)`` items (no fixed point among them).

    Returns
    -------
    (n,) int array
        ``perm[i]`` is the row whose caption row ``i`` receives. With one selected row there is
        nothing to swap with, so at least two rows are moved whenever ``round(rate * n) >= 1``.
    """
    if not 0.0 <= rate <= 1.0:
        raise ValueError(f"mismatch_rate must lie in [0, 1], got {rate}")
    perm = np.arange(n)
    k = int(round(rate * n))
    if k == 0 or n < 2:
        return perm
    k = max(k, 2)
    chosen = np.sort(rng.choice(n, size=k, replace=False))
    order = rng.permutation(chosen)
    # cyclic shift of a random order: a derangement of the chosen rows
    perm[order] = np.roll(order, 1)
    return perm


def synthetic_captions_table(
    n_train: int,
    n_val: int,
    image_size: int = 64,
    max_shapes: int = 2,
    noise: float = 0.05,
    mismatch_rate: float = 0.0,
    seed: int = 0,
):
    """Generate the data set's rows and images.

    Returns
    -------
    samples : pandas.DataFrame
        Rows in the format of :mod:`modality_gap.datasets` with attribute columns ``attr_shape``,
        ``attr_color``, ``attr_size``, ``attr_position`` (of the first shape), ``attr_n_shapes``,
        plus ``mismatched`` and ``true_caption``.
    images : iterator of (relpath, PIL.Image.Image)
        The images, generated lazily in row order.
    info : dict
        ``dataset.json`` content (without name).
    """
    for name, v in (("n_train", n_train), ("n_val", n_val), ("image_size", image_size), ("max_shapes", max_shapes)):
        if v < 1:
            raise ValueError(f"{name} must be >= 1, got {v}")
    if max_shapes > len(POSITIONS):
        raise ValueError(f"max_shapes must be <= {len(POSITIONS)}, got {max_shapes}")
    n = n_train + n_val
    width = len(str(n - 1))
    rows = []
    for i in range(n):
        # the attributes are the first draws of the image's own stream; images() replays it
        shapes = random_shapes(np.random.default_rng([seed, 0, i]), max_shapes)
        template = int(np.random.default_rng([seed, 2, i]).integers(len(TEMPLATES)))
        caption = caption_of(shapes, template)
        first = shapes[0]
        rows.append(
            {
                "id": f"{i:0{width}d}",
                "split": "train" if i < n_train else "val",
                "image": f"images/{i:0{width}d}.png",
                "caption": caption,
                "label": -1,
                "attr_shape": first.shape,
                "attr_color": first.color,
                "attr_size": first.size,
                "attr_position": first.position,
                "attr_n_shapes": str(len(shapes)),
            }
        )
    samples = pd.DataFrame(rows)
    samples["true_caption"] = samples["caption"]
    perm = mismatch_permutation(n_train, mismatch_rate, np.random.default_rng([seed, 1]))
    train_caps = samples["caption"].iloc[:n_train].to_numpy()
    samples.loc[: n_train - 1, "caption"] = train_caps[perm]
    samples["mismatched"] = False
    samples.loc[: n_train - 1, "mismatched"] = perm != np.arange(n_train)

    def images():
        for i in range(n):
            rng = np.random.default_rng([seed, 0, i])
            img, _ = random_scene(rng, image_size, max_shapes, noise)
            yield samples["image"].iat[i], img

    info = {
        "task": "captions",
        "source": "synthetic_captions",
        "description": "Generated scenes of 1 to max_shapes coloured shapes on grey, with template captions.",
        "license": "CC0 (generated)",
        "attributes": {
            **{a: list(v) for a, v in ATTRIBUTES.items()},
            "n_shapes": [str(k) for k in range(1, max_shapes + 1)],
        },
        "settings": {
            "n_train": n_train,
            "n_val": n_val,
            "image_size": image_size,
            "max_shapes": max_shapes,
            "noise": noise,
            "mismatch_rate": mismatch_rate,
            "seed": seed,
        },
        "n_mismatched": int(samples["mismatched"].sum()),
        "mismatch_note": "captions swapped among the listed training rows only; validation pairs are clean",
    }
    return samples, images(), info




def synthetic_attribute_table(
    n: int,
    attribute: str,
    image_size: int = 64,
    noise: float = 0.05,
    seed: int = 0,
):
    """A zero-shot classification task on single-shape scenes: the label is one attribute.

    Every image holds exactly one shape (so its attribute is unambiguous), drawn like the
    scenes of :func:`synthetic_captions_table`. The label is the index of the shape's
    ``attribute`` value in :data:`ATTRIBUTES`; all four attributes are also kept as
    ``attr_*`` columns (usable as group labels, e.g. for the fairness tables).

    Returns
    -------
    samples : pandas.DataFrame
        Rows in the format of :mod:`modality_gap.datasets` (split ``test``).
    images : iterator of (relpath, PIL.Image.Image)
    info : dict
        ``dataset.json`` content without name and templates; ``classes`` are the attribute's
        values.
    """
    if attribute not in ATTRIBUTES:
        raise ValueError(f"attribute must be one of {sorted(ATTRIBUTES)}, got {attribute!r}")
    for name, v in (("n", n), ("image_size", image_size)):
        if v < 1:
            raise ValueError(f"{name} must be >= 1, got {v}")
    classes = list(ATTRIBUTES[attribute])
    width = len(str(n - 1))
    rows = []
    for i in range(n):
        (shape,) = random_shapes(np.random.default_rng([seed, 3, i]), 1)
        rows.append(
            {
                "id": f"{i:0{width}d}",
                "split": "test",
                "image": f"images/{i:0{width}d}.png",
                "caption": "",
                "label": classes.index(getattr(shape, attribute)),
                **{f"attr_{a}": getattr(shape, a) for a in ATTRIBUTES},
            }
        )
    samples = pd.DataFrame(rows)

    def images():
        for i in range(n):
            rng = np.random.default_rng([seed, 3, i])
            img, _ = random_scene(rng, image_size, 1, noise)
            yield samples["image"].iat[i], img

    info = {
        "task": "classification",
        "source": "synthetic_attribute",
        "description": f"Generated single-shape scenes on grey; label = the shape's {attribute}.",
        "license": "CC0 (generated)",
        "classes": classes,
        "attributes": {a: list(v) for a, v in ATTRIBUTES.items()},
        "settings": {"n": n, "attribute": attribute, "image_size": image_size, "noise": noise, "seed": seed},
    }
    return samples, images(), info
