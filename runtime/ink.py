"""Separating ink from paper in any photo, scan or drawing, in NumPy and Pillow.

The steps, each robust to a digit that fills much of the picture (a tight crop, a thick brush):

1. polarity: the paper is what the picture's border mostly shows; the ink is the extreme
   further from it, so dark ink on light paper and light chalk on a dark board both come out as
   bright ink on a black field, as in MNIST; when the picture leaves that unclear (a thick
   digit cropped tight), it is said so, and the caller may read it both ways;
2. the paper's level and uneven light: a smooth surface, a grey-level opening wider than
   strokes (see paper_surface); one level in a picture too small for uneven light. Where the
   surface rises under the digit above the paper around it, it may have fitted inside a thick
   digit's body or a stroke along the picture's side and taken it for a shadow: the caller may
   then read the picture again with one paper level (surface_took_ink);
3. the noise floor and the ink's level: Otsu's threshold splits ink from paper; the floor is
   the paper class's median plus four of its standard deviations (from the half of the paper
   below its median, which no ink reaches); the ink's level is the median of its strong pixels;
4. parts: connected components of the ink above half its level, so that light ruling, shadows
   and texture fall below it; boxes drawn around writing (a form's field, a comb) are erased
   along their lines; long straight lines that run past the digit on both sides (the ruling of
   a page; sheared level first when the page was photographed a few degrees off) and parts
   that line the picture's edge (a page's edge) are dropped, and so are soft parts beside a
   sharp digit (a shadow reaching into the photo, see drop_shadows); a ring drawn around the
   digit and touching it is taken away for a second reading (without_ring);
5. a sheet on a desk (a note on a dark table): when the heaviest part is a solid, convex sheet
   with writing inside it (a quadrilateral: seen straight or at an angle), the caller reads the
   picture again with the desk painted over, the sheet turned upright if it lies turned; and a
   page photographed at an angle, the desk showing in wedges beyond it (find_page), the same
   way when the first reading took the wedges for strokes.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import NamedTuple

import numpy as np
from PIL import Image

from runtime.components import Parts, holes, interior, mask_box, parts, runs, stroke_width

MIN_CONTRAST = 0.08  # ink less than this far above the paper (0..1) is no digit
INK_LEVEL = 0.45  # parts are made of ink above this share of the ink's level
COARSE = 64  # the paper's surface is found on a copy about this many pixels across
OPENING = 0.2  # ... with a structuring element of this share of the picture (radius)
SMALL = 64  # below this size (px) a picture is no photo: one paper level
THIN = 8  # a picture whose shorter side is under this is treated as small, whatever its length
SAMPLE = 1 << 15  # values enough for a median or a spread of the paper
LEVEL_BINS = 64  # the paper's commonest level is the fullest of this many bins of its range
SEPARATED = 0.72  # Otsu's separability above which two classes are ink and paper
TWO_TONES = 0.85  # ... and under which they may be light and shadow: a smooth ramp of light
# splits at 0.75 (a uniform spread), ink on paper at 0.94 or more (development sets)
RISE = 0.1  # a surface rising under a digit by this share of the ink's contrast above the paper
RISE_MARGIN = 20  # ... around it (at least this many px of it) may have taken ink for shadow,
DEEP = 0.65  # ... as may one rising this share of the way up to the ink's level beside the digit
SHEET = 0.05  # a sheet of paper on a desk: its part covers at least this share of the picture,
SHEET_SIDES = 3  # ... runs off at most this many of the picture's sides, the most only if
SHEET_EDGE = 0.5  # ... its edge keeps this share of its contrast across it (a step, not a shadow),
EDGE_RING = 2  # (px on each side of an edge to measure its contrast)
SHEET_DESK = 0.1  # ... leaves at least this share of the picture to the desk around it,
SHEET_CONVEX = 0.95  # ... has an outline filling this share of its convex hull (it is convex)
SHEET_WRITING = 0.25  # ... and writing that covers at most this share of that hull,
SHEET_SQUARE = 0.85  # ... and it is a quadrilateral (a rectangle, or one seen at an angle): the
# largest one with corners on its hull covers this share of the hull (an ellipse's: 2/pi)
SOFT_EDGE = 0.05  # an edge rising by less than this share of its part's level a pixel is soft;
SOFT = 0.5  # a part soft along this share of its boundary is a shadow's, when a part with
SHADOW_BESIDE = 0.1  # ... this share of its ink or more is
SHARP = 0.1  # ... soft along at most this share of its own, and the shadow's part covers
SHADOW_AREA = 0.5  # ... at least this share of the largest sharp part's
SHADOW_RIM = 2  # (px around a shadow's part taken out of the ink with it)
RING_SIDE = 12  # a ring drawn around a digit and touching it: at least this many px across,
RING_ROUND = 0.7  # ... its box at least this share as wide as tall (or as tall as wide; a ring
# apart from the digit: its hole at least this share as wide as tall, see preprocess._encloses),
RING_CONVEX = 0.9  # ... filled in, it covers this share of its convex hull
RING_ELLIPSE = 1.1  # ... and at most this share of the ellipse in its box (a square: 4/pi),
RING_RIM = 1.5  # ... and its rim, this many stroke widths deep, taken away
RING_ENCLOSED = 0.3  # ... leaves ink this share of its height tall, and not along one line
RING_STRAIGHT = 0.06  # (its spread across its axis under this share of that along it): a 0
# with a stroke inside it, or slashed, is a 0 (as a 1 in a ring touching it would look)
PAGE_DESK = 0.02  # a page photographed at an angle: the desk beyond it covers this share or more
# of the picture,
PAGE_BORDER = 0.25  # ... and of the picture's border,
PAGE_DARK = 0.95  # ... and lies in the ink's tone over this share of it (a desk has no paper)
HOLLOW_WIDE = 0.3  # a hole inside a hollow stroke is at most this share of the digit's size wide,
HOLLOW_LONG = 6.0  # ... at least this many times as long as it is wide,
HOLLOW_LINE = 1.5  # ... and at least this many times as wide as the lines drawn around it;
HOLLOW_SHARE = 0.3  # the digit is hollow when such holes cover this share of its ink's area


class NoInkError(Exception):
    """The picture holds nothing darker (or brighter) than its paper."""


def otsu(values: np.ndarray, bins: int = 256) -> float:
    """Otsu's threshold (1979): the level that maximises the between-class variance."""
    lo, hi = float(values.min()), float(values.max())
    if hi - lo < 1e-6:
        return hi
    step = (hi - lo) / bins
    index = np.minimum(((values - lo) / step).astype(np.intp), bins - 1)
    hist = np.bincount(index.ravel(), minlength=bins)
    edges = lo + step * np.arange(bins + 1)
    centres = (edges[:-1] + edges[1:]) / 2
    w0 = np.cumsum(hist)
    w1 = w0[-1] - w0
    m0 = np.cumsum(hist * centres)
    mean0 = m0 / np.maximum(w0, 1)
    mean1 = (m0[-1] - m0) / np.maximum(w1, 1)
    between = w0 * w1 * (mean0 - mean1) ** 2
    return float(edges[int(np.argmax(between[:-1])) + 1])


def box3(a: np.ndarray) -> np.ndarray:
    p = np.pad(a, 1, mode="edge")
    h, w = a.shape
    return sum(p[i : i + h, j : j + w] for i in range(3) for j in range(3)) / 9.0


def smoothed(a: np.ndarray) -> np.ndarray:
    """A picture with its texture at the pixels' scale averaged away (box3 twice: a 5x5 tent)."""
    return box3(box3(a)) if min(a.shape) >= 3 else a


def border(a: np.ndarray) -> np.ndarray:
    k = max(1, min(a.shape) // 32)
    return np.concatenate([a[:k].ravel(), a[-k:].ravel(), a[:, :k].ravel(), a[:, -k:].ravel()])


def is_white_on_black(grey: np.ndarray) -> bool:
    """Whether the ink is brighter than the paper (polarity's first answer)."""
    return polarity(grey)[0]


def polarity(grey: np.ndarray) -> tuple[bool, bool]:
    """(whether the ink is brighter than the paper, whether the picture says so clearly).

    When Otsu's two classes are well apart, the paper is the class that holds most of the
    picture's border, its corners and its area, by a vote of the three (a digit that touches
    the border still leaves the corners and most of the area to the paper). A split vote
    may mean that the classes are light and shadow rather than ink and paper, so the vote is
    taken again on the picture less a wide median (its light and shadows); if that is split
    too, the first vote stands. So may a clear vote for light ink whose classes are only
    loosely apart (see TWO_TONES): a page half in shadow beside a dark desk gives its lit part
    as the bright class, holding less of the border than the shadow and the desk, and the paper
    was taken for ink; a clear vote on the picture less its light then stands instead. (Only
    that vote gets the second look, which costs a wide median: dark ink on light paper is the
    commonest picture, and a photo's light often leaves its classes loosely apart.) A tall,
    narrow picture with a split vote is a stroke cropped to its box (a 1): the ink is the class
    along its middle. With no vote (a faint or tiny digit, where the classes split the paper's
    own noise), the ink is whichever extreme lies further from the border's median.

    The answer is unclear when two well-separated classes split the first vote and the picture
    is no cropped 1: a thick digit cropped tight, covering about as much of the border, the
    corners and the area as its paper. The caller may then read it both ways.
    """
    raw, apart = _paper_vote(grey)
    if raw is not None and abs(raw - 0.5) >= 0.15:
        if raw < 0.5 and apart < TWO_TONES:  # light ink, or a ramp of light?
            flat, _ = _paper_vote(grey - _wide_median(grey))
            if flat is not None and abs(flat - 0.5) >= 0.15:
                return flat < 0.5, True
        return raw < 0.5, True
    h, w = grey.shape
    if raw is not None and h >= 2.5 * w:  # a 1 cropped to its box: the stroke runs along
        spine = grey[:, w // 3 : -(w // 3) or None]  # the middle, from end to end
        return float(np.mean(spine > otsu(grey))) >= 0.5, True
    clear = raw is None
    image = grey - _wide_median(grey)
    flat, _ = _paper_vote(image)
    if flat is not None and abs(flat - 0.5) >= 0.15:
        return flat < 0.5, clear
    if raw is not None:
        return raw < 0.5, clear
    paper = float(np.median(border(image)))
    smooth = box3(image) if min(image.shape) >= 8 else image
    low, high = np.percentile(smooth, [0.2, 99.8])
    return (high - paper) >= (paper - low), clear


def _paper_vote(grey: np.ndarray) -> tuple[float | None, float]:
    """How much the bright class looks like paper (0..1), or None if the classes overlap; and
    how far apart they are (Otsu's separability)."""
    t = otsu(grey)
    apart = separability(grey, t)
    if apart < SEPARATED:
        return None, apart
    bright = grey > t
    h, w = grey.shape
    ch, cw = max(1, h // 8), max(1, w // 8)
    corners = np.concatenate(
        [bright[:ch, :cw].ravel(), bright[:ch, -cw:].ravel(),
         bright[-ch:, :cw].ravel(), bright[-ch:, -cw:].ravel()]
    )  # fmt: skip
    return float(np.mean([border(bright).mean(), corners.mean(), bright.mean()])), apart


def _wide_median(grey: np.ndarray) -> np.ndarray | float:
    """The median of a window a quarter of the picture wide around each pixel, on a coarse copy."""
    h, w = grey.shape
    if small(grey.shape):
        return float(np.median(grey))
    coarse = _coarse(grey, max(1, max(h, w) // 32), np.mean)
    r = max(1, round(0.25 * max(coarse.shape)))
    padded = np.pad(coarse, r, mode="reflect" if min(coarse.shape) > r else "edge")
    windows = np.lib.stride_tricks.sliding_window_view(padded, (2 * r + 1, 2 * r + 1))
    return _resize(np.median(windows, axis=(2, 3)), (h, w))


def separability(values: np.ndarray, t: float) -> float:
    """Otsu's measure of how well `t` splits the values: between-class over total variance.

    About 0.64 (2/pi) when it splits one Gaussian, such as the noise of blank paper; near 1 for
    ink and paper.
    """
    lo = values <= t
    w0 = float(lo.mean())
    total = float(values.var())
    if w0 in (0.0, 1.0) or total <= 0:
        return 0.0
    gap = float(values[lo].mean() - values[~lo].mean())
    return w0 * (1 - w0) * gap * gap / total


def paper_surface(ink: np.ndarray) -> np.ndarray | float:
    """The paper's level under bright-on-dark ink: a smooth surface, or one level if small.

    A grey-level opening ("rolling ball") on a coarse copy of the picture: bright things
    narrower than the structuring element (strokes, even thick ones) are removed, while the
    paper's slow changes of light, and shadows wider than it, are followed.
    """
    h, w = ink.shape
    if small(ink.shape):
        return paper_level(ink)
    coarse = _coarse(box3(ink), _coarse_step(ink.shape), np.min)
    r = max(1, round(OPENING * max(coarse.shape)))
    opened = max_filter(_min_filter(coarse, r), r)
    return _resize(box3(opened), (h, w))


def paper_level(ink: np.ndarray) -> float:
    """One level for the whole paper: the median of Otsu's paper class."""
    return float(np.median(ink[ink <= otsu(ink)]))


def surface_took_ink(page: Page, digit: np.ndarray) -> bool:
    """Whether the paper's surface may have taken some of a digit (a mask) for shadow; False
    where the page was read with one paper level.

    The opening takes any bright region wider than its element for paper in shadow: the body of
    a digit drawn with a thick brush, the blocks of a low-resolution digit filling its frame, a
    7's bar running along the picture's top (the picture's sides are padded with their own
    values). The surface then rises inside the digit, and the ink there loses its strength (a
    square hole in a thick 6). It is taken to have done so when either:

    - the surface's highest point in the digit's box stands RISE of the ink's contrast above
      the surface in a margin a quarter of the digit's size around the box (a shadow, or light
      changing across the picture, also lies around the digit; the margin's 90th percentile,
      so a shadow reaching out of the box need cover only a tenth of it, taken from two of the
      surface's coarse cells off the box, which its smoothing blurs into), or above its lowest
      level where the digit leaves no margin; or
    - the surface in the box with that margin comes within 1 - DEEP of the ink's own level
      (the ink in a shadow that dark could hardly be seen): a stroke taken for shadow beside
      the rest of the digit, which the margin holds (the bar beside a 7's stem).
    """
    if page.surface is None or page.raw is None:  # read with one paper level (both or neither)
        return False
    box = mask_box(digit)
    if box is None:
        return False
    left, top, right, bottom = box
    surface = page.surface
    ink = float(np.percentile(page.raw[digit], 90))  # the digit's own ink level
    low, high = float(surface.min()), float(surface.max())
    if high - low < RISE * (ink - high):  # too flat to rise by either test (both measure from
        return False  # levels of at least `low`, against a contrast of at least ink - high)
    base = float(np.percentile(surface, 2))
    contrast = max(ink - base, 1e-6)
    m, near = max(bottom - top, right - left) // 4, 2 * _coarse_step(surface.shape)
    outer = (slice(max(0, top - m), bottom + m), slice(max(0, left - m), right + m))
    if float(surface[outer].max()) - base >= DEEP * contrast:
        return True
    margin = np.zeros(surface.shape, bool)
    margin[outer] = True
    margin[max(0, top - near) : bottom + near, max(0, left - near) : right + near] = False
    around = float(np.percentile(surface[margin], 90)) if margin.sum() >= RISE_MARGIN else base
    return float(surface[top:bottom, left:right].max()) - around >= RISE * contrast


def _coarse_step(shape: tuple[int, int]) -> int:
    """Pixels per cell of the coarse copy the paper's surface is found on."""
    return max(1, max(shape) // COARSE)


def small(shape: tuple[int, int]) -> bool:
    """Too small, or too thin, to be a photo with uneven light: one paper level will do."""
    return max(shape) < SMALL or min(shape) < THIN


def _coarse(a: np.ndarray, step: int, reduce) -> np.ndarray:
    """Blocks of step x step reduced to one value each (edges padded to whole blocks)."""
    h, w = a.shape
    gy, gx = -(-h // step), -(-w // step)
    a = np.pad(a, ((0, gy * step - h), (0, gx * step - w)), mode="edge")
    return reduce(a.reshape(gy, step, gx, step), axis=(1, 3))


def _min_filter(a: np.ndarray, r: int) -> np.ndarray:
    for axis in (0, 1):
        pad = [(0, 0), (0, 0)]
        pad[axis] = (r, r)
        padded = np.pad(a, pad, mode="edge")
        a = np.lib.stride_tricks.sliding_window_view(padded, 2 * r + 1, axis).min(axis=-1)
    return a


def max_filter(a: np.ndarray, r: int) -> np.ndarray:
    """Each value the maximum of the (2r+1) x (2r+1) square around it (a grey dilation)."""
    return -_min_filter(-a, r)


def _resize(grid: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    img = Image.fromarray(grid.astype(np.float32)).resize(size[::-1], Image.Resampling.BILINEAR)
    return np.asarray(img, np.float32)


def grow(mask: np.ndarray, radius: int = 1, axes: tuple[int, ...] = (0, 1)) -> np.ndarray:
    """The mask widened by `radius` pixels in every direction (a square dilation, in O(1) per
    pixel through running sums), or along the given axes only."""
    if radius <= 0:
        return mask
    out = mask.astype(np.int32)
    for axis in axes:
        pad = [(0, 0), (0, 0)]
        pad[axis] = (radius + 1, radius)
        sums = np.cumsum(np.pad(out, pad), axis=axis)
        n = 2 * radius + 1
        out = sums[n:] - sums[:-n] if axis == 0 else sums[:, n:] - sums[:, :-n]
    return out > 0


def hollow_insides(mask: np.ndarray) -> np.ndarray | None:
    """The insides of a hollow digit's strokes (an outline font, a child's 'bubble' digit), to be
    filled; None for a digit drawn with solid strokes.

    Drawn as outlines, a digit's strokes are thin lines in pairs, and the model reads the pairs
    as strokes of their own (an outlined 7 as an 8). The inside of a hollow stroke is a hole in
    the ink shaped like the stroke: long and narrow (its mean width, twice its area over its
    boundary, HOLLOW_WIDE of the digit's size at most, its length HOLLOW_LONG times that at
    least), and wider than the lines around it (HOLLOW_LINE); a solid digit's holes, its loops,
    are round or as wide as a third of the digit. Holes are looked for in the mask with its
    diagonal steps closed (a one-pixel line of a small outline joins its pixels only at their
    corners), and in the mask grown by a pixel (a sketched outline leaves gaps of a pixel or
    two), grown back to their size. A ring with a stroke running into it from its side (a 1
    circled, touching the ring) closes in such a hole too, around the stroke's free end; filled,
    it is a round, solid blob (its box RING_ROUND as wide as tall, RING_CONVEX of its hull), which
    no digit is, and it is left as drawn.
    """
    box = mask_box(mask)
    if box is None:
        return None
    left, top, right, bottom = box
    lines = _closed_diagonals(mask[top:bottom, left:right])
    size, line = max(bottom - top, right - left), stroke_width(lines)
    if HOLLOW_LINE * line > HOLLOW_WIDE * size:  # no hole can be wider than the lines and
        return None  # narrow enough: strokes this thick are solid (most digits end here)
    found = holes(lines) | grow(holes(grow(lines, 1)), 1) & ~lines
    if found.sum() < HOLLOW_SHARE * lines.sum():  # not even with every hole filled
        return None
    insides = np.zeros_like(found)
    each = parts(found)
    for k in range(len(each)):
        hole = np.pad(each.labels[each.top[k] : each.bottom[k], each.left[k] : each.right[k]], 1)
        width = stroke_width(hole == k + 1)  # (padded: its sides are boundary)
        long = each.area[k] >= HOLLOW_LONG * width * width
        if long and HOLLOW_LINE * line <= width <= HOLLOW_WIDE * size:
            insides |= each.labels == k + 1
    if insides.sum() < HOLLOW_SHARE * lines.sum():
        return None
    solid = lines | insides
    if min(solid.shape) >= RING_ROUND * max(solid.shape) and convex(solid):
        return None  # a round, solid blob is no digit: a ring with a stroke running into it
    out = np.zeros(mask.shape, bool)
    out[top:bottom, left:right] = insides
    return out


def _closed_diagonals(mask: np.ndarray) -> np.ndarray:
    """The mask with each pixel added whose two neighbours on one of its corners are in it, so
    that a line joined only at its pixels' corners closes in what it surrounds."""
    p = np.pad(mask, 1)
    up, down, left, right = p[:-2, 1:-1], p[2:, 1:-1], p[1:-1, :-2], p[1:-1, 2:]
    return mask | (up & right) | (up & left) | (down & right) | (down & left)


def stretch(ink: np.ndarray) -> np.ndarray:
    """Zero the paper and its noise, and bring the ink's level to 1, as MNIST strokes are."""
    t = otsu(ink)
    separated = separability(ink, t) >= SEPARATED  # else Otsu split the paper's own noise,
    paper = ink[ink <= t] if separated else ink  # ... the ink being a tiny part of the picture
    smooth = box3(ink) if min(ink.shape) >= 3 else ink
    peak = float(np.percentile(smooth, 99.9)) if smooth.size >= 1000 else float(smooth.max())
    for commonest in (False, True) if separated else (False,):
        level, noise = _level_and_noise(paper, commonest)
        floor = level + max(4 * noise, 0.01)
        if peak - level >= MIN_CONTRAST and peak >= floor + 2 * noise:
            break
    else:
        raise NoInkError()
    strong = ink[smooth > floor + 0.5 * (peak - floor)]
    top = float(np.median(strong)) if strong.size else peak
    return np.clip((ink - floor) / max(top - floor, 1e-6), 0.0, 1.0).astype(np.float32)


def _level_and_noise(values: np.ndarray, commonest: bool = False) -> tuple[float, float]:
    """The median (or the commonest value) and, from the values below it, a robust standard
    deviation (from a sample of at most SAMPLE values: statistics of the paper need no more).

    The paper class of a blurred digit filling the frame can hold as many pixels of the
    strokes' soft edges as of paper: its median then lies up the edges' ramp, and the spread
    below it is the ramp's, not the paper's noise, so high that no ink stands above it; its
    commonest value is still the paper's."""
    values = values.ravel()
    if values.size > SAMPLE:
        values = values[:: values.size // SAMPLE]
    if commonest and values.size:
        counts, edges = np.histogram(values, bins=LEVEL_BINS)
        k = int(np.argmax(counts))
        level = float(np.median(values[(values >= edges[k]) & (values <= edges[k + 1])]))
    else:
        level = float(np.median(values))
    below = values[values <= level]
    return level, 1.4826 * float(np.median(level - below)) if below.size else 0.0


@dataclass
class Page:
    """A picture's ink at the working resolution, and its parts."""

    ink: np.ndarray  # float32 (h, w), 0 paper .. 1 the ink's level
    parts: Parts  # connected components of ink above INK_LEVEL
    keep: list[int]  # the parts that are not page edges or frames
    scale: tuple[float, float] = (1.0, 1.0)  # pixels of the original picture per pixel here
    white_on_black: bool = False  # the polarity it was read with
    unclear: bool = False  # whether the picture left its polarity unclear (see polarity)
    turn: Turn | None = None  # how the picture was turned before it was read (a sheet upright)
    raw: np.ndarray | None = None  # the ink before the paper's surface was taken away ...
    surface: np.ndarray | None = None  # ... and that surface (None: one paper level)


def clean(
    grey: np.ndarray, white_on_black: bool | None = None, flat: bool = False, clear: bool = True
) -> Page:
    """Grey levels in [0, 1] -> the page's ink and its parts; the polarity is found unless given
    (`clear`: whether a given one was clear, see polarity). `flat`: the paper taken as one level
    (see surface_took_ink), not a surface."""
    if white_on_black is None:
        white_on_black, clear = polarity(grey)
    unclear = not clear
    raw = grey if white_on_black else 1.0 - grey
    surface = paper_level(raw) if flat else paper_surface(raw)
    ink = stretch(raw - surface)
    edges = page_edges(ink)
    ink = erase_edges(ink, edges)
    slopes = line_slopes(ink)
    ink = remove_ruling(erase_frames(ink, edges, slopes), slopes, edges)
    found, keep = kept_parts(ink)
    keep, ink = drop_shadows(found, keep, ink)
    uneven = isinstance(surface, np.ndarray)
    return Page(ink, found, keep, white_on_black=white_on_black, unclear=unclear,
                raw=raw if uneven else None, surface=surface if uneven else None)  # fmt: skip


def kept_parts(ink: np.ndarray) -> tuple[Parts, list[int]]:
    """The ink's parts (above INK_LEVEL), and those kept: all but what is left of a page's edge."""
    found = parts(ink > INK_LEVEL, ink)
    return found, [k for k in range(len(found)) if not lines_an_edge(found, k)]


def paint_desk(grey: np.ndarray, sheet: np.ndarray, level: float) -> np.ndarray:
    """The picture with everything off the sheet (a mask), and the sheet's rim, painted in the
    sheet's level."""
    painted = grey.copy()
    painted[grow(~sheet, 2)] = level
    return painted


@dataclass(frozen=True)
class Turn:
    """A picture turned `angle` degrees counter-clockwise about its centre, on a canvas grown
    to hold all of it: the way back from the turned picture's pixels to the picture's."""

    angle: float
    size: tuple[int, int]  # (width, height) before the turn
    turned: tuple[int, int]  # ... and after

    def back(self, x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Points (pixel coordinates, centres at whole numbers) of the turned picture -> the
        picture's."""
        t = np.radians(self.angle)
        dx, dy = x + 0.5 - self.turned[0] / 2, y + 0.5 - self.turned[1] / 2
        return (
            np.cos(t) * dx - np.sin(t) * dy + self.size[0] / 2 - 0.5,
            np.sin(t) * dx + np.cos(t) * dy + self.size[1] / 2 - 0.5,
        )


def turn(grey: np.ndarray, angle: float, fill: float) -> tuple[np.ndarray, Turn]:
    """The picture turned `angle` degrees counter-clockwise on a canvas grown to hold all of it,
    its new corners filled with `fill`."""
    img = Image.fromarray(grey.astype(np.float32))
    turned = img.rotate(angle, Image.Resampling.BILINEAR, expand=True, fillcolor=float(fill))
    return np.asarray(turned, dtype=grey.dtype), Turn(angle, img.size, turned.size)


class Sheet(NamedTuple):
    """A sheet of paper found lying on a desk (see find_sheet)."""

    mask: np.ndarray  # bool, the picture's size
    level: float  # the sheet's grey level
    angle: float  # degrees counter-clockwise its sides lie at, in [-45, 45)


def find_sheet(grey: np.ndarray, white_on_black: bool) -> Sheet | None:
    """The mask, grey level and angle of a sheet of paper lying on a desk (a note, a card, a slate)
    with writing on it, when the picture shows one; else None. Such a picture's border shows
    the desk, so the polarity vote takes the desk for the paper and the whole sheet for the ink.

    The sheet is found in the picture's own two tones (Otsu on the grey, not on the page's ink,
    whose paper surface flattens a sheet wider than its rolling ball): the largest part of the
    tone the vote took for ink. A sheet covers a twentieth of the picture or more, runs off at
    most three of its sides (a thick digit cropped tight runs off all four), and off three only
    if its edge within the picture is a step (the part of a page in a soft shadow fades out),
    leaves a tenth of the picture to the desk, holds writing (holes of the other tone covering
    at most a quarter of it), and is convex and a quadrilateral (a rectangle seen straight or
    at an angle), not the oval of a 0 drawn thick. Its angle is that of the smallest rectangle
    around it (see smallest_rectangle). A picture too small to be a photo (see small) shows no
    desk: a bold 0 set snug passes for a sheet."""
    if small(grey.shape):
        return None
    tone = grey if white_on_black else 1.0 - grey
    h, w = grey.shape
    found = _solid_region(
        grey, tone, lambda area, sides: area >= SHEET * h * w and sides <= SHEET_SIDES
    )  # a thick digit cropped tight runs off all four sides
    if found is None:
        return None
    sheet, sides, _, level, outline = found
    if sheet.sum() > (1 - SHEET_DESK) * h * w:
        return None  # no desk around it
    if largest_quadrilateral(outline) < SHEET_SQUARE * polygon_area(outline):
        return None  # an oval, a 0 drawn thick, not a sheet seen straight or at an angle
    angle = smallest_rectangle(outline)[1]
    if sides == SHEET_SIDES and edge_contrast(grey, sheet) < SHEET_EDGE:
        return None  # a lit part of a page, running off three sides, in a soft shadow
    return Sheet(sheet, level, angle)


def find_page(grey: np.ndarray, white_on_black: bool) -> Sheet | None:
    """The page itself, when the desk beyond it shows along the picture's sides: a page
    photographed at an angle shows the desk in wedges, in the tone of the ink, and the first
    reading takes what the paper's surface leaves of them for the digit's strokes.

    The page is the largest part of the paper's tone, its writing filled in; it must be
    convex and hold writing (as a sheet on a desk, see find_sheet), and its edge must be a step;
    what lies off it must cover a fiftieth of the picture (PAGE_DESK) and a quarter of its
    border (PAGE_BORDER: a digit filling its frame runs to the sides in a few strokes), and lie
    in the ink's tone nearly all over (PAGE_DARK): the desk, not paper beyond a box drawn
    around the digit or beyond the ring of a bold 0 set tight."""
    if small(grey.shape):
        return None
    tone = 1.0 - grey if white_on_black else grey  # the paper's tone bright
    h, w = grey.shape
    found = _solid_region(
        grey,
        tone,
        lambda area, sides: area <= (1 - PAGE_DESK) * h * w,
        lambda paper: border(~paper).mean() >= PAGE_BORDER * PAGE_DARK,
    )  # (the desk: along the border, nearly all of it in the ink's tone; checked first, cheaply)
    if found is None:
        return None
    sheet, _, paper, level, _ = found
    desk = ~sheet
    if desk.sum() < PAGE_DESK * h * w or (desk & paper).sum() > (1 - PAGE_DARK) * desk.sum():
        return None
    if border(desk).mean() < PAGE_BORDER:
        return None  # strokes of a digit filling the frame, running to its sides
    if edge_contrast(grey, sheet) < SHEET_EDGE:
        return None  # light and shadow, not a page's edge
    return Sheet(sheet, level, 0.0)


def _solid_region(grey: np.ndarray, tone: np.ndarray, early, upper=lambda above: True):
    """(region, the picture's sides it runs off, the tone's upper class, the region's grey level,
    its convex hull) of the largest part of `tone`'s upper class with its holes filled, when the
    two classes are well apart, `upper(the upper class)` and `early(the part's area, its sides)`
    hold, the region holds
    writing (holes of the lower class covering at most SHEET_WRITING of it) and it is convex;
    else None."""
    cut = otsu(tone)
    if separability(tone, cut) < SEPARATED:
        return None
    above = box3(tone) > cut
    if not upper(above):
        return None
    p = parts(above)
    if not len(p):
        return None
    k = int(np.argmax(p.area))
    h, w = grey.shape
    top, left, bottom, right = p.top[k], p.left[k], p.bottom[k], p.right[k]
    sides = int(top == 0) + int(left == 0) + int(bottom == h) + int(right == w)
    if not early(int(p.area[k]), sides):
        return None
    box = (slice(top, bottom), slice(left, right))  # holes lie inside the part's box
    mask = p.labels[box] == k + 1
    closed_in = holes(mask)
    filled = mask | closed_in
    writing = closed_in & ~above[box]  # a 0's island of paper is the sheet's, not writing
    if not writing.any():
        return None
    outline = hull(filled)
    hull_size = polygon_area(outline)
    if filled.sum() < SHEET_CONVEX * hull_size or writing.sum() > SHEET_WRITING * hull_size:
        return None
    region = np.zeros(grey.shape, bool)
    region[box] = filled
    return region, sides, above, float(np.median(grey[box][mask])), outline


def edge_contrast(grey: np.ndarray, region: np.ndarray) -> float:
    """How sharp a region's edge is: the contrast between the grey just inside its edge and just
    outside it (2 px each way), as a share of the contrast between the region and the rest. The
    edge of a sheet lying on a desk is a step (near 1); a lit patch in a soft shadow fades out
    over tens of pixels (a small share)."""
    rest = ~region
    inside = region & grow(rest, EDGE_RING)
    outside = rest & grow(region, EDGE_RING)
    if not inside.any() or not outside.any():
        return 0.0
    far = float(np.median(grey[region])) - float(np.median(grey[rest]))
    near = float(np.median(grey[inside])) - float(np.median(grey[outside]))
    return near / far if far else 0.0


def hull(mask: np.ndarray) -> np.ndarray:
    """The convex hull of a mask's pixels (as unit squares): its corners (n, 2) as (x, y), by a
    monotone chain over the corners of each row's leftmost and rightmost pixels."""
    rows = np.flatnonzero(mask.any(1))
    if rows.size == 0:
        return np.zeros((0, 2))
    sub = mask[rows]
    left = sub.argmax(1)
    right = sub.shape[1] - 1 - sub[:, ::-1].argmax(1)
    ys = np.concatenate([rows - 0.5, rows + 0.5, rows - 0.5, rows + 0.5])
    xs = np.concatenate([left - 0.5, left - 0.5, right + 0.5, right + 0.5])
    points = sorted(set(zip(xs.tolist(), ys.tolist(), strict=True)))

    def half(ordered):
        chain: list = []
        for q in ordered:
            while len(chain) >= 2:
                (ax, ay), (bx, by) = chain[-2], chain[-1]
                if (bx - ax) * (q[1] - ay) - (by - ay) * (q[0] - ax) > 0:
                    break
                chain.pop()
            chain.append(q)
        return chain[:-1]

    return np.array(half(points) + half(points[::-1]))


QUAD_CORNERS = 96


def largest_quadrilateral(polygon: np.ndarray) -> float:
    """The area of the largest quadrilateral with its corners among a convex polygon's (n, 2):
    for each diagonal, the farthest corner on either side of it. A quadrilateral's own area; a
    disc's 2/pi of it. A polygon of many corners (a curved outline) is thinned to QUAD_CORNERS
    of them, evenly, first: the work grows as their cube."""
    if len(polygon) > QUAD_CORNERS:
        polygon = polygon[np.linspace(0, len(polygon), QUAD_CORNERS, endpoint=False).astype(int)]
    n = len(polygon)
    if n < 4:
        return polygon_area(polygon) if n == 3 else 0.0
    x, y = polygon[:, 0], polygon[:, 1]
    # twice the signed area of each triangle (i, j, k): cross[i, j, k]
    dx, dy = x[None, :] - x[:, None], y[None, :] - y[:, None]  # (i, j): j - i
    cross = dx[:, :, None] * dy[:, None, :] - dy[:, :, None] * dx[:, None, :]
    i, j, k = np.ogrid[:n, :n, :n]
    between = (i < j) & (j < k)  # j on the chain from i to k
    outside = (i < k) & ((j > k) | (j < i))  # ... or on the other chain
    one = np.where(between, np.abs(cross), 0).max(1)  # (i, k)
    other = np.where(outside, np.abs(cross), 0).max(1)
    return float((one + other).max() / 2)


def convex(filled: np.ndarray) -> bool:
    """Whether a mask (a ring or a digit with its holes filled in) covers RING_CONVEX of its
    convex hull: round and full, as a ring is, not waisted or bent."""
    return float(filled.sum()) >= RING_CONVEX * polygon_area(hull(filled))


def polygon_area(polygon: np.ndarray) -> float:
    """The area of a polygon given by its corners (n, 2) in order (the shoelace formula)."""
    x, y = polygon[:, 0], polygon[:, 1]
    return float(abs(np.dot(x, np.roll(y, 1)) - np.dot(y, np.roll(x, 1))) / 2)


def smallest_rectangle(polygon: np.ndarray) -> tuple[float, float]:
    """(area, angle) of the smallest rectangle, at any angle, around a convex polygon: one of
    its sides lies along one of the polygon's edges. The angle (degrees, in [-45, 45), positive
    counter-clockwise as the picture is seen) is that of the side nearer the horizontal."""
    edges = np.roll(polygon, -1, axis=0) - polygon
    lengths = np.hypot(edges[:, 0], edges[:, 1])
    edges = edges[lengths > 0] / lengths[lengths > 0, None]
    if not edges.size:
        return 0.0, 0.0
    along = polygon @ edges.T  # (corners, directions)
    across = polygon @ np.stack([-edges[:, 1], edges[:, 0]], axis=1).T
    areas = np.ptp(along, axis=0) * np.ptp(across, axis=0)
    best = int(areas.argmin())
    angle = -np.degrees(np.arctan2(edges[best, 1], edges[best, 0]))  # rows run down
    return float(areas[best]), float((angle + 45.0) % 90.0 - 45.0)


EDGE_FILL = 0.8  # a line along a side with this much ink on it is the page's edge or the desk
EDGE_DEPTH = 0.35  # ... when the band of such lines is at most this deep
EDGE_STROKE = 0.5  # ... and no stroke holding this share of the ink beyond the band hangs from it
EDGE_REACH = 0.75  # ... running this share of the way across the picture


class Edges(NamedTuple):
    """How deep a band along each side of the picture was erased as the page's edge (0: none)."""

    top: int = 0
    bottom: int = 0
    left: int = 0
    right: int = 0


def erase_page_edges(ink: np.ndarray) -> np.ndarray:
    """The ink with the bands page_edges finds erased."""
    return erase_edges(ink, page_edges(ink))


def erase_edges(ink: np.ndarray, edges: Edges) -> np.ndarray:
    """The ink with a band of each side's depth in `edges` zeroed."""
    if not any(edges):
        return ink
    h, w = ink.shape
    out = ink.copy()
    out[: edges.top], out[h - edges.bottom :] = 0, 0
    out[:, : edges.left], out[:, w - edges.right :] = 0, 0
    return out


def page_edges(ink: np.ndarray) -> Edges:
    """Bands along the picture's sides where nearly every pixel is inked: the page's edge with
    the desk beyond it, a scanner's dark border. Left alone: a band as deep as a third of the
    picture (a digit cropped to its box), and a band from which strokes run on inward (the bar
    of a 7 cropped tight: its stem crosses the line just inside the band, or hangs from it
    across the picture while holding most of the ink beyond the band)."""
    h, w = ink.shape
    if small((h, w)):
        return Edges()
    inked = ink > LINE_LEVEL
    found = {}
    for fill, n, side in (
        (inked.mean(1), h, "top"), (inked.mean(1)[::-1], h, "bottom"),
        (inked.mean(0), w, "left"), (inked.mean(0)[::-1], w, "right"),
    ):  # fmt: skip
        depth = int(np.argmin(fill >= EDGE_FILL)) if not (fill >= EDGE_FILL).all() else n
        if depth == 0 or depth > EDGE_DEPTH * n:
            continue
        depth = min(n, depth + 2)  # and the band's soft inner edge
        inside = fill[min(depth + 1, n - 1)]
        if _touches_other_sides(inked, side, depth) >= 2 and 0.02 <= inside < 0.5:
            continue  # a tight crop whose strokes run on from the band
        if _stroke_hangs_from(_beyond(ink, side, depth), depth):
            continue  # a bar and its stem filling the frame: a 7, the base of a 2
        found[side] = depth
    return Edges(**found)


def _beyond(ink: np.ndarray, side: str, depth: int) -> np.ndarray:
    """The ink beyond a band of `depth` along `side`, turned so that its row 0 borders the band."""
    h, w = ink.shape
    return {
        "top": ink[depth:], "bottom": ink[: h - depth][::-1],
        "left": ink[:, depth:].T, "right": ink[:, : w - depth][:, ::-1].T,
    }[side]  # fmt: skip


def _stroke_hangs_from(beyond: np.ndarray, depth: int) -> bool:
    """Whether strong ink touching row 0 (the inner edge of a band `depth` deep) holds most of
    the ink beyond the band and runs most of the way across it: a digit's stroke, where a page's
    edge has at most ruling, or its shadow, running on from it. A part that meets the band
    only by lines under half its depth is printed (a form's box or comb running up to the desk
    beyond the page): a digit's stem is as wide as the bar of the same pen it hangs from."""
    found = parts(beyond > INK_LEVEL, beyond)
    if len(found) == 0:
        return False
    contact = found.labels[0]
    touching = np.unique(contact[contact > 0]) - 1
    thin = max(2.0, RULING_THICKNESS * beyond.shape[1])  # a printed line running on, not a stroke
    touching = touching[found.width[touching] > thin]
    _, starts, ends = runs(contact[None] > 0)
    widest = np.zeros(len(found), np.int64)  # each part's widest run along the band
    np.maximum.at(widest, contact[starts] - 1, ends - starts)
    touching = touching[widest[touching] > depth / 2]
    if touching.size == 0:
        return False
    held = found.mass[touching].sum() / found.mass.sum()
    reach = found.bottom[touching].max() / beyond.shape[0]
    return bool(held >= EDGE_STROKE and reach >= EDGE_REACH)


def _touches_other_sides(inked: np.ndarray, side: str, depth: int) -> int:
    """How many of the other three sides the ink touches (comes within 4 % of), the band itself
    left out."""
    rest = {
        "left": inked[:, depth:], "right": inked[:, : inked.shape[1] - depth],
        "top": inked[depth:], "bottom": inked[: inked.shape[0] - depth],
    }[side]  # fmt: skip
    y, x = (max(2, round(0.04 * n)) for n in rest.shape)
    edges = {"left": rest[:, :x], "right": rest[:, -x:], "top": rest[:y], "bottom": rest[-y:]}
    return sum(bool(edge.any()) for name, edge in edges.items() if name != side)


def soft_share(found: Parts, k: int, ink: np.ndarray) -> float:
    """The share of part k's boundary along which its ink rises softly: by less than SOFT_EDGE
    of the part's level a pixel (a shadow's penumbra, many pixels wide; a pen's edge takes one
    to three)."""
    top, left, bottom, right = found.top[k], found.left[k], found.bottom[k], found.right[k]
    box = (slice(max(top - 1, 0), bottom + 1), slice(max(left - 1, 0), right + 1))
    mine, a = found.labels[box] == k + 1, ink[box]
    edge = mine & ~interior(mine)
    gy, gx = np.gradient(a) if min(a.shape) >= 2 else (np.zeros_like(a), np.zeros_like(a))
    level = max(float(np.percentile(a[mine], 90)), 1e-6)
    return float(np.mean(np.hypot(gx, gy)[edge] < SOFT_EDGE * level))


def drop_shadows(found: Parts, keep: list[int], ink: np.ndarray) -> tuple[list[int], np.ndarray]:
    """The kept parts less those that are a shadow's (a hand's or a phone's, reaching into the
    photo from its side, too narrow for the paper's surface to follow): soft along at least
    SOFT of their boundary, and covering SHADOW_AREA of the largest sharp part or more, while a
    part with SHADOW_BESIDE of their ink or more is sharp (soft along at most SHARP of its).
    Those parts, and a ring of SHADOW_RIM px around them, are taken out of the ink. A picture
    whose every part is soft (out of focus, a low-resolution digit upscaled smoothly) keeps them
    all; so does a smaller faint piece beside a sharper body (a light stroke of a
    low-resolution digit, upscaled smoothly: the development set lost two 8s and a 7 so)."""
    if small(ink.shape) or len(keep) < 2:
        return keep, ink
    soft = {k: soft_share(found, k, ink) for k in keep if found.area[k] >= 2}
    shadows = [k for k, share in soft.items() if share >= SOFT]
    sharp = [k for k, share in soft.items() if share <= SHARP]
    if not shadows or not sharp:
        return keep, ink
    heaviest = max(float(found.mass[k]) for k in sharp)
    widest = max(int(found.area[k]) for k in sharp)
    shadows = [
        k for k in shadows
        if heaviest >= SHADOW_BESIDE * found.mass[k] and found.area[k] >= SHADOW_AREA * widest
    ]  # fmt: skip
    if not shadows:
        return keep, ink
    cleared = ink * ~grow(found.mask_of(shadows), SHADOW_RIM)
    return [k for k in keep if k not in shadows], cleared


def without_ring(page: Page) -> Page | None:
    """The page without a ring drawn around its digit and touching it (a circled answer), or
    None: its heaviest part, filled in, is convex and an ellipse (a box drawn around a digit is
    square), and taking away its rim (RING_RIM stroke widths deep) leaves ink at least
    RING_ENCLOSED of its height tall, and not one straight stroke. A 0 leaves nothing, an 8 its
    waist, a 4 or 6 filled in is not convex, a slashed 0 its slash (which a ring around a 1 and
    touching it would leave too: such a ring stays, the 0 is the likelier); a 0 whose pen ran on
    inside it in a curve leaves that curve, so the caller reads both and keeps the surer."""
    found, keep = page.parts, page.keep
    if not keep:
        return None
    k = max(keep, key=lambda k: found.mass[k])
    top, left, bottom, right = found.top[k], found.left[k], found.bottom[k], found.right[k]
    h, w = bottom - top, right - left
    if min(h, w) < RING_SIDE or min(h, w) < RING_ROUND * max(h, w):
        return None
    box = (slice(top, bottom), slice(left, right))
    mine = found.labels[box] == k + 1
    filled = mine | holes(mine)
    area = float(filled.sum())
    if area > RING_ELLIPSE * np.pi / 4 * h * w or not convex(filled):
        return None
    depth = max(1, round(RING_RIM * stroke_width(mine)))
    rim = mine & grow(np.pad(~filled, 1, constant_values=True), depth)[1:-1, 1:-1]
    rows = np.flatnonzero((mine & ~rim).any(1))
    if rows.size == 0 or rows[-1] - rows[0] + 1 < RING_ENCLOSED * h or _straight(mine & ~rim):
        return None
    ink = page.ink.copy()
    ink[box] *= ~grow(rim, 1)
    found, keep = kept_parts(ink)
    return replace(page, ink=ink, parts=found, keep=keep)


def _straight(mask: np.ndarray) -> bool:
    """Whether a mask's pixels lie along one straight line (its spread across its main axis is
    under RING_STRAIGHT of the spread along it)."""
    ys, xs = np.nonzero(mask)
    if ys.size < 3:
        return True
    spread = np.linalg.eigvalsh(np.cov(np.stack([ys, xs]).astype(np.float64)))
    return bool(spread[0] < RING_STRAIGHT * max(spread[1], 1e-9))


def lines_an_edge(found: Parts, k: int) -> bool:
    """A part along most of one side of the picture and shallow: what is left of a page's
    edge (a wedge of desk, a speckled strip)."""
    h, w = found.labels.shape
    if small((h, w)):
        return False
    mine = found.labels == k + 1
    along = (
        (mine[0].mean(), found.height[k] / h), (mine[-1].mean(), found.height[k] / h),
        (mine[:, 0].mean(), found.width[k] / w), (mine[:, -1].mean(), found.width[k] / w),
    )  # fmt: skip
    return any(cover > 0.6 and depth < EDGE_DEPTH for cover, depth in along)


FRAME_BAND = 0.1  # a box drawn around writing: its lines lie within this share of its size of
FRAME_LINES = 0.8  # ... its sides (or of a divider across it) with this share of its pixels,
FRAME_SIDE = 0.8  # ... each of its four sides drawn along this share of its length,
FRAME_DIVIDER = 0.9  # ... and of any divider along this share (a digit's stem stops short),
FRAME_HOLLOW = 0.5  # ... it covers at most this share of its box,
FRAME_HOLDS = 0.1  # ... and ink of at least this share of its lines' (a comb's: per box) inside it
FRAME_SPAN = 0.75  # (its sides are lines along at least this share of its part's box)
FRAME_CORNER = 3  # (px: and the lines across them stop within this of their ends)


def erase_frames(
    ink: np.ndarray,
    edges: Edges = Edges(),
    slopes: tuple[tuple[float, float], tuple[float, float]] | None = None,
) -> np.ndarray:
    """Erase the boxes drawn around writing (see frame_lines), with their soft edges, before
    the ruling is looked for: ruling removal would take a faint box's long sides and leave its
    short ones standing beside the digit as two 1s. A stroke that touches or crosses a box
    keeps its pixels off the box's lines. `edges`: the page's edges erased from the picture
    (see page_edges), which cut off a box as the picture's own sides do.

    A form photographed a few degrees off (its lines at `slopes`, see line_slopes) is looked at
    sheared level and upright, as remove_ruling does: a comb of boxes three degrees off drops
    by more than a tenth of its height along its length, and its dividers, too short to be
    ruling, stood as 1s beside the digit when a number is read as it lies. The dividers lean
    as far as the long lines (see turned_by): a photo turns both alike."""
    if small(ink.shape):
        return ink
    h, w = ink.shape
    turned = np.tan(np.radians(turned_by(slopes))) if slopes else 0.0
    tilt = [t if stepped(t, n) else 0.0 for t, n in zip((-turned, turned), (w, h), strict=True)]
    if not any(tilt):
        return _erase_frames(ink, edges, (0, 0))
    level, drops = shear(ink, tilt[0])  # the rows' lines level (columns shifted) ...
    upright, shifts = shear(level.T, tilt[1])  # ... and the columns' lines upright (rows)
    # the sides lie as far as the shifts in from the sheared picture's, the erased bands too
    slack = (int(drops.max()), int(shifts.max()))
    grown = Edges(*(d + slack[i // 2] if d else 0 for i, d in enumerate(edges)))
    erased = _erase_frames(np.ascontiguousarray(upright.T), grown, slack).T
    return np.ascontiguousarray(unshear(unshear(erased, shifts).T, drops))


def _erase_frames(ink: np.ndarray, edges: Edges, slack: tuple[int, int]) -> np.ndarray:
    found = parts(ink > LINE_LEVEL, ink)  # faint boxes too, as faint ruling
    everything = list(range(len(found)))
    erase = np.zeros(ink.shape, bool)
    for k in everything:
        lines = frame_lines(found, k, everything, edges, slack)
        if lines is not None:
            erase |= lines
    if not erase.any():
        return ink
    rest = (ink > LINE_LEVEL) & ~grow(erase, 1)
    return np.where(grow(erase, 2) & ~rest, np.float32(0), ink)


def frame_lines(
    found: Parts, k: int, keep: list[int], edges: Edges = Edges(), slack: tuple[int, int] = (0, 0)
) -> np.ndarray | None:
    """Part k's lines (a mask of the picture's size) if it is a box drawn around other ink: a
    form's field, the boxes of a comb (with dividers), a frame around a picture; else None.

    A box is made of straight lines (runs of ink at least two bands long) in bands along the
    four sides of its box, a tenth of its size deep (so a box photographed a few degrees off
    still is one), and across it (dividers), each side drawn along most of its length; nearly
    all of its ink in those bands is on those lines, a band's depth apart or more (squared
    paper is ruling); it is hollow; and it holds ink inside it,
    apart or touching it, at least a tenth of its lines' ink. A 0 drawn as a rectangle holds
    none; an oval 0 leaves the corners of its box empty, and a 1 or a 7 does not run along
    four sides. `slack`: how far (rows, columns) a side the photo or a page's edge cuts off
    may lie in from the picture's side (a sheared picture's, see erase_frames)."""
    h, w = found.height[k], found.width[k]
    if min(h, w) < 8 or found.area[k] > FRAME_HOLLOW * h * w:  # (most parts: strokes, specks)
        return None
    top, left, bottom, right = _lined_box(found, k)
    h, w = bottom - top, right - left
    mine = found.labels[top:bottom, left:right] == k + 1
    if min(h, w) < 8 or mine.sum() > FRAME_HOLLOW * h * w:
        return None
    d = max(2, round(FRAME_BAND * min(h, w)))
    across, divided = [], []  # the columns, then the rows, in a band of a line; any dividers
    for axis in (0, 1):  # the sides, and dividers inked along most of their length, as straight
        # as the picture lies level (see stepped): a digit's stem stops short, or slants
        covered = grow(mine, LEVEL_STEP, axes=(1 - axis,)).mean(axis) >= FRAME_DIVIDER
        divided.append(bool(covered[d:-d].any()))
        along = grow(covered[None], d, axes=(1,))[0]
        along[:d], along[-d:] = True, True
        across.append(along)
    # a thin line a little off level (or sheared level) steps a pixel across: joined over it
    upright = _long_runs(grow(mine, 1, axes=(1,)).T, 2 * d).T & mine & across[0][None, :]
    flat = _long_runs(grow(mine, 1, axes=(0,)), 2 * d) & mine & across[1][:, None]
    lines = upright | flat
    bands = (flat[:d], flat[-d:], upright[:, :d].T, upright[:, -d:].T)  # top, bottom, left, right
    drawn = [
        band.any(0).mean() >= FRAME_SIDE  # along most of the side, and thin where it lies
        # alone (a tenth of it, not under a digit running over or along it): a thick stroke of
        # a digit cropped tight is no line
        and np.percentile(band.sum(0)[band.any(0)], 10) <= d / 2
        for band in bands
    ]
    # two opposite sides that the photo cuts off (a comb running out of it) may lack lines; or
    # one, the other drawn, that a page's edge erased from the photo cuts off (a comb running
    # up to the desk); two lines from that edge to the photo's side are ruling, unless lines
    # divide them across (the comb's dividers)
    H, W = found.labels.shape
    off = (top, H - bottom, left, W - right)  # each side's distance from the photo's, as Edges
    by_photo = [gap <= slack[i // 2] for i, gap in enumerate(off)]
    # (2 px: the erased band's soft inner edge)
    by_edge = [0 < depth and gap <= depth + 2 for gap, depth in zip(off, edges, strict=True)]
    if not any(
        drawn[a] and drawn[a + 1]
        and all(drawn[b] or by_photo[b] or by_edge[b] for b in (c, c + 1))
        and (drawn[c] or drawn[c + 1] or divided[c == 0] or not (by_edge[c] or by_edge[c + 1]))
        for a, c in ((0, 2), (2, 0))
    ):  # fmt: skip
        return None
    in_bands = across[0][None, :] | across[1][:, None]
    # writing that runs over a line (a digit over its box's side) runs out of the bands: the
    # ink in them that is neither a line nor such a stroke is the box's, and mostly lines
    strokes = parts(mine & ~grow(lines, 1)).labels
    over = np.zeros(strokes.max() + 1, bool)
    over[strokes[~in_bands]] = True  # into the box, or out of it (see _lined_box)
    over[np.concatenate([strokes[[0, -1]].ravel(), strokes[:, [0, -1]].ravel()])] = True
    over[0] = False
    if lines.sum() < FRAME_LINES * (mine & in_bands & ~over[strokes]).sum():
        return None
    for axis in (0, 1):  # lines lying level (upright) closer than a band is deep: ruling,
        # squared paper, lines joined by a margin's line; not a box (a band holds one line)
        plumb = grow(mine, 1, axes=(1 - axis,)).mean(axis) >= FRAME_DIVIDER
        if _runs_per_band(plumb, across[axis]).max(initial=0) > 1:
            return None
    inside = sum(
        found.mass[j] for j in keep
        if j != k and found.top[j] > top and found.bottom[j] < bottom
        and found.left[j] > left and found.right[j] < right
    )  # fmt: skip
    # what is written in it: apart, or touching, crossing or running along its lines
    traced = _traced(mine, across[1]) | _traced(mine.T, across[0]).T
    boxes = np.prod([max(1, _run_count(along) - 1) for along in across])  # a comb's
    if inside + (mine & ~grow(traced, 1)).sum() < FRAME_HOLDS * traced.sum() / boxes:
        return None
    out = np.zeros(found.labels.shape, bool)
    out[top:bottom, left:right] = traced
    return out


def _lined_box(found: Parts, k: int) -> tuple[int, int, int, int]:
    """Part k's box (top, left, bottom, right), its sides moved in to the outermost of its
    lines across it (runs of ink along FRAME_SPAN of it, joined over a pixel's step) where it
    has two such a side's depth apart: writing that runs out over a box's side is not the box."""
    box = [found.top[k], found.left[k], found.bottom[k], found.right[k]]
    mine = found.labels[box[0] : box[2], box[1] : box[3]] == k + 1
    lines = []  # the rows' lines (level), then the columns' (upright), each as rows of its own
    for a in (mine, mine.T):
        lines.append(_long_runs(grow(a, 1, axes=(0,)), int(np.ceil(FRAME_SPAN * a.shape[1]))) & a)
    out = list(box)
    # the side moves in to half a band beyond the line: the band (see frame_lines) holds all of
    # a thick line a little off level, and little of the writing beyond it
    d = max(2, round(FRAME_BAND * min(mine.shape)))
    for axis in (0, 1):  # top and bottom, then left and right
        lined = np.flatnonzero(lines[axis].any(1))
        # one of the other lines stops at these (a comb cut off by the photo runs on past its
        # dividers; a digit running over a box's corner may run on from one of its sides)
        across = parts(lines[1 - axis])
        if not (lined.size and len(across)) or lined[-1] - lined[0] < 8:
            continue
        if across.left.max() >= lined[0] - FRAME_CORNER:
            out[axis] = box[axis] + max(int(lined[0]) - d // 2, 0)
        if across.right.min() - 1 <= lined[-1] + FRAME_CORNER:
            out[axis + 2] = box[axis] + min(int(lined[-1]) + 1 + d // 2, mine.shape[axis])
    # writing runs out over one side of a box, or two at a corner; a thick digit filling its
    # picture (a low-resolution 0) has long runs of ink inside it, all around
    if sum(a != b for a, b in zip(out, box, strict=True)) > 2:
        return box[0], box[1], box[2], box[3]
    return out[0], out[1], out[2], out[3]


def _run_count(mask: np.ndarray) -> int:
    """How many runs of True a 1-d mask holds."""
    return int(np.count_nonzero(mask[1:] & ~mask[:-1]) + mask[0])


def _runs_per_band(inner: np.ndarray, bands: np.ndarray) -> np.ndarray:
    """How many runs of `inner` (1-d, bool) lie in each run of `bands`."""
    starts = np.flatnonzero(inner & ~np.concatenate([[False], inner[:-1]]))
    band_of = np.cumsum(bands & ~np.concatenate([[False], bands[:-1]]))
    return np.bincount(band_of[starts][bands[starts]])


def _traced(mine: np.ndarray, band_rows: np.ndarray) -> np.ndarray:
    """The pixels of the horizontal lines in each band of rows (call with the transpose for
    vertical ones): those within half the line's thickness (and a pixel) of a straight line
    fitted through the columns where the band holds the line alone, where their column's run of
    ink through them is no thicker than the line (and two pixels). A stroke that touches,
    crosses or runs along the line keeps its pixels, and the line's there; a stroke nearby in
    the band, apart from the line, no longer keeps the line beside it."""
    out = np.zeros_like(mine)
    edges = np.flatnonzero(np.diff(np.concatenate([[0], band_rows.astype(np.int8), [0]])))
    columns = np.arange(mine.shape[1])
    for a, b in zip(edges[::2], edges[1::2], strict=True):
        band = mine[a:b]
        count = band.sum(0)
        inked = count > 0
        if inked.sum() < 2:
            continue
        centre = (band * np.arange(b - a)[:, None]).sum(0) / np.maximum(count, 1)
        # the line's thickness where it lies alone: one run down the column, and the thinner
        # of those, within two pixels of the thinnest tenth (a stroke along the line, touching
        # it, may thicken it for most of its length)
        single = inked & ((band[1:] & ~band[:-1]).sum(0) + band[0] == 1)
        bare = count[single if single.any() else inked]
        thick = float(np.median(bare[bare <= np.percentile(bare, 10) + 2]))
        alone = single & (count <= 1.5 * thick)
        # about the line's level (level to two pixels, see stepped): a stroke running over the
        # line beyond its end, alone in the band there, is no part of it
        if alone.any():
            alone &= np.abs(centre - np.median(centre[alone])) <= thick + 2
        if alone.sum() < 2:
            continue
        slope, offset = np.polyfit(columns[alone], centre[alone], 1)
        line = slope * columns + offset
        rows = np.arange(b - a)[:, None]
        near = np.abs(rows - line[None, :]) <= thick / 2 + 1
        out[a:b] = band & near & (_run_lengths(band) <= thick + 2)
    return out


def _run_lengths(mask: np.ndarray) -> np.ndarray:
    """For each pixel of the mask, the length of the run down its column that it lies in (0 off
    the mask)."""
    columns, starts, ends = runs(mask.T)
    lengths = ends - starts
    run_of = np.repeat(np.arange(lengths.size), lengths)
    first = np.repeat(np.cumsum(lengths) - lengths, lengths)
    out = np.zeros(mask.shape[::-1], np.int64)
    out[columns[run_of], starts[run_of] + np.arange(run_of.size) - first] = lengths[run_of]
    return out.T


def _long_runs(
    mask: np.ndarray, length: int, reach: float | None = None, ends: tuple[int, int] = (0, 0)
) -> np.ndarray:
    """The pixels of `mask` in runs along its rows at least `length` long (and, given `reach`,
    starting and ending within that share of the width of the row's ends, or of `ends`: so many
    pixels in from them)."""
    out = np.zeros_like(mask)
    rows, starts, stops = runs(mask)
    keep = stops - starts >= length
    if reach is not None:
        near = reach * mask.shape[1]
        keep &= (starts <= ends[0] + near) & (stops >= mask.shape[1] - ends[1] - near)
    for r, s, e in zip(rows[keep], starts[keep], stops[keep], strict=True):
        out[r, s:e] = True
    return out


SKEW_LIMIT = 6.0  # degrees: a page's long thin lines are looked for up to this far off level
SKEW_STEP = 0.5  # ... (found to this step, then to SKEW_FINE around the best)
SKEW_FINE = 0.1
LEVEL_STEP = 2  # px: lines falling more than this along their length are sheared level
SKEW_SAMPLE = 4096  # ink pixels enough to find them


def turned_by(slopes: tuple[tuple[float, float], tuple[float, float]]) -> float:
    """How many degrees counter-clockwise the picture's long thin lines (ruled or squared paper,
    a margin, a form's lines, photographed a few degrees off) lie turned, from its line_slopes:
    the slope of the fuller of the two, or 0.0 when it has none."""
    found = [(full, sign * angle) for (full, angle), sign in zip(slopes, (-1.0, 1.0), strict=True)]
    full, angle = max(found)
    return angle if full else 0.0


def line_slopes(ink: np.ndarray) -> tuple[tuple[float, float], tuple[float, float]]:
    """The long thin lines of the picture across its rows, and across its columns: for each,
    (how full the fullest line is, as a share of the picture's width or height; its slope in
    degrees, the lines' rows (columns) falling by tan(slope) a column (row)), or (0.0, 0.0)
    where there is none.

    A seeded sample of the ink is summed along each slope up to SKEW_LIMIT either way; the
    slope whose fullest row (column) holds a line (RULING_SPAN of the picture's width, or
    height) wins, if that line is thin (as ruling is: a stroke of a digit cropped tight is
    thick, and is left as it lies)."""
    h, w = ink.shape
    if small((h, w)):
        return (0.0, 0.0), (0.0, 0.0)
    ys, xs = np.nonzero(ink > LINE_LEVEL)
    ys, xs = ys - h // 2, xs - w // 2  # whole pixels: a half would pair the rows into lines
    pick = slice(None)
    if ys.size > SKEW_SAMPLE:  # a sample at random (seeded): every n-th pixel would line up
        pick = np.random.default_rng(0).choice(ys.size, SKEW_SAMPLE, replace=False)
    found = []
    for along, across, length in ((xs, ys, w), (ys, xs, h)):
        coarse = np.arange(-SKEW_LIMIT, SKEW_LIMIT + SKEW_STEP / 2, SKEW_STEP)
        _, angle, thickness, at = _fullest_line(along[pick], across[pick], coarse)
        # then every ink pixel near that line, to the finer step: a sample's counts are too
        # noisy to tell a tenth of a degree
        reach = thickness + length / 2 * np.tan(np.radians(SKEW_STEP)) + 1
        near = np.abs(across - along * np.tan(np.radians(angle)) - at) <= reach
        fine = angle + np.arange(-SKEW_STEP, SKEW_STEP + SKEW_FINE / 2, SKEW_FINE)
        peak, angle, thickness, _ = _fullest_line(along[near], across[near], fine, True)
        thin = thickness <= max(2.0, RULING_THICKNESS * length)
        full = peak / length
        found.append((full, angle) if full >= RULING_SPAN and thin else (0.0, 0.0))
    return found[0], found[1]


def _fullest_line(
    along: np.ndarray, across: np.ndarray, angles: np.ndarray, sharpest: bool = False
) -> tuple[int, float, int, float]:
    """Points summed into lines across the `along` axis at each of the slopes `angles`: the
    fullest line's count, its slope (degrees; the one nearest level wins ties), its thickness
    (the lines around it holding at least half its count) and where it crosses the middle.

    With `sharpest`, the slope that gathers the points into the fewest lines wins (the largest
    sum of squared counts): for the points of one line, the fullest count ties over a range of
    slopes as wide as the line is thick."""
    best = (-1.0, 0.0, np.zeros(1, np.int64), 0)
    for angle in sorted(np.round(angles, 6), key=abs):
        lines = np.round(across - along * np.tan(np.radians(angle))).astype(np.int64)
        first = int(lines.min()) if lines.size else 0
        counts = np.bincount(lines - first) if lines.size else np.zeros(1, np.int64)
        score = float(np.dot(counts, counts)) if sharpest else float(counts.max())
        if score > best[0]:
            best = (score, float(angle), counts, first)
    _, angle, counts, first = best
    peak = int(counts.max())
    full = counts >= max(peak, 1) / 2
    low = high = int(np.argmax(counts))
    while low > 0 and full[low - 1]:
        low -= 1
    while high + 1 < full.size and full[high + 1]:
        high += 1
    return peak, angle, high - low + 1, float(first + int(np.argmax(counts)))


def stepped(slope: float, length: int) -> bool:
    """Whether lines falling by `slope` step more than two pixels over `length`: more than the
    pixel of leeway that joins a line's steps (see _remove_lines, frame_lines) can, so they
    are to be sheared level first."""
    return abs(slope) * length > LEVEL_STEP


def shear(a: np.ndarray, slope: float) -> tuple[np.ndarray, np.ndarray]:
    """Shift each column of `a` up or down by whole pixels so that lines falling by `slope`
    (rows a column) lie level; the picture grows by the shifts (zeros). Returns it and the
    shifts, for unshear."""
    h, w = a.shape
    drop = np.round(np.arange(w) * slope).astype(np.int64)
    shifts = drop.max() - drop
    out = np.zeros((h + int(shifts.max()), w), a.dtype)
    out[np.arange(h)[:, None] + shifts[None, :], np.arange(w)[None, :]] = a
    return out, shifts


def unshear(a: np.ndarray, shifts: np.ndarray) -> np.ndarray:
    """The picture that `shear` shifted by `shifts`, back as it lay."""
    h = a.shape[0] - int(shifts.max())
    return a[np.arange(h)[:, None] + shifts[None, :], np.arange(a.shape[1])[None, :]]


RULING_SPAN = 0.6  # a straight run of ink longer than this share of the picture may be ruling
LINE_LEVEL = 0.2  # ... counting ink above this share of the ink's level
RULING_THICKNESS = 0.05  # ... and thinner than this share of the picture
RULING_STRENGTH = 0.7  # ruling is fainter than this share of the ink's level ...
RULING_OVERHANG = 0.1  # ... or runs past the rest of the ink by this share at both ends
RULING_PIECE = 0.25  # a line a little off level is pieces at least this share of it long,
RULING_REACH = 0.05  # ... and runs to within this share of the picture's width of its sides
RULING_STEP = 0.5  # ... (sheared level, pieces this share of the columns between its steps)


def remove_ruling(
    ink: np.ndarray,
    slopes: tuple[tuple[float, float], tuple[float, float]] | None = None,
    edges: Edges = Edges(),
) -> np.ndarray:
    """Erase the lines of ruled or squared paper, and a margin's line, from the ink.

    A line is a thin band of long horizontal (or vertical) runs of ink. It is ruling when it is
    fainter than the pen, or when it runs past the largest other part at both ends: the bar of
    a 7 is as strong as its stem and ends where the digit does. Where a line is erased, each
    column (row) takes the fainter of the ink just beside the band, so a pen stroke that
    crosses the line stays whole.

    Lines a few degrees off level (or upright), at the slope line_slopes finds (`slopes`, found
    here if not given), break into runs far shorter than the picture: the picture's columns
    (rows) are shifted by whole pixels until they lie level, erased there, and shifted back.

    `edges`: the page's edges erased from the picture (see page_edges). Ruling runs to them, as
    it runs to the picture's sides where the page fills it.
    """
    if small(ink.shape):
        return ink
    slopes = line_slopes(ink) if slopes is None else slopes
    for axis in (0, 1):
        a = ink if axis == 0 else ink.T
        slope = np.tan(np.radians(slopes[axis][1]))
        page = (edges.left, edges.right) if axis == 0 else (edges.top, edges.bottom)
        if stepped(slope, a.shape[1]):  # lines photographed off level are sheared level
            sheared, shifts = shear(a, slope)
            a = unshear(_remove_lines(sheared, RULING_SPAN, slope, page), shifts)
        else:
            a = _remove_lines(a, RULING_SPAN, page=page)
        ink = a if axis == 0 else a.T
    return np.ascontiguousarray(ink)


def _remove_lines(
    ink: np.ndarray, span: float, sheared_by: float = 0.0, page: tuple[int, int] = (0, 0)
) -> np.ndarray:
    """Horizontal lines only (call with the transpose for vertical ones). `sheared_by`: the
    slope the picture was sheared level by (see shear), if it was; `page`: how deep the page's
    edges erased at the rows' two ends are."""
    h, w = ink.shape
    mask = ink > LINE_LEVEL
    line = _long_runs(mask, int(np.ceil(span * w)))
    # a line photographed a little off level steps a pixel up or down: joined across the steps
    # it runs from side to side of the picture (or page), as ruling does (the rim of a blurred
    # 0 filling its frame does not), and has pieces of its own that are long (a stroke's are
    # short). A line sheared level by whole pixels still steps half a pixel each 1/slope
    # columns: a thin one's pieces are no longer than that, however wide the picture
    piece = RULING_PIECE * w
    if sheared_by:
        piece = min(piece, RULING_STEP / abs(sheared_by))
    whole = parts(_long_runs(grow(mask, 1, axes=(0,)), int(np.ceil(span * w)), RULING_REACH, page))
    stepped = whole.labels
    pieced = np.unique(stepped[_long_runs(mask, round(piece)) & (stepped > 0)])
    if pieced.size:  # its thin pixels (a stroke crossing it is not)
        thin = _run_lengths(mask) <= max(2.0, RULING_THICKNESS * h)
        line |= np.isin(stepped, pieced) & mask & thin
    if not line.any():
        return ink
    rest = parts((ink > INK_LEVEL) & ~grow(line, 1), ink)
    if len(rest):
        main = int(np.argmax(rest.mass))
        rest_cols = np.array([rest.left[main], rest.right[main] - 1])
    else:
        rest_cols = np.zeros(0, int)
    bands = parts(line)
    out = ink.copy()
    for k in range(len(bands)):
        top, bottom = bands.top[k], bands.bottom[k]
        left, right = bands.left[k], bands.right[k]
        if bands.area[k] / bands.width[k] > max(2.0, RULING_THICKNESS * h):
            continue  # a thick band is a stroke, or a page's edge, not a line
        band = bands.labels[top:bottom, left:right] == k + 1
        strength = float(np.median(np.where(band, ink[top:bottom, left:right], 0).max(0)))
        # a stepped line's pieces either side of a stroke crossing it run as far as it does
        joined = stepped[top:bottom, left:right][band].max()
        ends = (whole.left[joined - 1], whole.right[joined - 1]) if joined else (left, right)
        overhang = RULING_OVERHANG * w
        past_both_ends = rest_cols.size > 0 and (
            ends[0] <= rest_cols[0] - overhang and ends[1] >= rest_cols[-1] + 1 + overhang
        )
        if strength >= RULING_STRENGTH and not past_both_ends:
            continue
        _erase_rims(out, band, top, left, past_both_ends)
        above = out[top - 1, left:right] if top > 0 else None
        below = out[bottom, left:right] if bottom < h else None
        beside = above if below is None else below if above is None else np.minimum(above, below)
        patch = out[top:bottom, left:right]
        patch[band] = np.broadcast_to(beside, patch.shape)[band]
    return out


def _erase_rims(ink: np.ndarray, band: np.ndarray, top: int, left: int, wide: bool) -> None:
    """Erase a line's soft rims, the pixels just above and just below its band (`band`, a patch
    of `ink` at top, left): else the band takes their ink when erased, and stays as a ghost of
    itself. A rim is the line's where it is fainter than LINE_LEVEL; and, for a line that runs
    past the digit at both ends (`wide`), wherever the pixel beyond it is paper: a stroke
    crossing the line goes on beyond its rim (or beside it, slanting), and keeps it."""
    h = ink.shape[0]
    r0, r1 = max(top - 2, 0), min(top + band.shape[0] + 2, h)
    mine = np.zeros((r1 - r0, band.shape[1]), bool)
    mine[top - r0 : top - r0 + band.shape[0]] = band
    window = ink[r0:r1, left : left + band.shape[1]]
    faint = window < LINE_LEVEL
    paper = ~grow(~faint, 1, axes=(1,)) if wide else np.zeros_like(faint)
    rims = np.zeros_like(mine)
    rims[1:-1] |= mine[2:] & ~mine[1:-1] & (faint[1:-1] | paper[:-2])  # above the band
    rims[1:-1] |= mine[:-2] & ~mine[1:-1] & (faint[1:-1] | paper[2:])  # below it
    window[rims] = 0
