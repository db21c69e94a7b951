"""Bringing any image to the model's input, in NumPy and Pillow only.

`plain` is the seed's pipeline, exactly: Pillow greyscale, Pillow resize to the model's field,
/255, then (x - mean) / std. `auto` brings a photo, scan or drawing to what MNIST digits are:
white on black, cropped to the digit's strokes, fitted into 20x20 (of a 28x28 field) keeping the
aspect ratio and centred by centre of mass. The field, mean and std are the model's
(`ModelInput`, read from its metadata).
"""

from __future__ import annotations

import io
import math
import os
import struct
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, UnidentifiedImageError

from runtime.components import holes, parts, stroke_width
from runtime.errors import first_line
from runtime.ink import (
    RING_ROUND,
    NoInkError,
    Page,
    Turn,
    clean,
    convex,
    find_page,
    find_sheet,
    grow,
    hollow_insides,
    max_filter,
    paint_desk,
    polarity,
    smoothed,
    surface_took_ink,
    turn,
    without_ring,
)

MAX_SIDE = 1024  # larger images are reduced before any float work: memory stays bounded
JPEG_DRAFT_LIMIT = 250_000_000  # pixels of a JPEG decoded at reduced scale (1/8: 4 MP)
WORK_SIDE = 384  # auto analyses at most this many pixels along the longer side
BOX_SHARE = 20 / 28  # MNIST: the ink fits 20x20 of the 28x28 field
SPECK = 0.02  # a part with less ink than this share of the digit's main part is a speck
FAINT = 0.15  # ink above this share of its level that runs on from the digit's parts is kept
SOFT_EDGE = 2  # px: the faint ink this near the digit's parts is their soft edge (ruling beyond)
THIN_STROKE = 1.5  # px: strokes that framing would make thinner than this are widened to it
SHEET_RIM = 3  # px: a digit within a sheet's box grown by this much is the sheet itself
SHEET_TILT = 3.0  # degrees: a sheet lying turned this much or more is turned upright to be read
UNDERLINE = 0.25  # a flat part under a digit, at most this share of its width tall, underlines it
UNDERLINE_SLACK = 0.1  # ... when it runs along the digit to within this share of its width
LOOP = 0.05  # a part that closes in a hole this share of its box is a loop (see _encloses)
ENCLOSED = 0.4  # a ring around a digit: the digit is at least this share of the ring's hole tall
NEAR, FAR = 0.2, 0.5  # how far (share of the digit's size) a small / large part may lie from it


class ImageError(Exception):
    """An input that cannot be read as an image; the message is one line."""


class NoDigitError(ImageError):
    """The image holds no ink to read."""

    def __init__(self, message: str = "no digit found"):
        super().__init__(message)


@dataclass(frozen=True)
class ModelInput:
    """What the model expects: pixels in [0, 1] as (x - mean) / std, on a field of `size`."""

    mean: float
    std: float
    size: tuple[int, int] = (28, 28)  # height, width

    def normalise(self, x: np.ndarray) -> np.ndarray:
        return ((x - np.float32(self.mean)) / np.float32(self.std))[None].astype(np.float32)

    def pixels(self, x: np.ndarray) -> np.ndarray:
        """A model input back to pixels in [0, 1] (for pictures of it)."""
        return np.clip(np.asarray(x).reshape(self.size) * self.std + self.mean, 0, 1)


# ---------------------------------------------------------------------------------------------
# Reading


def open_image(source, draft: int | None = None) -> Image.Image:
    """A loaded Pillow image from a path, the bytes of a file, a Pillow image or a NumPy array
    (first frame only).

    draft: a JPEG file is decoded at the smallest scale whose longer side is at least this
    (None: at full size, as `plain` must). Pixel counts are checked here, not by Pillow's
    decompression-bomb warning: a file decoded whole may hold Pillow's MAX_IMAGE_PIXELS, a JPEG
    decoded at reduced scale JPEG_DRAFT_LIMIT.
    """
    if isinstance(source, Image.Image):
        return _loaded(source)
    if isinstance(source, np.ndarray):
        return _from_array(source)
    if isinstance(source, bytes | bytearray | memoryview):
        if len(source) == 0:
            raise ImageError("empty file")
        return _decode(io.BytesIO(source), "<bytes>", draft)
    if not isinstance(source, str | os.PathLike):
        raise ImageError(f"cannot read a {type(source).__name__} as an image")
    path = Path(source)
    if path.is_dir():
        raise ImageError("is a folder")
    if not path.is_file():
        raise ImageError("no such file" if not path.exists() else "not a regular file")
    if path.stat().st_size == 0:
        raise ImageError("empty file")
    try:
        fp = open(path, "rb")  # noqa: SIM115 - the image keeps it open until load()
    except OSError as exc:
        raise ImageError(f"cannot open the file ({exc.strerror})") from exc
    return _decode(fp, str(path), draft)


def _decode(fp, name: str, draft: int | None) -> Image.Image:
    """Open (format by content), check the pixel count, draft-decode a JPEG, load."""
    try:
        img = _open_unchecked(fp, name)
        full = img.size
        jpeg = img.format in ("JPEG", "MPO")
        _check_pixels(img.size, JPEG_DRAFT_LIMIT if jpeg and draft else Image.MAX_IMAGE_PIXELS)
        if jpeg and draft:  # decode at reduced scale: no 100 MP photo lands whole
            img.draft(img.mode, _draft_size(img.size, draft))
        img.load()
        img.info["mnist_digit.full_size"] = full  # before draft decoding: boxes use this size
    except ImageError:
        fp.close()
        raise
    except UnidentifiedImageError as exc:
        fp.close()
        raise ImageError("not an image Pillow can read") from exc
    except (OSError, SyntaxError, ValueError, EOFError, struct.error) as exc:
        fp.close()
        raise ImageError(f"unreadable image ({first_line(exc)})") from exc
    if img.width == 0 or img.height == 0:
        raise ImageError("zero-size image")
    return img


def _open_unchecked(fp, name: str) -> Image.Image:
    """Image.open without its decompression-bomb check (open_image checks the pixel count).

    Pillow's check warns from 89 MP, which would refuse every large phone photo that draft
    decoding reads in a few MB, and a warnings filter around it is not thread-safe.
    """
    try:
        prefix = fp.read(16)
        for loader in (Image.preinit, Image.init):
            loader()
            for fmt in list(Image.ID):
                factory, accept = Image.OPEN[fmt]
                if accept and accept(prefix) is not True:
                    continue
                fp.seek(0)
                try:
                    img = factory(fp, name)
                except (SyntaxError, IndexError, TypeError, struct.error):
                    continue
                img._exclusive_fp = True  # closed with the image, as Image.open does
                return img
    except BaseException:
        fp.close()
        raise
    fp.close()
    raise UnidentifiedImageError(name)


def _check_pixels(size: tuple[int, int], limit: int | None) -> None:
    pixels = size[0] * size[1]
    if limit is not None and pixels > limit:
        jpeg = (
            ""
            if limit == JPEG_DRAFT_LIMIT
            else f", {JPEG_DRAFT_LIMIT / 1e6:.0f} for a JPEG in auto"
        )
        raise ImageError(
            f"too many pixels ({size[0]}x{size[1]}, {pixels / 1e6:.0f} MP; the limit is "
            f"{limit / 1e6:.0f} MP{jpeg})"
        )


def _loaded(img: Image.Image) -> Image.Image:
    """A caller's Pillow image, loaded now so that a truncated or closed one fails here."""
    try:
        img.load()
    except (OSError, SyntaxError, ValueError, EOFError, struct.error, AttributeError) as exc:
        raise ImageError(f"unreadable image ({first_line(exc)})") from exc
    if img.width == 0 or img.height == 0:
        raise ImageError("zero-size image")
    _check_pixels(img.size, Image.MAX_IMAGE_PIXELS)
    return img


def _draft_size(size: tuple[int, int], side: int) -> tuple[int, int]:
    """The size to ask of JPEG draft mode so that the longer side stays at least `side`."""
    scale = min(1.0, side / max(size))
    return max(1, int(size[0] * scale)), max(1, int(size[1] * scale))


def _from_array(array: np.ndarray) -> Image.Image:
    """A NumPy image: HxW, HxWx1, HxWx3 or HxWx4 (leading axes of size 1 are dropped).

    bool is ink-or-not; uint8 as it is; 16-bit integers as 16-bit grey; floats in [0, 1] or
    [0, 255] (by their maximum); NaN and infinities are refused.
    """
    a = np.asarray(array)
    while a.ndim > 3 and a.shape[0] == 1:
        a = a[0]
    if a.ndim == 3 and a.shape[0] == 1 and a.shape[2] not in (1, 3, 4):
        a = a[0]  # (1, H, W), as a model input would be
    if a.ndim == 3 and a.shape[2] == 1:
        a = a[:, :, 0]
    if a.ndim not in (2, 3) or (a.ndim == 3 and a.shape[2] not in (3, 4)) or 0 in a.shape:
        raise ImageError(f"an array image must be HxW, HxWx3 or HxWx4, not {a.shape}")
    if a.dtype.kind not in "biuf":
        raise ImageError(f"an array image must hold numbers, not {a.dtype}")
    if a.dtype.kind == "f" and not np.isfinite(a).all():
        raise ImageError("the array holds NaN or infinite values")
    _check_pixels((a.shape[1], a.shape[0]), Image.MAX_IMAGE_PIXELS)
    if a.dtype == np.bool_:
        a = a.astype(np.uint8) * 255
    if a.dtype == np.uint8:
        return Image.fromarray(np.ascontiguousarray(a))
    if a.ndim == 2:
        if a.dtype.kind in "iu" and 0 <= a.min() and a.max() <= 65535:
            return Image.fromarray(a.astype(np.uint16))
        return Image.fromarray(a.astype(np.float32))  # to_grey scales it by its maximum
    top = float(a.max())
    scale = 255.0 if top <= 1.0 else 1 / 257 if top > 255 else 1.0
    return Image.fromarray(np.clip(np.rint(a.astype(np.float64) * scale), 0, 255).astype(np.uint8))


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


def orientation(img: Image.Image) -> int:
    """The EXIF orientation (1 upright), read once per image."""
    if "mnist_digit.orientation" not in img.info:
        value = img.getexif().get(0x0112, 1)
        img.info["mnist_digit.orientation"] = value if value in TRANSPOSE_FOR_ORIENTATION else 1
    return img.info["mnist_digit.orientation"]


def upright(img: Image.Image, max_side: int = MAX_SIDE) -> Image.Image:
    """Reduced first, then turned as its EXIF orientation says (no full-size copy is made)."""
    small = reduce_large(img, max_side)
    method = TRANSPOSE_FOR_ORIENTATION.get(orientation(img))
    return small.transpose(method) if method is not None else small


def to_grey(img: Image.Image) -> np.ndarray:
    """Float32 luminance in [0, 1]; 16-bit kept 16-bit; transparency handled by `_composite`."""
    mode = img.mode
    if mode in ("I;16", "I;16L", "I;16B", "I;16N"):
        return np.asarray(img, dtype=np.float32) / 65535.0
    if mode in ("I", "F"):
        a = np.asarray(img, dtype=np.float32)
        top = float(np.nanmax(a)) if a.size else 0.0
        scale = 1.0 if top <= 1.0 else 255.0 if top <= 255.0 else 65535.0 if top <= 65535 else top
        return np.clip(np.nan_to_num(a) / scale, 0.0, 1.0)
    if mode == "P":
        img = convert(img, "RGBA" if "transparency" in img.info else "RGB")
    elif mode in ("PA", "La", "RGBa", "LA") or (mode != "RGBA" and "transparency" in img.info):
        img = convert(img, "RGBA")
    if img.mode == "RGBA":
        return _composite(np.asarray(img, dtype=np.float32) / 255.0)
    if img.mode != "L":
        img = convert(convert(img, "RGB"), "L")  # CMYK, YCbCr, LAB, HSV, 1, RGB: ITU-R 601-2
    return np.asarray(img, dtype=np.float32) / 255.0


def colour_contrast(img: Image.Image) -> np.ndarray | None:
    """The picture's colours along the axis they vary most along (their first principal
    component), in [0, 1]; None for a picture without colour or with transparency. Ink and paper
    of about the same luminance but different hues (a red pen on green paper, a drawing app's
    pink on light green) are far apart there, where their grey is one level.

    The axis v (a unit vector in RGB) maps onto [0, 1] by a fixed affine map, (rgb . v - the
    least it can be) / sum |v|, so that contrasts along it are on luminance's scale (whose
    weights also sum to 1) and the noise floor and MIN_CONTRAST mean what they mean in grey."""
    if img.mode not in COLOUR_MODES or "transparency" in img.info:
        return None
    rgb = np.asarray(convert(img, "RGB"), np.float32).reshape(-1, 3) / 255.0
    step = max(1, len(rgb) // COLOUR_SAMPLE)
    sample = rgb[::step]
    if len(sample) < 2:
        return None
    spread = np.cov(sample, rowvar=False)
    if not spread.any():  # one colour all over
        return None
    axis = np.linalg.eigh(spread)[1][:, -1]
    low, span = float(np.minimum(axis, 0).sum()), float(np.abs(axis).sum())
    return ((rgb @ axis - low) / span).reshape(img.height, img.width).astype(np.float32)


COLOUR_MODES = ("RGB", "P", "CMYK", "YCbCr", "LAB", "HSV")
COLOUR_SAMPLE = 1 << 15  # pixels enough to find the colours' main axis


def convert(img: Image.Image, mode: str) -> Image.Image:
    """img.convert(mode), through LA or RGB(A) for the modes Pillow cannot convert directly
    (LAB to L, La to anything but LA); ImageError if no way works."""
    try:
        return img.convert(mode)
    except ValueError:
        pass
    for via in ("LA", "RGBA", "RGB"):
        try:
            return img.convert(via).convert(mode)
        except ValueError:
            continue
    raise ImageError(f"cannot read a {img.mode} image")


LUMA = np.array([0.299, 0.587, 0.114], np.float32)


def _composite(rgba: np.ndarray) -> np.ndarray:
    """Transparent pixels become a backdrop that contrasts with the opaque ones.

    Dark ink on a transparent canvas lands on white, white chalk on black: the drawing stays
    visible whatever colour the app stored under its transparent pixels.
    """
    alpha = rgba[:, :, 3]
    grey = rgba[:, :, :3] @ LUMA
    opaque = alpha > 0.5
    light = opaque.any() and float(np.median(grey[opaque])) > 0.5
    backdrop = 0.0 if light and (~opaque).any() else 1.0
    return (grey * alpha + backdrop * (1.0 - alpha)).astype(np.float32)


# ---------------------------------------------------------------------------------------------
# The two modes


def preprocess_plain(img: Image.Image, model: ModelInput) -> np.ndarray:
    """The seed's pipeline: (1, height, width) float32."""
    h, w = model.size
    grey = _eight_bit_grey(img).resize((w, h))
    return model.normalise(np.asarray(grey, dtype=np.float32) / np.float32(255.0))


def _eight_bit_grey(img: Image.Image) -> Image.Image:
    """convert("L") as the seed did; 16-bit and float images scaled (not clipped) to 8 bits,
    and modes that Pillow cannot turn into L directly (LAB, La) through another mode."""
    if img.mode in ("F", "I") or img.mode.startswith("I;16"):
        return Image.fromarray(np.rint(to_grey(img) * 255).astype(np.uint8))
    return convert(img, "L")


def preprocess_auto(img: Image.Image, model: ModelInput) -> np.ndarray:
    """Any photo, scan or drawing to an MNIST-like (1, height, width) float32 input: the first
    reading only (see auto_inputs)."""
    return auto_inputs(img, model, alternatives=False)


def auto_inputs(img: Image.Image, model: ModelInput, alternatives: bool = True) -> np.ndarray:
    """`auto`'s model inputs (k, height, width) to try, the likelier first: one, or more when
    the picture leaves unclear which of its two tones is the ink (see ink.polarity) or shows a
    sheet on a desk that may be a thick digit's body (see read_pages), or draws a hollow digit
    (filled in, then as drawn: see framings); the caller keeps the one the model reads with
    more confidence."""
    pages = read_pages(img, alternatives=alternatives)
    framed = [f for page in pages for f in frame_digit(page, model.size, alternatives)]
    return np.concatenate([model.normalise(f) for f in framed])


def frame_digit(page: Page, size: tuple[int, int], as_drawn_too: bool = True) -> list[np.ndarray]:
    """The page's digit framed for the model (twice if hollow and `as_drawn_too`, see
    framings), the marks drawn with it (an underline, a ring around it) taken out of the ink
    first, so that the faint ink joining them to the digit does not bring them back."""
    digit, marks = digit_and_marks(page)
    ink = page.ink
    if marks:
        ink = ink * ~grow(page.parts.mask_of(marks), 1)
    return framings(ink, page.parts.mask_of(digit), size, as_drawn_too)


def read_page(img: Image.Image, side: int = WORK_SIDE) -> Page:
    """The picture's ink and parts at the working resolution; NoDigitError if it has none."""
    return read_pages(img, side, alternatives=False)[0]


def read_pages(img: Image.Image, side: int = WORK_SIDE, alternatives: bool = True) -> list[Page]:
    """read_page, then the other readings worth trying, each if it has a digit: the picture with
    the desk around a sheet painted in the sheet's level, when it shows one (turned upright if
    the sheet lies turned; the page's `turn` says how), the page read with the other
    polarity when the picture leaves that unclear, the page without a ring drawn around its
    digit and touching it (see ink.without_ring), and the page read with one paper level when
    the paper's surface rises under the digit (a thick body or a stroke along the picture's side
    taken for shadow, see ink.surface_took_ink). A picture in which grey shows no ink at all
    has last resorts (see _last_resorts).

    A ruled page or a form photographed a few degrees off is read as it lies: its lines are
    sheared level where they are looked for (see ink.erase_frames, ink.remove_ruling). Turning
    the picture level cut off its corners, and with them the desk beyond the page and a form's
    lines running on to the picture's sides, which were then no longer erased.

    A sheet on a desk (see ink.find_sheet) whose whole self the first reading took for the digit
    replaces that reading: the model, given the sheet's rectangle, reads it as a confident 0 or
    7 as often as not (2 in 100 notes of the development set were lost so)."""
    work = upright(img, side)
    full_w, full_h = img.info.get("mnist_digit.full_size", img.size)
    if orientation(img) in (5, 6, 7, 8):  # turned a quarter: the sides swap
        full_w, full_h = full_h, full_w
    grey = to_grey(work)
    white_on_black, clear = polarity(grey)
    try:
        pages = [clean(grey, white_on_black, clear=clear)]
    except NoInkError:  # nothing but paper, or a sheet so large that it passed for the light
        pages = []
    found = find_sheet(grey, white_on_black)
    if found is not None:
        painted, sheet_turn = paint_desk(grey, found.mask, found.level), None
        if abs(found.angle) >= SHEET_TILT:  # read the note along its sides
            painted, sheet_turn = turn(painted, -found.angle, found.level)
        on_sheet = _with_a_digit(painted, turned=sheet_turn)
        if on_sheet is not None and (not pages or _is_the_sheet(pages[0], found.mask)):
            pages, grey = [on_sheet], painted
        elif on_sheet is not None and alternatives:
            pages.append(on_sheet)
    elif pages:
        found = find_page(grey, white_on_black)
        if found is not None and _reaches_off(pages[0], found.mask):
            painted = paint_desk(grey, found.mask, found.level)
            on_page = _with_a_digit(painted, white_on_black)
            if on_page is not None:
                pages, grey = [on_page], painted
    if not pages:  # ink that differs from its paper in hue, on a textured ground, or too thick
        pages, grey = _last_resorts(work, grey, white_on_black if clear else None)
    if alternatives and pages[0].unclear:
        other = _with_a_digit(grey, not pages[0].white_on_black, pages[0].turn)
        pages += [other] if other is not None else []
    ringless = without_ring(pages[0]) if alternatives else None
    if ringless is not None and _has_digit(ringless):
        pages.append(ringless)
    if alternatives and _surface_took_ink(pages[0]):
        level = _with_a_digit(grey, pages[0].white_on_black, pages[0].turn, flat=True)
        pages += [level] if level is not None else []
    for page in pages:
        page.scale = (full_w / work.width, full_h / work.height)
    return pages


def _last_resorts(
    work: Image.Image, grey: np.ndarray, white_on_black: bool | None
) -> tuple[list[Page], np.ndarray]:
    """A picture in which grey shows no ink, read again: along its colours' main axis (ink that
    differs from its paper in hue alone, see colour_contrast), then smoothed (ink on a ground
    whose texture is as strong as it at the pixels' scale: a screen's sub-pixels, wood grain,
    fabric; see ink.smoothed), then, when its polarity was clear (`white_on_black`, else None),
    with one paper level (a thick digit covering most of its picture, a low-resolution one
    upscaled smoothly, which the paper's surface rose under everywhere); NoDigitError if none
    of these shows a digit."""
    tries = [(colour_contrast(work), None, False), (smoothed(grey), None, False)]
    if white_on_black is not None:
        tries.append((grey, white_on_black, True))
    for candidate, given, flat in tries:
        page = _with_a_digit(candidate, given, flat=flat) if candidate is not None else None
        if page is not None:
            return [page], candidate
    raise NoDigitError()


def _with_a_digit(
    grey: np.ndarray,
    white_on_black: bool | None = None,
    turned: Turn | None = None,
    flat: bool = False,
) -> Page | None:
    """The page read from `grey` (the picture, turned so if `turned`; with one paper level if
    `flat`), if it has a digit; else None."""
    try:
        page = clean(grey, white_on_black, flat)
    except NoInkError:
        return None
    if not _has_digit(page):
        return None
    page.turn = turned
    return page


def _has_digit(page: Page) -> bool:
    try:
        select_digit(page)
    except NoDigitError:
        return False
    return True


def _surface_took_ink(page: Page) -> bool:
    """Whether the paper's surface may have taken some of the page's digit for shadow (see
    ink.surface_took_ink)."""
    try:
        return surface_took_ink(page, page.parts.mask_of(select_digit(page)))
    except NoDigitError:
        return False


def _reaches_off(page: Page, sheet: np.ndarray) -> bool:
    """Whether a page's reading kept parts off the page (beyond its rim) that run to the
    picture's side: what is left of the desk beyond a page's edge, taken for strokes of the
    digit (or, in `--multi`, for digits of their own). Unless a part that stops short of the
    sides lies both on the page and off it: writing across the edge of a hard shadow taken for
    the page's (specks of the desk's grain lie wholly off the page)."""
    p, h, w = page.parts, *page.ink.shape
    beyond = ~grow(sheet, SHEET_RIM)
    within = ~grow(~sheet, SHEET_RIM)
    at_side = across = False
    for k in page.keep:
        mine = p.mask_of([k])
        if not (mine & beyond).any():
            continue
        if p.top[k] == 0 or p.left[k] == 0 or p.bottom[k] == h or p.right[k] == w:
            at_side = True
        elif (mine & within).any():
            across = True
    return at_side and not across


def _is_the_sheet(page: Page, sheet: np.ndarray) -> bool:
    """Whether the digit a page's reading found lies within a sheet's box (and its rim): the
    reading took the sheet for the digit. A thick digit's body taken for a sheet has strokes
    outside it (the stem of a 6), and that reading is kept to try beside the sheet's."""
    try:
        digit = select_digit(page)
    except NoDigitError:
        return True
    p, r = page.parts, SHEET_RIM
    rows, cols = np.flatnonzero(sheet.any(1)), np.flatnonzero(sheet.any(0))
    return bool(
        p.top[digit].min() >= rows[0] - r and p.bottom[digit].max() <= rows[-1] + 1 + r
        and p.left[digit].min() >= cols[0] - r and p.right[digit].max() <= cols[-1] + 1 + r
    )  # fmt: skip


def select_digit(page: Page) -> list[int]:
    """The parts of the one digit: the part with most ink, and the parts that belong with it.

    A part joins when it lies near the digit's box (a detached bar of a 5, a 4 in two strokes,
    the pieces of a broken stroke); specks, and parts far from the digit, do not; nor do marks
    drawn with the digit (a line under it, a ring around it).
    """
    return digit_and_marks(page)[0]


def digit_and_marks(page: Page) -> tuple[list[int], list[int]]:
    """The parts of the one digit (see select_digit), and the marks drawn with it."""
    p = page.parts
    candidates = [k for k in page.keep if p.area[k] >= 2]
    if not candidates:
        raise NoDigitError()
    main = max(candidates, key=lambda k: p.mass[k])
    group = {main}
    top, left, bottom, right = p.top[main], p.left[main], p.bottom[main], p.right[main]
    grew = True
    while grew:
        grew = False
        size = max(bottom - top, right - left)
        for k in sorted(candidates, key=lambda k: -p.mass[k]):
            share = p.mass[k] / p.mass[main]
            if k in group or share < SPECK:
                continue
            gap = max(p.top[k] - bottom, top - p.bottom[k], p.left[k] - right, left - p.right[k])
            if gap <= (NEAR if share < 0.15 else FAR) * size:
                group.add(k)
                top, left = min(top, p.top[k]), min(left, p.left[k])
                bottom, right = max(bottom, p.bottom[k]), max(right, p.right[k])
                grew = True
    marks = {k for k in group if _underlines(p, k, group) or _encloses(p, k, group)}
    return sorted(group - marks), sorted(marks)


def _encloses(p, k: int, group: set[int]) -> bool:
    """Whether part k is a ring drawn around the rest of the digit (a circled answer, a box left
    of a form's field): the rest lies in the holes k closes in, and is at least ENCLOSED of their
    height, in a hole at least RING_ROUND as wide as it is tall. No digit holds a part of itself in
    a closed loop of its own (a 6's loop drawn apart from its stem lies beside the stem's curve,
    in none of its holes), but for a dotted zero: its dot is smaller than that, or lies in a
    hole narrower than that (a typeset zero's inner bar, as Hack draws it). The outer line of an
    outlined 8 or 9 closes in the lines around its loops as a ring would; where the rest is
    nothing but such loops (see _loop), the ring must be round (ink.convex: filled in, it
    covers RING_CONVEX of its convex hull), and the 8's waist or the 9's bent tail leave it
    under that (0.83-0.90 on the development set of outlined digits; drawn rings 0.975-0.989).
    A box of a form need not be convex (the page's edge beside a comb left one at 0.82 of its
    hull) when the digit in it is drawn with strokes, not loops alone."""
    rest = group - {k}
    if not rest:
        return False
    left, top, right, bottom = p.box([k])
    inner = p.box(rest)
    if not (left < inner[0] and top < inner[1] and inner[2] < right and inner[3] < bottom):
        return False
    box = (slice(top, bottom), slice(left, right))
    closed_in = holes(p.labels[box] == k + 1)
    if (p.mask_of(rest)[box] & ~closed_in).any():
        return False
    rows, cols = np.flatnonzero(closed_in.any(1)), np.flatnonzero(closed_in.any(0))
    tall, wide = rows[-1] - rows[0] + 1, cols[-1] - cols[0] + 1
    if inner[3] - inner[1] < ENCLOSED * tall or wide < RING_ROUND * tall:
        return False
    if not all(_loop(p, j) for j in rest):  # a digit in a ring or a box, as drawn
        return True
    return convex(closed_in | (p.labels[box] == k + 1))


def _loop(p, k: int) -> bool:
    """Whether part k closes in a hole of at least LOOP of its box: a loop, such as the line
    around an outlined digit's loop."""
    left, top, right, bottom = p.box([k])
    return holes(p.labels[top:bottom, left:right] == k + 1).sum() >= LOOP * (bottom - top) * (
        right - left
    )


def _underlines(p, k: int, group: set[int]) -> bool:
    """Whether part k is a line drawn under the rest of the digit (see underlines)."""
    rest = group - {k}
    return bool(rest) and underlines(p.box([k]), p.box(rest))


def underlines(line: tuple, body: tuple) -> bool:
    """Whether a mark (box: left, top, right, bottom) is a line drawn under a digit's body: flat
    (at most UNDERLINE of its width tall), wholly below the body and along all of it (within a
    tenth of its width at each end). No digit has a stroke of its own there: a 2's base meets
    its diagonal at the same height, and the bottom of a loop broken off is shorter than the
    loop."""
    slack = UNDERLINE_SLACK * (body[2] - body[0])
    return bool(
        line[3] - line[1] <= UNDERLINE * (line[2] - line[0]) and line[1] >= body[3]
        and line[0] <= body[0] + slack and line[2] >= body[2] - slack
    )  # fmt: skip


def frame(ink: np.ndarray, digit: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """The digit framed for the model: the first of its framings (filled in, if hollow)."""
    return framings(ink, digit, size, as_drawn_too=False)[0]


def framings(
    ink: np.ndarray, digit: np.ndarray, size: tuple[int, int], as_drawn_too: bool = True
) -> list[np.ndarray]:
    """Crop the ink to the digit's box, fit it into 20/28 of the field keeping its aspect ratio,
    and centre it by mass in the field; for a hollow digit, its strokes filled in, then (if
    `as_drawn_too`) as drawn.

    Only ink on and beside the digit's parts is kept, so that ruling, specks and other marks
    inside the box do not reach the model; the crop keeps a margin for the strokes' soft edges.
    Strokes that the fit would bring under THIN_STROKE px wide (a 1-2 px pencil on a canvas of
    hundreds: a line a tenth of a pixel wide, and as faint, once fitted) are widened first, with
    a maximum filter, so that they arrive that wide and at their full level (MNIST's strokes
    are 2-3 px wide in the field).

    A hollow digit (an outline font, a 'bubble' digit: see ink.hollow_insides) is judged on its
    parts and their soft edges (SOFT_EDGE), so that faint ruling running on from them closes in
    no cell of a grid. Its filled-in reading comes first; the reading as drawn stays for the
    caller to weigh, since a thin-lined 0 squeezed narrow (a low-resolution one, a pencil's)
    can look like an outlined 1.
    """
    rows, cols = np.flatnonzero(digit.any(1)), np.flatnonzero(digit.any(0))
    if rows.size == 0:
        raise NoDigitError()
    fit_h, fit_w = (max(1, round(n * BOX_SHARE)) for n in size)
    scale = min(fit_h / (rows[-1] - rows[0] + 1), fit_w / (cols[-1] - cols[0] + 1))
    margin = max(1, round(1.5 / scale))
    # work on the box and a border around it only: a number's page holds other digits
    pad = margin + max(4, (rows[-1] - rows[0]) // 4)
    y0, x0 = max(rows[0] - pad, 0), max(cols[0] - pad, 0)
    y1, x1 = rows[-1] + 1 + pad, cols[-1] + 1 + pad
    ink, digit = ink[y0:y1, x0:x1], digit[y0:y1, x0:x1]
    drawn = _with_faint_ink(ink, digit)
    box = (
        slice(max(rows[0] - y0 - margin, 0), rows[-1] - y0 + 1 + margin),
        slice(max(cols[0] - x0 - margin, 0), cols[-1] - x0 + 1 + margin),
    )
    insides = hollow_insides(drawn & grow(digit, SOFT_EDGE))
    readings = (
        [] if insides is None else [(np.maximum(ink, insides), digit | insides, drawn | insides)]
    )
    if insides is None or as_drawn_too:
        readings.append((ink, digit, drawn))
    return [_fitted(*reading, box, scale, size) for reading in readings]


def _fitted(ink, digit, drawn, box, scale: float, size: tuple[int, int]) -> np.ndarray:
    """framings' fit of one reading: the drawn ink in the box (widened if a hairline) resized
    by `scale` and centred by mass in a field of `size`."""
    width = stroke_width(digit)
    crop = (ink * grow(drawn, max(1, round(width / 2))))[box]
    if width * scale < THIN_STROKE:  # a hairline: a 1 px pencil on a large canvas
        crop = max_filter(crop, math.ceil((THIN_STROKE / scale - width) / 2))
    h, w = crop.shape
    target = (max(1, round(w * scale)), max(1, round(h * scale)))
    resample = Image.Resampling.BOX if scale < 1 else Image.Resampling.BILINEAR
    digit_img = np.asarray(Image.fromarray(crop.astype(np.float32)).resize(target, resample))
    return centre_by_mass(np.clip(digit_img, 0.0, 1.0), size)


def _with_faint_ink(ink: np.ndarray, digit: np.ndarray) -> np.ndarray:
    """The digit's parts and the faint ink that runs on from them (hysteresis)."""
    faint = parts(ink > FAINT)
    touched = np.unique(faint.labels[digit])
    return faint.mask_of(touched[touched > 0] - 1) | digit


def centre_by_mass(digit: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Place `digit` in a zero field of `size` with its centre of mass at the field's centre."""
    fh, fw = size
    field = np.zeros(size, np.float32)
    rows, cols = np.flatnonzero(digit.any(1)), np.flatnonzero(digit.any(0))
    if rows.size == 0:
        return field
    digit = digit[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1][:fh, :fw]  # empty margins off
    mass = float(digit.sum())
    h, w = digit.shape
    if mass <= 0:
        return field
    cy = float((digit.sum(1) * np.arange(h)).sum()) / mass
    cx = float((digit.sum(0) * np.arange(w)).sum()) / mass
    top, left = int(round(fh / 2 - cy)), int(round(fw / 2 - cx))
    top, left = min(max(top, 0), fh - h), min(max(left, 0), fw - w)
    field[top : top + h, left : left + w] = digit
    return field


PREPROCESSORS = {"auto": auto_inputs, "plain": preprocess_plain}
MODES = tuple(PREPROCESSORS)


def preprocess(source, mode: str, model: ModelInput) -> np.ndarray:
    """One picture's model input (1, h, w): `auto`'s first reading only (see auto_inputs)."""
    return model_inputs(source, mode, model, alternatives=False)


def model_inputs(source, mode: str, model: ModelInput, alternatives: bool = True) -> np.ndarray:
    """One picture's model inputs to try (k, h, w), the likelier first (see auto_inputs)."""
    if mode not in PREPROCESSORS:
        raise ValueError(f"unknown mode {mode!r}: use {' or '.join(MODES)}")
    if mode == "plain":
        return preprocess_plain(open_image(source), model)
    return auto_inputs(open_image(source, WORK_SIDE), model, alternatives)
