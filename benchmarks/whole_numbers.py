"""The whole-number bench: `mnist-infer --multi` on numbers written with MNIST test digits.

    python benchmarks/whole_numbers.py [--count 1200] [--seed 1] [--model exported/digit.onnx]
        [--json runs/bench/numbers.json]

Numbers of 1-8 digits, each digit an MNIST *test* digit, written on plain or ruled paper and
photographed (uneven light, shadows, noise, JPEG; benchmarks/imagesets.py). Within a number the
digits' heights vary by up to 30 %, the baseline jitters and slopes a little, and the gaps are
one kind per number: wide, normal, tight, or touching (neighbours overlap, so their strokes
meet). Every image is made with a fixed seed and cached under runs/bench/.

It reports exact-match accuracy (the whole number right) and digit accuracy (1 - the edit
distance over the number's length) by length, by gap kind and by paper, and ms per image.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.imagesets import PENS, crop_to_ink, encode, photograph, ruled_paper  # noqa: E402
from runtime import Predictor  # noqa: E402
from trainer.data import SPLITS, default_data_dir, ensure_mnist, read_idx  # noqa: E402

GENERATOR = "v2"  # v2: the page's edge no longer covers digits; cached sets are per version
GAPS = {
    "wide": (0.35, 0.7),
    "normal": (0.12, 0.35),
    "tight": (0.02, 0.12),
    "touching": (-0.05, 0.0),  # the strokes of neighbours meet
}


def write_number(
    images, labels, rng: np.random.Generator
) -> tuple[bytes, str, str, str, list[int]]:
    """One number as a photo: (file bytes, its digits, gap kind, paper kind, the MNIST test
    images it is written with)."""
    length = int(rng.integers(1, 9))
    gap_kind = str(rng.choice(list(GAPS)))
    height = float(rng.uniform(40, 110))  # the tallest digit's height, px
    picks = rng.choice(len(images), length, replace=False)
    slope = rng.uniform(-0.05, 0.05)
    pieces, x = [], 0.0
    for i in picks:
        digit = crop_to_ink(images[i].astype(np.float32) / 255.0, 0.1)
        h = height * rng.uniform(0.7, 1.0)
        w = max(2, round(digit.shape[1] * h / digit.shape[0]))
        ink = np.asarray(Image.fromarray(digit).resize((w, round(h)), Image.Resampling.BICUBIC))
        if pieces:
            x += rng.uniform(*GAPS[gap_kind]) * height
        y = height - ink.shape[0] + rng.uniform(-0.08, 0.08) * height + slope * x
        pieces.append((np.clip(ink, 0, 1), x, y))
        x += ink.shape[1]
    margin = int(height * rng.uniform(0.3, 0.8))
    top = min(p[2] for p in pieces)
    canvas_w = int(x) + 2 * margin + 2
    canvas_h = int(max(p[2] + p[0].shape[0] for p in pieces) - top) + 2 * margin + 2
    alpha = np.zeros((canvas_h, canvas_w), np.float32)
    for ink, px, py in pieces:
        r, c = int(py - top) + margin, int(px) + margin
        region = alpha[r : r + ink.shape[0], c : c + ink.shape[1]]
        np.maximum(region, ink[: region.shape[0], : region.shape[1]], out=region)
    paper_kind = str(rng.choice(["plain", "ruled"]))
    if paper_kind == "ruled":
        rgb, ruling = ruled_paper(canvas_h, canvas_w, height, rng)
    else:
        tint = np.array([rng.integers(225, 256), rng.integers(222, 252), rng.integers(205, 245)])
        rgb, ruling = (
            np.broadcast_to(tint.astype(np.float32), (canvas_h, canvas_w, 3)).copy(),
            "plain",
        )
    pen = np.array(PENS[int(rng.integers(len(PENS)))]) + rng.integers(-15, 16, 3)
    inked = np.flatnonzero(alpha.max(0) > 0)
    clear = (int(inked[0]), canvas_w - 1 - int(inked[-1]))
    page = rgb * (1 - alpha[:, :, None]) + pen * alpha[:, :, None]
    image, _ = photograph(page, rng, ruling, clear)
    text = "".join(str(labels[i]) for i in picks)
    digits = [int(i) for i in picks]
    if rng.random() < 0.5:
        data = encode(image, "JPEG", quality=int(rng.integers(70, 96)))
    else:
        data = encode(image, "PNG")
    return data, text, gap_kind, paper_kind, digits


def write_set(
    folder: Path, images, labels, count: int, seed: int
) -> list[tuple[Path, str, str, str, list[int]]]:
    """The set's numbers (path, text, gap, paper, MNIST indices), written once and cached."""
    manifest = folder / "manifest.tsv"
    rows = (
        [line.split("\t") for line in manifest.read_text().splitlines()]
        if manifest.is_file()
        else []
    )
    if rows and all(len(row) == 5 for row in rows):
        return [
            (folder / name, text, gap, paper, [int(i) for i in picks.split(",")])
            for name, text, gap, paper, picks in rows
        ]
    folder.mkdir(parents=True, exist_ok=True)  # new, or cached before the indices were kept
    rng = np.random.default_rng([seed, 99])
    out = []
    for n in range(count):
        data, text, gap, paper, picks = write_number(images, labels, rng)
        suffix = ".jpg" if data.startswith(b"\xff\xd8") else ".png"
        path = folder / f"{n:05d}_{text}{suffix}"
        path.write_bytes(data)
        out.append((path, text, gap, paper, picks))
    manifest.write_text(
        "".join(f"{p.name}\t{t}\t{g}\t{k}\t{','.join(map(str, i))}\n" for p, t, g, k, i in out)
    )
    return out


def edit_distance(a: str, b: str) -> int:
    row = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        previous, row[0] = row[0], i
        for j, cb in enumerate(b, 1):
            previous, row[j] = row[j], min(row[j] + 1, row[j - 1] + 1, previous + (ca != cb))
    return row[-1]


def summarise(rows: list[dict], key) -> list[tuple[str, int, float, float, float]]:
    """Per group: its name, count, exact-match and digit accuracy, and the share of numbers
    whose every digit the model reads right from its original 28x28 image (what a perfect
    segmentation and framing could reach with this model)."""
    table = {}
    for row in rows:
        table.setdefault(key(row), []).append(row)
    out = []
    for name in sorted(table, key=str):
        group = table[name]
        exact = np.mean([r["read"] == r["text"] for r in group])
        digits = np.mean(
            [max(0.0, 1 - edit_distance(r["read"], r["text"]) / len(r["text"])) for r in group]
        )
        ceiling = np.mean([r["raw_right"] for r in group])
        out.append((str(name), len(group), float(exact), float(digits), float(ceiling)))
    return out


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=1200)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--model", type=Path, default=ROOT / "exported" / "digit.onnx")
    parser.add_argument("--work", type=Path, default=ROOT / "runs" / "bench")
    parser.add_argument("--json", type=Path)
    parser.add_argument(
        "--agreement", type=int, default=1000, metavar="N",
        help="also read N images of each single-digit bench category both ways (0: skip)",
    )  # fmt: skip
    args = parser.parse_args(argv)

    raw = ensure_mnist(default_data_dir(), log=lambda _: None)
    images, labels = read_idx(raw / SPLITS["test"].images), read_idx(raw / SPLITS["test"].labels)
    folder = args.work / f"numbers-{GENERATOR}-seed{args.seed}-{args.count}"
    numbers = write_set(folder, images, labels, args.count, args.seed)
    predictor = Predictor(args.model, provider="cpu")
    t0 = time.perf_counter()
    results = predictor.read_numbers([n[0] for n in numbers])
    ms = 1000 * (time.perf_counter() - t0) / len(numbers)
    raw_right = model_on_raw_digits(args.model, images, labels, {i for n in numbers for i in n[4]})
    rows = [
        {"path": str(p), "text": t, "read": r.text, "gap": g, "paper": k, "length": len(t),
         "raw_right": all(raw_right[i] for i in picks)}
        for (p, t, g, k, picks), r in zip(numbers, results, strict=True)
    ]  # fmt: skip
    separate = [r for r in rows if r["gap"] != "touching"]
    print(f"{len(rows)} numbers, {ms:.1f} ms per image (read + clean + segment + run), CPU\n")
    print(
        "| numbers | count | exact | digit accuracy "
        "| ceiling: the model reads every digit from its MNIST image |"
    )
    print("|---|---:|---:|---:|---:|")
    groups = [
        (
            "2-6 digits, with gaps",
            lambda r: "all" if 2 <= r["length"] <= 6 and r["gap"] != "touching" else None,
        ),
        (
            "2-6 digits, touching",
            lambda r: "all" if 2 <= r["length"] <= 6 and r["gap"] == "touching" else None,
        ),
    ]
    for title, key in groups:
        for _, n, exact, digits, ceiling in summarise([r for r in rows if key(r)], key):
            print(f"| {title} | {n} | {exact:.1%} | {digits:.1%} | {ceiling:.1%} |")
    for title, subset, key in (
        ("length (with gaps)", separate, lambda r: r["length"]),
        ("gap", rows, lambda r: r["gap"]),
        ("paper (with gaps)", separate, lambda r: r["paper"]),
    ):
        for name, n, exact, digits, ceiling in summarise(subset, key):
            print(f"| {title}: {name} | {n} | {exact:.1%} | {digits:.1%} | {ceiling:.1%} |")
    agreement = single_digit_agreement(predictor, images, labels, args) if args.agreement else {}
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        record = {"ms_per_image": ms, "rows": rows, "agreement": agreement}
        args.json.write_text(json.dumps(record, indent=1))
    return 0


def model_on_raw_digits(model, images, labels, indices: set[int]) -> dict[int, bool]:
    """Whether the model reads each of these MNIST test images right, as they are (plain)."""
    order = sorted(indices)
    plain = Predictor(model, provider="cpu", mode="plain")
    read = plain.predict_batch([images[i] for i in order], batch_size=256)
    return {i: r.digit == labels[i] for i, r in zip(order, read, strict=True)}


def single_digit_agreement(predictor, images, labels, args) -> dict[str, float]:
    """How often --multi reads a one-digit picture as the same digit as the single reading."""
    from benchmarks.imagesets import CATEGORIES
    from benchmarks.imagesets import write_set as write_category

    print("\n| single-digit category | images | --multi gives the same digit |")
    print("|---|---:|---:|")
    out = {}
    for category in CATEGORIES:
        count = min(args.agreement, 10000)
        folder = args.work / f"seed{args.seed}-{count}" / category
        rows = write_category(
            category, folder, images, labels, count, args.seed, args.work / "cache", "all"
        )
        paths = [p for p, _, _ in rows]
        single = [r.digit for r in predictor.predict_batch(paths)]
        multi = [r.text for r in predictor.read_numbers(paths)]
        same = float(
            np.mean(
                [m == ("" if s is None else str(s)) for m, s in zip(multi, single, strict=True)]
            )
        )
        out[category] = same
        print(f"| {category} | {len(paths)} | {same:.1%} |", flush=True)
    return out


if __name__ == "__main__":
    sys.exit(main())
