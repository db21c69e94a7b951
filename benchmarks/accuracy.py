"""The runtime's accuracy on images as users give them, for each preprocessing mode.

    python benchmarks/accuracy.py [--model exported/digit.onnx] [--photos 1000] [--seed 1]

Two sets, both made from MNIST *test* digits: the 10,000 test images saved as PNG files, and
photo-like images (dark ink on light or tinted paper, off-centre, 40-250 px tall, uneven light,
blur, noise, JPEG, transparent paper, EXIF rotation; see benchmarks/photolike.py).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.photolike import KINDS, write_photo_set  # noqa: E402
from runtime import Predictor  # noqa: E402
from trainer.data import SPLITS, default_data_dir, ensure_mnist, read_idx  # noqa: E402


def accuracy(model: Path, paths: list[Path], labels, mode: str) -> tuple[float, float]:
    predictor = Predictor(model, provider="cpu", mode=mode)
    t0 = time.perf_counter()
    results = predictor.predict_batch(paths, 500)
    seconds = time.perf_counter() - t0
    right = np.array([r.digit == y for r, y in zip(results, labels, strict=True)])
    return float(right.mean()), 1000 * seconds / len(paths)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, default=ROOT / "exported" / "digit.onnx")
    parser.add_argument("--photos", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()

    raw = ensure_mnist(default_data_dir())
    images = read_idx(raw / SPLITS["test"].images)
    labels = read_idx(raw / SPLITS["test"].labels)
    print("| image set | images | mode | accuracy | ms per image (read + preprocess + run) |")
    print("|---|---:|---|---:|---:|")
    with tempfile.TemporaryDirectory() as tmp:
        pngs = []
        for i, image in enumerate(images):
            pngs.append(Path(tmp) / f"{i:05d}.png")
            Image.fromarray(image).save(pngs[-1])
        for mode in ("plain", "auto"):
            acc, ms = accuracy(args.model, pngs, labels, mode)
            print(f"| MNIST test PNGs | {len(pngs)} | {mode} | {acc:.2%} | {ms:.2f} |")
        pairs = write_photo_set(images, labels, Path(tmp) / "photos", args.photos, args.seed)
        paths, truth = [p for p, _ in pairs], [y for _, y in pairs]
        for mode in ("plain", "auto"):
            acc, ms = accuracy(args.model, paths, truth, mode)
            kinds = ", ".join(KINDS)
            print(f"| photo-like ({kinds}) | {len(paths)} | {mode} | {acc:.2%} | {ms:.2f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
