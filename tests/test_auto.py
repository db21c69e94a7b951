"""`auto`'s steps, each on pictures made for it: polarity, paper, ruling, parts, specks, blanks."""

from __future__ import annotations

import base64
import io
from collections import deque

import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFilter, ImageOps

from runtime.components import label, parts
from runtime.ink import (
    INK_LEVEL,
    MIN_CONTRAST,
    NoInkError,
    clean,
    edge_contrast,
    find_page,
    find_sheet,
    frame_lines,
    grow,
    hull,
    is_white_on_black,
    largest_quadrilateral,
    line_slopes,
    polygon_area,
    remove_ruling,
    shear,
    smallest_rectangle,
    stretch,
    turn,
    turned_by,
    unshear,
)
from runtime.preprocess import (
    ModelInput,
    NoDigitError,
    auto_inputs,
    digit_and_marks,
    frame,
    frame_digit,
    open_image,
    preprocess,
    read_page,
    read_pages,
    select_digit,
)
from tests.conftest import on_a_desk, thick_tight

MODEL = ModelInput(0.1307, 0.3081)


def flood_labels(mask: np.ndarray) -> np.ndarray:
    """8-connected components by breadth-first search: the reference labelling."""
    labels = np.zeros(mask.shape, int)
    count = 0
    for start in zip(*np.nonzero(mask), strict=True):
        if labels[start]:
            continue
        count += 1
        queue = deque([start])
        labels[start] = count
        while queue:
            y, x = queue.popleft()
            for dy in (-1, 0, 1):
                for dx in (-1, 0, 1):
                    ny, nx = y + dy, x + dx
                    inside = 0 <= ny < mask.shape[0] and 0 <= nx < mask.shape[1]
                    if inside and mask[ny, nx] and not labels[ny, nx]:
                        labels[ny, nx] = count
                        queue.append((ny, nx))
    return labels


@pytest.mark.parametrize("seed", range(20))
def test_labelling_matches_a_flood_fill(seed):
    """Components from runs and union-find equal a breadth-first flood fill's, pixel for pixel."""
    rng = np.random.default_rng(seed)
    mask = rng.random(tuple(rng.integers(1, 40, 2))) < rng.uniform(0.05, 0.7)
    labels, n = label(mask)
    reference = flood_labels(mask)
    assert n == reference.max()
    assert ((labels > 0) == mask).all()
    same_parts = set(zip(labels[mask].tolist(), reference[mask].tolist(), strict=True))
    assert len(same_parts) == n  # a one-to-one map between the two labellings


def test_parts_measure_each_component():
    """Area, mass and box of each part."""
    mask = np.zeros((20, 30), bool)
    mask[2:5, 3:10] = True
    mask[10:18, 20:22] = True
    ink = mask * 0.5
    found = parts(mask, ink)
    assert sorted(found.area.tolist()) == [16, 21]
    k = int(np.argmax(found.area))
    assert (found.top[k], found.left[k], found.bottom[k], found.right[k]) == (2, 3, 5, 10)
    assert found.mass[k] == pytest.approx(10.5)


def tight(digit: np.ndarray, scale: int = 6) -> np.ndarray:
    """An MNIST digit cropped to its ink and enlarged: it touches the frame on every side."""
    rows, cols = np.flatnonzero(digit.max(1) > 60), np.flatnonzero(digit.max(0) > 60)
    crop = digit[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1]
    size = (crop.shape[1] * scale, crop.shape[0] * scale)
    return np.asarray(Image.fromarray(crop).resize(size, Image.Resampling.BICUBIC))


@pytest.mark.parametrize("dark_ink", [False, True], ids=["white-on-black", "black-on-white"])
def test_polarity_holds_when_the_digit_touches_the_border(mnist_test, dark_ink):
    """Tight crops of 100 MNIST test digits, ink touching all four sides: polarity is right."""
    images, _ = mnist_test
    wrong = []
    for i in range(100):
        grey = tight(images[i]).astype(np.float32) / 255
        if dark_ink:
            grey = 1 - grey
        if is_white_on_black(grey) == dark_ink:
            wrong.append(i)
    assert wrong == []


def half_in_shadow(digit: np.ndarray, lit_from: float, desk_from: float) -> np.ndarray:
    """A dark MNIST digit written in the shadowed left part of a page (grey 0.55, rising
    smoothly to 0.9 from `lit_from` of the way across), a dark desk beyond `desk_from`."""
    h, w = 240, 380
    x = np.arange(w) / w
    page = np.tile(0.55 + 0.35 / (1 + np.exp(-(x - lit_from) / 0.04)), (h, 1))
    page[:, int(desk_from * w) :] = 0.3
    ink = np.asarray(Image.fromarray(digit).resize((112, 112), Image.Resampling.BICUBIC)) / 255
    region = page[64:176, 57:169]
    page[64:176, 57:169] = region * (1 - ink) + 0.12 * ink
    return page.astype(np.float32)


@pytest.mark.parametrize("lit_from, desk_from", [(0.45, 0.85), (0.45, 0.92), (0.65, 0.92)])
def test_a_page_half_in_shadow_beside_a_desk_keeps_its_polarity(mnist_test, lit_from, desk_from):
    """Otsu splits such a picture into its lit part and its shadow with the desk, and the lit
    part holds less of the border: the first vote took the paper for the ink, and the digit
    for paper (a development ruled page read 'no digit found' so, a form 9 for its 7). The
    classes of a ramp of light are loosely apart, so the picture less its light has the say."""
    images, _ = mnist_test
    for i in range(10):
        grey = half_in_shadow(images[i], lit_from, desk_from)
        assert not is_white_on_black(grey), i


def test_thick_tight_drawing_is_read(mnist_test):
    """A digit drawn with a thick brush and cropped tight is read, not 'no digit found'."""
    from benchmarks.imagesets import dilate

    images, labels = mnist_test
    grey = tight(images[0], 8) > 128
    thick = dilate(grey, 6)
    x = preprocess(Image.fromarray((~thick * 255).astype(np.uint8)), "auto", MODEL)
    pixels = MODEL.pixels(x)
    assert pixels[0].max() < 0.05 and pixels.max() > 0.9  # dark border, bright strokes


def test_unclear_polarity_is_read_both_ways_and_the_surer_reading_kept(mnist_test, predictor):
    """Thick digits cropped tight, both polarities: when the picture leaves unclear which tone
    is the ink, `auto` offers both readings and the Predictor keeps the one the model is surer
    of, in the single reading and in --multi alike (where the single reading is not flagged: a
    4 so thick that it is a blob reads 5 at 0.40 one way and 13 the other). The first guess
    alone is often the paper."""
    images, labels = mnist_test
    unclear = first_right = kept_right = agreed = 0
    for i in range(150):
        for light in (True, False):
            img = thick_tight(images[i], light)
            tries = auto_inputs(img, MODEL)
            np.testing.assert_array_equal(tries[:1], preprocess(img, "auto", MODEL))
            if len(tries) == 1:
                continue
            unclear += 1
            log_probs = predictor.run(tries[:, None])
            chosen = int(np.argmax(log_probs.max(axis=1)))
            reading = predictor.predict(img)
            np.testing.assert_array_equal(reading.model_input, tries[chosen])
            assert reading.digit == int(log_probs[chosen].argmax())
            if reading.confidence >= 0.5:
                assert predictor.read_number(img).text == str(reading.digit)
                agreed += 1
            first_right += int(log_probs[0].argmax()) == labels[i]
            kept_right += reading.digit == labels[i]
    assert unclear >= 20 and agreed >= 20
    assert kept_right >= 0.8 * unclear and kept_right >= first_right + 4


def test_clear_pictures_get_one_reading(mnist_test):
    """A digit with paper around it, in either polarity, and photo-like pictures (shadows and
    light that blur Otsu's two classes: a third of them are voted on after the light is taken
    out) are read one way only."""
    from benchmarks.photolike import photo_like

    images, _ = mnist_test
    for light in (True, False):
        grey = images[0] if light else 255 - images[0]
        page = read_pages(Image.fromarray(np.pad(grey, 20, mode="edge")))
        assert len(page) == 1 and not page[0].unclear and page[0].white_on_black == light
    rng = np.random.default_rng(0)
    for i in range(40):
        pages = read_pages(open_image(photo_like(images[i], rng, "png"), 384))
        assert len(pages) == 1 and not pages[0].unclear and not pages[0].white_on_black


def written_note(digit: np.ndarray) -> Image.Image:
    """An MNIST digit written dark on a light note, filling 70 % of its side."""
    note = np.full((40, 40), 235, np.uint8)
    note[6:34, 6:34] = np.minimum(235, 235 - 0.85 * digit).astype(np.uint8)
    return Image.fromarray(note)


@pytest.mark.parametrize("share, angle", [(0.4, 0), (0.15, 12)])
def test_a_note_on_a_dark_desk_is_read(mnist_test, predictor, share, angle):
    """A note on a dark desk: the photo's border shows the desk, so the polarity vote takes the
    desk for the paper and the whole note for the ink; the note is found (a solid, convex part
    with writing inside and a desk around it), and the picture is read once, with the desk
    painted in the note's colour: dark writing on a light note."""
    images, labels = mnist_test
    as_it_is = right = found = 0
    for i in range(30):
        photo = on_a_desk(written_note(images[i]), share, angle)
        as_it_is += clean(np.asarray(photo, np.float32) / 255).white_on_black  # the note as ink
        pages = read_pages(photo)
        found += len(pages) == 1 and not pages[0].white_on_black  # a 0's island can hide a note
        right += predictor.predict(photo).digit == labels[i]
    assert as_it_is >= 27 and found >= 27 and right >= 28


def test_a_note_running_off_three_sides_is_found_and_a_part_in_a_shadow_is_not(
    mnist_test, predictor
):
    """A large note can run off three of the photo's sides, leaving the desk on one: its edge
    within the picture is a step, and it is read as a note. The part of a page in a soft
    shadow can have the same outline and tones, but its edge fades over tens of pixels: it is
    no sheet (taken for one, the rest of the page was painted away with its digits)."""
    images, labels = mnist_test
    right = 0
    for i in range(10):
        photo = on_a_desk(written_note(images[i]), 0.6, 30, (400, 400))
        grey = np.asarray(photo, np.float32) / 255
        sheet = find_sheet(grey, clean(grey).white_on_black)
        edges = (sheet.mask[0], sheet.mask[-1], sheet.mask[:, 0], sheet.mask[:, -1])
        assert sum(int(e.any()) for e in edges) == 3 and edge_contrast(grey, sheet.mask) > 0.8
        right += predictor.predict(photo).digit == labels[i]
    assert right >= 9
    for soft in (False, True):  # a sheet's step, or a shadow's fade over 30 px
        page = np.full((300, 400), 0.85, np.float32)
        page[:, :150] = 0.55
        if soft:
            page[:, 135:165] = np.linspace(0.55, 0.85, 30)
        ring = np.asarray(Image.fromarray(images[3]).resize((84, 84)), np.float32) / 255
        page[100:184, 20:104] += 0.3 * ring  # light writing in the dark region
        found = find_sheet(page, clean(page).white_on_black)
        assert (found is None) == soft


def seen_at(picture: np.ndarray, source, corners, fill: int) -> Image.Image:
    """A grey picture (0-255) photographed in perspective: its points `source` land on
    `corners` (four (x, y) each), what lies beyond it filled with `fill`."""
    rows = []
    for (x, y), (u, v) in zip(corners, source, strict=True):
        rows += [[x, y, 1, 0, 0, 0, -u * x, -u * y, u], [0, 0, 0, x, y, 1, -v * x, -v * y, v]]
    m = np.array(rows)
    back = np.linalg.solve(m[:, :8], m[:, 8])  # the photo's pixels -> the picture's
    h, w = picture.shape
    return Image.fromarray(picture.astype(np.uint8)).transform(
        (w, h), Image.Transform.PERSPECTIVE, tuple(back), Image.Resampling.BICUBIC, fillcolor=fill
    )


def at_an_angle(digit: np.ndarray, far: str, slant: float) -> Image.Image:
    """An MNIST digit written dark on a light page filling the photo, photographed with the
    page's `far` side ("top" or "left") farther away: that side shrinks by `slant` of its
    length on each end, and the dark desk shows in the wedges beside it."""
    page = np.full((300, 260), 230, np.float32)
    page[90:230, 60:200] -= 0.8 * np.asarray(Image.fromarray(digit).resize((140, 140)), np.float32)
    h, w = page.shape
    src = [(0, 0), (w, 0), (w, h), (0, h)]
    dst = {
        "top": [(w * slant, 0), (w * (1 - slant), 0), (w, h), (0, h)],
        "left": [(0, h * slant), (w, 0), (w, h), (0, h * (1 - slant))],
    }[far]
    return seen_at(page, src, dst, 70)


@pytest.mark.parametrize("far, slant", [("top", 0.25), ("left", 0.2)])
def test_a_page_photographed_at_an_angle_is_read_without_the_desk(
    mnist_test, predictor, far, slant
):
    """A page photographed at an angle fills the photo but for wedges of desk beside its far
    side. The polarity vote rightly takes the page for the paper; the paper's surface takes the
    wedges' wide ends for shadow and leaves their thin ends as ink, which the first reading took
    for strokes of the digit (the development digits read 16 % so). The page is found (the
    largest part of the paper's tone, convex, holding the writing, the rest dark with a step
    between them), and the picture is read with the desk painted in the page's level."""
    images, labels = mnist_test
    found = right = 0
    for i in range(10):
        photo = at_an_angle(images[i], far, slant)
        grey = np.asarray(photo, np.float32) / 255
        page = find_page(grey, clean(grey).white_on_black)
        found += page is not None and not page.mask[0, 0] and page.mask[150, 130]
        right += predictor.predict(photo).digit == labels[i]
    assert found == 10 and right >= 9


def test_a_page_at_a_slight_angle_is_one_digit_in_multi(mnist_test, predictor):
    """At a slight angle the desk shows in thin wedges, and what the paper's surface leaves of
    them lies apart from the digit: the single reading picks the digit alone, but `--multi`
    read the remnants as digits of their own (a 0 as 101, 8 of 20 wrong). The page is painted
    when any part off it runs to the picture's side, not only one of the digit's."""
    images, labels = mnist_test
    texts = [predictor.read_number(at_an_angle(images[i], "top", 0.1)).text for i in range(20)]
    assert sum(text == str(labels[i]) for i, text in enumerate(texts)) >= 19


def test_a_digit_across_a_hard_shadow_is_read_whole(mnist_test, predictor):
    """A shadow with a sharp edge (a phone's, held close) looks like a desk beyond a page: dark,
    with a step between it and the lit paper, and the lit part can hold writing (the detached
    bar of the 5). But the digit's strokes off the lit part stop short of the picture's sides,
    as the desk's wedges do not: the picture is read as it is, and no part of the digit is
    painted away with the shadow (the 5 read 2 so)."""
    images, labels = mnist_test
    right = 0
    for i in range(10):
        page = np.full((240, 240), 225, np.float32)
        page[:, :110] = 130  # the shadow, up to a sharp edge
        page[50:190, 50:190] -= 0.5 * np.asarray(
            Image.fromarray(images[i]).resize((140, 140)), np.float32
        )
        right += predictor.predict(Image.fromarray(page.astype(np.uint8))).digit == labels[i]
    assert right == 10


def test_a_box_drawn_around_a_digit_is_no_page():
    """Paper beyond a box drawn around a digit is paper, not a desk: no page is found in the
    box, though the box's inside is a convex part of the paper's tone holding writing."""
    img = Image.new("L", (200, 200), 235)
    draw = ImageDraw.Draw(img)
    draw.rectangle([30, 30, 170, 170], outline=40, width=3)
    seven(draw, 20, box=(70, 60, 130, 140), width=6)
    grey = np.asarray(img, np.float32) / 255
    assert find_page(grey, clean(grey).white_on_black) is None


def note_at_an_angle(digit: np.ndarray, size: int, narrower: float) -> Image.Image:
    """A light note carrying an MNIST digit, `size` px wide and tall, photographed at an angle
    on a dark desk 300 px square: its far (top) side `narrower` shorter than its near side."""
    note = np.full((size, size), 235, np.float32)
    inner = size // 2
    at = (size - inner) // 2
    note[at : at + inner, at : at + inner] -= 0.8 * np.asarray(
        Image.fromarray(digit).resize((inner, inner)), np.float32
    )
    photo = np.full((300, 300), 45, np.float32)
    off = (300 - size) // 2
    photo[off : off + size, off : off + size] = note
    a, b = off + size * narrower / 2, off + size * (1 - narrower / 2)
    corners = [(a, off), (b, off), (off + size, off + size), (off, off + size)]
    source = [(off, off), (off + size, off), (off + size, off + size), (off, off + size)]
    return seen_at(photo, source, corners, 45)


@pytest.mark.parametrize("size", [180, 280])
def test_a_note_photographed_at_an_angle_is_read(mnist_test, predictor, size):
    """A note seen at an angle is a trapezoid, not a rectangle: the sheet test asks for a
    quadrilateral (the largest one with corners on its hull covers 85 % of the hull; an oval's
    covers 2/pi). A note filling most of the photo (280 px of 300) leaves the paper's surface
    nothing to flatten but the note itself: no ink is left of it, and the picture read "no
    digit found"; the sheet is now looked for even then."""
    images, labels = mnist_test
    right = 0
    for i in range(10):
        photo = note_at_an_angle(images[i], size, 0.35)
        right += predictor.predict(photo).digit == labels[i]
    assert right >= 9


def test_the_largest_quadrilateral_on_a_hull():
    """A quadrilateral's own area (its pixels' hull, so within a pixel's rim), a disc's 2/pi."""
    yy, xx = np.mgrid[:200, :200]
    disc = hull((yy - 100) ** 2 + (xx - 100) ** 2 < 90**2)
    assert largest_quadrilateral(disc) / polygon_area(disc) == pytest.approx(2 / np.pi, abs=0.01)
    for corners in (
        [(60, 10), (240, 10), (290, 190), (10, 190)],
        [(5, 40), (200, 5), (280, 150), (90, 195)],
    ):
        img = Image.new("1", (300, 200))
        ImageDraw.Draw(img).polygon(corners, fill=1)
        outline = hull(np.asarray(img))
        assert largest_quadrilateral(outline) / polygon_area(outline) > 0.98


def test_a_picture_too_small_for_a_photo_shows_no_sheet(predictor):
    """A bold condensed 0 set snug, 12x19 px (as Roboto Condensed Bold renders it): its body
    runs off three sides with a step for an edge and a slit of paper inside, like a note on a
    desk with writing, but a picture this small is no photo of a desk. Read as a sheet, the slit
    was the digit: a 1."""
    zero = np.array(
        [
            [251, 251, 219, 95, 29, 13, 46, 136, 245, 251, 251, 251],
            [251, 199, 20, 7, 7, 7, 7, 7, 67, 242, 251, 251],
            [243, 38, 7, 7, 7, 7, 7, 7, 7, 117, 251, 251],
            [162, 7, 7, 7, 141, 229, 59, 7, 7, 17, 240, 251],
            [90, 7, 7, 33, 251, 251, 180, 7, 7, 7, 178, 251],
            [47, 7, 7, 76, 251, 251, 226, 7, 7, 7, 134, 251],
            [21, 7, 7, 94, 251, 251, 245, 7, 7, 7, 113, 251],
            [10, 7, 7, 97, 251, 251, 251, 7, 7, 7, 100, 251],
            [7, 7, 7, 97, 251, 251, 251, 7, 7, 7, 97, 251],
            [7, 7, 7, 97, 251, 251, 251, 7, 7, 7, 97, 251],
            [7, 7, 7, 97, 251, 251, 251, 7, 7, 7, 97, 251],
            [9, 7, 7, 97, 251, 251, 251, 7, 7, 7, 103, 251],
            [20, 7, 7, 92, 251, 251, 245, 7, 7, 7, 115, 251],
            [44, 7, 7, 73, 251, 251, 228, 7, 7, 7, 140, 251],
            [87, 7, 7, 29, 250, 251, 183, 7, 7, 7, 184, 251],
            [159, 7, 7, 7, 137, 231, 65, 7, 7, 20, 244, 251],
            [241, 36, 7, 7, 7, 7, 7, 7, 7, 124, 251, 251],
            [251, 196, 18, 7, 7, 7, 7, 7, 70, 243, 251, 251],
            [251, 251, 216, 93, 28, 13, 46, 137, 246, 251, 251, 251],
        ],
        np.uint8,
    )
    grey = zero.astype(np.float32) / 255
    assert find_sheet(grey, clean(grey).white_on_black) is None
    assert predictor.predict(Image.fromarray(zero)).digit == 0


def test_a_thick_digit_s_body_taken_for_a_sheet_keeps_its_own_reading():
    """A thick digit whose body is a rectangle with a slit in it passes for a sheet with writing,
    but its stem stands outside that "sheet": the picture as it is stays the first reading, and
    the sheet's is only tried beside it. A note's reading takes nothing outside the note."""
    img = Image.new("L", (120, 120), 30)
    draw = ImageDraw.Draw(img)
    draw.rectangle([25, 45, 95, 105], fill=230)  # the body
    draw.line([(45, 75), (75, 80)], fill=30, width=6)  # the slit
    draw.rectangle([70, 8, 82, 38], fill=230)  # the stem, apart from the body
    grey = np.asarray(img, np.float32) / 255
    assert find_sheet(grey, clean(grey).white_on_black) is not None
    pages = read_pages(img)
    assert len(pages) == 2 and pages[0].white_on_black and not pages[1].white_on_black
    assert len(read_pages(img, alternatives=False)) == 1
    draw.rectangle([70, 8, 82, 38], fill=30)  # without the stem: the body is read as a sheet
    pages = read_pages(img)
    assert len(pages) == 1 and not pages[0].white_on_black


def test_digits_with_loops_are_no_sheet(mnist_test):
    """A digit's loop inside its stroke is not writing on a sheet: MNIST digits, either
    polarity, on their own field or cropped tight, never get the sheet reading."""
    images, _ = mnist_test
    for i in range(200):
        for grey in (images[i], 255 - images[i], tight(images[i]), 255 - tight(images[i])):
            grey = grey.astype(np.float32) / 255
            try:
                page = clean(grey)
            except NoInkError:  # a crop too tight to hold paper: no page, so no sheet either
                continue
            assert find_sheet(grey, page.white_on_black) is None


@pytest.mark.slow
def test_notes_on_desks_of_the_bench_s_kind_are_found(mnist_test):
    """Notes photographed on a desk as the bench's desk category makes them (turned, in uneven
    light, some running off the photo's sides): the sheet is found in nearly every one, from
    the picture's own two tones (the page's ink, flattened by its rolling ball, broke wide
    sheets apart: 4 in 100 were missed so)."""

    from benchmarks.imagesets import on_desk
    from runtime.preprocess import WORK_SIDE, to_grey, upright

    images, _ = mnist_test
    found = 0
    for i in range(100):
        photo, _ = on_desk(images[i], np.random.default_rng([7, i]))
        grey = to_grey(upright(open_image(photo), WORK_SIDE))
        found += find_sheet(grey, clean(grey).white_on_black) is not None
    assert found >= 99


def test_a_zero_drawn_thick_is_no_sheet(mnist_test):
    """A 0 drawn with a thick brush is a solid, convex part with a hole: what tells it from a
    note is its outline, an oval rather than a rectangle."""
    from benchmarks.imagesets import dilate, upscaled_digit

    images, labels = mnist_test
    for i in np.flatnonzero(labels == 0)[:40]:
        for brush in (0.08, 0.12):
            ring = dilate(upscaled_digit(images[i], 120) > 0.5, brush * 120)
            for light in (True, False):
                grey = np.where(ring == light, 0.9, 0.12).astype(np.float32)
                assert find_sheet(grey, clean(grey).white_on_black) is None


def test_the_smallest_rectangle_around_a_shape():
    """At any angle: a turned square's is the square; a disc's is 4/pi of it."""
    yy, xx = np.mgrid[:200, :200]
    u, v = (
        (xx - 100) * np.cos(0.4) + (yy - 100) * np.sin(0.4),
        (yy - 100) * np.cos(0.4) - (xx - 100) * np.sin(0.4),
    )
    square = (np.abs(u) < 50) & (np.abs(v) < 50)
    assert square.sum() < smallest_rectangle(hull(square))[0] < 1.04 * square.sum()
    disc = (xx - 100) ** 2 + (yy - 100) ** 2 < 60**2
    area, _ = smallest_rectangle(hull(disc))
    assert area == pytest.approx(4 / np.pi * disc.sum(), rel=0.03)


@pytest.mark.parametrize("angle", [-44, -30, -12, -4, 0, 7, 25, 38])
@pytest.mark.parametrize("size", [(160, 100), (100, 150), (120, 120)])
def test_the_smallest_rectangle_gives_the_angle_of_a_turned_sheet(angle, size):
    """The angle of a sheet turned counter-clockwise by `angle` (as Pillow turns it): that of
    its side nearer the horizontal, so a square or a sheet on its side gives the same."""
    sheet = Image.new("L", size, 255).rotate(angle, Image.Resampling.BILINEAR, expand=True)
    mask = np.asarray(sheet) > 127
    assert smallest_rectangle(hull(mask))[1] == pytest.approx(angle, abs=1.0)


@pytest.mark.parametrize("angle", [-33, -5, 20])
def test_a_turned_picture_s_points_map_back_to_the_picture(angle):
    grey = np.zeros((90, 140), np.float32)
    spots = [(10, 12), (130, 20), (70, 45), (25, 80)]  # (x, y)
    for x, y in spots:
        grey[y, x] = 1.0
    turned, how = turn(grey, angle, 0.0)
    assert turned.shape != grey.shape  # grown to hold the corners
    found = parts(turned > 0.2)
    x = np.array([(found.left[k] + found.right[k] - 1) / 2 for k in range(len(found))])
    y = np.array([(found.top[k] + found.bottom[k] - 1) / 2 for k in range(len(found))])
    back = np.stack(how.back(x, y), axis=1)
    for spot in spots:
        assert np.min(np.hypot(*(back - spot).T)) < 1.0


def test_a_digit_on_a_turned_note_is_read_upright(mnist_test, predictor):
    """A note lying turned on a desk has its writing turned with it: the note's reading is
    turned back by the note's angle, so the model sees the digit as written, and reads it as
    it reads the same note lying straight."""
    images, labels = mnist_test
    right = same = 0
    for i in range(30):
        straight = preprocess(on_a_desk(written_note(images[i]), 0.15, 0), "auto", MODEL)
        photo = on_a_desk(written_note(images[i]), 0.15, 25)
        pages = read_pages(photo)
        assert len(pages) == 1 and pages[0].turn.angle == pytest.approx(-25, abs=1.5)
        turned = preprocess(photo, "auto", MODEL)
        same += np.corrcoef(straight.ravel(), turned.ravel())[0, 1] > 0.85
        right += predictor.predict(photo).digit == labels[i]
    assert same >= 24 and right >= 28  # unturned, the two correlate at 0.26-0.84


def test_hull_area_counts_pixels_as_squares():
    def hull_area(mask):
        return polygon_area(hull(mask))

    square = np.zeros((50, 60), bool)
    square[10:30, 5:45] = True
    assert hull_area(square) == square.sum()
    triangle = np.tril(np.ones((40, 40), bool))
    assert triangle.sum() < hull_area(triangle) < 1.03 * triangle.sum()
    yy, xx = np.mgrid[:100, :100]
    disc = (yy - 50) ** 2 + (xx - 50) ** 2 < 40**2
    assert disc.sum() < hull_area(disc) < 1.03 * disc.sum()
    ring = disc & ((yy - 50) ** 2 + (xx - 50) ** 2 >= 20**2)
    assert hull_area(ring) == hull_area(disc)


def ruled_page(
    digit_strokes, size=(240, 320), spacing=30, ruling=(150, 190, 235), pen=(20, 30, 120)
):
    """A light page with horizontal ruling and a digit drawn by `digit_strokes(draw)`."""
    h, w = size
    page = Image.new("RGB", (w, h), (246, 244, 236))
    draw = ImageDraw.Draw(page)
    for y in range(spacing // 2, h, spacing):
        draw.line([(0, y), (w, y)], fill=ruling, width=2)
    digit_strokes(draw, pen)
    return page


def seven(draw, pen, box=(120, 60, 200, 180), width=7):
    x0, y0, x1, y1 = box
    draw.line([(x0, y0), (x1, y0)], fill=pen, width=width)
    draw.line([(x1, y0), (x0 + 15, y1)], fill=pen, width=width)


def test_light_ruling_is_removed_from_the_ink():
    """Light ruling that crosses the digit leaves no ink away from the digit's strokes."""
    page = read_page(ruled_page(seven))
    ink = page.ink
    ruling_rows = [y for y in range(15, 240, 30) if not 50 <= y <= 190]
    assert ink[ruling_rows][:, :100].max() < 0.05  # the lines beside the digit are gone
    digit = page.parts.mask_of(select_digit(page))
    rows, cols = np.flatnonzero(digit.any(1)), np.flatnonzero(digit.any(0))
    assert 50 <= rows[0] and rows[-1] <= 190 and 110 <= cols[0] and cols[-1] <= 210


def turned_photo(page: Image.Image, angle: float) -> Image.Image:
    """A page photographed `angle` degrees off: turned, then cropped to its middle so that no
    corner of the turn shows and its lines run on to the photo's sides."""
    w, h = page.size
    turned = page.rotate(angle, Image.Resampling.BICUBIC, fillcolor=page.getpixel((0, 0)))
    m = int(np.ceil(np.tan(np.radians(abs(angle))) * max(w, h) / 2)) + 1
    return turned.crop((m, m, w - m, h - m))


@pytest.mark.parametrize("angle", [-4.0, -2.0, 3.0, 5.0])
def test_the_slope_of_a_ruled_page_photographed_off_level_is_found(angle):
    """A ruled page turned a few degrees: its lines' slope is found (to half a degree), so that
    they can be sheared level; a level page, and a 7 cropped tight whose thick bar spans the
    picture, have none."""

    def skew(img: Image.Image) -> float:  # dark lines on light paper
        return turned_by(line_slopes(1 - np.asarray(img.convert("L"), np.float32) / 255))

    assert abs(skew(turned_photo(ruled_page(seven, ruling=(60, 80, 150)), angle)) - angle) <= 0.5
    assert skew(ruled_page(seven, ruling=(60, 80, 150))) == 0.0
    img = Image.new("L", (90, 120), 250)
    seven(ImageDraw.Draw(img), 10, box=(3, 4, 86, 118), width=9)
    assert skew(turned_photo(img, angle)) == 0.0


@pytest.mark.parametrize("angle", [0.8, -3.0])
def test_ruling_on_a_page_photographed_off_level_is_removed(angle):
    """Ruling as dark as the pen on a page turned 0.8 degrees (its lines break into runs of a
    third of the picture; a pixel of leeway joins them) or 3 degrees (sheared level): the 7's
    box is the 7's, not the ruling's."""
    photo = turned_photo(ruled_page(seven, ruling=(60, 80, 150), spacing=50), angle)
    page = read_pages(photo)[0]
    digit = page.parts.mask_of(select_digit(page))
    cols = np.flatnonzero(digit.any(0))
    assert cols[-1] - cols[0] < 110  # the 7 is 80 px wide; the page 300


@pytest.mark.parametrize("angle", [1.5, -2.5, 4.0])
def test_ruling_off_level_is_removed_where_the_page_is_read_as_it_lies(angle):
    """A page is read as it lies: ruling as dark as the pen, 1.5-4 degrees off (runs far
    shorter than the picture, steps of several pixels), is sheared level and erased there, so
    the 7's box is the 7's. (Every line runs from side to side: a line cut off at a corner of
    the photo is too short for ruling.)"""
    photo = turned_photo(ruled_page(seven, ruling=(60, 80, 150), spacing=60), angle)
    page = read_pages(photo)[0]
    assert page.turn is None
    digit = page.parts.mask_of(select_digit(page))
    cols = np.flatnonzero(digit.any(0))
    assert cols[-1] - cols[0] < 110  # the 7 is 80 px wide; the page 300


@pytest.mark.parametrize("angle", [-5.0, -1.2, 0.6, 2.3])
def test_the_slope_of_ruling_is_found_to_a_tenth_of_a_degree(angle):
    """Both the rows' and the columns' lines of squared paper, turned: their slope is found
    from every pixel near the line a sample found, to within 0.15 degrees."""
    page = Image.new("L", (400, 300), 245)
    draw = ImageDraw.Draw(page)
    for y in range(20, 300, 40):
        draw.line([(0, y), (400, y)], fill=120, width=2)
    for x in range(20, 400, 40):
        draw.line([(x, 0), (x, 300)], fill=120, width=2)
    photo = turned_photo(page, angle)
    ink = np.clip((245 - np.asarray(photo, np.float32)) / 125, 0, 1)  # the lines at 1
    (rows_full, rows_angle), (cols_full, cols_angle) = line_slopes(ink)
    assert rows_full > 0.9 and cols_full > 0.9
    assert abs(rows_angle + angle) <= 0.15 and abs(cols_angle - angle) <= 0.15


def test_shear_moves_whole_columns_and_unshear_undoes_it():
    rng = np.random.default_rng(0)
    a = rng.random((40, 90)).astype(np.float32)
    for slope in (0.07, -0.05):
        sheared, shifts = shear(a, slope)
        assert sheared.shape == (40 + shifts.max(), 90)
        assert np.array_equal(unshear(sheared, shifts), a)
        for x in (0, 45, 89):  # each column is its own, moved down by its shift
            assert np.array_equal(sheared[shifts[x] : shifts[x] + 40, x], a[:, x])
    # a line falling by the slope lies in one row once sheared
    line = np.zeros((60, 200), np.float32)
    xs = np.arange(200)
    line[np.round(10 + xs * 0.2).astype(int), xs] = 1
    sheared, _ = shear(line, 0.2)
    assert np.count_nonzero(sheared.any(1)) == 1


def test_a_hairline_is_framed_as_wide_and_strong_as_mnist_s_strokes(mnist_test):
    """MNIST test digits drawn with a paint program's 1-2 px pencil on canvases of 220-1,180 px
    (the bench's pencil category): fitted into the 20 px box as they are, their lines were a
    tenth of a pixel wide and as faint (peaking at 0.3-0.5, nothing above half the level).
    Widened before the fit, they arrive at the full level, covering about as much of the field
    as the digit itself does in MNIST."""
    from benchmarks.imagesets import pencil

    images, _ = mnist_test
    for i in range(10):
        data, kind = pencil(images[i], np.random.default_rng([7, i]))
        x = MODEL.pixels(preprocess(Image.open(io.BytesIO(data)), "auto", MODEL))
        own = int((images[i] > 127).sum())
        assert x.max() > 0.95, kind
        assert 0.5 * own <= (x > 0.5).sum() <= 2 * own, kind


@pytest.mark.parametrize("i", [311, 440, 495])
def test_a_thick_digit_the_paper_s_surface_rose_under_everywhere_is_read_flat(
    mnist_test, predictor, i
):
    """MNIST test digits brought down to 8 px (8 grey levels) and enlarged 15 times smoothly:
    ink covers over half the picture, the paper's surface (an opening) rose under much of it,
    and what was left of it stood above no noise floor ('no digit found', in either polarity).
    With a clear polarity, such a picture is read with one paper level when nothing else found
    ink (the last resort)."""
    from benchmarks.imagesets import small_grid

    images, labels = mnist_test
    grid = Image.fromarray((small_grid(images[i], 8, 8) * 255).astype(np.uint8))
    light = grid.resize((120, 120), Image.Resampling.BILINEAR)
    for picture in (light, ImageOps.invert(light)):
        assert predictor.predict(picture).digit == labels[i]


@pytest.mark.parametrize("n", [583, 853])
def test_the_rim_of_a_blurred_zero_filling_its_frame_is_no_ruling(mnist_test, predictor, n):
    """Two low-resolution 0s of the bench (upscaled smoothly, filling their frame): the flat
    top of the rim steps a pixel at a time across most of the picture, as a line a little off
    level does, but does not run from side to side; it stays, and --multi finds one digit (the
    pixel of leeway alone had cut them into 52 and 17). Which digit is the model's affair: the
    model shipped at stop 26 reads these two blurred 0s as 4 and 5, as its single reading does."""
    from benchmarks.imagesets import CATEGORIES, lowres_set

    images, labels = mnist_test
    rng = np.random.default_rng([1, CATEGORIES.index("lowres")])  # the bench's seed 1
    sample = next(s for k, s in enumerate(lowres_set(images, labels, rng, 1000)) if k == n)
    picture = Image.open(io.BytesIO(sample.data))
    result = predictor.read_number(picture)
    assert sample.label == 0 and len(result.digits) == 1
    assert result.text == str(predictor.predict(picture).digit)


def test_strong_ruling_running_past_the_digit_is_removed():
    """A line as dark as the pen that runs far past the digit on both sides is ruling."""
    dark = (20, 30, 120)
    page = read_page(ruled_page(seven, ruling=dark, spacing=50))
    digit = page.parts.mask_of(select_digit(page))
    cols = np.flatnonzero(digit.any(0))
    assert 110 <= cols[0] and cols[-1] <= 210  # the box is the 7's, not the page's width


def test_erased_lines_take_the_ink_beside_them():
    """On a made-up ink map: faint lines (one across a stroke, one on the top row, one on the
    bottom row) and a strong line running far past the digit at both ends are erased, each
    pixel taking the fainter ink above or below it, so the stroke stays whole where a line
    crossed it; thick bands and a strong bar that ends where the digit does stay."""
    ink = np.zeros((100, 120), np.float32)
    for row in range(20, 80):  # a 7: its stem, from the bar's right end down to the left
        left = 94 - (row - 20)
        ink[row, left : left + 6] = 1.0
    ink[20, 25:100] = 1.0  # its bar, as strong as the stem and within the digit's width
    ink[50, :] = 0.4  # faint ruling across the stem
    ink[0, :] = ink[99, :] = 0.5  # faint ruling on the first and last rows
    ink[1:10, 8:12] = 1.0  # a stroke running off the top, under the first row's line
    ink[85, :] = 1.0  # a strong line running past the digit at both ends
    ink[88:94, :] = 0.3  # a band six rows thick: not a line
    out = remove_ruling(ink)
    expected = ink.copy()
    expected[50] = np.minimum(ink[49], ink[51])
    expected[85] = np.minimum(ink[84], ink[86])
    expected[0], expected[99] = ink[1], ink[98]
    assert expected[50, 65:69].min() == 1.0 and expected[50].sum() == 4
    assert expected[0, 8:12].min() == 1.0  # the stroke goes on to the edge
    np.testing.assert_array_equal(out, expected)


def block_and_line(line: tuple[int, int]) -> np.ndarray:
    """A 200 px wide ink map: a heavy part over columns 50-149 (narrower than a line, 120 px)
    and a one-row line at row 10 over `line` (start, end). RULING_OVERHANG is 0.1: the line is
    ruling, however strong, when it reaches 20 px past the part at both ends, i.e. from column
    30 or less to 170 or more."""
    ink = np.zeros((100, 200), np.float64)
    ink[30:90, 50:150] = 1.0
    ink[10, line[0] : line[1]] = 1.0
    return ink


@pytest.mark.parametrize(
    "line, erased",
    [((30, 170), True), ((31, 170), False), ((30, 169), False), ((10, 190), True)],
)
def test_a_strong_line_is_ruling_from_exactly_the_overhang_on(line, erased):
    """A line as strong as the pen is erased only when it runs the overhang past the largest
    part at both ends; one pixel short at either end, it stays."""
    ink = block_and_line(line)
    out = remove_ruling(ink)
    assert out[10].max() == (0.0 if erased else 1.0)
    np.testing.assert_array_equal(out[11:], ink[11:])


def test_the_overhang_is_measured_from_the_heaviest_part_not_the_widest():
    """The largest part is the one with the most ink: a wide faint part above a narrow heavy
    one does not make a long strong line part of the digit."""
    ink = np.zeros((100, 200), np.float64)
    ink[20:40, 50:150] = 0.5  # wide and faint: 2,000 px, mass 1,000
    ink[50:95, 85:115] = 1.0  # narrow and heavy: 1,350 px, mass 1,350
    ink[10, 40:170] = 1.0  # 45 and 55 px past the heavy part; not past the wide one
    assert remove_ruling(ink)[10].max() == 0.0
    ink[50:95, 85:115] = 0.5  # now the lighter one (mass 675): the line stays
    assert remove_ruling(ink)[10].max() == 1.0


def test_strength_is_the_median_over_the_line_s_columns():
    """A faint line is ruling even where pen strokes cross it: its strength is the median of
    its columns' strongest ink, not its strongest pixel, and pixels beside a stepped line do
    not count; it is erased, and the crossing strokes stay whole."""
    ink = np.zeros((100, 200), np.float64)
    ink[30:90, 45:155] = 1.0  # the digit: the line below does not run past it
    ink[10, 35:165] = 0.4
    ink[5:20, 60:64] = ink[5:20, 120:124] = 1.0  # two strokes crossing the line
    out = remove_ruling(ink)
    assert out[10, 35:60].max() == 0.0 and out[10, 60:64].min() == 1.0
    stepped = np.zeros((100, 200), np.float64)
    stepped[30:90, 40:155] = 1.0
    stepped[10, 30:150] = stepped[11, 80:200] = 0.4  # one line, two rows where it overlaps
    assert remove_ruling(stepped)[10:12].max() == 0.0


def test_a_line_s_soft_rims_go_with_it():
    """A faint line with soft rims (a row each side, fainter than LINE_LEVEL, as a scanned or
    photographed line has): the rims are erased too, and the line does not take their ink and
    stay as a ghost; a stroke crossing it stays whole."""
    ink = np.zeros((100, 200), np.float64)
    ink[30:90, 45:155] = 1.0
    ink[10, :] = 0.5
    ink[9, :] = ink[11, :] = 0.15
    ink[0:25, 100:104] = 1.0  # a stroke crossing the line and its rims
    out = remove_ruling(ink)
    assert out[9:12, :99].max() == 0.0 and out[9:12, 105:].max() == 0.0  # beside the stroke
    assert out[0:25, 100:104].min() == 1.0


def test_a_printed_line_s_rims_go_with_it_where_paper_lies_beyond():
    """A strong printed line running past the digit at both ends, whose rim above is half inked
    in places (the line lies between two rows of pixels): those pieces are no stroke (paper
    lies beyond them) and go with it, leaving no dashes; a stroke crossing it stays whole."""
    ink = np.zeros((100, 200), np.float64)
    ink[30:90, 45:155] = 1.0
    ink[10, :] = 1.0
    for start in range(0, 200, 40):
        ink[9, start : start + 20] = 0.5
    ink[11, :] = 0.15
    ink[0:25, 100:104] = 1.0
    out = remove_ruling(ink)
    assert out[8:13, :99].max() == 0.0 and out[8:13, 105:].max() == 0.0
    assert out[0:25, 100:104].min() == 1.0


@pytest.mark.parametrize("rows, erased", [(3, True), (5, True), (6, False)])
def test_a_band_up_to_a_twentieth_of_the_picture_thick_is_a_line(rows, erased):
    """RULING_THICKNESS: on a 100 px tall picture a faint band of up to 5 rows is ruling and
    erased; a thicker one is a stroke and stays."""
    ink = np.zeros((100, 200), np.float64)
    ink[40:90, 45:155] = 1.0
    ink[10 : 10 + rows, :] = 0.4
    out = remove_ruling(ink)
    assert out[10 : 10 + rows].max() == (0.0 if erased else 0.4)


def test_a_line_exactly_as_strong_as_the_threshold_stays_unless_it_runs_past():
    """RULING_STRENGTH 0.7: a line at 0.7 that stays within the digit's width is pen."""
    ink = np.zeros((100, 200), np.float64)
    ink[30:90, 45:155] = 1.0
    ink[10, 35:165] = 0.7
    assert remove_ruling(ink)[10].max() == 0.7
    ink[10, 35:165] = 0.69
    assert remove_ruling(ink)[10].max() == 0.0


def test_a_line_on_the_second_row_takes_the_fainter_of_both_rows_beside_it():
    """Erasing a line on row 1, each column takes the fainter of rows 0 and 2: a stroke that
    crosses the line stays whole, one that starts just below it does not climb into it."""
    ink = np.zeros((100, 200), np.float64)
    ink[30:90, 45:155] = 1.0
    ink[1, :] = 0.4
    ink[0:20, 20:24] = 1.0  # crosses the line
    ink[2:20, 170:174] = 1.0  # starts below it
    out = remove_ruling(ink)
    assert out[1, 20:24].min() == 1.0 and out[1, 170:174].max() == 0.0
    assert out[1, :20].max() == 0.0


def in_a_box(digit: np.ndarray, box: int | None, pad: int = 14, angle: float = 0.0):
    """An MNIST digit, three times its size, dark on light paper, inside a printed box of grey
    level `box` (None: no box) drawn `pad` px from its ink, the photo turned by `angle`."""
    ink = np.asarray(Image.fromarray(digit).resize((84, 84), Image.Resampling.BILINEAR), float)
    img = Image.new("L", (220, 220), 245)
    img.paste(Image.fromarray((245 - 225 * ink / 255).astype(np.uint8)), (68, 68))
    if box is not None:
        rows, cols = np.flatnonzero((ink > 60).any(1)), np.flatnonzero((ink > 60).any(0))
        corners = [68 + cols[0] - pad, 68 + rows[0] - pad, 68 + cols[-1] + pad, 68 + rows[-1] + pad]
        ImageDraw.Draw(img).rectangle(corners, outline=box, width=2)
    return img.rotate(angle, Image.Resampling.BILINEAR, fillcolor=245) if angle else img


@pytest.mark.parametrize(
    "box, angle", [(20, 0), (140, 0), (20, 3)], ids=["dark", "light", "turned"]
)
def test_a_box_printed_around_a_digit_is_not_ink(mnist_test, predictor, box, angle):
    """A form's field: the box around the digit is left out, so the model sees the digit as it
    would without the box (dark or light lines, or the photo turned 3 degrees), and reads it."""
    images, labels = mnist_test
    for i in (0, 1, 2, 3, 4, 7, 11, 18, 61, 84):
        boxed = preprocess(in_a_box(images[i], box, angle=angle), "auto", MODEL)
        alone = preprocess(in_a_box(images[i], None, angle=angle), "auto", MODEL)
        assert np.abs(np.subtract(extent(boxed), extent(alone))).max() <= 2, i
        assert predictor.predict(in_a_box(images[i], box, angle=angle)).digit == labels[i]


def extent(x: np.ndarray) -> list[int]:
    """The first and last rows and columns of a model input's ink (as a box: top, bottom, left,
    right). The ink's level may differ a little with other marks in the picture; its box not."""
    on = MODEL.pixels(x) > 0.15
    return [*np.flatnonzero(on.any(1))[[0, -1]], *np.flatnonzero(on.any(0))[[0, -1]]]


def underlined(digit: np.ndarray, line: bool = True) -> Image.Image:
    """An MNIST digit, three times its size, dark on light paper, underlined 8 px below its ink
    with a pen stroke as thick as its own, running past it on both sides."""
    ink = np.asarray(Image.fromarray(digit).resize((84, 84), Image.Resampling.BILINEAR), float)
    img = Image.new("L", (220, 220), 245)
    img.paste(Image.fromarray((245 - 225 * ink / 255).astype(np.uint8)), (68, 60))
    if line:
        rows, cols = np.flatnonzero((ink > 60).any(1)), np.flatnonzero((ink > 60).any(0))
        y = 60 + rows[-1] + 8
        ImageDraw.Draw(img).line([(58 + cols[0], y), (78 + cols[-1], y)], fill=20, width=6)
    return img


def test_a_line_under_a_digit_is_not_part_of_it(mnist_test, predictor):
    """An underlined digit is read as the digit (an underlined 7 is no 2): the line is left out
    of the digit's box."""
    images, labels = mnist_test
    for i in (0, 1, 2, 3, 4, 7, 11, 18, 61, 84):
        with_line = preprocess(underlined(images[i]), "auto", MODEL)
        alone = preprocess(underlined(images[i], line=False), "auto", MODEL)
        assert np.abs(np.subtract(extent(with_line), extent(alone))).max() <= 2, i
        assert predictor.predict(underlined(images[i])).digit == labels[i]


def test_a_flat_stroke_level_with_the_digit_s_foot_stays_in_it():
    """A 2 whose base is written apart from its diagonal, at the height the diagonal ends: the
    base is the 2's, not an underline."""
    img = Image.new("L", (200, 200), 245)
    draw = ImageDraw.Draw(img)
    draw.line([(70, 70), (100, 45), (130, 70), (75, 150)], fill=20, width=8, joint="curve")
    draw.line([(84, 150), (140, 150)], fill=20, width=8)  # the base, apart from the diagonal
    page = read_page(img)
    assert len(select_digit(page)) == 2


def rectangle(inside: tuple[int, int] | None) -> np.ndarray:
    """A hollow rectangle (a 0 drawn square, or a box) with a 6x6 blot at `inside` or none."""
    img = Image.new("L", (200, 200), 245)
    draw = ImageDraw.Draw(img)
    draw.rectangle([60, 40, 140, 160], outline=20, width=5)
    if inside is not None:
        y, x = inside
        draw.rectangle([x, y, x + 5, y + 5], fill=20)
    return np.asarray(img, np.float32) / 255


@pytest.mark.parametrize("inside, is_box", [(None, False), ((90, 95), False)])
def test_a_rectangle_holding_little_or_no_ink_is_a_digit_not_a_box(inside, is_box):
    """A 0 written as a rectangle stays a digit, even with a speck inside it (under a tenth of
    its ink): a box must hold writing."""
    page = clean(rectangle(inside))
    big = int(np.argmax(page.parts.area))
    assert big in page.keep and (frame_lines(page.parts, big, page.keep) is not None) is is_box
    assert page.parts.width[select_digit(page)].max() >= 80


def test_only_boxes_with_four_sides_of_straight_lines_are_frames():
    """The frame test on made-up parts: a box around a blot is one; without one of its sides
    (a U around it), or as an oval ring (corners empty), it is not."""
    box = np.zeros((100, 100), bool)
    box[10:13, 10:90] = box[87:90, 10:90] = box[10:90, 10:13] = box[10:90, 87:90] = True
    blot = np.zeros_like(box)
    blot[40:60, 40:60] = True
    yy, xx = np.mgrid[:100, :100]
    r = np.hypot((yy - 50) / 40, (xx - 50) / 40)
    ring = (r > 0.93) & (r < 1.0)
    u_shape = box.copy()
    u_shape[10:13, 13:87] = False
    for shape, expected in ((box, True), (u_shape, False), (ring, False)):
        found = parts(shape | blot)
        outer = int(np.argmax(found.width))
        assert (frame_lines(found, outer, list(range(len(found)))) is not None) is expected


def test_bar_of_a_tight_seven_stays():
    """In a tight crop the 7's bar spans the picture, as ruling does; it is kept."""
    img = Image.new("L", (90, 120), 250)
    seven(ImageDraw.Draw(img), 10, box=(3, 4, 86, 118), width=9)
    ruled = remove_ruling(clean(np.asarray(img, np.float32) / 255).ink)
    assert ruled[2:8, 10:80].mean() > 0.8  # the bar
    x = preprocess(img, "auto", MODEL)
    top_rows = MODEL.pixels(x)[:10]
    assert top_rows.max(1).max() > 0.9 and (top_rows > 0.5).sum(1).max() >= 10


def test_detached_bar_of_a_five_is_kept():
    """A 5 whose top bar does not touch its body: both parts make the digit."""
    img = Image.new("L", (200, 200), 255)
    draw = ImageDraw.Draw(img)
    draw.line([(84, 40), (140, 40)], fill=0, width=8)  # the bar, 8 px above the body
    draw.line([(78, 52), (72, 100), (100, 92), (130, 105), (138, 130), (125, 158), (95, 165),
               (65, 150)], fill=0, width=8, joint="curve")  # fmt: skip
    page = read_page(img)
    chosen = select_digit(page)
    assert len(chosen) == 2
    digit = page.parts.mask_of(chosen)
    assert digit[37:44, 90:135].all(axis=0).any()


def test_four_in_two_strokes_is_one_digit():
    """A 4 drawn as two separate strokes is read as one digit of both."""
    img = Image.new("L", (200, 200), 255)
    draw = ImageDraw.Draw(img)
    draw.line([(90, 30), (60, 120), (110, 120)], fill=0, width=8)
    draw.line([(124, 55), (122, 175)], fill=0, width=8)  # the stem, 10 px from the bar
    page = read_page(img)
    assert len(select_digit(page)) == 2


def test_specks_do_not_move_the_box(mnist_test):
    """Specks around a digit change neither its box nor the model's input."""
    images, _ = mnist_test
    clean_page = np.full((300, 300), 240, np.uint8)
    clean_page[80:220, 90:230] = 255 - np.asarray(
        Image.fromarray(images[3]).resize((140, 140), Image.Resampling.BICUBIC)
    )
    specked = clean_page.copy()
    for y, x in [(20, 20), (30, 270), (270, 40), (250, 250), (60, 150), (240, 160)]:
        specked[y : y + 3, x : x + 3] = 30
    a = preprocess(Image.fromarray(clean_page), "auto", MODEL)
    b = preprocess(Image.fromarray(specked), "auto", MODEL)
    assert np.abs(MODEL.pixels(a) - MODEL.pixels(b)).max() < 0.02


def as_jpeg(levels: np.ndarray, quality: int) -> Image.Image:
    """A picture of grey or RGB levels (0..255, clipped), saved as JPEG and opened again."""
    out = io.BytesIO()
    Image.fromarray(np.clip(levels, 0, 255).astype(np.uint8)).save(out, "JPEG", quality=quality)
    return Image.open(out)


def blank(kind: str) -> Image.Image:
    rng = np.random.default_rng(0)
    h, w = 240, 320
    if kind == "white":
        return Image.new("L", (w, h), 255)
    if kind == "black":
        return Image.new("L", (w, h), 0)
    if kind == "grey-paper-jpeg-noise":
        a = 200 + rng.normal(0, 4, (h, w))
        return Image.fromarray(np.clip(a, 0, 255).astype(np.uint8))
    if kind == "uniform-noise":
        return Image.fromarray(rng.integers(0, 256, (h, w), dtype=np.uint8))
    if kind == "uneven-light":
        yy, xx = np.mgrid[0:h, 0:w]
        return Image.fromarray((230 - 60 * xx / w - 30 * yy / h).astype(np.uint8))
    if kind == "empty-canvas":
        return Image.fromarray(np.zeros((h, w, 4), np.uint8), "RGBA")
    if kind == "green-paper-jpeg-noise":  # colour: read along its colours' main axis too
        return as_jpeg(np.array([120, 200, 110]) + rng.normal(0, 4, (h, w, 3)), 70)
    if kind == "colour-noise":
        return Image.fromarray(rng.integers(0, 256, (h, w, 3), dtype=np.uint8))
    if kind == "hue-noise":  # red and green varying against each other at one luminance
        a = rng.normal(0, 20, (h, w, 1)) * np.array([1.0, -0.51, 0.0])
        return Image.fromarray(np.clip(150 + a, 0, 255).astype(np.uint8))
    raise ValueError(kind)


@pytest.mark.parametrize(
    "kind",
    [
        "white", "black", "grey-paper-jpeg-noise", "uniform-noise", "uneven-light",
        "empty-canvas", "green-paper-jpeg-noise", "colour-noise", "hue-noise",
    ],
)  # fmt: skip
def test_blank_pictures_hold_no_digit(kind):
    """Blank paper, an empty canvas, pure noise and light alone: 'no digit found'."""
    with pytest.raises(NoDigitError):
        preprocess(blank(kind), "auto", MODEL)


@pytest.mark.parametrize("mode, size", [("P", (1, 1)), ("RGB", (1, 1)), ("RGB", (2, 1))])
def test_a_picture_of_a_pixel_or_two_in_colour_holds_no_digit(mode, size):
    """Too few pixels for their colours to have an axis (the fuzz test found a 1x1 palette
    picture failing on it, inside NumPy): "no digit found", as in grey."""
    img = Image.new(mode, size)
    if mode == "RGB":
        img.putpixel((0, 0), (200, 30, 30))
    with pytest.raises(NoDigitError):
        preprocess(img, "auto", MODEL)


@pytest.mark.parametrize(
    "ink, paper",
    [
        ((200, 60, 60), (60, 140, 60)),
        ((40, 90, 230), (150, 90, 40)),
        ((240, 130, 200), (160, 200, 140)),
    ],
    ids=["red-on-green", "blue-on-brown", "pink-on-light-green"],
)
def test_ink_differing_from_its_paper_in_hue_alone_is_read(mnist_test, predictor, ink, paper):
    """Ink of the paper's luminance (within MIN_CONTRAST) but another hue is no ink in grey: the
    picture read "no digit found". Read along its colours' main axis, it is a clear digit."""
    luminance = np.array([0.299, 0.587, 0.114])
    assert abs((np.array(ink) - np.array(paper)) @ luminance) < MIN_CONTRAST * 255
    images, labels = mnist_test
    right = 0
    for i in range(20):
        a = np.asarray(Image.fromarray(images[i]).resize((112, 112)), np.float32)[..., None] / 255
        rgb = np.array(paper) * (1 - a) + np.array(ink) * a
        photo = Image.fromarray(
            np.pad(rgb, ((30, 30), (40, 40), (0, 0)), mode="edge").astype(np.uint8)
        )
        right += predictor.predict(photo).digit == labels[i]
    assert right >= 19


@pytest.mark.parametrize("i", [311, 701])
def test_a_blurred_digit_filling_its_frame_is_found(mnist_test, predictor, i):
    """A 0 brought down to 9-11 px and upscaled smoothly, filling the frame: half the paper's
    class is the strokes' soft edges, so the paper's median and spread lie up their ramp and no
    ink stood above the noise floor ('no digit found'). The paper's commonest level finds it."""
    from benchmarks.imagesets import lowres

    images, labels = mnist_test
    data, _ = lowres(images[i], np.random.default_rng([11, i]))
    assert labels[i] == 0 and predictor.predict(data).digit == 0


def uci_bitmap(digit: np.ndarray, scale: int = 12) -> Image.Image:
    """An MNIST digit reduced as UCI's optdigits were made (its ink as a 32x32 bitmap, each
    4x4 block counted, 0..16), dark on white and enlarged `scale` times with square pixels:
    blocks of grey that fill the frame, the digit's bars along its sides."""
    ink = digit > 127
    rows, cols = np.flatnonzero(ink.any(1)), np.flatnonzero(ink.any(0))
    crop = Image.fromarray(ink[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1])
    fit = 32 / max(crop.size)
    crop = np.asarray(
        crop.resize((max(1, round(crop.width * fit)), max(1, round(crop.height * fit))))
    )
    bitmap = np.zeros((32, 32), int)
    top, left = (32 - crop.shape[0]) // 2, (32 - crop.shape[1]) // 2
    bitmap[top : top + crop.shape[0], left : left + crop.shape[1]] = crop
    counts = bitmap.reshape(8, 4, 8, 4).sum(axis=(1, 3))
    grey = Image.fromarray((255 - counts * 255 // 16).astype(np.uint8))
    return grey.resize((8 * scale, 8 * scale), Image.Resampling.NEAREST)


def test_a_digit_filling_its_frame_in_blocks_shows_no_page(mnist_test):
    """An 8x8 digit enlarged with square pixels runs to the picture's sides in a few strokes,
    and its paper can be convex with writing inside (a detached block). Taken for a page, its
    strokes were painted away as the desk beyond it (4 of 1,000 development low-resolution
    pictures): the desk beyond a page lies along a quarter of the picture's border or more."""
    images, _ = mnist_test
    for i in range(300):
        for img in (uci_bitmap(images[i]), ImageOps.invert(uci_bitmap(images[i]))):
            grey = np.asarray(img, np.float32) / 255
            assert find_page(grey, clean(grey).white_on_black) is None, i


def test_low_resolution_blocks_taken_for_shadow_are_read_with_one_paper_level(
    mnist_test, predictor
):
    """300 MNIST test digits as UCI's 8x8 bitmaps: the paper's surface (an opening wider than
    strokes) fits inside their blocks of grey and lifts them off as shadow. Where it rises
    under the digit above the paper around it, the picture is read again with one paper
    level, and the Predictor keeps the surer reading."""
    images, labels = mnist_test
    first = kept = offered = 0
    for i in range(300):
        img = uci_bitmap(images[i])
        pages = read_pages(img)
        offered += any(page.surface is None for page in pages[1:])
        tries = auto_inputs(img, MODEL)
        first += int(predictor.run(tries[:1, None])[0].argmax()) == labels[i]
        kept += predictor.predict(img).digit == labels[i]
    assert offered >= 60
    assert kept >= first + 4


BLOCKY_SEVEN = [
    [16, 16, 16, 16, 16, 16, 16, 10],
    [8, 12, 12, 12, 12, 14, 16, 8],
    [0, 0, 0, 0, 4, 16, 10, 0],
    [0, 0, 0, 0, 12, 14, 2, 0],
    [0, 0, 0, 6, 16, 6, 0, 0],
    [0, 0, 0, 12, 14, 0, 0, 0],
    [0, 0, 4, 16, 8, 0, 0, 0],
    [0, 0, 8, 16, 2, 0, 0, 0],
]


@pytest.mark.parametrize("scale", [10, 14, 20])
def test_a_low_resolution_seven_s_bar_along_the_top_is_not_shadow(predictor, scale):
    """An 8x8 7 (UCI's 0..16 grey levels) enlarged with square pixels: its bar runs along the
    picture's top, the opening took it for shadow and what was left of it went as a page's
    edge, and the stem read 1. The surface beside the stem comes up to the ink's own level, so
    the picture is also read with one paper level, which keeps the bar."""
    counts = np.array(BLOCKY_SEVEN)
    grey = Image.fromarray((255 - counts * 255 // 16).astype(np.uint8))
    img = grey.resize((8 * scale, 8 * scale), Image.Resampling.NEAREST)
    bars = [float(page.ink[:scale, : 7 * scale].mean()) for page in read_pages(img)]
    assert bars[0] < 0.5 and max(bars) > 0.95
    assert predictor.predict(img).digit == 7


def test_a_thick_body_taken_for_shadow_is_read_whole(mnist_test):
    """Digits drawn with a brush so wide that they are blobs: the opening fits inside the body
    and the first reading has a hole in it (a square taken out of a 6); the reading with one
    paper level has the whole body."""
    from benchmarks.imagesets import dilate

    images, _ = mnist_test
    whole = 0
    for i in range(20):
        body = np.pad(dilate(tight(images[i], 8) > 128, 28), 12)
        img = Image.fromarray(np.where(body, 30, 235).astype(np.uint8))
        pages = read_pages(img)
        strength = [float((page.ink[body] > 0.5).mean()) for page in pages]
        if strength[0] < 0.9:
            flat = [s for page, s in zip(pages, strength, strict=True) if page.surface is None]
            whole += bool(flat) and max(flat) > 0.99
    assert whole >= 6


@pytest.mark.parametrize("lit_from, desk_from", [(0.45, 0.85), (0.65, 0.92), (0.8, 1.0)])
def test_a_digit_in_a_shadow_gets_no_reading_with_one_paper_level(mnist_test, lit_from, desk_from):
    """A digit written in a shadow: the surface rises under it, but as much in the paper around
    it, so the picture is read once. (Otsu puts such a shadow in the ink's class: with one
    level, the shadow would be ink.)"""
    images, _ = mnist_test
    for i in range(10):
        grey = half_in_shadow(images[i], lit_from, desk_from)
        pages = read_pages(Image.fromarray((grey * 255).astype(np.uint8)))
        assert len(pages) == 1 and pages[0].surface is not None, i


@pytest.mark.parametrize("seed", range(10))
def test_frame_centres_by_mass_within_half_a_pixel(seed):
    """A ring of any size, shape and place lands with its centre of mass within 0.5 px of the
    field's centre (14, 14), and fits the 20x20 box."""
    rng = np.random.default_rng(seed)
    img = Image.new("L", (200, 200), 0)
    y, x = rng.uniform(5, 90, 2)
    h, w = rng.uniform(40, 100), rng.uniform(15, 100)
    ImageDraw.Draw(img).ellipse([x, y, x + w, y + h], outline=255, width=int(rng.integers(3, 12)))
    ink = np.asarray(img, np.float32) / 255
    field = frame(ink, ink > 0.5, (28, 28))
    rows, cols = np.flatnonzero(field.max(1) > 0.5), np.flatnonzero(field.max(0) > 0.5)
    assert 19 <= max(rows[-1] - rows[0], cols[-1] - cols[0]) + 1 <= 21
    mass = field.sum()
    cy = (field.sum(1) * np.arange(28)).sum() / mass
    cx = (field.sum(0) * np.arange(28)).sum() / mass
    assert abs(cy - 14) <= 0.5 + 1e-4 and abs(cx - 14) <= 0.5 + 1e-4


@pytest.mark.parametrize("turns", range(4), ids=["left", "bottom", "right", "top"])
def test_desk_band_is_erased_even_when_a_digit_touches_it(turns):
    """A dark band along any side (the desk beyond the page) goes, though a digit touches
    it and runs off one other side; the digit stays, and so does the paper between them."""
    from runtime.ink import erase_page_edges

    ink = np.zeros((200, 300), np.float32)
    ink[:, :20] = 0.9  # the desk
    ink[0:80, 20:30] = 1.0  # a stroke touching it, from the top side down
    ink[60:70, 20:80] = 1.0
    out = np.rot90(erase_page_edges(np.ascontiguousarray(np.rot90(ink, turns))), -turns)
    assert out[:, :20].max() == 0 and out[0:80, 24:30].min() == 1.0
    np.testing.assert_array_equal(out[:, 22:], ink[:, 22:])  # the band and its soft edge only


def test_desk_band_with_a_printed_line_running_from_it_is_erased():
    """A form's printed line runs from the desk beside the page across the picture, under the
    digit: it is a line, not a stroke hanging from the band, and the band goes."""
    from runtime.ink import erase_page_edges

    ink = np.zeros((200, 300), np.float32)
    ink[:, :20] = 0.9  # the desk
    ink[150:152, 20:] = 0.8  # the printed line, two pixels thin
    ink[40:140, 140:150] = 1.0  # a digit's stroke above it
    out = erase_page_edges(ink)
    assert out[:, :20].max() == 0 and out[150:152, 30:].min() == 0.8


def test_a_comb_running_off_the_photo_is_a_frame():
    """A form's comb cut off by the photo's sides (its end boxes open there) is still a box:
    the sides the photo cuts off need no line."""
    comb = np.zeros((120, 300), bool)
    comb[20:23, :] = comb[100:103, :] = True  # top and bottom lines, running off both sides
    for x in (60, 150, 240):
        comb[20:103, x : x + 3] = True  # dividers
    digit = np.zeros_like(comb)
    digit[40:85, 100:108] = True  # a 1 in the middle box
    found = parts(comb | digit)
    outer = int(np.argmax(found.width))
    lines = frame_lines(found, outer, list(range(len(found))))
    assert lines is not None and not (lines & digit).any()
    # where a divider crosses a line neither is erased: a dot of it stays, a speck
    assert lines[21].mean() > 0.95 and lines[60, 61] and lines[60, 241]


def comb_form(digit: np.ndarray, angle: float, cell: int = 110) -> Image.Image:
    """A form's comb of three boxes, printed in grey 2 px lines and running off the photo's
    sides, an MNIST digit written dark in its middle box; photographed `angle` degrees off."""
    w, h = int(3.6 * cell), int(1.9 * cell)
    img = Image.new("L", (w, h), 240)
    draw = ImageDraw.Draw(img)
    x0, y0 = (w - 3 * cell) // 2, (h - cell) // 2
    for y in (y0, y0 + cell):
        draw.line([(0, y), (w, y)], fill=90, width=2)
    for x in range(x0, x0 + 3 * cell + 1, cell):
        draw.line([(x, y0), (x, y0 + cell)], fill=90, width=2)
    ink = np.asarray(Image.fromarray(digit).resize((84, 84), Image.Resampling.BILINEAR), float)
    writing = Image.fromarray((240 - 220 * ink / 255).astype(np.uint8))
    where = Image.fromarray((ink > 20).astype(np.uint8) * 255)
    img.paste(writing, (x0 + cell + 13, y0 + 13), where)
    return turned_photo(img, angle)


@pytest.mark.parametrize("angle", [-3.0, -1.5, 2.0, 3.0])
def test_a_comb_photographed_off_level_is_erased_as_it_lies(mnist_test, predictor, angle):
    """A comb a few degrees off drops by more than its band's depth along its length, and its
    dividers, too short for ruling, were left beside the digit when the picture was read as it
    lies: --multi read '1d1'. Sheared level and upright, the comb is a box and goes."""
    images, labels = mnist_test
    for i in range(6):
        photo = comb_form(images[i], angle)
        assert predictor.read_number(photo).text == str(labels[i]), i
        page = read_pages(photo)[0]
        others = set(page.keep) - set(select_digit(page))
        assert all(page.parts.area[k] <= 12 for k in others), i


def test_a_line_beside_a_stroke_in_its_band_still_goes():
    """A box's side with a digit's stroke running beside it, a few pixels apart, inside the
    side's band: the side is erased beside the stroke too, and the stroke is kept whole. A
    stroke touching the side keeps the side's pixels where they meet."""
    ink = np.zeros((200, 200), bool)
    ink[20:23, 20:180] = ink[177:180, 20:180] = True  # the top and bottom
    ink[20:180, 20:23] = ink[20:180, 177:180] = True  # the sides
    stroke = np.zeros_like(ink)
    stroke[70:136, 168:174] = True  # along the right side, 3 px apart from it, ...
    stroke[130:136, 100:177] = True  # ... and a bar running into the side, touching it
    found = parts(ink | stroke)
    assert len(found) == 1
    lines = frame_lines(found, 0, [0])
    assert lines is not None and not (lines & stroke).any()
    assert lines[70:128, 177:180].all()
    assert not lines[130:136, 177:180].any()


def test_lines_closer_than_a_band_is_deep_are_no_box():
    """Squared paper, or ruling joined by a margin's line, is one part with lines along its
    four sides and across it, like a comb; but its lines lie closer together than a box's band
    is deep (a tenth of its size). It is ruling, left to remove_ruling; the digit stays."""
    grey = np.full((300, 300), 0.95, np.float32)
    grey[::30, :] = grey[:, ::30] = 0.6  # the squares, 30 px apart, to the photo's sides
    grey[-1, :] = grey[:, -1] = 0.6
    zero = Image.new("1", (300, 300))
    ImageDraw.Draw(zero).ellipse([100, 70, 190, 230], outline=1, width=9)  # across the lines
    stroke = np.asarray(zero)
    grey[stroke] = 0.1
    found = parts(grey < 0.8)
    assert len(found) == 1 and frame_lines(found, 0, [0]) is None
    page = clean(grey)
    digit = page.parts.mask_of(select_digit(page))
    assert (digit & stroke).sum() >= 0.9 * stroke.sum()


def desk_and_lines(dividers: bool) -> tuple[np.ndarray, np.ndarray]:
    """A page photographed with the desk along its left side (grey levels, 0 dark): two printed
    lines run from the desk across the page, with a box's right side and dividers (a comb
    running up to the desk) or without (ruling, running off the photo's right side); and a
    digit in the middle (a 1 in the comb; a 4 in two strokes between the ruled lines, its stem
    from one to the other). Returns the picture and the digit's mask."""
    grey = np.full((160, 320), 0.95, np.float32)
    grey[:, :24] = 0.25  # the desk
    grey[30:33, 24:] = grey[130:133, 24:] = 0.2
    stroke = np.zeros(grey.shape, bool)
    if dividers:
        grey[30:133, 280:283] = grey[30:133, 100:103] = grey[30:133, 190:193] = 0.2
        grey[:, 283:] = 0.95  # the comb ends in its own right side
        stroke[45:118, 140:150] = True
    else:
        for y in range(33, 130):  # from one line to the other, slanting
            x = 150 - (y - 33) * 15 // 97
            stroke[y, x : x + 8] = True
        stroke[70:78, 100:134] = True  # and a bar, apart from it (a 4)
    grey[stroke] = 0.1
    return grey, stroke


@pytest.mark.parametrize("turns", range(4), ids=["left", "bottom", "right", "top"])
def test_a_comb_running_up_to_the_desk_is_erased_with_the_desk(turns):
    """A comb printed on a form runs up to the desk beside the page: it meets the desk only by
    its two thin lines, so the desk is no bar that a digit's stem hangs from, and goes; the
    comb, cut off by the desk's edge on one side and drawn on the other, is a box. Only the
    digit is left, and specks where the dividers crossed the lines."""
    grey, stroke = (np.ascontiguousarray(np.rot90(a, turns)) for a in desk_and_lines(True))
    page = clean(grey)
    digit = page.parts.mask_of(select_digit(page))
    assert (digit & stroke).sum() >= 0.9 * stroke.sum() and not (digit & ~grow(stroke, 2)).any()
    others = [k for k in page.keep if not (page.parts.labels == k + 1)[stroke].any()]
    assert all(page.parts.area[k] <= 6 for k in others)


def test_ruling_running_from_the_desk_to_the_photo_s_side_is_no_box():
    """Two lines from the desk's edge to the photo's side, with a digit touching both, are
    ruling, not a box whose two missing sides were cut off: one side may be missing where the
    desk was, the other must be drawn. The digit stays whole."""
    grey, stroke = desk_and_lines(False)
    page = clean(grey)
    digit = page.parts.mask_of(select_digit(page))
    assert (digit & stroke).sum() >= 0.9 * stroke.sum()
    for dividers in (False, True):
        assert is_a_box_beside_the_desk(desk_and_lines(dividers)[0]) is dividers


def is_a_box_beside_the_desk(grey: np.ndarray) -> bool:
    """Whether the widest part of a desk_and_lines picture, its desk (24 px on the left)
    erased as the page's edge, is a box."""
    from runtime.ink import Edges

    inked = grey < 0.5
    inked[:, :24] = False  # the desk, erased as the page's edge
    found = parts(inked)
    outer = int(np.argmax(found.width))
    return frame_lines(found, outer, list(range(len(found))), Edges(left=24)) is not None


@pytest.mark.parametrize("turns", range(4), ids=["top", "left", "bottom", "right"])
def test_band_whose_strokes_run_on_to_the_other_sides_stays(turns):
    """A full band on one side with strokes running on from it to two other sides is a digit
    cropped tight (a 7's bar and stem, a T), not the desk: on any side, nothing is erased."""
    from runtime.ink import erase_page_edges

    ink = np.zeros((200, 300), np.float32)
    ink[:16] = 1.0  # the bar, across the whole top
    ink[16:, 140:160] = 1.0  # the stem, down to the bottom
    ink[100:110, 150:] = 1.0  # an arm, out to the right
    turned = np.ascontiguousarray(np.rot90(ink, turns))
    np.testing.assert_array_equal(erase_page_edges(turned), turned)
    tall = np.zeros((300, 200), np.float32)  # taller than wide, the arm low beside the band
    tall[284:] = 1.0
    tall[:284, 90:110] = 1.0
    tall[250:260, 100:] = 1.0
    tall = np.ascontiguousarray(np.rot90(tall, turns + 2))
    np.testing.assert_array_equal(erase_page_edges(tall), tall)


@pytest.mark.parametrize("turns", range(4), ids=["top", "left", "bottom", "right"])
def test_bar_whose_stem_crosses_the_picture_stays(turns):
    """A 7 filling a low-resolution frame: its bar is a full band along one side, and its
    slanted stem, hanging from the bar, reaches only the opposite side. The stem holds all the
    ink beyond the band and crosses the picture, so the band is the digit's, not the desk."""
    from runtime.ink import erase_page_edges

    img = Image.new("L", (120, 120), 0)
    draw = ImageDraw.Draw(img)
    draw.rectangle([0, 0, 119, 19], fill=255)
    draw.line([(100, 18), (45, 119)], fill=255, width=14)
    ink = np.ascontiguousarray(np.rot90(np.asarray(img, np.float32) / 255, turns))
    np.testing.assert_array_equal(erase_page_edges(ink), ink)


def test_desk_band_with_a_line_hanging_from_it_is_erased():
    """The desk along the top of a squared page: a dark vertical line of the squares runs from
    it across the page, but the digit beside it holds most of the ink, so the band goes."""
    from runtime.ink import erase_page_edges

    ink = np.zeros((200, 200), np.float32)
    ink[:24] = 0.9  # the desk
    ink[24:, 40:42] = 0.8  # a dark line of the squares, down to the bottom
    ink[80:160, 100:112] = 1.0  # the digit
    ink[80:92, 100:150] = 1.0
    out = erase_page_edges(ink)
    assert out[:24].max() == 0
    np.testing.assert_array_equal(out[30:], ink[30:])


def test_cut_columns_find_the_thin_joint():
    """Two blobs joined by a thin bridge: the first column tried is in the bridge, and every
    column leaves a third of a digit on each side."""
    from runtime.segment import Candidate, cut_columns, split

    mask = np.zeros((60, 140), bool)
    mask[12:50, 10:60] = True
    mask[28:32, 60:75] = True  # the bridge
    mask[16:56, 75:130] = True
    ink = mask.astype(np.float32)
    candidate = Candidate(mask, (10, 12, 130, 56))
    columns = cut_columns(candidate, ink, width=48)
    assert 60 <= columns[0] < 75
    assert all(10 + 16 <= c <= 130 - 16 for c in columns)
    assert all(abs(a - b) >= 12 for a in columns for b in columns if a != b)
    left, right = split(candidate, [columns[0]])
    assert left.box == (10, 12, columns[0], 50) and right.box == (columns[0], 16, 130, 56)
    assert not left.mask[:, columns[0] :].any() and not right.mask[:, : columns[0]].any()
    assert split(candidate, [10]) == []  # an empty side is no cut


def flat_pair(width: int) -> np.ndarray:
    """Two 24-row halves joined by a thin bridge, `width` px across in all, from column 10:
    framed, a half is over 12 px tall and the pair (48 px or wider) at most 10."""
    mask = np.zeros((44, width + 20), bool)
    half = (width - 4) // 2
    mask[10:34, 10 : 10 + half] = True
    mask[21:23, 10 + half : 14 + half] = True
    mask[10:34, 14 + half : 10 + width] = True
    return mask


def sure_halves(whole: float):
    """A classifier that is sure of anything framed taller than 12 px (a half, as tall as it
    is wide) and `whole` sure of the rest (a flat pair read whole)."""

    def classify(framed):
        heights = (framed.sum(2) > 0).sum(1)
        sure = np.where(heights > 12, 0.999, whole)
        probs = np.repeat(((1 - sure) / 9)[:, None], 10, axis=1)
        probs[:, 3] = sure
        return probs

    return classify


@pytest.mark.parametrize("whole, cut", [(0.3, True), (0.999, False)])
def test_a_cut_is_kept_only_when_it_reads_better(whole, cut):
    """A wide group is cut when its halves read more confidently than the whole (by the
    margin for its width), and left whole otherwise."""
    from runtime.segment import Candidate, best_split

    mask = np.zeros((60, 140), bool)
    mask[10:50, 10:60] = True
    mask[28:32, 60:75] = True
    mask[10:50, 75:130] = True
    pieces = best_split(Candidate(mask, (10, 10, 130, 50)), 48, mask.astype(np.float32),
                        sure_halves(whole), (28, 28))  # fmt: skip
    assert len(pieces) == (2 if cut else 1)


@pytest.mark.parametrize(
    "width, whole, pieces",
    [(48, 0.3, 1), (49, 0.3, 2), (72, 0.8, 1), (72, 0.6, 2)],
    ids=["one-digit-wide", "a-pixel-wider", "doubt-holds", "doubt-overcome"],
)
def test_only_groups_wider_than_a_digit_are_cut_and_narrow_ones_need_a_clear_win(
    width, whole, pieces
):
    """With a typical digit 48 px wide: a group exactly that wide is never cut, however
    unsure its reading; one pixel wider it may be. A group 1.5 digits wide pays a doubt of
    0.75 x (2 - 1.5) in log-odds: its halves (sure, 0.999 each) beat a whole read at 0.6
    (log 0.6 = -0.51) but not one read at 0.8 (-0.22)."""
    from runtime.segment import Candidate, best_split

    mask = flat_pair(width)
    candidate = Candidate(mask, (10, 10, 10 + width, 34))
    found = best_split(candidate, 48, mask.astype(np.float32), sure_halves(whole), (28, 28))
    assert len(found) == pieces


def test_cut_columns_are_the_deepest_dips_a_quarter_digit_apart_a_third_from_the_ends():
    """Columns of a made-up profile: dips at 40 and 52 (a quarter of a 48 px digit apart,
    exactly) come first, in that order, then the next deepest far enough from both; a deeper
    dip 14 px from the right end (under a third of a digit) is never tried."""
    from runtime.segment import Candidate, cut_columns

    heights = np.full(120, 40)
    heights[39:42] = 2  # the deepest dips: centres 40 and 52
    heights[51:54] = 2
    heights[75:78] = 10
    heights[105:108] = 0  # deeper, but too near the right end
    mask = np.arange(40)[:, None] < heights[None, :]
    ink = mask.astype(np.float32)
    columns = cut_columns(Candidate(mask, (0, 0, 120, 40)), ink, width=48)
    assert columns[:3] == [40, 52, 76]
    assert all(16 <= c <= 120 - 16 for c in columns)


def test_paper_surface_follows_the_light_and_drops_the_strokes():
    """Under uneven light (the paper's level rising across the picture) with a bright stroke
    on it, the rolling-ball surface is the light alone: it follows the ramp, stroke removed."""
    from runtime.ink import paper_surface

    h, w = 300, 400
    light = np.broadcast_to(np.linspace(0.1, 0.3, w, dtype=np.float32), (h, w))
    ink = light.copy()
    ink[40:260, 150:158] += 0.6  # a stroke, bright as ink is here
    ink[140:148, 40:360] += 0.6
    surface = paper_surface(ink)
    assert surface.shape == (h, w)
    inner = (slice(20, h - 20), slice(20, w - 80))  # the far side is padded, not extrapolated
    assert np.abs(surface - light)[inner].max() < 0.01
    assert np.abs(surface - light).max() < 0.05


def over_a_box(digit: np.ndarray, box: bool, side: str) -> Image.Image:
    """An MNIST digit, three times its size, dark on light paper, written over one side of a
    printed box 1.3 times its size (`side`: "top" or "right"): it runs out past the line by a
    quarter of its size, further than the box's band is deep. `box` False: the digit alone."""
    ink = np.asarray(Image.fromarray(digit).resize((84, 84), Image.Resampling.BILINEAR), float)
    rows, cols = np.flatnonzero((ink > 60).any(1)) + 88, np.flatnonzero((ink > 60).any(0)) + 88
    img = Image.new("L", (260, 260), 245)
    img.paste(Image.fromarray((245 - 225 * ink / 255).astype(np.uint8)), (88, 88))
    if box:
        cell = round(1.3 * max(rows[-1] - rows[0], cols[-1] - cols[0]))
        top, left = (rows[0] + rows[-1] - cell) // 2, (cols[0] + cols[-1] - cell) // 2
        if side == "top":
            top = rows[0] + (rows[-1] - rows[0]) // 4
        else:
            left = cols[-1] - (cols[-1] - cols[0]) // 4 - cell
        ImageDraw.Draw(img).rectangle([left, top, left + cell, top + cell], outline=30, width=2)
    return img


@pytest.mark.parametrize("side", ["top", "right"])
def test_a_digit_running_far_over_its_box_s_side_is_read_without_the_box(
    mnist_test, predictor, side
):
    """A form's box with the digit written over one of its sides, running out past the line
    further than the box's band is deep: the box is still found by its lines, erased, and the
    digit kept whole, as it would be read without the box."""
    images, labels = mnist_test
    for i in (0, 1, 2, 3, 4, 7, 11, 18, 61, 84):
        boxed = preprocess(over_a_box(images[i], True, side), "auto", MODEL)
        alone = preprocess(over_a_box(images[i], False, side), "auto", MODEL)
        assert np.abs(np.subtract(extent(boxed), extent(alone))).max() <= 2, i
        assert predictor.predict(over_a_box(images[i], True, side)).digit == labels[i]


def test_a_thin_line_a_few_degrees_off_level_across_a_wide_photo_is_ruling():
    """A printed line to write on, thin and 2.2 degrees off level, across a photo 3 times as
    wide as the line's steps are long: sheared level it still steps half a pixel every 26
    columns, so its pieces are short, yet it is ruling and goes. Only the digit stays."""
    grey = Image.new("L", (1200, 500), 245)
    draw = ImageDraw.Draw(grey)
    draw.line([(0, 350), (1199, 350)], fill=60, width=3)
    draw.line([(560, 340), (600, 180)], fill=20, width=14)  # a 1 standing on the line
    grey = grey.rotate(2.2, Image.Resampling.BICUBIC, fillcolor=245).crop((30, 60, 1170, 440))
    grey.thumbnail((300, 300))
    page = clean(np.asarray(grey, np.float32) / 255)
    digit = page.parts.mask_of(select_digit(page))
    rows, cols = np.flatnonzero(digit.any(1)), np.flatnonzero(digit.any(0))
    assert cols[-1] - cols[0] < 30 and rows[-1] - rows[0] > 40  # the 1, not the line
    rest = (page.ink > INK_LEVEL) & ~grow(digit, 3)
    assert rest.sum() <= 12


@pytest.mark.parametrize("dividers", [True, False])
def test_a_comb_cut_off_by_the_desk_and_the_photo_is_a_box_if_it_has_dividers(dividers):
    """Two lines from the desk's edge to the photo's side: with straight dividers across them
    they are a comb that runs off the photo, and a box; with only a digit's stem slanting from
    one to the other they are ruling (see the test of ruling running from the desk)."""
    grey, _ = desk_and_lines(dividers)
    if dividers:  # the comb runs on past the photo's side: no right side of its own
        grey[:, 280:] = 0.95
        grey[30:33, 280:] = grey[130:133, 280:] = 0.2
    assert is_a_box_beside_the_desk(grey) is dividers


def test_a_comb_holding_a_thin_one_in_one_of_its_boxes_is_a_comb():
    """A comb of three boxes with a thin 1 in the middle one, touching its top line: the 1's ink
    is under a tenth of the whole comb's lines, but more than a tenth of one box's. The comb
    goes; the 1 stays, alone."""
    img = Image.new("L", (330, 140), 245)
    draw = ImageDraw.Draw(img)
    for x in (15, 115, 215, 315):
        draw.line([(x, 20), (x, 120)], fill=40, width=3)
    draw.line([(15, 20), (315, 20)], fill=40, width=3)
    draw.line([(15, 120), (315, 120)], fill=40, width=3)
    draw.line([(168, 21), (160, 80)], fill=20, width=3)
    page = clean(np.asarray(img, np.float32) / 255)
    digit = page.parts.mask_of(select_digit(page))
    cols = np.flatnonzero(digit.any(0))
    assert cols[0] >= 150 and cols[-1] <= 180
    rest = (page.ink > INK_LEVEL) & ~grow(digit, 3)
    assert rest.sum() <= 24


@pytest.mark.parametrize("height", [246, 247])
@pytest.mark.parametrize("angle, width", [(1.0, 2), (1.5, 3)])
def test_a_line_s_slope_is_found_in_a_picture_of_odd_height(height, angle, width):
    """A printed line photographed 1-1.5 degrees off level: its slope is found whether the
    picture's height is even or odd (rows half a pixel off the middle once paired up into one
    line, and the line was found level, fuller than the picture is wide)."""
    img = Image.new("L", (260, 300), 245)
    ImageDraw.Draw(img).line([(0, 200), (259, 200)], 120, width)
    img = img.rotate(angle, Image.Resampling.BICUBIC, fillcolor=245).crop(
        (20, 20, 240, 20 + height)
    )
    (full, found), _ = line_slopes(stretch(1 - np.asarray(img, np.float32) / 255))
    assert 0.9 <= full <= 1.0 and abs(found + angle) <= 0.2


@pytest.mark.parametrize("foot", [176, 196], ids=["on", "across"])
def test_a_printed_line_running_to_the_desk_is_ruling(foot):
    """A dark line to write on runs from the photo's left side to the page's edge, beyond which
    is the desk: it runs as far as the page does, and goes as ruling, also where a 1 standing
    on it, or written across it, cuts it in two. The 1 stays."""
    img = Image.new("L", (320, 240), 240)
    draw = ImageDraw.Draw(img)
    draw.rectangle([270, 0, 319, 239], fill=70)  # the desk
    draw.line([(0, 180), (269, 176)], fill=40, width=2)  # a line a degree off level
    draw.line([(138, foot), (150, 90)], fill=20, width=9)  # the 1
    page = clean(np.asarray(img, np.float32) / 255)
    digit = page.parts.mask_of(select_digit(page))
    cols = np.flatnonzero(digit.any(0))
    assert cols[-1] - cols[0] < 30
    assert ((page.ink > INK_LEVEL) & ~grow(digit, 3)).sum() <= 12


def test_a_digit_fused_to_a_box_s_side_along_most_of_it_leaves_the_box():
    """A 1 written against the box's right side, touching it along most of its length: the
    side is thin where it lies alone, if only near its ends. The box goes; the 1 stays."""
    img = Image.new("L", (110, 110), 240)
    draw = ImageDraw.Draw(img)
    draw.rectangle([24, 24, 84, 84], outline=30, width=2)
    draw.line([(80, 32), (80, 78)], fill=20, width=6)  # against the inside of the right side
    page = clean(np.asarray(img, np.float32) / 255)
    digit = page.parts.mask_of(select_digit(page))
    rows, cols = np.flatnonzero(digit.any(1)), np.flatnonzero(digit.any(0))
    assert cols[0] >= 70 and rows[0] >= 28 and rows[-1] <= 82


@pytest.mark.parametrize("i", [3, 10, 13, 25, 28])
def test_a_blocky_zero_filling_its_frame_is_no_box(mnist_test, i):
    """A 0 brought down to 16 px, its grey levels quantised, and upscaled 8 times without
    smoothing, cropped to its ink: long runs of ink lie inside its thick blocks all around, as
    a box's lines would beside writing running over them. It is no box."""
    images, labels = mnist_test
    assert labels[i] == 0
    small = Image.fromarray(images[i]).resize((16, 16), Image.Resampling.BOX)
    levels = (np.asarray(small) // 64 * 85).astype(np.uint8)
    big = Image.fromarray(255 - levels).resize((128, 128), Image.Resampling.NEAREST)
    grey = np.asarray(big, np.float32) / 255
    rows, cols = np.flatnonzero((grey < 0.5).any(1)), np.flatnonzero((grey < 0.5).any(0))
    found = parts(grey[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1] < 0.5)
    big = int(np.argmax(found.area))
    assert frame_lines(found, big, list(range(len(found)))) is None


BOLD_DOTTED_ZERO = (  # JetBrains Mono ExtraBold's 0 set tight, 48x72 (PNG, base64)
    "iVBORw0KGgoAAAANSUhEUgAAADAAAABICAAAAACVGCn3AAAC1klEQVR42u2XS0hUYRTH/3PnmuNjoY4oowzaGGYz"
    "NhENBUPRgxQqLEcQKsKxCHITUi1btHMjtmgRUpucQkJDmMJaTFRKTzOFMTRyMCVdDDapOb6buS2cce757r3Ot2vj"
    "Wd3/950f93HOud85unEQ+zM0MTk1v7woGdLTTYVmmwmM6eRAyNc3KtF9076KEi0g8OR9FCq2y+VUA+bafBI0bHdD"
    "kQIYaJ6HtgmXqhmg46GETe1w47YYCwDweJL4o6fprwzo7EBS678tbQD+NnBYrzcOhFvAZW3jMaA9xAesta4DoRfg"
    "tK9+ACK61tgNvcWUKYSnAyvsxmM7IEZ7mNWSamcqACDi9/bTLX/ICP3xbhrTumsWMXZpOmIepLfP2wl96QhZunpa"
    "J1NFtjckH6WjEMaI/7FK+hBWN5FjgPCDJPsF9j1PGeVqdgbCrHyhNI8FUg4QGYwl30atKD++lagFBshWAllELTJA"
    "mhLIIGqFAThsC+AxUWVt+ulAMJJjO1nGCby+swYgGHxVdVnP80gfW+JF88zD8w6rdxPXXT85gL7fsgLzcQDDcvGN"
    "AyAFNcMB6JJESbGUqyk0ALtclHMAewtlUa3kAITGRHjrjDyRtt6MV/a5Gr5c2n/P+zkYybFXWXizNbu+fqum/yuw"
    "pHRYICqVAVQKhhQU0hlgWAkMM6eFQE6Y0aCiwfhEZD6E7eQcVjRC3aRzycqGQFOyl/YFGKH/MgsgOKhHa3tEpt7e"
    "WiW7DkC0ZZHvILW/cx00aDQncAK68fteRWwsBZlCOPRd0f7YmwARrudswxQNBNSjfBaAgNwTvFlRbl9PjfNGPv+U"
    "hlguZV7nA9zF8eTb4+bxP3Qmka21tcn9HTd0st+M2/AoabMu0nHgS3N4s6q56FIOHA9eag8cV4pVR5rOD6ojTVmN"
    "U2to+uXrCzC3yXdU7NCesgDMDU1MTs0vLUfTDBmmQrOtgL3fP+3EyNg+Dj38AAAAAElFTkSuQmCC"
)


def test_a_bold_zero_s_inside_is_no_page(predictor):
    """A bold 0 with a dot, set tight: its inside is a convex part of the paper's tone holding
    writing (the dot), and the ring around it is dark and runs along the picture's border, as
    the desk beyond a page does. But beyond the ring lies paper again (the corners): a fifth of
    what lies off the "page". The desk beyond a page lies in the ink's tone over 95 % of it
    (none of the development desks had any paper in it); at 80 %, the ring was painted away and
    the dot read as the digit (found in the bench's typeset fonts, where it still read 0)."""
    img = Image.open(io.BytesIO(base64.b64decode("".join(BOLD_DOTTED_ZERO))))
    grey = np.asarray(img, np.float32) / 255
    assert find_page(grey, clean(grey).white_on_black) is None
    assert predictor.predict(img).digit == 0


def on_a_screen(digit: np.ndarray, seed: int, dark_ink: bool = True) -> Image.Image:
    """An MNIST digit shown on a screen and photographed: the screen's red, green and blue
    sub-pixels, a little off the camera's pixels, lay a striped moire over the whole picture
    as strong at the pixels' scale as the ink is against its ground."""
    rng = np.random.default_rng(seed)
    a = np.pad(np.asarray(Image.fromarray(digit).resize((140, 140)), np.float32) / 255, 60)
    ink, ground = (20.0, 240.0) if dark_ink else (240.0, 30.0)
    h, w = a.shape
    level = ground + (ink - ground) * a
    pitch = rng.uniform(2.5, 5)
    skew = rng.uniform(-0.03, 0.03)
    x = np.arange(w)[None, :] * rng.uniform(0.97, 1.03) + np.arange(h)[:, None] * skew
    rgb = np.stack([0.6 + 0.4 * np.cos(2 * np.pi * (x / pitch - k / 3)) for k in range(3)], -1)
    rows = 0.85 + 0.15 * np.cos(2 * np.pi * np.arange(h) / pitch)[:, None, None]
    tint = np.array([0.85, 0.95, 1.1])
    return as_jpeg(level[..., None] * rgb * rows * tint + rng.normal(0, 4, (h, w, 3)), 85)


@pytest.mark.parametrize("dark_ink", [True, False], ids=["dark-ink", "light-ink"])
def test_a_digit_photographed_on_a_screen_is_read(mnist_test, predictor, dark_ink):
    """The screen's sub-pixels vary as much as the ink does against its ground, pixel to pixel:
    the paper's noise floor lay above the ink, and a plain digit read "no digit found". Read
    again with that texture averaged away (ink.smoothed), it is a clear digit. (Light ink on a
    dark screen read before too: its ink stands above the dark ground's narrower spread.)"""
    images, labels = mnist_test
    right = sum(
        predictor.predict(on_a_screen(images[i], i, dark_ink)).digit == labels[i] for i in range(20)
    )
    assert right >= 19


def circled(digit: np.ndarray, gap: float, width: int) -> Image.Image:
    """An MNIST digit with a pen's ring drawn around it, `gap` of its reach clear of it."""
    a = np.pad(np.asarray(Image.fromarray(digit).resize((112, 112)), np.float32) / 255, 60)
    ys, xs = np.nonzero(a > 0.3)
    cy, cx = ys.mean(), xs.mean()
    r = np.sqrt(((ys - cy) ** 2 + (xs - cx) ** 2).max()) * (1 + gap)
    ring = Image.new("L", a.shape[::-1], 0)
    ImageDraw.Draw(ring).ellipse([cx - r, cy - r, cx + r, cy + r], outline=255, width=width)
    ink = np.maximum(a, np.asarray(ring, np.float32) / 255)
    return Image.fromarray((235 - 210 * ink).astype(np.uint8))


@pytest.mark.parametrize("width", [3, 8])
def test_a_ring_drawn_around_a_digit_is_not_read_with_it(mnist_test, predictor, width):
    """A circled answer: the ring lay near the digit, joined it, and the model read the ring
    (mostly as 0 or 8). The ring closes the digit in, and no digit closes in a part of itself
    as tall as that, so it is dropped; a dotted zero's dot is too small to pass for a digit."""
    images, labels = mnist_test
    right = sum(
        predictor.predict(circled(images[i], 0.3, width)).digit == labels[i] for i in range(20)
    )
    assert right >= 19
    for dot in (0.25, 0.6):  # a dotted zero: a dot (a bar, in Hack) in a 0's narrow hole
        zero = Image.new("L", (200, 260), 235)
        draw = ImageDraw.Draw(zero)
        draw.ellipse([40, 30, 160, 230], outline=25, width=width * 3)
        draw.ellipse([90, 130 - 100 * dot, 110, 130 + 100 * dot], fill=25)
        assert predictor.predict(zero).digit == 0


def shadowed(digit: np.ndarray, seed: int) -> Image.Image:
    """An MNIST digit on paper, a soft shadow (a hand's, a phone's) reaching into the photo
    from one side, darker than half the ink and, where it shows, too narrow for the paper's
    surface to follow."""
    rng = np.random.default_rng(seed)
    h, w = 240, 280
    a = np.zeros((h, w), np.float32)
    top, left = rng.integers(10, 90), rng.integers(40, 170)
    a[top : top + 70, left : left + 70] = (
        np.asarray(Image.fromarray(digit).resize((70, 70)), np.float32) / 255
    )
    shade = Image.new("L", (w, h), 0)
    cx, cy = rng.uniform(-0.2, 1.2) * w, rng.uniform(1.0, 1.3) * h
    ImageDraw.Draw(shade).ellipse([cx - w / 2, cy - 0.35 * h, cx + w / 2, cy + 0.35 * h], fill=255)
    shade = np.asarray(shade.filter(ImageFilter.GaussianBlur(rng.uniform(12, 24))), np.float32)
    paper = 235 * (1 - rng.uniform(0.4, 0.6) * shade / 255)
    return as_jpeg(paper * (1 - a) + 25 * a + rng.normal(0, 3, (h, w)), 85)


def test_a_soft_shadow_reaching_into_the_photo_is_no_ink(mnist_test, predictor):
    """A shadow whose visible cap is narrower than the paper's surface can follow stood as
    ink: heavier than the digit, it was read instead of it, or beside it. Its edges rise over
    many pixels where a pen's take one to three, so it is dropped while a sharp digit stands."""
    images, labels = mnist_test
    right = sum(predictor.predict(shadowed(images[i], i)).digit == labels[i] for i in range(20))
    assert right >= 19


def test_a_ring_touching_the_digit_is_taken_away_from_it(mnist_test, predictor):
    """A ring drawn around a digit and touching it is one part with it: the picture is also
    read with that part's round rim taken away (ink.without_ring), and the surer reading kept.
    (A 1 in a ring touching it is a slashed 0, and read so: the 1s are left out here.)"""
    images, labels = mnist_test
    chosen = [i for i in range(40) if labels[i] != 1][:20]
    pictures = [circled(images[i], 0.1, 8) for i in chosen]
    assert sum(len(read_pages(p)[0].keep) == 1 for p in pictures) >= 19  # they touch
    right = sum(
        predictor.predict(p).digit == labels[i] for p, i in zip(pictures, chosen, strict=True)
    )
    assert right >= 17


def test_a_zero_with_a_stroke_inside_is_still_a_zero(predictor):
    """A slashed 0: its rim taken away (see without_ring) would leave a stroke that reads as a
    confident 1, surer than the 0 itself; one straight stroke left is no digit in a ring."""
    zero = Image.new("L", (200, 240), 235)
    draw = ImageDraw.Draw(zero)
    draw.ellipse([30, 30, 170, 210], outline=25, width=14)
    draw.line([(70, 190), (120, 60)], fill=25, width=14)
    assert predictor.predict(zero).digit == 0


def on_paper(ink: np.ndarray) -> Image.Image:
    """Ink in [0, 1] as dark ink on white paper, with a margin of half its size."""
    h, w = ink.shape
    paper = np.zeros((2 * h, 2 * w), np.float32)
    paper[h // 2 : h // 2 + h, w // 2 : w // 2 + w] = ink
    return Image.fromarray((255 * (1 - paper)).astype(np.uint8))


def test_a_hollow_digit_is_read_with_its_strokes_filled_in(mnist_test, predictor):
    """Digits drawn as outlines: a child's 'bubble' digits made of the first 20 MNIST test
    digits, and the ten digits of Pillow's own font stroked, their insides left paper. The
    model read the pairs of lines as strokes of their own (an outlined 7 or 1 as an 8): 8 of
    the 30 were wrong before their strokes were filled in, 3 are now."""
    from PIL import ImageFont

    from benchmarks.imagesets import bubble, outlined_glyph

    images, labels = mnist_test
    pictures = [(bubble(images[i], np.random.default_rng([8, i])), labels[i]) for i in range(20)]
    font = ImageFont.load_default(64)
    pictures += [(outlined_glyph(font, str(d), 2), d) for d in range(10)]
    read = [predictor.predict(on_paper(ink)).digit for ink, _ in pictures]
    assert sum(int(r == y) for r, (_, y) in zip(read, pictures, strict=True)) >= 26


def test_only_the_long_narrow_holes_of_a_hollow_digit_are_filled(mnist_test):
    """An outlined bar (a 1 drawn as an outline) has its inside filled; the holes of solid
    digits, their loops, are never filled: MNIST's first 300 test digits as they are, four
    times as large, and drawn with a thin pen (a loop's inside is round, or wide)."""
    from benchmarks.imagesets import skeleton
    from runtime.components import interior
    from runtime.ink import hollow_insides

    bar = np.zeros((60, 20), bool)
    bar[5:55, 5:15] = True
    outline = bar & ~interior(bar)
    filled = hollow_insides(outline)
    assert filled is not None and not (filled & ~bar).any()
    assert filled.sum() >= (bar & ~outline).sum() - 4  # (its corners: see _closed_diagonals)
    images, _ = mnist_test
    for digit in images[:300]:
        solid = digit > 127
        large = np.kron(solid, np.ones((4, 4), bool))
        for mask in (solid, large, grow(skeleton(large), 1)):
            assert hollow_insides(mask) is None


@pytest.mark.parametrize("i", [467, 853, 1098])
def test_faint_ruling_running_on_from_a_digit_closes_in_no_cell_to_fill(mnist_test, i):
    """MNIST test digits on the bench's squared paper: the faint remains of the ruling run on
    from the strokes and, with them, close in cells beside them, long and narrow as the inside
    of a hollow stroke. They are no part of the digit's outline, and its one framing is the
    digit as drawn (judged with all the faint ink, these were filled in as blocks, as 3 of the
    development set's 354 pictures on squared paper were, and read wrong)."""
    from benchmarks.imagesets import ruled

    images, _ = mnist_test
    data, kind = ruled(images[i], np.random.default_rng([9, i]))
    assert "squared" in kind
    assert len(frame_digit(read_page(Image.open(io.BytesIO(data))), MODEL.size)) == 1


@pytest.mark.parametrize("i", [84, 110, 128])
def test_the_outer_line_of_an_outlined_8_is_no_ring_around_it(mnist_test, predictor, i):
    """Bubble 8s of MNIST test digits: the outer line closes in the lines around the loops, as
    a ring drawn around a digit closes the digit in, and was taken out as one, the loops' lines
    left to be read (as a 0 or an 8 by luck). A drawn ring is round: filled in, it covers 0.9 of
    its convex hull or more; the 8's waist leaves it under that, and the 8 is read whole."""
    from benchmarks.imagesets import bubble

    images, labels = mnist_test
    picture = on_paper(bubble(images[i], np.random.default_rng([10, i])))
    assert digit_and_marks(read_page(picture))[1] == []
    assert predictor.predict(picture).digit == labels[i] == 8


def test_a_ring_with_a_stroke_running_into_it_is_not_filled_as_a_hollow_digit():
    """A 1 touching the ring drawn around it: with the 1's free end, the ring closes in one long,
    narrow hole, as an outlined digit's line does; filled, it would be a solid disc (read as a
    confident 0), which no digit is."""
    from runtime.ink import hollow_insides

    img = Image.new("L", (100, 100), 0)
    draw = ImageDraw.Draw(img)
    draw.ellipse([10, 5, 90, 95], outline=255, width=4)
    draw.line([(50, 93), (45, 30)], fill=255, width=4)
    assert hollow_insides(np.asarray(img) > 127) is None


@pytest.mark.parametrize("i", [1, 35, 38])
def test_a_box_around_a_digit_drawn_with_strokes_is_taken_out_though_not_convex(mnist_test, i):
    """A form's box around an MNIST test 2, a line running off its corner (the next field's,
    the page's edge): filled in, the box covers well under 0.9 of its hull, which an outlined
    8's outer line must reach to be a ring. The 2 is drawn with strokes, not loops alone, so
    the box is still taken out (it had stayed, and the box was read; one form of the bench)."""
    images, labels = mnist_test
    picture = Image.new("L", (260, 260), 235)
    draw = ImageDraw.Draw(picture)
    draw.rectangle([60, 40, 160, 150], outline=40, width=3)
    draw.line([(60, 150), (20, 190)], fill=40, width=3)
    ink = np.asarray(picture).copy()
    digit = np.asarray(Image.fromarray(255 - images[i]).resize((84, 84)))
    ink[52:136, 68:152] = np.minimum(ink[52:136, 68:152], digit)
    page = read_page(Image.fromarray(ink))
    _, marks = digit_and_marks(page)
    assert labels[i] == 2 and len(marks) == 1
    assert page.parts.height[marks[0]] > 100  # the box (110 px), not the 2 (84 px)
