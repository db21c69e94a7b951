"""mnist-serve under load: concurrent clients on loopback, with and without batching.

    python benchmarks/serve_load.py [--clients 1,8,64] [--seconds 10] [--leak-requests 10000]
        [--json runs/bench/serve_load.json]

For each image kind (28x28 PNGs of MNIST test digits, ~1,000 px photo-like JPEGs) and each
batching setting (on: --max-batch 64; off: --max-batch 1), a fresh `mnist-serve` process is
started and N clients (asyncio + httpx, one connection each) send requests back to back for a
fixed time. It reports requests/s, p50/p90/p99 latency and errors; then the server's RSS
before and after a further --leak-requests requests from 64 clients.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import json
import socket
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.photolike import photo_like  # noqa: E402
from trainer.data import SPLITS, default_data_dir, ensure_mnist, read_idx  # noqa: E402

BIN = Path(sys.executable).parent


def bodies(kind: str, n: int = 64) -> list[bytes]:
    raw = ensure_mnist(default_data_dir(), log=lambda _: None)
    images = read_idx(raw / SPLITS["test"].images)
    rng = np.random.default_rng(0)
    out = []
    for i in range(n):
        if kind == "png28":
            buf = io.BytesIO()
            Image.fromarray(images[i]).save(buf, "PNG")
            out.append(buf.getvalue())
        else:  # a ~1,000 px photo of one digit
            img = Image.open(io.BytesIO(photo_like(images[i], rng, "png"))).convert("RGB")
            img = img.resize((1000, round(1000 * img.height / img.width)))
            buf = io.BytesIO()
            img.save(buf, "JPEG", quality=90)
            out.append(buf.getvalue())
    return out


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start(max_batch: int) -> tuple[subprocess.Popen, str]:
    import httpx

    port = free_port()
    proc = subprocess.Popen(
        [BIN / "mnist-serve", "--port", str(port), "--provider", "cpu",
         "--max-batch", str(max_batch)],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    for _ in range(200):
        try:
            if httpx.get(url + "/healthz", timeout=1).status_code == 200:
                return proc, url
        except httpx.HTTPError:
            time.sleep(0.05)
    proc.kill()
    raise RuntimeError(f"mnist-serve did not start: {proc.stderr.read().decode()}")


async def load(url: str, payloads: list[bytes], clients: int, seconds: float | None, total=None):
    """Clients send back to back until the time (or the total count) is up."""
    import httpx

    latencies, errors, sent = [], Counter(), 0
    stop = time.perf_counter() + (seconds or 1e9)
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(base_url=url, limits=limits, timeout=60) as http:

        async def client(k: int):
            nonlocal errors, sent
            i = k
            while time.perf_counter() < stop and (total is None or sent < total):
                sent += 1
                body = payloads[i % len(payloads)]
                i += clients
                t0 = time.perf_counter()
                try:
                    r = await http.post(
                        "/v1/predict", content=body, headers={"Content-Type": "image/png"}
                    )
                    if r.status_code != 200 or "digit" not in r.json():
                        errors[f"HTTP {r.status_code}"] += 1
                except httpx.HTTPError as exc:
                    errors[type(exc).__name__] += 1
                latencies.append(time.perf_counter() - t0)

        t0 = time.perf_counter()
        await asyncio.gather(*(client(k) for k in range(clients)))
        wall = time.perf_counter() - t0
    return latencies, errors, wall


def rss_mb(pid: int) -> float:
    import psutil

    return psutil.Process(pid).memory_info().rss / 2**20


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", default="1,8,64")
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--leak-requests", type=int, default=10000)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(argv)

    rows = []
    print("| images | batching | clients | requests/s | p50 ms | p90 ms | p99 ms | errors |")
    print("|---|---|---:|---:|---:|---:|---:|---:|")
    for kind in ("png28", "jpeg1000"):
        payloads = bodies(kind)
        for batching, max_batch in (("on", 64), ("off", 1)):
            proc, url = start(max_batch)
            try:
                asyncio.run(load(url, payloads, 4, 1.0))  # warm-up
                for clients in map(int, args.clients.split(",")):
                    lat, errors, wall = asyncio.run(load(url, payloads, clients, args.seconds))
                    q = np.percentile(lat, [50, 90, 99]) * 1000
                    row = {"images": kind, "batching": batching, "clients": clients,
                           "requests": len(lat), "rps": len(lat) / wall, "p50_ms": q[0],
                           "p90_ms": q[1], "p99_ms": q[2], "errors": sum(errors.values()),
                           "error_kinds": dict(errors)}  # fmt: skip
                    rows.append(row)
                    kinds = ", ".join(f"{n} {k}" for k, n in errors.items())
                    shown = f"{row['errors']} ({kinds})" if kinds else "0"
                    print(f"| {kind} | {batching} | {clients} | {row['rps']:.0f} | {q[0]:.1f} | "
                          f"{q[1]:.1f} | {q[2]:.1f} | {shown} |", flush=True)  # fmt: skip
            finally:
                proc.terminate()
                proc.wait(timeout=10)

    proc, url = start(64)
    try:
        payloads = bodies("png28")
        asyncio.run(load(url, payloads, 64, None, total=500))  # warm-up, arenas filled
        before = rss_mb(proc.pid)
        lat, errors, wall = asyncio.run(load(url, payloads, 64, None, total=args.leak_requests))
        after = rss_mb(proc.pid)
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    leak = {"requests": len(lat), "errors": sum(errors.values()), "error_kinds": dict(errors),
            "rss_before_mb": before, "rss_after_mb": after,
            "p99_ms": float(np.percentile(lat, 99) * 1000), "rps": len(lat) / wall}  # fmt: skip
    print(f"\n{len(lat)} more requests from 64 clients (28x28 PNGs, batching on): "
          f"{leak['errors']} errors, "
          f"p99 {leak['p99_ms']:.1f} ms, server RSS {before:.1f} MB before, {after:.1f} MB after "
          f"({after - before:+.1f} MB)")  # fmt: skip
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps({"rows": rows, "leak": leak}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
