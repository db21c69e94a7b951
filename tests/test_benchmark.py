"""The benches run from a checkout and report every part they promise."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from PIL import Image

from tests.conftest import ROOT

pytestmark = pytest.mark.slow


def test_paired_benchmark_reports_its_structure(tmp_path):
    """The paired-cycle report: speed-ups with ranges per backend and batch, the CPU's flags,
    every backend's accuracy; the JSON holds every cycle (their speed is not tested)."""
    out = tmp_path / "bench.json"
    result = subprocess.run(
        [sys.executable, ROOT / "benchmarks" / "latency.py", "--quick", "--cycles", "2",
         "--batch-sizes", "1,64", "--json", out],
        capture_output=True, text=True, timeout=900, cwd=tmp_path,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "| backend | batch | p50 ms (median of cycles) |" in result.stdout
    assert "paired cycles" in result.stdout and "flags" in result.stdout
    report = json.loads(out.read_text())
    assert {"PyTorch eager", "ONNX Runtime"} <= report["backends"].keys()
    assert len(report["cycles"]) == 2
    for cycle in report["cycles"]:
        assert cycle["ceiling_gflops"] > 0
        for name in report["backends"]:
            assert set(cycle["times_ms"][name]) == {"1", "64"}
            assert all(ms > 0 for ms in cycle["times_ms"][name].values())
    for backend in report["backends"].values():
        assert 0.99 <= backend["accuracy"] <= 1 and backend["load_s"] > 0


def test_whole_number_bench_reports_the_model_s_ceiling(tmp_path, mnist_dir):
    """The whole-number bench keeps each number's MNIST indices in its cached manifest (a
    manifest cached without them is written again) and reports, beside exact-match accuracy,
    the share of numbers whose every digit the model reads right from its original image."""

    def bench():
        out = tmp_path / "numbers.json"
        result = subprocess.run(
            [sys.executable, ROOT / "benchmarks" / "whole_numbers.py", "--count", "12",
             "--seed", "5", "--agreement", "0", "--work", tmp_path, "--json", out],
            capture_output=True, text=True, timeout=600,
        )  # fmt: skip
        assert result.returncode == 0, result.stderr
        return result.stdout, json.loads(out.read_text())["rows"]

    stdout, rows = bench()
    assert "| ceiling: the model reads every digit from its MNIST image |" in stdout
    manifest = tmp_path / "numbers-v2-seed5-12" / "manifest.tsv"
    lines = manifest.read_text().splitlines()
    assert len(lines) == 12 and len(rows) == 12
    for line, row in zip(lines, rows, strict=True):
        name, text, _, _, picks = line.split("\t")
        assert len(picks.split(",")) == len(text) == row["length"]
        assert isinstance(row["raw_right"], bool)
    manifest.write_text("".join("\t".join(line.split("\t")[:4]) + "\n" for line in lines))
    assert bench()[1] == rows  # the old manifest is replaced by the same set, indices and all
    assert manifest.read_text().splitlines() == lines


def _optdigits_cache(folder, rows: int):
    """A stand-in for scikit-learn's digits.csv.gz: row i is an 8x8 grid whose label is i % 10."""
    import gzip

    import numpy as np

    grid = np.zeros((rows, 64), int)
    grid[:, 27:29] = 16  # a stroke, so that the image is not blank
    table = np.column_stack([grid, np.arange(rows) % 10])
    text = "\n".join(",".join(str(v) for v in row) for row in table)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "digits.csv.gz").write_bytes(gzip.compress(text.encode()))


def test_development_sets_never_read_the_bench_s_optdigits(tmp_path):
    import numpy as np

    from benchmarks.imagesets import OPTDIGITS_BENCH, write_set

    cache = tmp_path / "cache"
    _optdigits_cache(cache, OPTDIGITS_BENCH + 7)
    bench = write_set("optdigits", tmp_path / "bench", None, None, 5000, 1, cache)
    dev = write_set("optdigits", tmp_path / "dev", None, None, 5000, 1, cache, optdigits="dev")
    assert len(bench) == OPTDIGITS_BENCH  # however many are asked for
    assert len(dev) == 7
    labels = [label for _, label, _ in bench] + [label for _, label, _ in dev]
    assert labels == [i % 10 for i in range(OPTDIGITS_BENCH + 7)]  # each row once, in order
    assert np.asarray(Image.open(dev[0][0])).max() > 0


def test_development_digits_are_training_digits_the_run_never_saw(mnist_dir):
    import numpy as np

    from benchmarks.ablation import TRAIN_ON, development_digits
    from trainer.data import SPLITS, read_idx

    raw = mnist_dir / "MNIST" / "raw"
    images, labels = development_digits(raw)
    train = read_idx(raw / SPLITS["train"].images)
    assert len(images) == len(labels) == len(train) - TRAIN_ON > 0
    assert np.array_equal(images, train[TRAIN_ON:])  # limit=TRAIN_ON trains on train[:TRAIN_ON]


def test_the_page_s_edge_stays_off_the_writing():
    """Photographed with `clear` columns free of writing on each side, the desk beyond the
    page's edge covers none of the writing, whichever side it falls on; without `clear` it may
    (the single-digit sets keep their images)."""
    import numpy as np

    from benchmarks.imagesets import photograph

    page = np.full((40, 200, 3), 240.0)
    page[:, 12:188] = 20.0  # writing from column 12 to 187
    sides, covered = set(), 0
    for seed in range(400):
        _, kind = photograph(page.copy(), np.random.default_rng(seed), "plain")
        if "+edge" not in kind:
            continue
        image, _ = photograph(page.copy(), np.random.default_rng(seed), "plain", (12, 12))
        grey = np.asarray(image.convert("L"), float)
        assert grey[:, 12:188].mean(0).max() < 40, seed  # the writing, not the desk
        unclipped, _ = photograph(page.copy(), np.random.default_rng(seed), "plain")
        columns = np.asarray(unclipped.convert("L"), float)[:, 12:188].mean(0)
        covered += columns.max() > 40
        sides.add("left" if grey[:, :10].mean() < grey[:, 190:].mean() - 20 else "right")
    assert sides == {"left", "right"} and covered > 0


def test_a_font_set_is_never_drawn_from_part_of_its_fonts(tmp_path):
    """A font group that is not installed stops the set with the setup command to run, rather
    than drawing (and caching) the set from the groups that are."""
    from benchmarks.imagesets import font_files

    with pytest.raises(RuntimeError, match=r"no-such-group: run `bash benchmarks/setup_bench.sh`"):
        font_files(["dejavu", "no-such-group"])


def test_desk_photos_show_a_light_note_on_a_darker_desk(mnist_dir):
    """The desk category: the same seed gives the same photo; its corners show the desk, its
    centre region the note, lighter than the desk."""
    import io

    import numpy as np

    from benchmarks.imagesets import on_desk
    from trainer.data import SPLITS, raw_dir, read_idx

    digit = read_idx(raw_dir(mnist_dir) / SPLITS["test"].images)[0]
    first, kind = on_desk(digit, np.random.default_rng(3))
    assert on_desk(digit, np.random.default_rng(3)) == (first, kind)
    grey = np.asarray(Image.open(io.BytesIO(first)).convert("L"), np.float32)
    corners = np.median([grey[:5, :5], grey[:5, -5:], grey[-5:, :5], grey[-5:, -5:]])
    assert np.percentile(grey, 99) > corners + 40 and "-on-" in kind


def test_form_photos_are_repeatable_and_of_every_kind(mnist_dir):
    """The forms category: the same seed gives the same photo, and the seeds give every kind
    (a box, a comb, an underline, a printed line), some boxes with the digit running over."""
    import numpy as np

    from benchmarks.imagesets import FORM_KINDS, on_form
    from trainer.data import SPLITS, raw_dir, read_idx

    digit = read_idx(raw_dir(mnist_dir) / SPLITS["test"].images)[0]
    first = on_form(digit, np.random.default_rng(3))
    assert on_form(digit, np.random.default_rng(3)) == first
    names = [on_form(digit, np.random.default_rng(seed))[1].split("+")[0] for seed in range(60)]
    assert {name.removesuffix("-over") for name in names} == set(FORM_KINDS)
    assert "box-over" in names


def test_angle_photos_show_the_desk_beside_the_page_and_hue_pictures_keep_their_grey(mnist_dir):
    """The angle category: the same seed gives the same photo, and the desk shows at the far
    side's corners (the page covers the rest). The hue category: ink and paper lie under 0.15
    apart in luminance, though far apart in colour."""
    import io

    import numpy as np

    from benchmarks.imagesets import at_an_angle, in_hue
    from trainer.data import SPLITS, raw_dir, read_idx

    digit = read_idx(raw_dir(mnist_dir) / SPLITS["test"].images)[0]
    first, kind = at_an_angle(digit, np.random.default_rng(5))
    assert at_an_angle(digit, np.random.default_rng(5)) == (first, kind)
    grey = np.asarray(Image.open(io.BytesIO(first)).convert("L"), np.float32)
    assert np.median(grey) > np.percentile(grey, 2) + 60 and "-on-" in kind
    for seed in range(5):
        data, kind = in_hue(digit, np.random.default_rng(seed))
        rgb = np.asarray(Image.open(io.BytesIO(data)).convert("RGB"), np.float32)
        grey = rgb @ np.array([0.299, 0.587, 0.114])
        spread = np.percentile(grey, 99.5) - np.percentile(grey, 0.5)
        assert float(kind.split("-")[1]) < 0.15 and np.ptp(rgb.reshape(-1, 3), 0).max() >= 90
        assert spread < 0.15 * 255 + 40  # noise and a little light on top of the colours' gap


def test_every_category_generates_a_picture(mnist_dir, tmp_path):
    """Each generator made from MNIST digits runs (the bench caches its sets, so a broken
    generator could hide behind an old cache): two pictures of each, decodable. Fonts and
    optdigits need the bench's setup; they have tests of their own."""
    import io

    import numpy as np

    from benchmarks.imagesets import generators
    from trainer.data import SPLITS, raw_dir, read_idx

    raw = raw_dir(mnist_dir)
    images, labels = read_idx(raw / SPLITS["test"].images), read_idx(raw / SPLITS["test"].labels)
    for category in (
        "mnist",
        "photo",
        "drawing",
        "ruled",
        "lowres",
        "desk",
        "forms",
        "angle",
        "hue",
        "pencil",
    ):
        make = generators(tmp_path, "all")[category]
        samples = list(make(images[:50], labels[:50], np.random.default_rng(0), 2))
        assert len(samples) == 2, category
        for sample in samples:
            Image.open(io.BytesIO(sample.data)).load()


def test_throughput_photos_are_the_size_of_a_phone_s(tmp_path, monkeypatch):
    """The throughput bench's 12 MP JPEGs carry a camera's grain: 2-4 MB like a phone's, not
    the 0.9 MB of a smooth upscale that decodes in half the time. A folder is made once, and
    made again when its recipe changes."""
    import numpy as np

    from benchmarks import throughput

    monkeypatch.setitem(throughput.KINDS, "12mp-jpeg", (2, (4000, 3000), "JPEG"))
    digits = np.zeros((3, 28, 28), np.uint8)
    digits[:, 6:22, 12:16] = 255  # a 1
    folder = tmp_path / "12mp-jpeg"
    paths = throughput.write_folder(folder, "12mp-jpeg", digits)
    assert len(paths) == 2 and all(1.5e6 < p.stat().st_size < 5e6 for p in paths)
    with Image.open(paths[0]) as img:
        assert img.size == (4000, 3000) and img.format == "JPEG"
    made = [p.stat().st_mtime_ns for p in paths]
    assert throughput.write_folder(folder, "12mp-jpeg", digits) == paths
    assert [p.stat().st_mtime_ns for p in paths] == made  # kept
    monkeypatch.setattr(throughput, "GRAIN", 0.0)
    monkeypatch.setattr(throughput, "RECIPE", "seed {seed}, grain 0.0")
    smooth = throughput.write_folder(folder, "12mp-jpeg", digits)
    assert all(p.stat().st_size < 1.5e6 for p in smooth)  # made again, without the grain
    assert sorted(folder.iterdir()) == smooth  # nothing in the folder but its pictures
