"""Pictures that are not one digit, made from MNIST training digits, for the model to doubt.

`--multi` (runtime/segment.py) decides whether a wide group of ink is one digit or touching
digits by reading it whole and cut: it keeps a cut when the model is surer of the sides than of
the whole. A model trained on single digits only is sure of nearly anything framed like one:
two touching digits squeezed into one box read as one digit at 0.99 or more in 4 of 5 pairs,
and a piece of a wide 0 reads as a confident 1. Training it to spread its probability over the
ten classes on such pictures (outlier exposure: their cross-entropy to the uniform
distribution, weighted by `TrainConfig.outliers`, added to the loss) lets the cut rule tell
them apart, and makes the confidence a user reads worth more.

Each is framed exactly as `auto` frames a digit (runtime.preprocess.frame), from the digits the
run trains on:
- touching (TOUCHING of them): two, or in one case of five three, digits side by side, each
  resized by up to 15 %, their baselines a few pixels apart, the strokes of neighbours meeting
  or overlapping by up to 4 px;
- pieces (the rest): a digit at least WIDE as wide as it is tall, cut at a column a third to
  two thirds across, one side kept: what a cut through one wide digit gives.
"""

from __future__ import annotations

import numpy as np
from PIL import Image

from runtime.components import mask_box
from runtime.preprocess import frame

FIELD = (28, 28)
INK = 0.35  # a pixel at or above this is the digit's (its mask); fainter is its soft edge
TOUCHING = 0.6  # share of the pool that is touching digits; the rest is pieces of one
WIDE = 0.6  # only digits at least this wide for their height are cut into pieces


def outlier_pool(images: np.ndarray, count: int, seed: int) -> np.ndarray:
    """`count` outliers (uint8, count x 28 x 28, white on black, as MNIST) made from `images`
    (uint8, n x 28 x 28) with a generator seeded by `seed`."""
    rng = np.random.default_rng(seed)
    out = np.zeros((count, *FIELD), np.uint8)
    n = 0
    while n < count:
        field = touching(images, rng) if rng.random() < TOUCHING else piece(images, rng)
        if field is not None:
            out[n] = np.round(np.clip(field, 0, 1) * 255)
            n += 1
    return out


def touching(images: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Two (in one case of five three) digits whose strokes meet, framed as one."""
    count = 3 if rng.random() < 0.2 else 2
    canvas = np.zeros((56, 32 * count + 32), np.float32)  # room for the digits at 115 %
    x = 16
    for k in range(count):
        digit = _resized(images[int(rng.integers(len(images)))], rng.uniform(0.85, 1.15))
        top, bottom, left, right = _extent(digit > INK)
        y = int(rng.integers(22, 26)) - (top + bottom) // 2  # baselines a few px apart
        x -= left + (int(rng.integers(0, 5)) if k else 0)  # meeting, or overlapping by 0-4 px
        h, w = digit.shape
        np.maximum(canvas[y : y + h, x : x + w], digit, out=canvas[y : y + h, x : x + w])
        x += right
    return frame(canvas, canvas > INK, FIELD)


def piece(images: np.ndarray, rng: np.random.Generator) -> np.ndarray | None:
    """One side of a wide digit cut a third to two thirds across, framed; None if the digit
    drawn is too narrow to be cut."""
    digit = images[int(rng.integers(len(images)))].astype(np.float32) / 255.0
    top, bottom, left, right = _extent(digit > INK)
    if right - left < WIDE * (bottom - top):
        return None
    cut = left + int(round(rng.uniform(1 / 3, 2 / 3) * (right - left)))
    side = np.zeros_like(digit)
    keep = slice(left, cut) if rng.random() < 0.5 else slice(cut, right)
    side[:, keep] = digit[:, keep]
    if not (side > INK).any():
        return None
    return frame(side, side > INK, FIELD)


def _resized(image: np.ndarray, scale: float) -> np.ndarray:
    digit = image.astype(np.float32) / 255.0
    size = round(28 * scale)
    if size == 28:
        return digit
    return np.asarray(Image.fromarray(digit).resize((size, size), Image.Resampling.BILINEAR))


def _extent(mask: np.ndarray) -> tuple[int, int, int, int]:
    """Top, bottom, left, right (exclusive) of a mask's pixels."""
    left, top, right, bottom = mask_box(mask)
    return top, bottom, left, right
