"""The package as users get it: a wheel in a fresh virtual environment, with either ONNX Runtime."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT, clean_env

pytestmark = pytest.mark.slow
SAMPLE = ROOT / "exported" / "samples" / "seven.jpg"


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("dist")
    src = tmp_path_factory.mktemp("src") / "mnist-digit"
    shutil.copytree(
        ROOT,
        src,
        ignore=shutil.ignore_patterns(".venv", "data", "runs", ".git", "build", "*.egg-info"),
    )
    subprocess.run(
        [sys.executable, "-m", "build", "--wheel", "--no-isolation", "--outdir", out, src],
        check=True,
        capture_output=True,
    )
    (path,) = out.glob("mnist_digit-*.whl")
    return path


def fresh_venv(path: Path, *requirements) -> Path:
    subprocess.run([sys.executable, "-m", "venv", path], check=True)
    pip = [path / "bin" / "python", "-m", "pip", "install", "--quiet", *map(str, requirements)]
    subprocess.run(pip, check=True, capture_output=True, timeout=1200, env=clean_env())
    return path / "bin"


def test_wheel_in_a_fresh_venv_reads_a_sample(wheel, tmp_path):
    """pip install the wheel and onnxruntime, nothing else: mnist-infer works, torch is absent."""
    bin_dir = fresh_venv(tmp_path / "venv", wheel, "onnxruntime")
    result = subprocess.run(
        [bin_dir / "mnist-infer", SAMPLE, "--json"],
        capture_output=True, text=True, cwd=tmp_path, env=clean_env(),
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    record = json.loads(result.stdout)
    assert record["digit"] == 7 and record["provider"] == "cpu"
    no_torch = subprocess.run(
        [bin_dir / "python", "-c", "import torch"], capture_output=True, env=clean_env()
    )
    assert no_torch.returncode != 0


@pytest.mark.skipif(shutil.which("nvidia-smi") is not None, reason="this machine has a GPU")
def test_cuda_with_onnxruntime_gpu_but_no_gpu_fails_clearly(wheel, tmp_path):
    """With onnxruntime-gpu on a machine without a GPU: cuda is a clear error, auto runs on CPU."""
    bin_dir = fresh_venv(tmp_path / "venv", wheel, "onnxruntime-gpu")
    cuda = subprocess.run(
        [bin_dir / "mnist-infer", SAMPLE, "--provider", "cuda"],
        capture_output=True, text=True, env=clean_env(),
    )  # fmt: skip
    assert cuda.returncode == 2, cuda.stdout
    assert len(cuda.stderr.strip().splitlines()) == 1, cuda.stderr
    last = cuda.stderr.strip()
    assert last.startswith("error: provider cuda was asked for but does not run the session")
    assert "onnxruntime-gpu" in last and "CUDAExecutionProvider" in last
    assert "Traceback" not in cuda.stderr
    auto = subprocess.run(
        [bin_dir / "mnist-infer", SAMPLE, "--json"], capture_output=True, text=True, env=clean_env()
    )
    assert auto.returncode == 0 and auto.stderr == "", auto.stderr
    assert json.loads(auto.stdout)["provider"] == "cpu"
