"""Folders of photos through mnist-infer, against the JPEG decoder's own speed, in one run.

    python benchmarks/throughput.py [--jobs N] [--no-ray] [--json runs/bench/throughput.json]

Folders made with a fixed seed (one MNIST test digit per picture, photo-like): 60 JPEGs of 12 MP
(4000x3000), 120 of 3 MP (2000x1500), 60 grey scans (PNG, 1700x2200) and 2,000 28x28 PNGs.
The JPEGs carry a camera's grain (noise of 5 grey levels per channel at full size): a photo
upscaled without it is 0.9 MB at 12 MP and decodes in half the time of a phone's 2-4 MB.
Per kind it times, in this order and in one run:

- the floor: decoding alone (JPEGs at the draft scale `auto` uses), in N processes;
- `mnist-infer --jobs 1`, `--jobs N` (threads: the product's way), and the same work in N
  processes (a Predictor per process; measured to choose between the two);
- `mnist-infer --ray` (a local Ray with N CPUs; for clusters, not for one machine).

It reports images/s, the ratio to the floor and peak RSS; and the cold start of
`mnist-infer one.png` (median of 7 fresh processes).
"""

from __future__ import annotations

import argparse
import io
import json
import os
import statistics
import subprocess
import sys
import threading
import time
from concurrent.futures import ProcessPoolExecutor
from functools import partial
from pathlib import Path

import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.photolike import photo_like  # noqa: E402
from runtime.preprocess import WORK_SIDE, _draft_size  # noqa: E402
from trainer.data import SPLITS, default_data_dir, ensure_mnist, read_idx  # noqa: E402

BIN = Path(sys.executable).parent
KINDS = {  # name: (count, size, format)
    "12mp-jpeg": (60, (4000, 3000), "JPEG"),
    "3mp-jpeg": (120, (2000, 1500), "JPEG"),
    "scan-png": (60, (1700, 2200), "PNG"),
    "28px-png": (2000, (28, 28), "PNG"),
}


GRAIN = 5.0  # a camera's noise in the JPEGs, grey levels per channel (standard deviation)
RECIPE = f"seed {{seed}}, grain {GRAIN}"  # a folder made otherwise is made again


def write_folder(folder: Path, kind: str, images, seed: int = 1) -> list[Path]:
    count, size, fmt = KINDS[kind]
    paths = sorted(path for path in folder.glob("*") if path.suffix in (".jpg", ".png"))
    stamp = folder.with_name(folder.name + ".recipe")  # beside the folder: mnist-infer reads it all
    recipe = RECIPE.format(seed=seed)
    if len(paths) == count and stamp.exists() and stamp.read_text() == recipe:
        return paths
    for old in paths:
        old.unlink()
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng([seed, list(KINDS).index(kind)])
    out = []
    for n in range(count):
        digit = images[int(rng.integers(len(images)))]
        if kind == "28px-png":
            img = Image.fromarray(digit)
        else:
            small = Image.open(io.BytesIO(photo_like(digit, rng, "png"))).convert("RGB")
            img = small.resize(size, Image.Resampling.BILINEAR)
            if kind == "scan-png":
                img = img.convert("L")
            if fmt == "JPEG":
                grain = rng.standard_normal((size[1], size[0], 3), dtype=np.float32) * GRAIN
                img = Image.fromarray(np.clip(np.asarray(img) + grain, 0, 255).astype(np.uint8))
        path = folder / f"{n:05d}.{'jpg' if fmt == 'JPEG' else 'png'}"
        img.save(path, fmt, **({"quality": 90} if fmt == "JPEG" else {}))
        out.append(path)
    stamp.write_text(recipe)
    return out


def decode(path: str, quarter: bool = False) -> tuple[int, int]:
    img = Image.open(path)
    if img.format == "JPEG":
        size = (img.width // 4, img.height // 4) if quarter else _draft_size(img.size, WORK_SIDE)
        img.draft(img.mode, size)
    img.load()
    return img.size


def floor(paths: list[Path], jobs: int, quarter: bool = False) -> float:
    work = partial(decode, quarter=quarter)
    with ProcessPoolExecutor(jobs) as pool:
        list(pool.map(work, map(str, paths[:jobs])))  # workers started and warm
        t0 = time.perf_counter()
        list(pool.map(work, map(str, paths), chunksize=4))
        return time.perf_counter() - t0


def timed(command: list, cwd=ROOT) -> tuple[float, float, str]:
    """Wall seconds, peak RSS (MB, the process and its children, sampled) and stdout."""
    import psutil

    t0 = time.perf_counter()
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=cwd)
    peak, handle = 0.0, psutil.Process(proc.pid)
    out: list[bytes] = []
    reader = threading.Thread(target=lambda: out.append(proc.stdout.read()))
    reader.start()
    while proc.poll() is None:
        try:
            family = [handle, *handle.children(recursive=True)]
            peak = max(peak, sum(p.memory_info().rss for p in family) / 2**20)
        except psutil.Error:
            pass
        time.sleep(0.02)
    reader.join()
    wall = time.perf_counter() - t0
    if proc.returncode not in (0, 1):
        raise RuntimeError(f"{command[0]} failed: {proc.stderr.read().decode()[-500:]}")
    return wall, peak, out[0].decode()


_predictor = None


def _read_in_process(path: str) -> int | None:
    global _predictor
    if _predictor is None:
        from runtime import Predictor

        _predictor = Predictor(provider="cpu", threads=1)
    return _predictor.predict_batch([path])[0].digit


def processes(paths: list[Path], jobs: int) -> float:
    """The same reading in `jobs` processes (a Predictor each), for the threads/processes choice."""
    t0 = time.perf_counter()
    with ProcessPoolExecutor(jobs) as pool:
        list(pool.map(_read_in_process, map(str, paths), chunksize=8))
    return time.perf_counter() - t0


def cold_start(path: Path, runs: int = 7) -> tuple[float, float]:
    """Median wall time of fresh processes (timed alone), and the peak RSS of one more."""
    walls = []
    for _ in range(runs):
        t0 = time.perf_counter()
        subprocess.run([BIN / "mnist-infer", path, "--provider", "cpu"], check=True,
                       capture_output=True)  # fmt: skip
        walls.append(time.perf_counter() - t0)
    return statistics.median(walls), timed([BIN / "mnist-infer", path, "--provider", "cpu"])[1]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=len(os.sched_getaffinity(0)))
    parser.add_argument("--work", type=Path, default=ROOT / "runs" / "bench" / "throughput")
    parser.add_argument("--no-ray", action="store_true")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(argv)
    n = args.jobs

    raw = ensure_mnist(default_data_dir(), log=lambda _: None)
    images = read_idx(raw / SPLITS["test"].images)
    cpu = next((line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo")
                if line.startswith("model name")), "unknown CPU")  # fmt: skip
    print(f"{cpu}, {n} cores used\n")
    print("| images | how | seconds | images/s | × floor | peak RSS MB |")
    print("|---|---|---:|---:|---:|---:|")
    rows = []
    for kind in KINDS:
        paths = write_folder(args.work / kind, kind, images)
        base = floor(paths, n)
        runs = [("decode only, at auto's draft scale (floor)", base, None)]
        if KINDS[kind][2] == "JPEG":
            runs.append(("decode only, at 1/4 scale", floor(paths, n, quarter=True), None))
        for jobs in (1, n):
            wall, peak, out = timed([BIN / "mnist-infer", args.work / kind, "--provider", "cpu",
                                     "--jobs", str(jobs), "--json"])  # fmt: skip
            assert len(out.splitlines()) == len(paths)
            runs.append((f"mnist-infer --jobs {jobs}", wall, peak))
        runs.append((f"{n} processes, a Predictor each", processes(paths, n), None))
        if not args.no_ray:
            wall, peak, out = timed([BIN / "mnist-infer", args.work / kind, "--provider", "cpu",
                                     "--ray", "--json"])  # fmt: skip
            runs.append(("mnist-infer --ray (local)", wall, peak))
        for how, seconds, peak in runs:
            row = {"images": kind, "count": len(paths), "how": how, "seconds": seconds,
                   "per_s": len(paths) / seconds, "x_floor": seconds / base,
                   "peak_rss_mb": peak}  # fmt: skip
            rows.append(row)
            shown = f"{peak:.0f}" if peak else "-"
            print(f"| {kind} ({len(paths)}) | {how} | {seconds:.2f} | {row['per_s']:.1f} | "
                  f"{row['x_floor']:.2f} | {shown} |", flush=True)  # fmt: skip
    wall, peak = cold_start(ROOT / "exported" / "samples" / "seven.jpg")
    print(f"\ncold start, `mnist-infer exported/samples/seven.jpg`, median of 7: {wall:.3f} s, "
          f"{peak:.0f} MB peak RSS")  # fmt: skip
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        record = {
            "cpu": cpu,
            "jobs": n,
            "rows": rows,
            "cold": {"wall_s": wall, "peak_rss_mb": peak},
        }
        args.json.write_text(json.dumps(record, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
