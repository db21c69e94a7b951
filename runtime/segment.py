"""Whole numbers: every digit in a picture, found, framed as `auto` frames one, read left to right.

The picture is cleaned as for one digit (runtime/ink.py: paper, polarity, ruling, page edges);
then its parts are grouped into digits:

1. parts that overlap in x and lie one above the other, or one inside the other, belong to one
   digit (the bar of a 5 above its body, a 4 drawn in two strokes, a broken stroke);
2. marks too small to be a digit beside the others (dots, specks, a dash, a colon's two dots)
   are dropped, but a flat bar over or under a digit joins it (a 5's bar written apart), and
   a piece (half a digit's height or less, or a tenth of its ink) just beside a digit joins it;
   and a thin straight line that the picture's side cuts (a form's comb running off the photo)
   is no digit beside other digits;
3. a group much wider than a digit is touching digits: it is cut at columns of least ink, each
   side is read, and the cut the model finds most confident is kept;
4. the digits are ordered by their centres from left to right (one line of digits: a slight
   slope or a jumpy baseline does not change the order).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from runtime.components import mask_box
from runtime.ink import Page
from runtime.preprocess import frame, underlines

WORK_SIDE = 1024  # a number's digits are small in its picture: analysed at up to this size
OVERLAP = 0.5  # parts sharing this share of the narrower one's width may be one digit
STACKED = 0.5  # ... if they share less than this share of the shorter one's height
SMALL_PART = 0.3  # ... or if the smaller has less than this share of the larger one's ink
SPECK = 0.3  # a group shorter than this share of the typical digit is a mark, not a digit
PIECE = 0.5  # ... and one shorter than this, beside a digit, is a stroke of that digit
LIGHT = 0.1  # ... as is one with less than this share of the ink of a typical full-height one
DIGIT_ASPECT = 0.8  # a typical digit's width over its height
WIDE = 1.0  # a group wider than this many typical digit widths holds touching digits
CUTS = 4  # cut columns tried per cut
CUT_DOUBT = 0.75  # log-odds against a cut, per digit width under two that the group spans
LINE_WOBBLE = 0.5  # px: a mark at the picture's side whose inner edge is this straight is a line


@dataclass
class Candidate:
    """One digit's pixels at the working resolution."""

    mask: np.ndarray  # bool, the page's size
    box: tuple[int, int, int, int]  # left, top, right, bottom (exclusive)

    @property
    def width(self) -> int:
        return self.box[2] - self.box[0]

    @property
    def height(self) -> int:
        return self.box[3] - self.box[1]


def digits(
    page: Page, classify: Callable[[np.ndarray], np.ndarray], size: tuple[int, int]
) -> list[tuple[Candidate, np.ndarray]]:
    """The digits of a page, left to right, each with its framed model input (h, w) in [0, 1].

    classify: framed inputs (n, h, w) -> probabilities (n, 10), to choose among cuts.
    """
    found = groups(page)
    if not found:
        return []
    width = DIGIT_ASPECT * float(np.median([c.height for c in found]))
    digits = []
    for candidate in found:
        if candidate.width > WIDE * width:
            digits += best_split(candidate, width, page.ink, classify, size)
        else:
            digits.append(candidate)
    digits.sort(key=lambda c: c.box[0] + c.box[2])
    return [(c, frame(page.ink, c.mask, size)) for c in digits]


def groups(page: Page) -> list[Candidate]:
    """The page's parts grouped into digit candidates, specks dropped."""
    p = page.parts
    ids = sorted((k for k in page.keep if p.area[k] >= 2), key=lambda k: -p.mass[k])
    merged: list[list[int]] = []
    for k in ids:  # the largest parts first: smaller ones join the digit they belong to
        home = next((g for g in merged if _one_digit(p, g, k)), None)
        if home is None:
            merged.append([k])
        else:
            home.append(k)
    candidates = [_candidate(page, group) for group in merged]
    if not candidates:
        return []
    # a digit's height: the median of the candidates at least half as tall as the tallest, so
    # that the pieces of a broken digit and the specks around it do not lower it
    tallest = max(c.height for c in candidates)
    typical = float(np.median([c.height for c in candidates if c.height >= 0.5 * tallest]))
    mark = SPECK * typical
    # a group of specks is a mark however far they spread (a colon, dots beside a digit)
    specks = [max(max(p.height[k], p.width[k]) for k in group) < mark for group in merged]
    kept = [c for c, s in zip(candidates, specks, strict=True) if c.height >= mark and not s]
    bars = [c for c in candidates if c.height < mark <= c.width]
    found = _join_pieces(_join_bars(kept, bars), page.ink, PIECE * typical)
    lines = [cut_line(c, page.ink.shape[1]) for c in found]
    if all(lines):
        return found
    return [c for c, line in zip(found, lines, strict=True) if not line]


def cut_line(candidate: Candidate, width: int) -> bool:
    """A thin, straight mark standing at the picture's left or right side: what is left of a
    printed line that the photo's side cuts (a form's box or comb running off the picture, a
    few degrees off level, whose end line crosses the side), once the box is erased. It is
    told from a pen's 1 at the side by its inner edge, which is straight within LINE_WOBBLE
    (the root mean square of its distance from the straight line through it); a pen's 1
    mostly wobbles more (on development numbers, 3 to 6 edges of 41 thin parts were as
    straight). Only dropped beside other digits."""
    x0, y0, x1, y1 = candidate.box
    at_side = x0 == 0 or x1 >= width
    if not at_side or 4 * candidate.width > candidate.height:
        return False
    rows = candidate.mask[y0:y1, x0:x1]
    rows = rows[rows.any(1)]
    inner = (  # the edge that faces into the picture, per row
        rows.argmax(1) if x1 >= width else rows.shape[1] - 1 - rows[:, ::-1].argmax(1)
    ).astype(float)
    y = np.arange(len(inner), dtype=float)
    fit = np.polyval(np.polyfit(y, inner, 1), y)
    return float(np.sqrt(np.mean((inner - fit) ** 2))) <= LINE_WOBBLE


def _join_bars(digits: list[Candidate], bars: list[Candidate]) -> list[Candidate]:
    """A bar (a flat stroke, too short to be a digit but as wide as one's mark) that lies over
    a digit or across its lower part, sharing some of its columns, is that digit's: the bar of
    a 5 written apart, a 7's crossbar. It joins the digit it shares most columns with; a bar
    beside the digits (a dash between them), wholly under them (an underline) or far above
    them is dropped, as a speck is."""
    out = list(digits)
    for bar in bars:
        near = []
        for i, digit in enumerate(digits):
            across = min(bar.box[2], digit.box[2]) - max(bar.box[0], digit.box[0])
            down = _gap(bar, digit)[1]
            if across > 0 and down <= 0.25 * digit.height and not underlines(bar.box, digit.box):
                near.append((across, i))
        if near:
            i = max(near)[1]
            out[i] = _joined(out[i], bar)
    return out


def _join_pieces(candidates: list[Candidate], ink: np.ndarray, short: float) -> list[Candidate]:
    """A piece (a candidate shorter than `short`, or with less than LIGHT of the ink of a
    typical candidate as tall) near a digit (its box within a quarter of the digit's height of the
    digit's box) is a stroke of that digit written apart: the bar of a 5 beside or above its
    body, the arm of a 4, a broken loop. It joins its nearest such digit; a piece with no
    digit near it joins a piece near it that stayed apart (the two halves of a broken 1), or
    stays."""
    mass = [float(ink[c.mask].sum()) for c in candidates]
    tall = [m for c, m in zip(candidates, mass, strict=True) if c.height >= short]
    light = LIGHT * float(np.median(tall)) if tall else 0.0
    piece = [c.height < short or m < light for c, m in zip(candidates, mass, strict=True)]
    out = [c for c, p in zip(candidates, piece, strict=True) if not p]
    digits = len(out)
    for c in (c for c, p in zip(candidates, piece, strict=True) if p):
        # a digit near it takes it; failing that, a piece that stayed apart (a broken 1)
        for chosen in (range(digits), range(digits, len(out))):
            near = [(_gap(c, out[i]), i) for i in chosen]
            near = [(sum(gap), i) for gap, i in near if max(gap) <= 0.25 * out[i].height]
            if near:
                i = min(near)[1]
                out[i] = _joined(out[i], c)
                break
        else:
            out.append(c)
    return out


def _gap(a: Candidate, b: Candidate) -> tuple[int, int]:
    """The gaps between two boxes across and down (0 where they overlap)."""
    across = max(a.box[0], b.box[0]) - min(a.box[2], b.box[2])
    down = max(a.box[1], b.box[1]) - min(a.box[3], b.box[3])
    return max(0, across), max(0, down)


def _joined(a: Candidate, b: Candidate) -> Candidate:
    box = (
        min(a.box[0], b.box[0]), min(a.box[1], b.box[1]),
        max(a.box[2], b.box[2]), max(a.box[3], b.box[3]),
    )  # fmt: skip
    return Candidate(a.mask | b.mask, box)


def _one_digit(p, group: list[int], k: int) -> bool:
    """Whether part k belongs with the group: overlapping in x, and stacked above or below
    it, inside it, or much smaller than it (a piece of a stroke); but not a flat line under the
    other (an underline)."""
    left, top, right, bottom = mine = p.box(group)
    across = min(right, p.right[k]) - max(left, p.left[k])
    if across < OVERLAP * min(right - left, p.width[k]):
        return False
    part = p.box([k])
    if underlines(part, mine) or underlines(mine, part):
        return False  # a line under the other: an underline, not a stroke of the digit
    down = min(bottom, p.bottom[k]) - max(top, p.top[k])
    stacked = down < STACKED * min(bottom - top, p.height[k])
    inside = left <= p.left[k] and p.right[k] <= right and top <= p.top[k] and p.bottom[k] <= bottom
    small = p.mass[k] < SMALL_PART * sum(p.mass[j] for j in group)
    return stacked or inside or small


def _candidate(page: Page, group: list[int]) -> Candidate:
    return Candidate(page.parts.mask_of(group), page.parts.box(group))


def best_split(candidate: Candidate, width: float, ink, classify, size) -> list[Candidate]:
    """Touching digits: the group cut, recursively, at columns of least ink; each cut is kept
    only if reading its sides is more confident (the product of their confidences) than
    reading the group whole, by a margin that shrinks as the group widens toward two digits,
    so a wide 0, 2 or 4 stays whole."""
    memo: dict[tuple[int, int], tuple[float, list[Candidate]]] = {}

    def best(piece: Candidate) -> tuple[float, list[Candidate]]:
        key = (piece.box[0], piece.box[2])
        if key not in memo:
            whole = float(np.log(classify(frame(ink, piece.mask, size)[None]).max()))
            options = [(whole, [piece])]
            if piece.width > WIDE * width:
                doubt = CUT_DOUBT * max(0.0, 2.0 - piece.width / width)  # a wide 0 is one digit
                for column in cut_columns(piece, ink, width):
                    sides = split(piece, [column])
                    if sides:
                        (left, lp), (right, rp) = best(sides[0]), best(sides[1])
                        options.append((left + right - doubt, lp + rp))
            memo[key] = max(options, key=lambda option: option[0])
        return memo[key]

    return best(candidate)[1]


def cut_columns(piece: Candidate, ink: np.ndarray, width: float) -> list[int]:
    """Where to try a cut: the columns of least ink (local minima of the column profile) that
    leave at least a third of a digit on each side, the faintest CUTS of them."""
    x0, y0, x1, y1 = piece.box
    profile = (ink[y0:y1, x0:x1] * piece.mask[y0:y1, x0:x1]).sum(0)
    smooth = np.convolve(profile, np.ones(3) / 3, mode="same")
    lo, hi = int(width / 3), piece.width - int(width / 3)
    chosen: list[int] = []
    for c in np.argsort(smooth[lo:hi], kind="stable") + lo:
        if all(abs(c - other) >= width / 4 for other in chosen):
            chosen.append(int(c))
        if len(chosen) == CUTS:
            break
    return [x0 + c for c in chosen]


def split(candidate: Candidate, columns: list[int]) -> list[Candidate]:
    """The candidate cut at the given columns, left to right; [] if a side would be empty."""
    edges = [candidate.box[0], *sorted(columns), candidate.box[2]]
    pieces = []
    for left, right in zip(edges[:-1], edges[1:], strict=True):
        mask = np.zeros_like(candidate.mask)
        mask[:, left:right] = candidate.mask[:, left:right]
        box = mask_box(mask)
        if box is None:
            return []
        pieces.append(Candidate(mask, box))
    return pieces


def box_in_original(candidate: Candidate, page: Page) -> list[int]:
    """The candidate's box in the original picture's pixels: around its ink, turned back if the
    page was turned (a sheet read upright)."""
    x0, y0, x1, y1 = candidate.box
    if page.turn is not None:
        ys, xs = np.nonzero(candidate.mask)
        corners = [(xs + dx, ys + dy) for dx in (-0.5, 0.5) for dy in (-0.5, 0.5)]
        back = [page.turn.back(x, y) for x, y in corners]
        xs, ys = np.concatenate([x for x, _ in back]), np.concatenate([y for _, y in back])
        x0, y0, x1, y1 = xs.min() + 0.5, ys.min() + 0.5, xs.max() + 0.5, ys.max() + 0.5
    sx, sy = page.scale
    return [round(x0 * sx), round(y0 * sy), round(x1 * sx), round(y1 * sy)]
