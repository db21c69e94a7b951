"""PyTorch against ONNX Runtime on the Digit model, side by side, each backend in its own process.

    python benchmarks/latency.py [--cycles 15] [--batch-sizes 1,8,64,256,1024] [--quick]
                                 [--json OUT]
    python benchmarks/latency.py --classic [--providers cpu,cuda] [--plot OUT.png] ...

Default (CPU): paired cycles. PyTorch eager, torch.compile, ONNX Runtime (float32 and int8) and
OpenVINO reading the same .onnx (float32, and its default precision, which is bf16 on CPUs
that have it) each live in a process of their own, kept alive; every cycle times them in turn
(the order rotating), with the CPU's pressure (Linux PSI) recorded so that disturbed cycles are
left out; it reports the median of the per-cycle speed-ups over PyTorch eager with their range,
each backend's accuracy and max |diff| on the MNIST test set, and the CPU model and flags.

--classic (used for the CUDA rows): each backend runs in a subprocess of its own (ONNX Runtime's worker threads would slow down
anything timed beside them), warms up, then is timed with time.perf_counter (synchronised on
CUDA). Prints a Markdown report: latency percentiles, throughput, speed-up over PyTorch eager on
the same device, achieved GFLOP/s against a float32 matrix-product ceiling measured in the same
run, load time and peak memory, preprocessing cost and cold-process end-to-end figures.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FLOP_PER_IMAGE = 2 * 1_331_080  # multiply-adds of conv1, conv2, fc1, fc2, counted twice
MODEL = ROOT / "exported" / "digit.onnx"
INT8_MODEL = ROOT / "exported" / "digit.int8.onnx"
FP16_MODEL = ROOT / "exported" / "digit.float16.onnx"
CHECKPOINT = ROOT / "exported" / "digit.pth"
SAMPLES = ROOT / "exported" / "samples"


# ---------------------------------------------------------------------------------------------
# Workers: each runs in its own process and prints one JSON object


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def time_runs(run, batch_sizes, make_input, runs: int, warmup: int, budget_s: float) -> dict:
    """Per batch size: warm up, then time `run(x)` up to `runs` times or `budget_s` seconds."""
    rows = {}
    for batch in batch_sizes:
        x = make_input(batch)
        for _ in range(warmup):
            run(x)
        times = []
        deadline = time.perf_counter() + budget_s
        while len(times) < runs and (len(times) < 5 or time.perf_counter() < deadline):
            t0 = time.perf_counter()
            run(x)
            times.append(time.perf_counter() - t0)
        rows[batch] = summarise(times, batch)
    return rows


def summarise(times: list[float], batch: int) -> dict:
    ordered = sorted(times)

    def pct(p):
        return 1000 * ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]

    mean = statistics.fmean(times)
    return {
        "runs": len(times),
        "p50_ms": pct(50),
        "p90_ms": pct(90),
        "p99_ms": pct(99),
        "images_per_s": batch / mean,
        "gflops": batch * FLOP_PER_IMAGE / mean / 1e9,
    }


def worker_torch(args) -> dict:
    t0 = time.perf_counter()
    import torch

    from trainer.checkpoint import load_checkpoint, model_from_checkpoint

    device = torch.device(args.device)
    model = model_from_checkpoint(load_checkpoint(CHECKPOINT)).to(device)
    if args.compile:
        model = torch.compile(model)
    load_s = time.perf_counter() - t0
    sync = torch.cuda.synchronize if device.type == "cuda" else (lambda: None)

    @torch.inference_mode()
    def run(x):
        out = model(x)
        sync()
        return out

    def make(batch):
        return torch.randn(batch, 1, 28, 28, device=device)

    rows = time_runs(run, args.batch_sizes, make, args.runs, args.warmup, args.budget)
    return {"load_s": load_s, "peak_rss_mb": peak_rss_mb(), "batches": rows,
            "threads": torch.get_num_threads()}  # fmt: skip


def worker_ort(args) -> dict:
    t0 = time.perf_counter()
    import numpy as np
    import onnxruntime as ort

    from runtime.session import INPUT_NAME, OUTPUT_NAME, SessionConfig, create_session

    if args.defaults:  # ONNX Runtime's own defaults, to show what the tuning buys
        providers = {"cpu": ["CPUExecutionProvider"], "cuda": ["CUDAExecutionProvider"]}
        session = ort.InferenceSession(str(args.model), providers=providers[args.device])
    else:
        config = SessionConfig(threads=args.threads, spinning=not args.no_spinning)
        session, _ = create_session(args.model, args.device, config)
    load_s = time.perf_counter() - t0

    if args.iobinding:
        binding = session.io_binding()

        def make(batch):
            x = np.random.default_rng(0).normal(size=(batch, 1, 28, 28)).astype(np.float32)
            value = ort.OrtValue.ortvalue_from_numpy(x, "cuda", 0)
            binding.bind_ortvalue_input(INPUT_NAME, value)
            binding.bind_output(OUTPUT_NAME, "cuda", 0)
            return binding

        def run(b):
            session.run_with_iobinding(b)
            b.synchronize_outputs()
    else:

        def make(batch):
            return np.random.default_rng(0).normal(size=(batch, 1, 28, 28)).astype(np.float32)

        def run(x):
            return session.run(None, {INPUT_NAME: x})

    rows = time_runs(run, args.batch_sizes, make, args.runs, args.warmup, args.budget)
    return {"load_s": load_s, "peak_rss_mb": peak_rss_mb(), "batches": rows,
            "providers": session.get_providers()}  # fmt: skip


def worker_matmul(args) -> dict:
    """The machine's float32 ceiling: the best of NumPy's and PyTorch's 2048x2048 products."""
    import numpy as np

    n = 2048
    a = np.random.default_rng(0).random((n, n), dtype=np.float32)
    candidates = {"numpy": lambda: a @ a}
    try:
        import torch

        t = torch.from_numpy(a)
        candidates["torch"] = lambda: t @ t
    except ImportError:
        pass
    best = {}
    for name, product in candidates.items():
        product()
        times = []
        for _ in range(args.runs):
            t0 = time.perf_counter()
            product()
            times.append(time.perf_counter() - t0)
        best[name] = 2 * n**3 / min(times) / 1e9
    return {"gflops": max(best.values()), "by_library": best}


def worker_preprocess(args) -> dict:
    from runtime.preprocess import ModelInput, open_image, preprocess
    from runtime.session import load_model

    info = load_model(args.model, "cpu")[2]  # mean, std and size come from the model, as in use
    model = ModelInput(info.mean, info.std, info.input_size)
    paths = sorted(SAMPLES.iterdir())
    result = {}
    for name in ("plain", "auto"):
        times = []
        for _ in range(args.runs):
            for path in paths:
                t0 = time.perf_counter()
                preprocess(path, name, model)
                times.append(time.perf_counter() - t0)
        result[name] = {"ms_per_image": 1000 * statistics.median(times), "images": len(paths)}
    sizes = [open_image(p).size for p in paths]
    result["image_sizes"] = sizes
    return result


WORKERS = {"torch": worker_torch, "ort": worker_ort, "matmul": worker_matmul,
           "preprocess": worker_preprocess}  # fmt: skip


# ---------------------------------------------------------------------------------------------
# The orchestrator


def run_worker(kind: str, args, extra: list[str], timeout: float = 900) -> dict:
    cmd = [sys.executable, __file__, "--worker", kind, "--runs", str(args.runs),
           "--warmup", str(args.warmup), "--budget", str(args.budget),
           "--batch-sizes", ",".join(map(str, args.batch_sizes)), *extra]  # fmt: skip
    env = {**os.environ, "PYTHONPATH": f"{ROOT}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"}
    result = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=env)
    if result.returncode != 0:
        last = (result.stderr.strip().splitlines() or ["no output"])[-1]
        return {"error": last}
    return json.loads(result.stdout.strip().splitlines()[-1])


def best_of(previous: dict | None, new: dict) -> dict:
    """Keep, per batch size, the round with the lower p50 (the one least disturbed)."""
    if previous is None or "error" in previous:
        return new
    if "error" in new:
        return previous
    for batch, row in new["batches"].items():
        if row["p50_ms"] < previous["batches"][batch]["p50_ms"]:
            previous["batches"][batch] = row
    previous["rounds"] = previous.get("rounds", 1) + 1
    return previous


def cold_process(cmd: list[str], repeats: int) -> dict:
    """Median wall time and peak memory of `cmd` started afresh, each run in its own wrapper."""
    wrapper = (
        "import resource, subprocess, sys, time, json\n"
        "t0 = time.perf_counter()\n"
        "r = subprocess.run(sys.argv[1:], capture_output=True)\n"
        "wall = time.perf_counter() - t0\n"
        "rss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024\n"
        "print(json.dumps({'wall_s': wall, 'peak_rss_mb': rss, 'rc': r.returncode}))\n"
    )
    runs = []
    for _ in range(repeats):
        out = subprocess.run([sys.executable, "-c", wrapper, *cmd], capture_output=True, text=True)
        runs.append(json.loads(out.stdout))
    if any(r["rc"] != 0 for r in runs):
        return {"error": f"exit {runs[0]['rc']}"}
    return {
        "wall_s": statistics.median(r["wall_s"] for r in runs),
        "peak_rss_mb": statistics.median(r["peak_rss_mb"] for r in runs),
        "runs": repeats,
    }


def machine() -> dict:
    info = {
        "python": platform.python_version(),
        "cores": os.cpu_count(),
        "cpu": platform.processor(),
    }
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                info["cpu"] = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    from importlib import metadata

    for name in ("torch", "onnxruntime", "onnxruntime-gpu", "numpy", "pillow"):
        try:
            info[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            pass
    import onnxruntime

    info["ort_providers"] = onnxruntime.get_available_providers()
    probe = (
        "import torch; print(torch.cuda.get_device_name(0) if torch.cuda.is_available() else '')"
    )
    gpu = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True)
    info["gpu"] = gpu.stdout.strip() or None
    return info


def backends(args, gpu: bool) -> list[tuple[str, str, str, list[str]]]:
    """(name, device, worker, extra args); the first backend of each device is the baseline."""
    rows = []
    if "cpu" in args.providers:
        rows += [
            ("PyTorch eager", "cpu", "torch", ["--device", "cpu"]),
            ("ONNX Runtime (defaults)", "cpu", "ort", ["--device", "cpu", "--defaults"]),
            ("ONNX Runtime (runtime's settings)", "cpu", "ort", ["--device", "cpu"]),
            ("ONNX Runtime (no spinning)", "cpu", "ort", ["--device", "cpu", "--no-spinning"]),
        ]
        if INT8_MODEL.exists():
            rows.append(
                ("ONNX Runtime int8", "cpu", "ort", ["--device", "cpu", "--model", str(INT8_MODEL)])
            )
        if args.compile:
            rows.append(("torch.compile", "cpu", "torch", ["--device", "cpu", "--compile"]))
    if "cuda" in args.providers and gpu:
        rows += [
            ("PyTorch eager", "cuda", "torch", ["--device", "cuda"]),
            ("ONNX Runtime", "cuda", "ort", ["--device", "cuda"]),
            ("ONNX Runtime I/O binding", "cuda", "ort", ["--device", "cuda", "--iobinding"]),
        ]
        if FP16_MODEL.exists():
            rows.append(("ONNX Runtime float16 I/O binding", "cuda", "ort",
                         ["--device", "cuda", "--iobinding", "--model", str(FP16_MODEL)]))  # fmt: skip
    return rows


def benchmark(args) -> dict:
    started = time.perf_counter()
    info = machine()
    settings = {k: v for k, v in vars(args).items() if k not in ("json", "plot")}
    report = {"machine": info, "settings": settings}
    report["ceiling"] = run_worker("matmul", args, [])
    gpu = info["gpu"] is not None and "CUDAExecutionProvider" in info["ort_providers"]
    report["backends"] = []
    plan = backends(args, gpu)
    results: dict[int, dict] = {}
    for round_ in range(args.rounds):  # alternate backends: a noisy neighbour hits them all
        for i, (name, device, kind, extra) in enumerate(plan):
            print(f"... round {round_ + 1}: {name} on {device}", file=sys.stderr)
            results[i] = best_of(results.get(i), run_worker(kind, args, extra))
    for i, (name, device, _, _) in enumerate(plan):
        report["backends"].append({"name": name, "device": device, **results[i]})
    report["preprocess"] = run_worker("preprocess", args, [])
    repeats = 2 if args.quick else 7
    sample = str(SAMPLES / "seven.jpg")
    script = Path(sys.executable).parent / "mnist-infer"
    infer = [str(script)] if script.exists() else [sys.executable, "-m", "runtime.cli"]
    report["cold"] = {
        "mnist-infer": cold_process([*infer, sample, "--provider", "cpu"], repeats),
        "torch script": cold_process(
            [sys.executable, str(ROOT / "benchmarks" / "torch_infer.py"), sample], repeats
        ),
    }
    report["seconds"] = time.perf_counter() - started
    return report


# ---------------------------------------------------------------------------------------------
# Paired cycles (the default on CPU): every backend in a process of its own, kept alive, timed
# in turn, A B C A B C ..., so that what disturbs one cycle disturbs every backend in it


CPU_BACKENDS = {  # name: worker kind and options
    "PyTorch eager": ("torch", []),
    "torch.compile": ("torch", ["--compile"]),
    "ONNX Runtime": ("ort", []),
    "ONNX Runtime int8": ("ort", ["--model", str(INT8_MODEL)]),
    "OpenVINO float32": ("openvino", ["--precision", "f32"]),
    "OpenVINO default": ("openvino", []),
}
DISTURBED = 1.5  # a cycle whose CPU stall is over this many times the run's median is left out


def serve_backend(args) -> None:
    """Worker loop: load, answer the reference test set, then time what stdin asks for."""
    import numpy as np

    t0 = time.perf_counter()
    run, name = make_runner(args)
    load_s = time.perf_counter() - t0
    x_test, labels = test_set()
    out = np.concatenate([run(x_test[i : i + 500]) for i in range(0, len(x_test), 500)])
    np.save(args.out_file, np.asarray(out, np.float32))
    print(json.dumps({"load_s": load_s, "accuracy": float((out.argmax(1) == labels).mean()),
                      "detail": name}), flush=True)  # fmt: skip
    inputs = {}
    for line in sys.stdin:
        batch, runs = map(int, line.split())
        x = inputs.setdefault(batch, np.random.default_rng(batch).normal(
            size=(batch, 1, 28, 28)).astype(np.float32))  # fmt: skip
        for _ in range(3):
            run(x)
        times = []
        for _ in range(runs):
            t = time.perf_counter()
            run(x)
            times.append(time.perf_counter() - t)
        print(
            json.dumps({"ms": 1000 * statistics.median(times), "rss_mb": peak_rss_mb()}), flush=True
        )


def test_set():
    import numpy as np

    from trainer.data import SPLITS, default_data_dir, ensure_mnist, read_idx

    raw = ensure_mnist(default_data_dir(), log=lambda _: None)
    images, labels = read_idx(raw / SPLITS["test"].images), read_idx(raw / SPLITS["test"].labels)
    return ((images.astype(np.float32) / 255 - 0.1307) / 0.3081)[:, None], labels


def make_runner(args):
    """A function numpy (N, 1, 28, 28) -> numpy log-probabilities, and what it runs on."""
    import numpy as np

    if args.serve == "torch":
        import torch

        from trainer.checkpoint import load_checkpoint, model_from_checkpoint

        model = model_from_checkpoint(load_checkpoint(CHECKPOINT))
        if args.compile:
            model = torch.compile(model)

        @torch.inference_mode()
        def run(x):
            return model(torch.from_numpy(x)).numpy()

        return run, f"torch {torch.__version__}, {torch.get_num_threads()} threads"
    if args.serve == "ort":
        from runtime.session import INPUT_NAME, create_session

        session = create_session(args.model, "cpu")[0]
        return (lambda x: session.run(None, {INPUT_NAME: x})[0]), "onnxruntime"
    import openvino as ov

    core = ov.Core()
    config = {"INFERENCE_PRECISION_HINT": args.precision} if args.precision else {}
    compiled = core.compile_model(str(args.model), "CPU", config)
    precision = compiled.get_property("INFERENCE_PRECISION_HINT")
    request = compiled.create_infer_request()

    def run(x):
        return np.array(request.infer({0: x})[compiled.output(0)])

    return run, f"openvino {ov.__version__.split('-')[0]}, {str(precision).split(chr(39))[1]}"


class Backend:
    def __init__(self, name: str, kind: str, extra: list[str], workdir: Path):
        self.name = name
        self.out_file = workdir / f"{len(name)}-{abs(hash(name))}.npy"
        cmd = [sys.executable, __file__, "--serve", kind, "--out-file", str(self.out_file), *extra]
        env = {**os.environ, "PYTHONPATH": f"{ROOT}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"}
        self.proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, text=True, env=env)  # fmt: skip
        line = self.proc.stdout.readline()
        if not line:
            raise RuntimeError(self.proc.stderr.read().strip().splitlines()[-1])
        self.info = json.loads(line)

    def time(self, batch: int, runs: int) -> float:
        self.proc.stdin.write(f"{batch} {runs}\n")
        self.proc.stdin.flush()
        reply = json.loads(self.proc.stdout.readline())
        self.info["rss_mb"] = reply["rss_mb"]
        return reply["ms"]

    def close(self) -> None:
        self.proc.stdin.close()
        self.proc.wait(timeout=30)


def cpu_stall() -> float | None:
    """Microseconds that runnable tasks have waited for a CPU (Linux PSI), or None."""
    try:
        some = Path("/proc/pressure/cpu").read_text().splitlines()[0]
        return float(some.split("total=")[1])
    except (OSError, IndexError, ValueError):
        return None


def cpu_flags() -> list[str]:
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return []
    flags = set(next((line.split(":", 1)[1].split() for line in text.splitlines()
                      if line.startswith("flags")), []))  # fmt: skip
    wanted = ["avx2", "fma", "avx512f", "avx512_vnni", "avx_vnni", "avx512_bf16", "amx_bf16",
              "amx_int8"]  # fmt: skip
    return [f for f in wanted if f in flags]


def paired(args) -> dict:
    """The paired-cycle comparison on the CPU: medians of per-cycle speed-ups, with ranges."""
    import tempfile

    import numpy as np

    info = machine()
    info["flags"] = cpu_flags()
    backends: list[Backend] = []
    failed = {}
    with tempfile.TemporaryDirectory() as tmp:
        for name, (kind, extra) in CPU_BACKENDS.items():
            if name.startswith("OpenVINO"):
                extra = [*extra, "--model", str(MODEL)]
            try:
                backends.append(Backend(name, kind, extra, Path(tmp)))
            except Exception as exc:  # a peer that is not installed is reported, not fatal
                failed[name] = str(exc)
            print(f"... loaded {name}", file=sys.stderr)
        reference = np.load(backends[0].out_file)
        for b in backends:
            b.info["max_abs_diff"] = float(np.abs(np.load(b.out_file) - reference).max())
        cycles = []
        for cycle in range(args.cycles):
            stall0, t0 = cpu_stall(), time.perf_counter()
            order = backends[cycle % len(backends) :] + backends[: cycle % len(backends)]
            times = {b.name: {} for b in backends}
            for batch in args.batch_sizes:
                runs = max(5, min(args.runs, int(2000 / batch)))
                for b in order:
                    times[b.name][str(batch)] = b.time(batch, runs)
            ceiling = matmul_gflops()
            stall1, wall = cpu_stall(), time.perf_counter() - t0
            stalled = None if stall0 is None else (stall1 - stall0) / 1e6 / wall
            cycles.append({"times_ms": times, "ceiling_gflops": ceiling, "stall": stalled})
            print(f"... cycle {cycle + 1}/{args.cycles}: stall {stalled}", file=sys.stderr)
        for b in backends:
            b.close()
    return {"machine": info, "backends": {b.name: b.info for b in backends}, "failed": failed,
            "cycles": cycles, "batch_sizes": args.batch_sizes}  # fmt: skip


def matmul_gflops(n: int = 1024) -> float:
    import numpy as np

    a = np.random.default_rng(0).random((n, n), dtype=np.float32)
    a @ a
    best = min(_timed(lambda: a @ a) for _ in range(5))
    return 2 * n**3 / best / 1e9


def _timed(fn) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def paired_markdown(report: dict) -> str:
    m = report["machine"]
    stalls = [c["stall"] for c in report["cycles"] if c["stall"] is not None]
    limit = DISTURBED * statistics.median(stalls) + 0.02 if stalls else None
    calm = [c for c in report["cycles"] if c["stall"] is None or c["stall"] <= limit]
    left_out = len(report["cycles"]) - len(calm)
    calm = calm or report["cycles"]
    base = "PyTorch eager"
    lines = [
        f"Machine: {m['cpu']}, {m['cores']} cores, flags {' '.join(m['flags']) or 'none'}; "
        f"Python {m['python']}, torch {m.get('torch', '-')}, onnxruntime {m.get('onnxruntime', '-')}",
        f"{len(report['cycles'])} paired cycles, {left_out} left out as disturbed (runnable tasks "
        f"waited for a CPU (PSI) over {DISTURBED}x the run's median share of the cycle, "
        f"{statistics.median(stalls) if stalls else 0:.0%}, plus 2 points); ceiling (1024x1024 "
        f"float32 product, per cycle) median "
        f"{statistics.median(c['ceiling_gflops'] for c in calm):.0f} GFLOP/s",
        "",
        "| backend | batch | p50 ms (median of cycles) | speed-up over PyTorch eager: median (range) "
        "| % of the ceiling |",
        "|---|---:|---:|---:|---:|",
    ]  # fmt: skip
    for name in report["backends"]:
        for batch in report["batch_sizes"]:
            key = str(batch)
            ms = [c["times_ms"][name][key] for c in calm]
            ratios = [c["times_ms"][base][key] / c["times_ms"][name][key] for c in calm]
            share = [batch * FLOP_PER_IMAGE / (t / 1000) / 1e9 / c["ceiling_gflops"]
                     for t, c in zip(ms, calm, strict=True)]  # fmt: skip
            lines.append(
                f"| {name} | {batch} | {statistics.median(ms):.3f} | "
                f"{statistics.median(ratios):.2f}x ({min(ratios):.2f}-{max(ratios):.2f}) | "
                f"{100 * statistics.median(share):.0f} % |"
            )
    lines += ["", "| backend | runs on | load s | peak RSS MB | MNIST test accuracy | "
              "max \\|diff\\| vs PyTorch |", "|---|---|---:|---:|---:|---:|"]  # fmt: skip
    for name, b in report["backends"].items():
        lines.append(f"| {name} | {b['detail']} | {b['load_s']:.2f} | {b['rss_mb']:.0f} | "
                     f"{b['accuracy']:.2%} | {b['max_abs_diff']:.2e} |")  # fmt: skip
    for name, why in report["failed"].items():
        lines.append(f"| {name} | not run: {why} | | | | |")
    return "\n".join(lines)


# ---------------------------------------------------------------------------------------------
# Report


def markdown(report: dict) -> str:
    m, ceiling = report["machine"], report["ceiling"].get("gflops")
    lines = [
        f"Machine: {m['cpu']}, {m['cores']} cores; GPU: {m['gpu'] or 'none'}; Python {m['python']}, "
        f"torch {m.get('torch', '-')}, "
        + ", ".join(f"{n} {m[n]}" for n in ("onnxruntime", "onnxruntime-gpu") if n in m)
        + ", "
        f"numpy {m.get('numpy')}; ONNX Runtime providers: {', '.join(m['ort_providers'])}",
        "",
        f"float32 ceiling (2048x2048 matrix product): {ceiling:.0f} GFLOP/s" if ceiling else "",
        "",
        "| backend | device | batch | p50 ms | p90 ms | p99 ms | images/s | vs PyTorch eager | GFLOP/s | % of ceiling |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]  # fmt: skip
    baseline = {}
    for b in report["backends"]:
        if "error" in b:
            lines.append(f"| {b['name']} | {b['device']} | - | failed: {b['error']} |||||||")
            continue
        for batch, row in b["batches"].items():
            key = (b["device"], batch)
            baseline.setdefault(key, row)
            ratio = row["images_per_s"] / baseline[key]["images_per_s"]
            share = (
                f"{100 * row['gflops'] / ceiling:.0f} %"
                if ceiling and b["device"] == "cpu"
                else "-"
            )
            lines.append(
                f"| {b['name']} | {b['device']} | {batch} | {row['p50_ms']:.3f} | {row['p90_ms']:.3f} "
                f"| {row['p99_ms']:.3f} | {row['images_per_s']:,.0f} | {ratio:.2f}x "
                f"| {row['gflops']:.1f} | {share} |"
            )
    lines += ["", "| backend | device | load s | peak RSS MB |", "|---|---|---:|---:|"]
    for b in report["backends"]:
        if "error" not in b:
            lines.append(
                f"| {b['name']} | {b['device']} | {b['load_s']:.2f} | {b['peak_rss_mb']:.0f} |"
            )
    p = report["preprocess"]
    if "error" not in p:
        lines += [
            "",
            f"Preprocessing per image (median over the {p['plain']['images']} sample images): "
            f"plain {p['plain']['ms_per_image']:.2f} ms, auto {p['auto']['ms_per_image']:.2f} ms",
        ]
    lines += [
        "",
        "| one image from a cold process | wall s (median) | peak RSS MB |",
        "|---|---:|---:|",
    ]
    for name, c in report["cold"].items():
        if "error" in c:
            lines.append(f"| {name} | failed: {c['error']} | |")
        else:
            lines.append(f"| {name} | {c['wall_s']:.2f} | {c['peak_rss_mb']:.0f} |")
    return "\n".join(line for line in lines)


def plot(report: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4.5))
    for b in report["backends"]:
        if "error" in b:
            continue
        batches = sorted(b["batches"], key=int)
        ax.plot([int(k) for k in batches], [b["batches"][k]["p50_ms"] for k in batches], "o-",
                label=f"{b['name']} ({b['device']})")  # fmt: skip
    ax.set(xscale="log", yscale="log", xlabel="batch size", ylabel="p50 latency (ms)",
           title="Digit: latency against batch size")  # fmt: skip
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=100)


def parse(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--providers", default="cpu,cuda", help="cpu, cuda or both")
    parser.add_argument("--batch-sizes", default=None, help="comma-separated")
    parser.add_argument("--quick", action="store_true", help="fewer runs: under a minute")
    parser.add_argument("--json", type=Path, help="write the raw figures here")
    parser.add_argument("--plot", type=Path, help="draw latency against batch size here")
    parser.add_argument("--compile", action="store_true", help="add a torch.compile row")
    parser.add_argument("--rounds", type=int, default=None, help="alternating rounds (default 2)")
    parser.add_argument(
        "--classic",
        action="store_true",
        help="one process per backend in turn (the CUDA rows use it)",
    )
    parser.add_argument("--cycles", type=int, default=None, help="paired cycles (default 15)")
    parser.add_argument("--render", type=Path, help="print the report of a paired run's JSON")
    # worker-only options
    parser.add_argument("--worker", choices=WORKERS, help=argparse.SUPPRESS)
    parser.add_argument("--serve", choices=("torch", "ort", "openvino"), help=argparse.SUPPRESS)
    parser.add_argument("--out-file", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--precision", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--device", default="cpu", help=argparse.SUPPRESS)
    parser.add_argument("--model", type=Path, default=MODEL, help=argparse.SUPPRESS)
    parser.add_argument("--defaults", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--iobinding", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--threads", type=int, default=None, help=argparse.SUPPRESS)
    parser.add_argument("--no-spinning", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--runs", type=int, default=None, help=argparse.SUPPRESS)
    parser.add_argument("--warmup", type=int, default=None, help=argparse.SUPPRESS)
    parser.add_argument("--budget", type=float, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if isinstance(args.batch_sizes, str):
        args.batch_sizes = [int(b) for b in args.batch_sizes.split(",")]
    else:
        args.batch_sizes = [1, 64, 256] if args.quick else [1, 8, 64, 256, 1024]
    args.providers = [p.strip() for p in args.providers.split(",")]
    args.runs = args.runs or (30 if args.quick else 300)
    args.warmup = args.warmup or (3 if args.quick else 20)
    args.budget = args.budget or (0.5 if args.quick else 3.0)
    args.rounds = args.rounds or (1 if args.quick else 2)
    args.cycles = args.cycles or (3 if args.quick else 15)
    return args


def main(argv=None) -> int:
    args = parse(argv)
    if args.worker:
        print(json.dumps(WORKERS[args.worker](args)))
        return 0
    if args.serve:
        serve_backend(args)
        return 0
    if args.render:  # the report of an earlier run's JSON, again
        print(paired_markdown(json.loads(args.render.read_text())))
        return 0
    if not args.classic:
        report = paired(args)
        print(paired_markdown(report))
        if args.json:
            args.json.write_text(json.dumps(report, indent=2, default=str))
        return 0
    report = benchmark(args)
    print(markdown(report))
    if args.json:
        args.json.write_text(json.dumps(report, indent=2, default=str))
    if args.plot:
        plot(report, args.plot)
    return 0


if __name__ == "__main__":
    sys.exit(main())
