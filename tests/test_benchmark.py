"""benchmarks/latency.py --quick runs from a checkout and reports every part it promises."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

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
