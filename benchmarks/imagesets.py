"""The external bench's image sets: kinds of images users give, made with a fixed seed.

Every image comes from an MNIST *test* digit, from a font, or from UCI's optdigits (real
handwriting of 43 other writers, in scikit-learn's copy); never from MNIST's training images.

- mnist: the MNIST test digits saved as 28x28 PNGs;
- photo: photo-like: ink on tinted paper, off-centre, uneven light, blur, noise, JPEG, EXIF
  rotation, RGBA on transparent paper (benchmarks/photolike.py);
- drawing: drawing-app digits: a round brush adding up to 15 % of the digit's height to its
  strokes, cropped tight (half touch the frame), either polarity, coloured or transparent canvas;
- ruled: pen (blue, black, red) on ruled or squared paper, the ruling crossing the digit, a
  margin line, uneven light, soft shadows, the page's edge with the desk beyond, JPEG;
- fonts: typeset digits in serif, sans, mono, bold, italic, light fonts; tight to loose margins;
- handfonts: handwriting-style fonts, the same way;
- lowres: MNIST test digits brought down to 8-12 px, grey levels quantised, upscaled (nearest,
  bilinear or bicubic), filling the frame, half of them inverted;
- optdigits: real handwriting of other writers: UCI optdigits 8x8 scans (17 grey levels),
  upscaled the same way, half of them inverted;
- desk: a pen digit on a light note (white, yellow, blue, pink) lying on a darker desk (wood,
  grey, black; grained), the note covering 6-60 % of the photo, turned up to 30 degrees, its
  shadow, uneven light, noise, JPEG;
- forms: a pen digit on a form: in a printed box, in one box of a comb, underlined, or on a
  printed line; up to 3 degrees off, JPEG;
- angle: a pen digit on a page or note filling much of the photo, taken at an angle (its far
  side 30-90 % as long as its near side, turned up to 8 degrees), the desk beyond its edges;
- hue: a digit whose colour differs from its paper's in hue more than in luminance (under
  0.15 apart), drawn (PNG) or photographed (JPEG);
- pencil: a digit drawn with a paint program's pencil: its centre line, 1-2 px wide and
  aliased, on a canvas of 220-1,180 px;
- outline: hollow digits: half a child's 'bubble' digit (the MNIST digit thickened, only its
  outline drawn, 1-3.5 % of its height wide), half typeset digits drawn as outlines (the
  typeset fonts, stroked, their insides left paper); either polarity, some JPEG.

Fonts come from Debian packages (benchmarks/setup_bench.sh installs them). Each font set has a
development part and a held-out part: `--fonts heldout` measures on fonts never looked at while
the preprocessing was written.

Development sets (benchmarks/ablation.py) come from the same generators fed with MNIST training
digits a development model never trained on, and from optdigits rows the bench never reads.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFilter, ImageFont

from benchmarks.photolike import KINDS as PHOTO_KINDS
from benchmarks.photolike import photo_like

CATEGORIES = (
    "mnist", "photo", "drawing", "ruled", "fonts", "handfonts", "lowres", "optdigits", "desk",
    "forms", "angle", "hue", "pencil", "outline",
)  # fmt: skip

FONT_CATEGORIES = ("fonts", "handfonts", "outline")  # drawn with fonts: --fonts picks which

# Debian font packages, as directories under /usr/share/fonts; "dev" fonts were used while
# writing the preprocessing, "heldout" ones only to measure it.
TYPESET_FONTS = {
    "dev": ["dejavu", "liberation", "freefont", "lato", "open-sans", "roboto", "hack",
            "jetbrains-mono", "crosextra", "cantarell", "quicksand", "oxygen", "inconsolata"],
    "heldout": ["urw-base35", "X11/Type1", "ebgaramond", "adf", "cmu"],
}  # fmt: skip
HANDWRITING_FONTS = {
    "dev": ["fifthhorseman", "breip", "bwht", "femkeklaver", "humor-sans", "comic-neue"],
    "heldout": ["rufscript", "sjfonts", "tomsontalks", "klee", "yusei-magic"],
}
FONT_PACKAGES = [
    line.strip()
    for line in (Path(__file__).parent / "font-packages.txt").read_text().splitlines()
    if line.strip() and not line.startswith("#")
]

FONT_SUFFIXES = (".ttf", ".otf", ".pfb")
OPTDIGITS_REQUIREMENT = "scikit-learn"
OPTDIGITS_MEMBER = "sklearn/datasets/data/digits.csv.gz"
OPTDIGITS_SHA256 = "09f66e6debdee2cd2b5ae59e0d6abbb73fc2b0e0185d2e1957e9ebb51e23aa22"


@dataclass
class Sample:
    data: bytes
    suffix: str
    label: int
    kind: str  # a sub-kind within the category, for the error analysis


# ---------------------------------------------------------------------------------------------
# Helpers


def encode(image: Image.Image, fmt: str, **kw) -> bytes:
    out = io.BytesIO()
    image.save(out, fmt, **kw)
    return out.getvalue()


def disk(radius: float) -> np.ndarray:
    r = int(np.ceil(radius))
    yy, xx = np.mgrid[-r : r + 1, -r : r + 1]
    return (yy**2 + xx**2 <= radius**2 + 0.5).astype(np.float32)


def dilate(mask: np.ndarray, radius: float) -> np.ndarray:
    """Binary dilation by a disk (a round brush), through an FFT convolution."""
    if radius < 0.5:
        return mask
    k = disk(radius)
    shape = (mask.shape[0] + k.shape[0], mask.shape[1] + k.shape[1])
    conv = np.fft.irfft2(np.fft.rfft2(mask, shape) * np.fft.rfft2(k, shape), shape)
    r = k.shape[0] // 2
    return conv[r : r + mask.shape[0], r : r + mask.shape[1]] > 0.5


def erode(mask: np.ndarray, radius: float) -> np.ndarray:
    return ~dilate(~mask, radius)


def smooth_alpha(mask: np.ndarray, factor: int = 2) -> np.ndarray:
    """Anti-aliased coverage of a supersampled binary mask."""
    img = Image.fromarray((mask * 255).astype(np.uint8))
    w, h = img.size
    return np.asarray(img.reduce(factor), np.float32) / 255.0 if factor > 1 else mask * 1.0


def upscaled_digit(digit: np.ndarray, height: int) -> np.ndarray:
    """An MNIST digit resized so that its 20x20 box is `height` px tall, in [0, 1]."""
    side = max(8, round(height * 28 / 20))
    img = Image.fromarray(digit).resize((side, side), Image.Resampling.BICUBIC)
    return np.clip(np.asarray(img, np.float32) / 255.0, 0, 1)


def crop_to_ink(a: np.ndarray, level: float = 0.3) -> np.ndarray:
    rows, cols = np.flatnonzero((a > level).any(1)), np.flatnonzero((a > level).any(0))
    return a[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1]


def contrasting_colours(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """(canvas, ink) RGB colours whose luminances differ by at least 0.35."""
    lum = np.array([0.299, 0.587, 0.114])
    while True:
        canvas, ink = rng.integers(0, 256, 3), rng.integers(0, 256, 3)
        if abs(float((canvas - ink) @ lum)) >= 0.35 * 255:
            return canvas, ink


def light_gradient(h: int, w: int, rng: np.random.Generator, strength: float) -> np.ndarray:
    yy, xx = np.mgrid[0:h, 0:w] / max(h, w)
    angle = rng.uniform(0, 2 * np.pi)
    ramp = np.cos(angle) * xx + np.sin(angle) * yy
    ramp = (ramp - ramp.min()) / max(np.ptp(ramp), 1e-6)
    return 1.0 - strength * ramp


# ---------------------------------------------------------------------------------------------
# Categories made from MNIST test digits


def each_digit(make: Callable, suffix: str) -> Callable:
    """A category's set from `make(digit, rng) -> (image bytes, kind)`: `count` digits drawn
    without replacement, each made into one picture."""

    def make_set(images, labels, rng, count) -> Iterator[Sample]:
        for i in rng.choice(len(images), count, replace=False):
            data, kind = make(images[i], rng)
            yield Sample(data, suffix, int(labels[i]), kind)

    return make_set


def mnist_set(images, labels, rng, count) -> Iterator[Sample]:
    for i in range(min(count, len(images))):
        yield Sample(encode(Image.fromarray(images[i]), "PNG"), ".png", int(labels[i]), "png")


def photo_set(images, labels, rng, count) -> Iterator[Sample]:
    for n, i in enumerate(rng.choice(len(images), count, replace=False)):
        kind = PHOTO_KINDS[n % len(PHOTO_KINDS)]
        suffix = ".png" if kind in ("png", "rgba") else ".jpg"
        yield Sample(photo_like(images[i], rng, kind), suffix, int(labels[i]), kind)


def drawing(digit: np.ndarray, rng: np.random.Generator) -> tuple[bytes, str, str]:
    """A digit as drawn in a paint app: a round brush, anti-aliased, cropped tight."""
    height = int(rng.integers(60, 300))
    ss = 2  # supersampling for anti-aliased edges
    soft = upscaled_digit(digit, height * ss)
    mask = soft > 0.5
    # a round brush adds up to 15 % of the digit's height to MNIST's own strokes (13 %)
    brush = height * ss * rng.uniform(0.0, 0.075)
    if rng.random() < 0.15:
        mask = erode(mask, height * ss * rng.uniform(0.0, 0.02)) | (soft > 0.9)
    else:
        mask = dilate(mask, brush)
    rows, cols = np.flatnonzero(mask.any(1)), np.flatnonzero(mask.any(0))
    mask = mask[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1]
    h, w = mask.shape
    tight = rng.random() < 0.5  # touching the frame, or nearly
    margin = 0 if tight else int(h * rng.uniform(0.0, 0.12))
    canvas_w = max(w + 2 * margin, int(h * rng.uniform(0.6, 1.0)))
    if tight and w / h >= 0.5:
        canvas_w = w
    canvas_h = h + 2 * margin
    top = margin
    left = int(rng.integers(0, canvas_w - w + 1))
    full = np.zeros((canvas_h, canvas_w), bool)
    full[top : top + h, left : left + w] = mask
    pad = (-canvas_h) % ss, (-canvas_w) % ss
    full = np.pad(full, ((0, pad[0]), (0, pad[1])))
    alpha = smooth_alpha(full, ss)[:, :, None]

    styles = ["dark-on-light", "light-on-dark", "colour", "transparent"]
    style = rng.choice(styles, p=[0.35, 0.3, 0.2, 0.15])
    if style == "dark-on-light":
        canvas, ink = np.full(3, rng.integers(225, 256)), np.full(3, rng.integers(0, 60))
    elif style == "light-on-dark":
        canvas, ink = np.full(3, rng.integers(0, 50)), np.full(3, rng.integers(200, 256))
    else:
        canvas, ink = contrasting_colours(rng)
    if style == "transparent":
        rgba = np.dstack([np.broadcast_to(ink, alpha.shape[:2] + (3,)), alpha[:, :, 0] * 255])
        image = Image.fromarray(rgba.astype(np.uint8), "RGBA")
    else:
        rgb = canvas * (1 - alpha) + ink * alpha
        image = Image.fromarray(np.clip(rgb, 0, 255).astype(np.uint8))
    if rng.random() < 0.2 and style != "transparent":
        return encode(image, "JPEG", quality=int(rng.integers(75, 96))), ".jpg", str(style)
    return encode(image, "PNG"), ".png", str(style)


def drawing_set(images, labels, rng, count) -> Iterator[Sample]:
    for i in rng.choice(len(images), count, replace=False):
        data, suffix, kind = drawing(images[i], rng)
        yield Sample(data, suffix, int(labels[i]), kind)


def ruled(digit: np.ndarray, rng: np.random.Generator) -> tuple[bytes, str]:
    """Pen on ruled or squared paper: the ruling crosses the digit; uneven light; JPEG."""
    height = int(rng.integers(50, 220))
    ink = upscaled_digit(digit, height)
    width_factor = rng.uniform(0.7, 1.3)  # pens draw thinner or thicker lines than MNIST's
    if width_factor > 1.1:
        ink = np.asarray(Image.fromarray(ink).filter(ImageFilter.MaxFilter(3)), np.float32)
    elif width_factor < 0.85:
        ink = np.clip((ink - 0.35) / 0.65, 0, 1)
    side = ink.shape[0]
    canvas_w = int(side * rng.uniform(1.3, 3.0)) + 8
    canvas_h = int(side * rng.uniform(1.3, 3.0)) + 8
    alpha = np.zeros((canvas_h, canvas_w), np.float32)
    top, left = int(rng.integers(0, canvas_h - side + 1)), int(rng.integers(0, canvas_w - side + 1))
    alpha[top : top + side, left : left + side] = ink

    rgb, kind = ruled_paper(canvas_h, canvas_w, height, rng)
    pen = np.array(rng.choice(PENS)) + rng.integers(-15, 16, 3)
    a = alpha[:, :, None]
    image, kind = photograph(rgb * (1 - a) + pen * a, rng, kind)
    return encode(image, "JPEG", quality=int(rng.integers(60, 95))), kind


PENS = [[25, 40, 140], [20, 20, 25], [180, 30, 40], [40, 50, 100]]  # blue, black, red, navy


def ruled_paper(h: int, w: int, height: float, rng: np.random.Generator):
    """Light paper, ruled or squared for writing `height` px tall, sometimes with a margin."""
    paper = np.array([rng.integers(225, 256), rng.integers(222, 252), rng.integers(200, 245)])
    rgb = np.broadcast_to(paper.astype(np.float32), (h, w, 3)).copy()
    kind = str(rng.choice(["ruled", "squared", "ruled+margin"], p=[0.5, 0.35, 0.15]))
    spacing = height * rng.uniform(0.55, 1.1)
    rulings = [[150, 190, 235], [170, 200, 225], [185, 185, 195], [160, 210, 230]]
    ruling = np.array(rng.choice(rulings))
    thickness = max(1, round(height / 90 * rng.uniform(0.6, 1.6)))
    strength = rng.uniform(0.45, 0.9)
    lines = np.zeros((h, w), np.float32)
    offset = rng.uniform(0, spacing)
    for y in np.arange(offset, h, spacing):
        lines[int(y) : int(y) + thickness] = strength
    if kind == "squared":
        for x in np.arange(rng.uniform(0, spacing), w, spacing):
            lines[:, int(x) : int(x) + thickness] = strength
    rgb = rgb * (1 - lines[:, :, None]) + ruling * lines[:, :, None]
    if kind == "ruled+margin":
        x = int(rng.integers(0, w))
        rgb[:, x : x + thickness + 1] = [225, 120, 130]
    return rgb, kind


def photograph(
    rgb: np.ndarray, rng: np.random.Generator, kind: str, clear: tuple[int, int] | None = None
) -> tuple[Image.Image, str]:
    """A page as a phone sees it: uneven light, sometimes a soft shadow or the page's edge with
    the desk beyond it, sensor noise. `clear`: the columns free of writing at the left and the
    right; the page's edge stays within them (a photo of a number shows all of it)."""
    h, w = rgb.shape[:2]
    rgb = rgb * light_gradient(h, w, rng, rng.uniform(0.0, 0.35))[:, :, None]
    if rng.random() < 0.2:  # a soft shadow over part of the page
        shadow = np.zeros((h, w), np.float32)
        cut = int(rng.uniform(0.2, 0.8) * w)
        shadow[:, :cut] = rng.uniform(0.15, 0.35)
        blurred = Image.fromarray((shadow * 255).astype(np.uint8)).filter(
            ImageFilter.GaussianBlur(w / 15)
        )
        rgb = rgb * (1 - np.asarray(blurred, np.float32)[:, :, None] / 255.0)
        kind += "+shadow"
    if rng.random() < 0.15:  # the page's edge, with the desk beyond it
        edge = int(rng.uniform(0.03, 0.12) * w)
        desk = np.array(rng.choice([[60, 45, 35], [90, 90, 95], [140, 110, 80]]))
        left = rng.random() < 0.5
        if clear is not None:
            edge = min(edge, max(0, clear[0 if left else 1] - 2))
        if left:
            rgb[:, :edge] = desk
        else:
            rgb[:, w - edge :] = desk
        kind += "+edge"
    rgb = rgb + rng.normal(0, rng.uniform(1, 6), rgb.shape)
    return Image.fromarray(np.clip(rgb, 0, 255).astype(np.uint8)), kind


ruled_set = each_digit(ruled, ".jpg")


def lowres(digit: np.ndarray, rng: np.random.Generator) -> tuple[bytes, str]:
    """An MNIST digit brought down to 8-12 px, its grey levels quantised, upscaled."""
    n = int(rng.integers(8, 13))
    levels = int(rng.choice([2, 4, 8, 16, 17]))
    return upscale_grid(small_grid(digit, n, levels), rng, f"{n}px-{levels}levels")


def small_grid(digit: np.ndarray, n: int, levels: int) -> np.ndarray:
    """An MNIST digit filling an n x n grid (centred in it, its aspect kept), its grey quantised
    to `levels` levels; ink = 1."""
    box = crop_to_ink(digit.astype(np.float32) / 255.0, 0.2)
    h, w = box.shape
    scale = n / max(h, w)
    small = Image.fromarray(box).resize(
        (max(1, round(w * scale)), max(1, round(h * scale))), Image.Resampling.BOX
    )
    grid = np.zeros((n, n), np.float32)
    s = np.asarray(small, np.float32)
    top, left = (n - s.shape[0]) // 2, (n - s.shape[1]) // 2
    grid[top : top + s.shape[0], left : left + s.shape[1]] = s
    return np.round(np.clip(grid / max(grid.max(), 1e-6), 0, 1) * (levels - 1)) / (levels - 1)


def upscale_grid(grid: np.ndarray, rng: np.random.Generator, kind: str) -> tuple[bytes, str]:
    """A small grey grid (ink = 1) upscaled to 32-160 px, half of them inverted."""
    factor = int(rng.integers(4, 17))
    resample = rng.choice(
        [Image.Resampling.NEAREST, Image.Resampling.BILINEAR, Image.Resampling.BICUBIC]
    )
    img = Image.fromarray((grid * 255).astype(np.uint8))
    img = img.resize((grid.shape[1] * factor, grid.shape[0] * factor), resample)
    inverted = rng.random() < 0.5
    if inverted:
        img = Image.fromarray(255 - np.asarray(img))
    name = {0: "nearest", 2: "bilinear", 3: "bicubic"}[int(resample)]
    return encode(img, "PNG"), f"{kind}-{name}{'-inverted' if inverted else ''}"


FORM_KINDS = ("box", "comb", "underline", "line")
FORM_LINES = {"black": (30, 30, 35), "grey": (140, 140, 145), "blue": (120, 150, 210),
              "red": (210, 90, 90)}  # fmt: skip


def on_form(digit: np.ndarray, rng: np.random.Generator) -> tuple[bytes, str]:
    """A pen digit on a form or a note: in a printed box (sometimes running over its line), in
    one box of a comb, underlined by the pen, or on a printed line to write on; photographed a
    few degrees off, JPEG."""
    kind = str(rng.choice(FORM_KINDS))
    height = int(rng.integers(40, 160))
    ink = upscaled_digit(digit, height)
    rows, cols = np.flatnonzero((ink > 0.3).any(1)), np.flatnonzero((ink > 0.3).any(0))
    ink = ink[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1]
    ih, iw = ink.shape
    cell = int(max(ih, iw) * rng.uniform(1.1, 1.6))  # a box's inner side
    thick = max(1, round(cell / 70 * rng.uniform(0.7, 2.5)))
    w = int(cell * (3.2 if kind == "comb" else rng.uniform(1.6, 2.6)))
    h = int(cell * rng.uniform(1.5, 2.4))
    alpha, lines = np.zeros((h, w), np.float32), np.zeros((h, w), np.float32)
    x0, y0 = (w - cell) // 2, (h - cell) // 2  # the box (or the digit's place) in the picture
    over = kind == "box" and rng.random() < 0.3  # the digit runs over the box's line
    dy = int(rng.integers(-(cell - ih) // 2, (cell - ih) // 2 + 1)) if cell > ih else 0
    dx = int(rng.integers(-(cell - iw) // 2, (cell - iw) // 2 + 1)) if cell > iw else 0
    top, left = y0 + (cell - ih) // 2 + dy, x0 + (cell - iw) // 2 + dx
    if over:
        top = y0 - int(ih * rng.uniform(0.05, 0.2)) if rng.random() < 0.5 else top
        left = x0 + cell - int(iw * rng.uniform(0.8, 0.95)) if rng.random() < 0.5 else left
    if kind == "line":
        top = y0 + cell - ih - int(rng.integers(0, max(1, height // 8)))
    top, left = min(max(top, 0), h - ih), min(max(left, 0), w - iw)
    alpha[top : top + ih, left : left + iw] = ink
    colour = np.array(FORM_LINES[str(rng.choice(list(FORM_LINES)))], np.float32)
    if kind in ("box", "comb"):
        x_from, x_to = (x0 - cell, x0 + 2 * cell) if kind == "comb" else (x0, x0 + cell)
        for y in (y0, y0 + cell):
            lines[y : y + thick, max(0, x_from) : x_to + thick] = 1
        for x in range(x_from, x_to + 1, cell):
            if 0 <= x < w:
                lines[y0 : y0 + cell + thick, x : x + thick] = 1
    elif kind == "line":  # printed across the form, beyond the picture
        lines[y0 + cell : y0 + cell + thick] = 1
    else:  # the writer's underline, in the pen, past the digit on both sides
        y = top + ih + int(rng.integers(2, max(3, height // 6)))
        reach = int(iw * rng.uniform(0.05, 0.3))
        alpha[y : y + max(2, height // 16), max(0, left - reach) : left + iw + reach] = 1
    paper = np.array([rng.integers(228, 256), rng.integers(226, 254), rng.integers(215, 248)])
    rgb = np.broadcast_to(paper.astype(np.float32), (h, w, 3)).copy()
    rgb = rgb * (1 - lines[:, :, None]) + colour * lines[:, :, None]
    pen = np.array(PENS[int(rng.integers(len(PENS)))]) + rng.integers(-15, 16, 3)
    rgb = rgb * (1 - alpha[:, :, None]) + pen * alpha[:, :, None]
    # the form lies a few degrees off in the photo: turned, then cropped to its middle so that
    # no corner of the turn shows (the printed lines run on to the photo's sides)
    angle = float(rng.uniform(-3, 3))
    page = Image.fromarray(np.clip(rgb, 0, 255).astype(np.uint8))
    page = page.rotate(angle, Image.Resampling.BICUBIC, fillcolor=tuple(int(v) for v in paper))
    m = int(np.ceil(np.tan(np.radians(abs(angle))) * max(w, h) / 2)) + 1
    page = page.crop((m, m, w - m, h - m))
    image, name = photograph(np.asarray(page, np.float32), rng, kind + ("-over" if over else ""))
    return encode(image, "JPEG", quality=int(rng.integers(70, 95))), name


forms_set = each_digit(on_form, ".jpg")


NOTES = {"white": (240, 240, 236), "yellow": (250, 238, 140), "blue": (200, 225, 245),
         "pink": (250, 205, 215)}  # fmt: skip
DESKS = {"oak": (120, 84, 50), "walnut": (70, 48, 32), "grey": (95, 95, 100), "black": (30, 30, 34),
         "slate": (60, 70, 80)}  # fmt: skip
NOTE_PENS = {"black": (25, 25, 30), "blue": (25, 40, 150), "red": (170, 30, 35)}


def desk_surface(h: int, w: int, name: str, rng: np.random.Generator) -> Image.Image:
    """A desk of DESKS' `name`, h x w, with a wood's grain: long streaks."""
    grain = np.asarray(
        Image.fromarray(rng.normal(0, 1, (h // 16 + 1, w // 4 + 1)).astype(np.float32)).resize(
            (w, h), Image.Resampling.BICUBIC
        )
    )
    desk = np.array(DESKS[name], np.float32) * (1 + 0.08 * grain[:, :, None])
    return Image.fromarray(np.clip(desk, 0, 255).astype(np.uint8))


def lit_jpeg(rgb: np.ndarray, rng: np.random.Generator, light: float) -> bytes:
    """A photo (h x w x 3, 0-255) under uneven light (up to `light` darker across it), with
    sensor noise, as a JPEG of quality 70-95."""
    h, w = rgb.shape[:2]
    rgb = rgb * light_gradient(h, w, rng, rng.uniform(0, light))[:, :, None]
    rgb = rgb + rng.normal(0, rng.uniform(1, 5), rgb.shape)
    image = Image.fromarray(np.clip(rgb, 0, 255).astype(np.uint8))
    return encode(image, "JPEG", quality=int(rng.integers(70, 96)))


def on_desk(digit: np.ndarray, rng: np.random.Generator) -> tuple[bytes, str]:
    """An MNIST digit written in pen on a note lying on a desk, photographed."""
    w = int(rng.integers(640, 1601))
    h = int(w * rng.choice([0.75, 1.0, 4 / 3]))
    share = rng.uniform(0.06, 0.6)
    aspect = rng.uniform(0.7, 1.4)
    nh = int(np.sqrt(share * w * h / aspect))
    nw = int(nh * aspect)
    note_name, desk_name, pen_name = (str(rng.choice(list(d))) for d in (NOTES, DESKS, NOTE_PENS))
    size = int(min(nw, nh) * rng.uniform(0.45, 0.8))
    ink = upscaled_digit(digit, int(size * 20 / 28))
    note = np.ones((nh, nw, 3), np.float32) * np.array(NOTES[note_name], np.float32)
    top = int(rng.integers(0, max(1, nh - ink.shape[0]) + 1))
    left = int(rng.integers(0, max(1, nw - ink.shape[1]) + 1))
    ih, iw = min(ink.shape[0], nh - top), min(ink.shape[1], nw - left)
    a = ink[:ih, :iw, None]
    region = note[top : top + ih, left : left + iw]
    note[top : top + ih, left : left + iw] = region * (1 - a) + np.array(NOTE_PENS[pen_name]) * a
    angle = float(rng.uniform(-30, 30))
    sheet = Image.fromarray(note.astype(np.uint8)).rotate(angle, Image.Resampling.BICUBIC, True)
    shape = Image.new("L", (nw, nh), 255).rotate(angle, Image.Resampling.BICUBIC, True)
    photo = desk_surface(h, w, desk_name, rng)
    x = int(rng.integers(0, max(1, w - sheet.width) + 1))
    y = int(rng.integers(0, max(1, h - sheet.height) + 1))
    shadow = shape.filter(ImageFilter.GaussianBlur(max(2, nw // 30)))
    offset = int(nw * rng.uniform(0.0, 0.04))
    photo.paste((0, 0, 0), (x + offset, y + offset), shadow.point(lambda v: int(v * 0.5)))
    photo.paste(sheet, (x, y), shape)
    data = lit_jpeg(np.asarray(photo, np.float32), rng, 0.4)
    return data, f"{note_name}-on-{desk_name}-{pen_name}-{share:.2f}"


desk_set = each_digit(on_desk, ".jpg")


def at_an_angle(digit: np.ndarray, rng: np.random.Generator) -> tuple[bytes, str]:
    """An MNIST digit written in pen on a page that fills much of the photo, taken at an angle:
    one side of the page (any of the four) farther away, 30-90 % as long as the near side, the
    page a little turned, the desk showing beyond its edges; uneven light, noise, JPEG."""
    w = int(rng.integers(400, 1201))
    h = int(w * rng.choice([0.75, 1.0, 4 / 3]))
    note_name, desk_name, pen_name = (str(rng.choice(list(d))) for d in (NOTES, DESKS, NOTE_PENS))
    page = np.ones((h, w, 3), np.float32) * np.array(NOTES[note_name], np.float32)
    size = int(min(h, w) * rng.uniform(0.25, 0.6))
    ink = upscaled_digit(digit, int(size * 20 / 28))[:, :, None]
    top = int(rng.integers(int(0.1 * h), max(int(0.1 * h), int(0.9 * h) - ink.shape[0]) + 1))
    left = int(rng.integers(int(0.1 * w), max(int(0.1 * w), int(0.9 * w) - ink.shape[1]) + 1))
    ink = ink[: h - top, : w - left]
    region = page[top : top + ink.shape[0], left : left + ink.shape[1]]
    page[top : top + ink.shape[0], left : left + ink.shape[1]] = (
        region * (1 - ink) + np.array(NOTE_PENS[pen_name]) * ink
    )
    # where the page's corners land in the photo: the far side shrinks, the rest moves a little
    slant = rng.uniform(0.05, 0.35)
    corners = np.array([[0, 0], [w, 0], [w, h], [0, h]], np.float64)
    side = int(rng.integers(0, 4))  # top, right, bottom, left
    a, b = side, (side + 1) % 4
    centre = (corners[a] + corners[b]) / 2
    corners[a] += (centre - corners[a]) * 2 * slant
    corners[b] += (centre - corners[b]) * 2 * slant
    corners += rng.uniform(-0.04, 0.04, (4, 2)) * [w, h]
    angle = np.radians(rng.uniform(-8, 8))
    rotation = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    corners = (corners - [w / 2, h / 2]) @ rotation.T + [w / 2, h / 2]
    source = [(0, 0), (w, 0), (w, h), (0, h)]
    rows = []
    for (x, y), (u, v) in zip(corners, source, strict=True):
        rows += [[x, y, 1, 0, 0, 0, -u * x, -u * y, u], [0, 0, 0, x, y, 1, -v * x, -v * y, v]]
    m = np.array(rows)
    coefficients = tuple(np.linalg.solve(m[:, :8], m[:, 8]))  # the photo's pixels -> the page's
    shape = Image.new("L", (w, h), 255).transform(
        (w, h), Image.Transform.PERSPECTIVE, coefficients, Image.Resampling.BILINEAR
    )
    sheet = Image.fromarray(page.astype(np.uint8)).transform(
        (w, h), Image.Transform.PERSPECTIVE, coefficients, Image.Resampling.BICUBIC
    )
    photo = desk_surface(h, w, desk_name, rng)
    photo.paste(sheet, (0, 0), shape)
    data = lit_jpeg(np.asarray(photo, np.float32), rng, 0.35)
    far = ("top", "right", "bottom", "left")[side]
    return data, f"{note_name}-on-{desk_name}-{pen_name}-{far}-{slant:.2f}"


angle_set = each_digit(at_an_angle, ".jpg")


def in_hue(digit: np.ndarray, rng: np.random.Generator) -> tuple[bytes, str]:
    """An MNIST digit in a colour that differs from its paper's or canvas's in hue more than in
    luminance (under 0.15 apart: a red pen on green paper, pink on light green), drawn or
    photographed: PNG, or JPEG with uneven light and noise."""
    lum = np.array([0.299, 0.587, 0.114])
    while True:
        paper, ink_colour = rng.integers(0, 256, 3), rng.integers(0, 256, 3)
        apart = abs(float((paper - ink_colour) @ lum)) / 255
        if apart < 0.15 and np.abs(paper - ink_colour).max() >= 100:
            break
    height = int(rng.integers(40, 200))
    ink = upscaled_digit(digit, height)
    side = ink.shape[0]
    canvas_h = int(side * rng.uniform(1.1, 2.5)) + 4
    canvas_w = int(side * rng.uniform(1.1, 2.5)) + 4
    alpha = np.zeros((canvas_h, canvas_w), np.float32)
    top = int(rng.integers(0, canvas_h - side + 1))
    left = int(rng.integers(0, canvas_w - side + 1))
    alpha[top : top + side, left : left + side] = ink
    a = alpha[:, :, None]
    rgb = paper.astype(np.float32) * (1 - a) + ink_colour.astype(np.float32) * a
    if rng.random() < 0.5:
        image = Image.fromarray(np.clip(rgb, 0, 255).astype(np.uint8))
        return encode(image, "PNG"), f"drawn-{apart:.2f}"
    rgb = rgb * light_gradient(canvas_h, canvas_w, rng, rng.uniform(0, 0.2))[:, :, None]
    rgb = rgb + rng.normal(0, rng.uniform(1, 4), rgb.shape)
    image = Image.fromarray(np.clip(rgb, 0, 255).astype(np.uint8))
    return encode(image, "JPEG", quality=int(rng.integers(75, 96))), f"photo-{apart:.2f}"


def hue_set(images, labels, rng, count) -> Iterator[Sample]:
    for i in rng.choice(len(images), count, replace=False):
        data, kind = in_hue(images[i], rng)
        suffix = ".png" if kind.startswith("drawn") else ".jpg"
        yield Sample(data, suffix, int(labels[i]), kind)


lowres_set = each_digit(lowres, ".png")


def skeleton(mask: np.ndarray) -> np.ndarray:
    """A boolean image thinned to lines one pixel wide (Zhang and Suen's thinning)."""
    b = mask.astype(np.uint8)
    changed = True
    while changed:
        changed = False
        for first in (True, False):
            p = np.pad(b, 1)
            n = [p[:-2, 1:-1], p[:-2, 2:], p[1:-1, 2:], p[2:, 2:],
                 p[2:, 1:-1], p[2:, :-2], p[1:-1, :-2], p[:-2, :-2]]  # fmt: skip
            count = sum(n)
            turns = sum((n[i] == 0) & (n[(i + 1) % 8] == 1) for i in range(8))
            if first:
                side = (n[0] * n[2] * n[4] == 0) & (n[2] * n[4] * n[6] == 0)
            else:
                side = (n[0] * n[2] * n[6] == 0) & (n[0] * n[4] * n[6] == 0)
            gone = (b == 1) & (count >= 2) & (count <= 6) & (turns == 1) & side
            if gone.any():
                b[gone] = 0
                changed = True
    return b.astype(bool)


def pencil(digit: np.ndarray, rng: np.random.Generator) -> tuple[bytes, str]:
    """A digit drawn with a paint program's pencil: the MNIST digit's centre line, 1-2 px wide
    and aliased, on a canvas of 220-1,180 px; a fifth light on dark."""
    lines = skeleton(digit > 127)
    step = rng.uniform(8, 30)  # canvas px per MNIST px
    side = int(28 * step * rng.uniform(1.0, 1.4))
    offset = (side - 28 * step) / 2
    dark = rng.random() < 0.2
    img = Image.new("L", (side, side), int(rng.integers(0, 40) if dark else rng.integers(225, 256)))
    draw = ImageDraw.Draw(img)
    ink = int(rng.integers(215, 256) if dark else rng.integers(0, 60))
    width = int(rng.integers(1, 3))
    on = set(zip(*(a.tolist() for a in np.nonzero(lines)), strict=True))
    for y, x in sorted(on):
        for dy, dx in ((0, 1), (1, 0), (1, 1), (1, -1)):
            if (y + dy, x + dx) in on:
                ends = [(offset + x * step, offset + y * step),
                        (offset + (x + dx) * step, offset + (y + dy) * step)]  # fmt: skip
                draw.line(ends, fill=ink, width=width)
    return encode(img, "PNG"), f"{width}px-{side}{'-light-on-dark' if dark else ''}"


pencil_set = each_digit(pencil, ".png")


# ---------------------------------------------------------------------------------------------
# Real handwriting of other writers: UCI optdigits, as scikit-learn ships it


def optdigits(cache: Path) -> tuple[np.ndarray, np.ndarray]:
    """The 1,797 8x8 digits (values 0-16) and labels, fetched from scikit-learn's wheel."""
    target = cache / "digits.csv.gz"
    if not target.is_file():
        with tempfile.TemporaryDirectory() as tmp:
            cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:"]
            cmd += [OPTDIGITS_REQUIREMENT, "-d", tmp, "-q"]
            subprocess.run(cmd, check=True, capture_output=True, timeout=600)
            (wheel,) = Path(tmp).glob("scikit_learn-*.whl")
            with zipfile.ZipFile(wheel) as zf:
                data = zf.read(OPTDIGITS_MEMBER)
        if hashlib.sha256(data).hexdigest() != OPTDIGITS_SHA256:
            raise RuntimeError(f"{OPTDIGITS_MEMBER} in {wheel.name} is not the expected file")
        cache.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
    table = np.loadtxt(io.StringIO(gzip.decompress(target.read_bytes()).decode()), delimiter=",")
    return table[:, :64].reshape(-1, 8, 8) / 16.0, table[:, 64].astype(int)


OPTDIGITS_BENCH = 1000  # the bench's rows are the first ones; the rest are for development


def optdigits_set(cache: Path, part: str = "bench") -> Callable:
    """Optdigits images: `bench` from the rows before OPTDIGITS_BENCH, `dev` from those after,
    so that choices made on the development part never see the bench's writing."""

    def make(images, labels, rng, count) -> Iterator[Sample]:
        grids, truth = optdigits(cache)
        rows = range(OPTDIGITS_BENCH) if part == "bench" else range(OPTDIGITS_BENCH, len(grids))
        for i in rows[:count]:
            data, kind = upscale_grid(grids[i], rng, "8px")
            yield Sample(data, ".png", int(truth[i]), kind)

    return make


# ---------------------------------------------------------------------------------------------
# Fonts


def font_files(groups: list[str]) -> list[Path]:
    """The usable font files of every named group; RuntimeError if a group has none, so that a
    set is never drawn from part of its fonts (a cached set would keep that forever)."""
    root = Path("/usr/share/fonts")
    found = []
    missing = []
    for group in groups:
        files = [
            path
            for folder in root.rglob("*")
            if folder.is_dir() and str(folder.relative_to(root)).endswith(group)
            for path in folder.rglob("*")
            if path.suffix.lower() in FONT_SUFFIXES
        ]
        found += files
        if not files:
            missing.append(group)
    if missing:
        raise RuntimeError(
            f"no fonts found for {', '.join(missing)}: run `bash benchmarks/setup_bench.sh` first"
        )
    usable = []
    for path in sorted(set(found)):
        try:
            font = ImageFont.truetype(str(path), 64)
        except OSError:
            continue
        shapes = {glyph_mask(font, str(d)).tobytes() for d in range(10)}
        if len(shapes) == 10 and all(glyph_mask(font, str(d)).any() for d in range(10)):
            usable.append(path)  # ten distinct, non-empty digits: no missing-glyph boxes
    return usable


def glyph_mask(font: ImageFont.FreeTypeFont, char: str) -> np.ndarray:
    left, top, right, bottom = font.getbbox(char)
    img = Image.new("L", (max(1, right - left), max(1, bottom - top)), 0)
    ImageDraw.Draw(img).text((-left, -top), char, fill=255, font=font)
    return np.asarray(img)


def typeset(font_path: Path, digit: int, rng: np.random.Generator) -> tuple[bytes, str]:
    """One digit in one font: dark on light (sometimes light on dark), tight to loose margins."""
    size = int(rng.integers(24, 160))
    glyph = glyph_mask(ImageFont.truetype(str(font_path), size), str(digit)).astype(np.float32)
    rows, cols = np.flatnonzero(glyph.max(1) > 60), np.flatnonzero(glyph.max(0) > 60)
    glyph = glyph[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1] / 255.0
    h, w = glyph.shape
    loose = rng.choice(["tight", "snug", "loose"], p=[0.3, 0.4, 0.3])
    scale = {"tight": 0.0, "snug": 0.15, "loose": 0.8}[str(loose)]
    m = [int(h * rng.uniform(0, scale)) if scale else int(rng.integers(0, 2)) for _ in range(4)]
    canvas = np.zeros((h + m[0] + m[1], w + m[2] + m[3]), np.float32)
    canvas[m[0] : m[0] + h, m[2] : m[2] + w] = glyph
    if rng.random() < 0.8:
        paper, ink = rng.integers(215, 256), rng.integers(0, 70)
    else:
        paper, ink = rng.integers(0, 50), rng.integers(190, 256)
    grey = paper * (1 - canvas) + ink * canvas
    image = Image.fromarray(np.clip(grey, 0, 255).astype(np.uint8))
    kind = f"{font_path.stem}-{loose}"
    if rng.random() < 0.25:
        return encode(image.convert("RGB"), "JPEG", quality=int(rng.integers(70, 96))), kind
    return encode(image, "PNG"), kind


def bubble(digit: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A child's 'bubble' digit: the MNIST digit 40-220 px tall, its strokes thickened by 2-8 %
    of that on each side, and only their outline drawn, 1-3.5 % of it wide (ink in [0, 1])."""
    height = int(rng.integers(40, 220))
    body = np.pad(upscaled_digit(digit, height) > 0.5, int(0.12 * height) + 4)
    body = dilate(body.astype(np.float32), rng.uniform(0.02, 0.08) * height)
    line = max(1, round(rng.uniform(0.01, 0.035) * height))
    inside = ~dilate((~body).astype(np.float32), line)
    return crop_to_ink((body & ~inside).astype(np.float32))


def outlined_glyph(font: ImageFont.FreeTypeFont, char: str, stroke: int) -> np.ndarray:
    """A glyph drawn as an outline `stroke` px wide around it, its inside left paper (0..1)."""
    left, top, right, bottom = font.getbbox(char, stroke_width=stroke)
    img = Image.new("L", (right - left + 2, bottom - top + 2), 0)
    draw = ImageDraw.Draw(img)
    draw.text((1 - left, 1 - top), char, font=font, fill=0, stroke_width=stroke, stroke_fill=255)
    inside = Image.new("L", img.size, 0)
    ImageDraw.Draw(inside).text((1 - left, 1 - top), char, font=font, fill=255)
    outline = np.clip(np.asarray(img, np.float32) - np.asarray(inside, np.float32), 0, 255)
    return crop_to_ink(outline / 255.0)


def outline_set(groups: dict[str, list[str]], part: str) -> Callable:
    """Hollow digits: the even ones bubble digits of MNIST digits, the odd ones a typeset digit
    (n % 10) in a font of `groups`' `part`, 24-200 px, drawn as an outline 1-3 % of that wide;
    on a canvas 1.2-2 times as large, a fifth light on dark, a quarter of them JPEG."""

    def make(images, labels, rng, count) -> Iterator[Sample]:
        names = groups["dev"] + groups["heldout"] if part == "all" else groups[part]
        fonts = font_files(names)
        for n in range(count):
            if n % 2 == 0:
                i = int(rng.integers(len(images)))
                ink, label, kind = bubble(images[i], rng), int(labels[i]), "bubble"
            else:
                font = fonts[int(rng.integers(len(fonts)))]
                size = int(rng.integers(24, 200))
                stroke = max(1, round(size * rng.uniform(0.01, 0.03)))
                ink = outlined_glyph(ImageFont.truetype(str(font), size), str(n % 10), stroke)
                label, kind = n % 10, f"{font.stem}-{stroke}px"
            h, w = ink.shape
            top, left = (int(rng.integers(0, int(v * rng.uniform(0.2, 1.0)) + 1)) for v in (h, w))
            canvas = np.zeros((h + top + int(h * rng.uniform(0.0, 0.8)),
                               w + left + int(w * rng.uniform(0.0, 0.8))), np.float32)  # fmt: skip
            canvas[top : top + h, left : left + w] = ink
            dark = rng.random() < 0.2
            paper = rng.integers(0, 50) if dark else rng.integers(215, 256)
            tone = rng.integers(190, 256) if dark else rng.integers(0, 80)
            grey = paper * (1 - canvas) + tone * canvas + rng.normal(0, 2, canvas.shape)
            image = Image.fromarray(np.clip(grey, 0, 255).astype(np.uint8))
            kind += "-light-on-dark" if dark else ""
            if rng.random() < 0.25:
                data = encode(image.convert("RGB"), "JPEG", quality=int(rng.integers(70, 96)))
                yield Sample(data, ".jpg", label, kind)
            else:
                yield Sample(encode(image, "PNG"), ".png", label, kind)

    return make


def font_set(groups: dict[str, list[str]], part: str) -> Callable:
    def make(images, labels, rng, count) -> Iterator[Sample]:
        names = groups["dev"] + groups["heldout"] if part == "all" else groups[part]
        fonts = font_files(names)
        for n in range(count):
            font = fonts[int(rng.integers(len(fonts)))]
            digit = n % 10
            data, kind = typeset(font, digit, rng)
            yield Sample(data, ".jpg" if data[:2] == b"\xff\xd8" else ".png", digit, kind)

    return make


def generators(cache: Path, fonts: str = "dev", optdigits: str = "bench") -> dict[str, Callable]:
    return {
        "mnist": mnist_set,
        "photo": photo_set,
        "drawing": drawing_set,
        "ruled": ruled_set,
        "fonts": font_set(TYPESET_FONTS, fonts),
        "handfonts": font_set(HANDWRITING_FONTS, fonts),
        "lowres": lowres_set,
        "optdigits": optdigits_set(cache, optdigits),
        "desk": desk_set,
        "forms": forms_set,
        "angle": angle_set,
        "hue": hue_set,
        "pencil": pencil_set,
        "outline": outline_set(TYPESET_FONTS, fonts),
    }


def write_set(
    category: str,
    folder: Path,
    images,
    labels,
    count: int,
    seed: int,
    cache: Path,
    fonts="dev",
    optdigits: str = "bench",
) -> list[tuple[Path, int, str]]:
    """Write one category's images into `folder` (reused when already complete). `fonts` and
    `optdigits` name the part of those sources to draw from; the other categories take their
    digits from `images`."""
    manifest = folder / "manifest.tsv"
    if manifest.is_file():
        rows = [line.split("\t") for line in manifest.read_text().splitlines()]
        return [(folder / name, int(label), kind) for name, label, kind in rows]
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng([seed, CATEGORIES.index(category)])
    out = []
    make = generators(cache, fonts, optdigits)[category]
    for n, sample in enumerate(make(images, labels, rng, count)):
        path = folder / f"{n:05d}_label{sample.label}{sample.suffix}"
        path.write_bytes(sample.data)
        out.append((path, sample.label, sample.kind))
    tmp = manifest.with_suffix(".tmp")
    tmp.write_text("".join(f"{p.name}\t{y}\t{k}\n" for p, y, k in out))
    tmp.replace(manifest)
    return out
