"""benchmarks/latency.py --quick runs from a checkout and reports every part it promises."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests.conftest import ROOT

pytestmark = pytest.mark.slow


def test_quick_benchmark_reports_its_structure(tmp_path):
    """The Markdown report, the JSON figures and the plot come out (their speed is not tested)."""
    out, plot = tmp_path / "bench.json", tmp_path / "bench.png"
    result = subprocess.run(
        [sys.executable, ROOT / "benchmarks" / "latency.py", "--quick", "--providers", "cpu",
         "--batch-sizes", "1,64", "--json", out, "--plot", plot],
        capture_output=True, text=True, timeout=600, cwd=tmp_path,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "| backend | device | batch | p50 ms |" in result.stdout
    assert "float32 ceiling" in result.stdout and "| mnist-infer |" in result.stdout
    report = json.loads(out.read_text())
    assert report["ceiling"]["gflops"] > 0
    names = [b["name"] for b in report["backends"]]
    assert names[0] == "PyTorch eager" and "ONNX Runtime (runtime's settings)" in names
    for backend in report["backends"]:
        assert "error" not in backend, backend
        assert set(backend["batches"]) == {"1", "64"}
        for row in backend["batches"].values():
            assert row["p50_ms"] <= row["p90_ms"] <= row["p99_ms"]
            assert row["images_per_s"] > 0 and row["gflops"] > 0
        assert backend["load_s"] > 0 and backend["peak_rss_mb"] > 0
    assert {"plain", "auto"} <= report["preprocess"].keys()
    for cold in report["cold"].values():
        assert cold["wall_s"] > 0 and cold["peak_rss_mb"] > 0
    assert plot.read_bytes().startswith(b"\x89PNG")
