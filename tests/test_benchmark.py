"""The benches run from a checkout and report every part they promise."""

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
    manifest = tmp_path / "numbers-seed5-12" / "manifest.tsv"
    lines = manifest.read_text().splitlines()
    assert len(lines) == 12 and len(rows) == 12
    for line, row in zip(lines, rows, strict=True):
        name, text, _, _, picks = line.split("\t")
        assert len(picks.split(",")) == len(text) == row["length"]
        assert isinstance(row["raw_right"], bool)
    manifest.write_text("".join("\t".join(line.split("\t")[:4]) + "\n" for line in lines))
    assert bench()[1] == rows  # the old manifest is replaced by the same set, indices and all
    assert manifest.read_text().splitlines() == lines
