"""Photo-like images made from MNIST *test* digits, for the runtime's accuracy tests.

Each is what a user's camera or scanner gives: dark ink on light or tinted paper, off-centre in
a larger canvas, 40-250 px tall, unevenly lit, blurred, noisy, saved as PNG, JPEG, RGBA PNG with
transparent paper, or EXIF-rotated JPEG.
"""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
from PIL import Image, ImageFilter

KINDS = ("png", "jpeg", "rgba", "exif")
# EXIF orientation -> how the upright image is stored (ImageOps.exif_transpose undoes it)
STORED = {
    3: Image.Transpose.ROTATE_180,
    6: Image.Transpose.ROTATE_90,
    8: Image.Transpose.ROTATE_270,
}


def photo_like(digit: np.ndarray, rng: np.random.Generator, kind: str) -> bytes:
    """Encode one MNIST digit (28x28 uint8, white on black) as a photo-like image file."""
    height = int(rng.integers(40, 251))
    side = round(height * 28 / 20)  # the digit fills 20 of MNIST's 28 pixels
    ink = Image.fromarray(digit).resize((side, side), Image.Resampling.BICUBIC)
    canvas_w = int(side * rng.uniform(1.2, 3.0)) + 8
    canvas_h = int(side * rng.uniform(1.2, 3.0)) + 8
    alpha = np.zeros((canvas_h, canvas_w), np.float32)
    top, left = int(rng.integers(0, canvas_h - side + 1)), int(rng.integers(0, canvas_w - side + 1))
    alpha[top : top + side, left : left + side] = np.asarray(ink, np.float32) / 255.0

    blur = float(rng.uniform(0.0, 1.5)) * side / 56
    if blur > 0.3:
        grey = Image.fromarray((alpha * 255).astype(np.uint8)).filter(
            ImageFilter.GaussianBlur(blur)
        )
        alpha = np.asarray(grey, np.float32) / 255.0
    paper = np.array([235, 230, 215]) + rng.integers(-25, 20, 3)
    pen = np.array([30, 35, 70]) + rng.integers(-25, 40, 3)
    a = alpha[:, :, None]
    rgb = paper * (1 - a) + pen * a
    if kind != "rgba":
        yy, xx = np.mgrid[0:canvas_h, 0:canvas_w] / max(canvas_h, canvas_w)
        angle = rng.uniform(0, 2 * np.pi)
        light = 1.0 - rng.uniform(0.0, 0.3) * (np.cos(angle) * xx + np.sin(angle) * yy)
        rgb = rgb * light[:, :, None]
        rgb = rgb + rng.normal(0, rng.uniform(0, 10), rgb.shape)
    image = Image.fromarray(np.clip(rgb, 0, 255).astype(np.uint8))

    out = io.BytesIO()
    if kind == "png":
        image.save(out, "PNG")
    elif kind == "jpeg":
        image.save(out, "JPEG", quality=int(rng.integers(60, 96)))
    elif kind == "rgba":
        paper_alpha = (np.clip(alpha * 1.2, 0, 1) * 255).astype(np.uint8)
        rgba = np.dstack([np.asarray(image), paper_alpha])
        Image.fromarray(rgba, "RGBA").save(out, "PNG")
    elif kind == "exif":
        orientation = int(rng.choice(list(STORED)))
        stored = image.transpose(STORED[orientation])
        exif = Image.Exif()
        exif[0x0112] = orientation
        stored.save(out, "JPEG", quality=90, exif=exif)
    else:
        raise ValueError(kind)
    return out.getvalue()


def write_photo_set(
    images: np.ndarray, labels: np.ndarray, folder: Path, count: int, seed: int = 0
) -> list[tuple[Path, int]]:
    """Write `count` photo-like files from the given test digits; return (path, label) pairs."""
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    picks = rng.choice(len(images), size=count, replace=False)
    out = []
    for n, i in enumerate(picks):
        kind = KINDS[n % len(KINDS)]
        suffix = ".png" if kind in ("png", "rgba") else ".jpg"
        path = folder / f"{n:04d}_{kind}_label{labels[i]}{suffix}"
        path.write_bytes(photo_like(images[i], rng, kind))
        out.append((path, int(labels[i])))
    return out
