"""Bringing any image to the model's input, in NumPy and Pillow only.

`plain` is the seed's pipeline, exactly: Pillow greyscale, Pillow resize to 28x28, /255, then
(x - mean) / std. `auto` brings a photo, scan or drawing to what MNIST digits are: white on black,
cropped to the ink, fitted into 20x20 keeping the aspect ratio and centred by centre of mass in
28x28.
"""

from __future__ import annotations

import os
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, UnidentifiedImageError

from runtime.errors import first_line

MAX_SIDE = 1024  # larger images are reduced before any float work: memory stays bounded
FIELD, BOX = 28, 20  # MNIST: the ink fits a 20x20 box, centred by mass in a 28x28 field
CENTRE = 14.0  # where MNIST's centre of mass lies (row and column index)
MIN_CONTRAST = 0.08  # ink less than this far above the paper (0..1) is no digit
IMAGE_SUFFIXES = {
    ".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp", ".pgm", ".ppm", ".pbm",
    ".pnm", ".jfif", ".ico",
}  # fmt: skip


class ImageError(Exception):
    """An input that cannot be read as an image; the message is one line."""


class NoDigitError(ImageError):
    """The image holds no ink to read."""

    def __init__(self, message: str = "no digit found"):
        super().__init__(message)


@dataclass(frozen=True)
class Normalization:
    mean: float
    std: float


# ---------------------------------------------------------------------------------------------
# Reading


def open_image(source) -> Image.Image:
    """A loaded Pillow image from a path, a Pillow image or a NumPy array (first frame only)."""
    if isinstance(source, Image.Image):
        return source
    if isinstance(source, np.ndarray):
        return _from_array(source)
    if not isinstance(source, str | os.PathLike):
        raise ImageError(f"cannot read a {type(source).__name__} as an image")
    path = Path(source)
    if not path.exists():
        raise ImageError("no such file")
    if path.is_dir():
        raise ImageError("is a folder")
    if path.stat().st_size == 0:
        raise ImageError("empty file")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            img = Image.open(path)
            if img.format == "JPEG":  # decode at reduced scale: a 40 MP photo never lands whole
                img.draft(img.mode, (MAX_SIDE, MAX_SIDE))
            img.load()
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise ImageError("too many pixels (over Pillow's decompression-bomb limit)") from exc
    except UnidentifiedImageError as exc:
        raise ImageError("not an image Pillow can read") from exc
    except (OSError, SyntaxError, ValueError) as exc:
        raise ImageError(f"unreadable image ({first_line(exc)})") from exc
    if img.width == 0 or img.height == 0:
        raise ImageError("zero-size image")
    return img


def _from_array(array: np.ndarray) -> Image.Image:
    a = np.asarray(array)
    if a.ndim == 3 and a.shape[2] == 1:
        a = a[:, :, 0]
    if a.ndim not in (2, 3) or (a.ndim == 3 and a.shape[2] not in (3, 4)) or 0 in a.shape:
        raise ImageError(f"an array image must be HxW, HxWx3 or HxWx4, not {a.shape}")
    if a.dtype == np.bool_:
        a = a.astype(np.uint8) * 255
    if a.ndim == 2 and a.dtype != np.uint8:
        return Image.fromarray(a.astype(np.float32))
    if a.dtype != np.uint8:
        scale = 255.0 if float(np.nanmax(a)) <= 1.0 else 1.0
        a = np.clip(a.astype(np.float64) * scale, 0, 255).astype(np.uint8)
    return Image.fromarray(a)


def reduce_large(img: Image.Image, max_side: int = MAX_SIDE) -> Image.Image:
    """Shrink by an integer factor (box filter) so that the longer side is at most max_side."""
    factor = -(-max(img.size) // max_side)
    if factor <= 1:
        return img
    try:
        return img.reduce(factor)
    except ValueError:  # modes reduce() does not take
        return img.resize((max(1, img.width // factor), max(1, img.height // factor)))


TRANSPOSE_FOR_ORIENTATION = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}


def upright(img: Image.Image) -> Image.Image:
    """Reduced first, then turned as its EXIF orientation says (no full-size copy is made)."""
    orientation = img.getexif().get(0x0112, 1)
    small = reduce_large(img)
    method = TRANSPOSE_FOR_ORIENTATION.get(orientation)
    return small.transpose(method) if method is not None else small


def to_grey(img: Image.Image) -> np.ndarray:
    """Float32 luminance in [0, 1]; transparency composited onto white, 16-bit kept 16-bit."""
    mode = img.mode
    if mode in ("I;16", "I;16L", "I;16B", "I;16N"):
        return np.asarray(img, dtype=np.float32) / 65535.0
    if mode in ("I", "F"):
        a = np.asarray(img, dtype=np.float32)
        top = float(np.nanmax(a)) if a.size else 0.0
        scale = 1.0 if top <= 1.0 else 255.0 if top <= 255.0 else 65535.0 if top <= 65535 else top
        return np.clip(np.nan_to_num(a) / scale, 0.0, 1.0)
    if mode == "P":
        img = img.convert("RGBA" if "transparency" in img.info else "RGB")
    elif mode in ("PA", "La", "RGBa", "LA") or (mode != "RGBA" and "transparency" in img.info):
        img = img.convert("RGBA")
    if img.mode == "RGBA":
        rgba = np.asarray(img, dtype=np.float32) / 255.0
        alpha = rgba[:, :, 3:4]
        rgb = rgba[:, :, :3] * alpha + (1.0 - alpha)  # onto white paper
        return (rgb @ np.array([0.299, 0.587, 0.114], np.float32)).astype(np.float32)
    if img.mode != "L":
        img = img.convert("RGB").convert("L")  # CMYK, YCbCr, LAB, HSV, 1, RGB: ITU-R 601-2
    return np.asarray(img, dtype=np.float32) / 255.0


# ---------------------------------------------------------------------------------------------
# The two modes


def preprocess_plain(img: Image.Image, norm: Normalization) -> np.ndarray:
    """The seed's pipeline: (1, 28, 28) float32."""
    grey = img.convert("L").resize((FIELD, FIELD))
    x = np.asarray(grey, dtype=np.float32) / np.float32(255.0)
    return ((x - np.float32(norm.mean)) / np.float32(norm.std))[None]


def preprocess_auto(img: Image.Image, norm: Normalization) -> np.ndarray:
    """Any photo, scan or drawing to an MNIST-like (1, 28, 28) float32 input."""
    ink = ink_map(upright(img))
    field = frame_digit(ink)
    return ((field - np.float32(norm.mean)) / np.float32(norm.std))[None]


def ink_map(img: Image.Image) -> np.ndarray:
    """Ink in [0, 1] on a zero background: polarity, paper level and uneven lighting removed."""
    grey = to_grey(img)
    if not is_white_on_black(grey):
        grey = 1.0 - grey
    ink = np.clip(grey - background(grey), 0.0, None)
    return stretch(ink)


def is_white_on_black(grey: np.ndarray) -> bool:
    """The ink is whichever extreme lies further from the paper (the border's median)."""
    k = max(1, min(grey.shape) // 32)
    border = np.concatenate(
        [grey[:k].ravel(), grey[-k:].ravel(), grey[:, :k].ravel(), grey[:, -k:].ravel()]
    )
    paper = float(np.median(border))
    low, high = np.percentile(grey, [0.5, 99.5])
    return (high - paper) >= (paper - low)


def background(grey: np.ndarray, cells: int = 8) -> np.ndarray | float:
    """The paper's level: a smooth surface from the darkest part of each cell of a coarse grid.

    A 3x3 minimum over the grid keeps cells covered by thick strokes from lifting it.
    """
    h, w = grey.shape
    if max(h, w) < 64:  # a small image is no photo: one level, from its border
        k = max(1, min(h, w) // 14)
        border = np.concatenate([grey[:k].ravel(), grey[-k:].ravel(), grey[:, :k].ravel()])
        return float(np.median(np.concatenate([border, grey[:, -k:].ravel()])))
    ys = np.linspace(0, h, cells + 1).astype(int)
    xs = np.linspace(0, w, cells + 1).astype(int)
    grid = np.array(
        [
            [np.percentile(grey[ys[i] : ys[i + 1], xs[j] : xs[j + 1]], 20) for j in range(cells)]
            for i in range(cells)
        ],
        dtype=np.float32,
    )
    padded = np.pad(grid, 1, mode="edge")
    grid = np.min([padded[i : i + cells, j : j + cells] for i in range(3) for j in range(3)], 0)
    surface = Image.fromarray(grid).resize((w, h), Image.Resampling.BILINEAR)
    return np.asarray(surface, dtype=np.float32)


def stretch(ink: np.ndarray) -> np.ndarray:
    """Zero the paper's noise and bring the ink's level to 1, as MNIST strokes are."""
    level = float(np.median(ink))
    noise = 1.4826 * float(np.median(np.abs(ink - level)))
    floor = level + 4.0 * noise
    smooth = _box3(ink)
    peak = float(smooth.max())
    if peak - floor < MIN_CONTRAST:
        raise NoDigitError()
    strong = ink[smooth > floor + 0.5 * (peak - floor)]
    top = float(np.median(strong)) if strong.size else peak
    return np.clip((ink - floor) / max(top - floor, 1e-6), 0.0, 1.0)


def _box3(a: np.ndarray) -> np.ndarray:
    p = np.pad(a, 1, mode="edge")
    h, w = a.shape
    return sum(p[i : i + h, j : j + w] for i in range(3) for j in range(3)) / 9.0


def frame_digit(ink: np.ndarray) -> np.ndarray:
    """Crop to the ink, fit it into 20x20 keeping its aspect ratio, centre it by mass in 28x28.

    The box is the strokes' (ink above half its level, as MNIST's binary digits were); the crop
    keeps a margin so that the strokes' soft edges survive.
    """
    mask = ink > 0.4
    neighbours = _box3(mask.astype(np.float32)) * 9.0
    mask &= neighbours >= 3  # isolated specks of noise do not stretch the box
    rows, cols = np.flatnonzero(mask.any(1)), np.flatnonzero(mask.any(0))
    if rows.size == 0:
        raise NoDigitError()
    scale = BOX / max(rows[-1] - rows[0] + 1, cols[-1] - cols[0] + 1)
    margin = max(1, round(1.5 / scale))
    top, left = max(rows[0] - margin, 0), max(cols[0] - margin, 0)
    crop = ink[top : rows[-1] + 1 + margin, left : cols[-1] + 1 + margin]
    h, w = crop.shape
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    resample = Image.Resampling.BOX if scale < 1 else Image.Resampling.BILINEAR
    digit = np.asarray(Image.fromarray(crop).resize(size, resample), dtype=np.float32)
    return centre_by_mass(np.clip(digit, 0.0, 1.0))


def centre_by_mass(digit: np.ndarray) -> np.ndarray:
    field = np.zeros((FIELD, FIELD), np.float32)
    digit = digit[:FIELD, :FIELD]
    mass = float(digit.sum())
    h, w = digit.shape
    if mass <= 0:
        return field
    cy = float((digit.sum(1) * np.arange(h)).sum()) / mass
    cx = float((digit.sum(0) * np.arange(w)).sum()) / mass
    top, left = int(round(CENTRE - cy)), int(round(CENTRE - cx))
    top, left = min(max(top, 0), FIELD - h), min(max(left, 0), FIELD - w)
    field[top : top + h, left : left + w] = digit
    return field


PREPROCESSORS = {"auto": preprocess_auto, "plain": preprocess_plain}


def preprocess(source, mode: str, norm: Normalization) -> np.ndarray:
    if mode not in PREPROCESSORS:
        raise ValueError(f"unknown mode {mode!r}: use auto or plain")
    return PREPROCESSORS[mode](open_image(source), norm)
