"""What the ONNX Runtime session settings do on this machine, and where the time goes.

    python benchmarks/tuning.py [--runs 300] [--rounds 3]

The figures behind the README's "What was tried": session settings at batch 1 and 256, a
per-operator profile at batch 256, the import costs that bound a cold `mnist-infer`, and how far
PyTorch's own float32 log-probabilities are from float64 ones. One configuration at a time, each
session released before the next is made, so no two sets of worker threads run together.
"""

from __future__ import annotations

import argparse
import collections
import json
import statistics
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import onnxruntime as ort

ROOT = Path(__file__).resolve().parents[1]
MODEL = ROOT / "exported" / "digit.onnx"
LEVELS = {"all": ort.GraphOptimizationLevel.ORT_ENABLE_ALL,
          "extended": ort.GraphOptimizationLevel.ORT_ENABLE_EXTENDED}  # fmt: skip


def session(threads=0, spinning=True, level="all", arena=True, block_base=None, profile=False):
    so = ort.SessionOptions()
    so.graph_optimization_level = LEVELS[level]
    so.intra_op_num_threads = threads
    so.enable_cpu_mem_arena = arena
    so.enable_profiling = profile
    so.add_session_config_entry("session.intra_op.allow_spinning", "1" if spinning else "0")
    if block_base:
        so.add_session_config_entry("session.dynamic_block_base", str(block_base))
    return ort.InferenceSession(str(MODEL), so, providers=["CPUExecutionProvider"])


def p50_ms(run, runs: int) -> float:
    for _ in range(max(10, runs // 10)):
        run()
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        run()
        times.append(time.perf_counter() - t0)
    return 1000 * statistics.median(times)


CONFIGS = {
    "runtime's settings (all optimisations, spinning, ONNX Runtime's threads)": {},
    "no spinning": {"spinning": False},
    "1 intra-op thread": {"threads": 1},
    "graph optimisation EXTENDED (no NCHWc)": {"level": "extended"},
    "session.dynamic_block_base = 1": {"block_base": 1},
    "CPU memory arena off": {"arena": False},
}


def measure(sess, batches: dict, runs: int) -> list[float]:
    return [p50_ms(lambda x=x: sess.run(None, {"input": x}), runs if b == 1 else runs // 4)
            for b, x in batches.items()]  # fmt: skip


def settings_table(runs: int, rounds: int) -> list[str]:
    """Each setting measured in `rounds` rounds, in rotated order; the median round is shown."""
    batches = {
        b: np.random.default_rng(b).random((b, 1, 28, 28), dtype=np.float32) for b in (1, 256)
    }
    names = list(CONFIGS) + ["batch 256 split over two 1-thread sessions"]
    cells: dict[str, list[list[float]]] = {name: [] for name in names}
    for r in range(rounds):
        for name in names[r % len(names) :] + names[: r % len(names)]:
            if name in CONFIGS:  # the session is released before the next one is made
                cells[name].append(measure(session(**CONFIGS[name]), batches, runs))
            else:
                cells[name].append([float("nan"), split_batch(batches[256], runs // 4)])
    lines = [f"Session settings, median of {rounds} rounds in rotated order:", "",
             "| setting | batch 1 p50 ms | batch 256 p50 ms |", "|---|---:|---:|"]  # fmt: skip
    for name in names:
        b1, b256 = (statistics.median(col) for col in zip(*cells[name], strict=True))
        lines.append(f"| {name} | {'-' if b1 != b1 else f'{b1:.3f}'} | {b256:.2f} |")
    return lines


def split_batch(x: np.ndarray, runs: int) -> float:
    halves = [session(threads=1), session(threads=1)]
    with ThreadPoolExecutor(2) as pool:

        def split():
            parts = [pool.submit(h.run, None, {"input": x[i * 128 : (i + 1) * 128]})
                     for i, h in enumerate(halves)]  # fmt: skip
            return [p.result() for p in parts]

        return p50_ms(split, runs)


def profile_table(runs: int) -> list[str]:
    s = session(profile=True)
    x = np.random.default_rng(0).random((256, 1, 28, 28), dtype=np.float32)
    n = max(20, runs // 10)
    for _ in range(n):
        s.run(None, {"input": x})
    trace = Path(s.end_profiling())
    events = json.loads(trace.read_text())
    trace.unlink()
    per_op = collections.Counter()
    for e in events:
        if e.get("cat") == "Node" and e["name"].endswith("_kernel_time"):
            per_op[f"{e['args']['op_name']} ({e['name'].removesuffix('_kernel_time')})"] += e["dur"]
    lines = ["| operator (node) at batch 256 | ms per run |", "|---|---:|"]
    for op, us in per_op.most_common(8):
        lines.append(f"| {op} | {us / n / 1000:.2f} |")
    return lines


def import_costs(repeats: int = 5) -> list[str]:
    lines = ["| a fresh `python -c` that runs | wall s (median of 5) |", "|---|---:|"]
    for code in ("pass", "import numpy", "import numpy, PIL.Image, onnxruntime", "import typer",
                 "import runtime.cli"):  # fmt: skip
        walls = []
        for _ in range(repeats):
            t0 = time.perf_counter()
            subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT)
            walls.append(time.perf_counter() - t0)
        lines.append(f"| `{code}` | {statistics.median(walls):.2f} |")
    return lines


def float32_spread() -> list[str]:
    """PyTorch float32 against float64 on the test set: the floor of any parity bound."""
    import torch

    sys.path.insert(0, str(ROOT))
    from trainer.checkpoint import load_checkpoint, model_from_checkpoint
    from trainer.data import default_data_dir, ensure_mnist, load_split
    from trainer.train import normalize

    ensure_mnist(default_data_dir(), log=lambda _: None)
    x = normalize(load_split(default_data_dir(), train=False)[0])
    model = model_from_checkpoint(load_checkpoint(ROOT / "exported" / "digit.pth"))
    with torch.no_grad():
        single = model(x).numpy()
        double = model.double()(x.double()).numpy()
    onnx = session().run(None, {"input": x.numpy()})[0]
    lines = []
    for name, got in (("PyTorch float32", single), ("ONNX Runtime CPU (shipped model)", onnx)):
        diff = np.abs(got - double)
        worst = np.unravel_index(diff.argmax(), diff.shape)
        lines.append(
            f"{name} vs PyTorch float64 on the 10,000 test images: max |diff| {diff.max():.2e} "
            f"at a log-probability of {double[worst]:.1f}; {diff[double > -10].max():.2e} "
            "where log p > -10"
        )
    diff = np.abs(onnx - single)
    worst = np.unravel_index(diff.argmax(), diff.shape)
    lines.append(
        f"ONNX Runtime CPU vs PyTorch float32: max |diff| {diff.max():.2e} at a log-probability "
        f"of {single[worst]:.1f}; {diff[single > -10].max():.2e} where log p > -10"
    )
    return lines


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    for part in (settings_table(args.runs, args.rounds), profile_table(args.runs), import_costs(),
                 float32_spread()):  # fmt: skip
        print("\n".join(part), end="\n\n", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
