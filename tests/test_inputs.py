"""How every kind of source becomes an image, and which files a command line names."""

from __future__ import annotations

import os

import numpy as np
import pytest
from PIL import Image

from runtime.paths import expand, match, walk
from runtime.preprocess import ImageError, open_image, to_grey


@pytest.mark.parametrize("kind", ["JPEG", "MPO"])
def test_photos_are_decoded_at_the_draft_scale(tmp_path, kind):
    """A camera's JPEG, or its multi-picture MPO, is decoded at the smallest JPEG scale that
    keeps the asked side (3000 px at 1/4 for 384 px, as 1/8 would give 375), remembering its
    full size for the boxes; without a draft (plain mode) it is decoded whole."""
    photo = Image.new("RGB", (3000, 2250), (230, 225, 220))
    path = tmp_path / f"photo.{kind.lower()}"
    if kind == "MPO":
        photo.save(path, kind, save_all=True, append_images=[photo], quality=90)
    else:
        photo.save(path, kind, quality=90)
    img = open_image(path, draft=384)
    assert img.format == kind and img.size == (750, 563)
    assert img.info["mnist_digit.full_size"] == (3000, 2250)
    assert open_image(path).size == (3000, 2250)
    assert open_image(path, draft=4000).size == (3000, 2250)


@pytest.mark.parametrize(
    "array, mode, value",
    [
        (np.array([[False, True]]), "L", 255),
        (np.array([[0, 200]], np.uint8), "L", 200),
        (np.array([[0, 40000]], np.uint16), "I;16", 40000),
        (np.array([[0, 300]], np.int32), "I;16", 300),
        (np.array([[0.0, 0.5]], np.float32), "F", 0.5),
        (np.array([[0.0, 128.0]], np.float64), "F", 128.0),
        (np.zeros((1, 2, 3), np.uint8) + 7, "RGB", (7, 7, 7)),
        (np.full((1, 2, 4), 9, np.uint8), "RGBA", (9, 9, 9, 9)),
        (np.full((1, 2, 3), 0.5), "RGB", (128, 128, 128)),
        (np.full((1, 2, 3), 100.0), "RGB", (100, 100, 100)),
        (np.full((1, 2, 3), 60000, np.uint16), "RGB", (233, 233, 233)),
        (np.full((1, 1, 2), 5, np.uint8)[..., None][0], "L", 5),
        (np.stack([np.array([[0.0, 1.0]])] * 3, -1), "RGB", (255, 255, 255)),
        (np.stack([np.array([[0, 256]], np.uint16)] * 3, -1), "RGB", (1, 1, 1)),
        (np.array([[0, 65535]], np.int64), "I;16", 65535),
        (np.array([[0, 65536]], np.int64), "F", 65536.0),
        (np.full((1, 2, 3), 0.8), "RGB", (204, 204, 204)),
        (np.full((1, 2, 3), 255.0), "RGB", (255, 255, 255)),
        (np.full((1, 2, 3), 65535, np.uint16), "RGB", (255, 255, 255)),
        (np.stack([np.array([[-0.5, 1.0]])] * 3, -1), "RGB", (255, 255, 255)),
        (np.zeros((1, 1, 2, 2, 3), np.uint8) + 7, "RGB", (7, 7, 7)),
    ],
    ids=["bool", "uint8", "uint16", "int32", "float-unit", "float-255", "rgb", "rgba",
         "rgb-float-unit", "rgb-float-255", "rgb-16-bit", "hxwx1", "float-reaching-1",
         "just-over-255", "int-at-65535", "int-past-65535", "rgb-float-0.8", "rgb-float-at-255",
         "rgb-16-bit-white", "rgb-float-negative", "batch-of-one-rgb"],
)  # fmt: skip
def test_arrays_become_the_image_they_describe(array, mode, value):
    """Each dtype and shape maps to one Pillow mode, and its values to the right level;
    the first pixel is the array's lowest level, black."""
    img = open_image(array)
    assert img.mode == mode and img.getpixel((1, 0)) == value
    assert img.getpixel((0, 0)) in (0, (0, 0, 0)) or np.asarray(array).min() > 0


@pytest.mark.parametrize("size", [(0, 5), (5, 0), (1, 5), (5, 1)])
def test_a_callers_pillow_image_of_any_real_size_is_taken(monkeypatch, size):
    """A Pillow image handed in by a caller: a row or a column of pixels is an image, an empty
    one is refused, and one over the pixel limit is refused like such a file."""
    img = Image.new("L", size, 0)
    if 0 in size:
        with pytest.raises(ImageError, match="zero-size"):
            open_image(img)
    else:
        assert open_image(img).size == size
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 4)
    with pytest.raises(ImageError):
        open_image(Image.new("L", (5, 5), 0))


@pytest.mark.parametrize("shape", [(10, 200), (200, 10)])
def test_arrays_over_the_pixel_limit_are_refused(monkeypatch, shape):
    """An array with more pixels than Pillow's limit is refused like such a file, whichever
    side is the long one."""
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 1000)
    with pytest.raises(ImageError, match="pixels"):
        open_image(np.zeros(shape, np.uint8))
    assert open_image(np.zeros((10, 90), np.uint8)).size == (90, 10)


@pytest.mark.parametrize("shape", [(1, 28, 28), (1, 1, 28, 28)])
def test_leading_axes_of_one_are_dropped(shape):
    """A model-shaped array (1, H, W) or (1, 1, H, W) is an HxW image."""
    assert open_image(np.zeros(shape, np.uint8)).size == (28, 28)


@pytest.mark.parametrize(
    "array, words",
    [(np.zeros((2, 3, 5), np.uint8), "HxW"), (np.zeros((0, 4)), "HxW"),
     (np.array([["a"]]), "numbers"), (np.full((2, 2), np.inf), "NaN or infinite")],
)  # fmt: skip
def test_arrays_that_are_no_image(array, words):
    with pytest.raises(ImageError, match=words):
        open_image(array)


def test_sixteen_bit_and_float_scales():
    """to_grey brings 16-bit, integer and float images to [0, 1] by what their values reach."""
    assert to_grey(Image.fromarray(np.array([[65535]], np.uint16)))[0, 0] == pytest.approx(1.0)
    assert to_grey(Image.fromarray(np.array([[0.25]], np.float32)))[0, 0] == pytest.approx(0.25)
    assert to_grey(Image.fromarray(np.array([[51.0]], np.float32)))[0, 0] == pytest.approx(0.2)
    big = Image.fromarray(np.array([[1000]], np.int32))
    assert to_grey(big)[0, 0] == pytest.approx(1000 / 65535)


def tree(tmp_path):
    (tmp_path / "a" / "b").mkdir(parents=True)
    for name in ("a/one.png", "a/b/two.PNG", "a/b/notes.txt", "a/.hidden.png", "top.jpg"):
        (tmp_path / name).write_bytes(b"x")
    return tmp_path


def test_walk_lists_every_file_once_in_order(tmp_path):
    root = tree(tmp_path)
    os.symlink(root / "a", root / "a" / "b" / "loop")
    found = [os.path.relpath(p, root) for p in walk(str(root))]
    assert found == sorted(found)
    assert found == ["a/.hidden.png", "a/b/notes.txt", "a/b/two.PNG", "a/one.png", "top.jpg"]


def test_walk_follows_links_but_reads_each_folder_and_file_once(tmp_path):
    """A linked folder is walked; a link back up is cut without ending the walk; a file reached
    through a second name is listed once, under its first name."""
    root, outside = tmp_path / "root", tmp_path / "outside"
    for name in ("a/one.png", "a/b/two.png", "z/three.png"):
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_bytes(b"x")
    outside.mkdir()
    (outside / "four.png").write_bytes(b"x")
    os.symlink(root / "a", root / "a" / "0loop")  # visited before a/b
    os.symlink(outside, root / "linked")
    os.symlink(root / "a" / "one.png", root / "a" / "same.png")
    found = [os.path.relpath(p, root) for p in walk(str(root))]
    assert found == ["a/b/two.png", "a/one.png", "linked/four.png", "z/three.png"]


def test_match_without_a_fixed_folder_answers_relative_paths(tmp_path, monkeypatch):
    """`**/...` from the working folder gives paths relative to it; a fixed folder is kept as
    written; `**/b/*.png` needs the b; a folder named like the pattern is not a match."""
    root = tree(tmp_path)
    (root / "c.png").mkdir()
    (root / "c.png" / "d.txt").write_bytes(b"x")
    monkeypatch.chdir(root)
    assert match("**/*.png") == ["a/one.png"]
    assert match("**/b/*.PNG") == ["a/b/two.PNG"]
    assert match(f"{root}/**/*.png") == [str(root / "a" / "one.png")]
    assert match("a/**/*.PNG") == [os.path.join("a", "b", "two.PNG")]


def test_match_follows_glob_rules(tmp_path):
    """`**` crosses folders (zero or more), `*` does not, hidden files are skipped."""
    root = tree(tmp_path)
    assert sorted(os.path.relpath(p, root) for p in match(f"{root}/**/*.png")) == ["a/one.png"]
    assert sorted(os.path.relpath(p, root) for p in match(f"{root}/**/*.[Pp][Nn][Gg]")) == [
        "a/b/two.PNG", "a/one.png"]  # fmt: skip
    assert [os.path.relpath(p, root) for p in match(f"{root}/*/one.png")] == ["a/one.png"]
    assert match(f"{root}/**/nothing.png") == []


def test_expand_says_what_each_argument_names(tmp_path):
    root = tree(tmp_path)
    (root / "empty").mkdir()
    got = list(expand([str(root / "a"), str(root / "empty"), str(root / "top.jpg"),
                       str(root / "*.gif"), str(root / "nope.png")]))  # fmt: skip
    assert got == [
        (str(root / "a" / ".hidden.png"), None),
        (str(root / "a" / "b" / "two.PNG"), None),
        (str(root / "a" / "one.png"), None),
        (str(root / "empty"), "no images in this folder"),
        (str(root / "top.jpg"), None),
        (str(root / "*.gif"), "no file matches this pattern"),
        (str(root / "nope.png"), "no such file"),
    ]
