"""Shared fixtures: the real MNIST set, a small trained checkpoint and its ONNX export."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from tests import mutation

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
SAMPLES = ROOT / "exported" / "samples"
EXPENSIVE = {"small_checkpoint", "small_onnx"}  # a training run and a full-test-set export
# Under mutmut (`make mutants`) this conftest sits in mutants/tests/, so this is mutants/kills.tsv.
KILLS = ROOT / "kills.tsv"


def mutant_function() -> str | None:
    """The function mutmut has mutated in this process, if any (tests/mutation.py)."""
    return mutation.mutant_function(os.environ.get("MUTANT_UNDER_TEST", ""))


def pytest_collection_modifyitems(config, items):
    """Tests that need a trained model are slow; tests marked gpu skip where CUDA cannot run.
    For a mutant, the tests that killed its function's mutants last time run first."""
    cuda = cuda_runs()
    for item in items:
        if EXPENSIVE & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.slow)
        if item.get_closest_marker("gpu") and not cuda:
            item.add_marker(pytest.mark.skip(reason="no CUDA GPU that ONNX Runtime can use"))
    function = mutant_function()
    if function:
        key = mutation.sort_key(mutation.load(), function)
        items.sort(key=lambda item: key(item.nodeid))


def pytest_runtest_logreport(report):
    """Under mutmut, the test that killed the mutant (mutmut stops at the first failure)."""
    if report.failed and mutant_function():
        mutation.record(KILLS, os.environ["MUTANT_UNDER_TEST"], report.nodeid)


def cuda_runs() -> bool:
    """Whether ONNX Runtime here has the CUDA provider and a GPU for it."""
    import shutil

    try:
        import onnxruntime
    except ImportError:
        return False
    has_provider = "CUDAExecutionProvider" in onnxruntime.get_available_providers()
    return has_provider and shutil.which("nvidia-smi") is not None


def clean_env(**extra) -> dict:
    """This environment without PYTHONPATH (a fresh install must not see the checkout)."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    return {**env, **extra}


def run_cli(name: str, *args, cwd: Path | None = None, env: dict | None = None, timeout=600):
    """Run one of the project's console scripts as a real subprocess."""
    return subprocess.run(
        [str(BIN / name), *map(str, args)],
        capture_output=True,
        text=True,
        cwd=cwd,
        env={**os.environ, **(env or {})},
        timeout=timeout,
    )


def interruptible(command: list, **kwargs) -> subprocess.Popen:
    """Popen with Ctrl-C's default action restored in the child: a test run started in the
    background (`cmd &` in a script) ignores SIGINT, and its children would inherit that."""
    import signal

    def restore() -> None:
        signal.signal(signal.SIGINT, signal.SIG_DFL)

    return subprocess.Popen(command, preexec_fn=restore, **kwargs)


def assert_one_line_error(result, code: int | None = None) -> str:
    """A user's mistake: non-zero exit, one `error:` line on stderr, no traceback."""
    assert result.returncode != 0, result.stdout
    if code is not None:
        assert result.returncode == code, result.stderr
    assert "Traceback" not in result.stderr, result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert lines and lines[-1].startswith("error: "), result.stderr
    return lines[-1]


@pytest.fixture(scope="session")
def mnist_dir() -> Path:
    from trainer.data import default_data_dir, ensure_mnist

    data_dir = default_data_dir().resolve()
    ensure_mnist(data_dir)
    return data_dir


@pytest.fixture(scope="session")
def mnist_test(mnist_dir):
    from trainer.data import SPLITS, raw_dir, read_idx

    raw = raw_dir(mnist_dir)
    return read_idx(raw / SPLITS["test"].images), read_idx(raw / SPLITS["test"].labels)


@pytest.fixture(scope="session")
def small_checkpoint(mnist_dir, tmp_path_factory) -> Path:
    """Digit trained for one epoch on 6,000 images (about 95 % test accuracy)."""
    from trainer.train import Run, TrainConfig, train

    out = tmp_path_factory.mktemp("small") / "digit.pth"
    train(TrainConfig(epochs=1, limit=6000), Run(data_dir=mnist_dir, out=out, progress=False))
    return out


@pytest.fixture(scope="session")
def small_onnx(small_checkpoint, mnist_dir) -> Path:
    from trainer.export import ExportOptions, export

    out = small_checkpoint.with_suffix(".onnx")
    export(ExportOptions(checkpoint=small_checkpoint, out=out, int8=True, data_dir=mnist_dir))
    return out


@pytest.fixture(scope="session")
def shipped_model() -> Path:
    path = ROOT / "exported" / "digit.onnx"
    assert path.is_file(), "exported/digit.onnx is part of the repository"
    return path


def corrupt_exif_jpeg(path: Path) -> Path:
    """The seven sample as a JPEG whose EXIF block is truncated (Pillow warns on reading it)."""
    data = (SAMPLES / "seven.jpg").read_bytes()
    exif = b"Exif\x00\x00MM\x00\x2a\x00\x00\x00\x08\x00\x05\x01\x12\x00\x03"
    segment = b"\xff\xe1" + (len(exif) + 2).to_bytes(2, "big") + exif
    path.write_bytes(data[:2] + segment + data[2:])
    return path


@pytest.fixture(scope="session")
def predictor(shipped_model):
    """The shipped model on the CPU provider, opened once for the whole run."""
    from runtime import Predictor

    return Predictor(shipped_model, provider="cpu")


@pytest.fixture
def digit_image(mnist_test):
    """One MNIST test digit as a photo-like RGB Pillow image, and its label."""
    import io

    from PIL import Image

    from benchmarks.photolike import photo_like

    images, labels = mnist_test
    data = photo_like(images[0], np.random.default_rng(0), "png")
    return Image.open(io.BytesIO(data)).convert("RGB"), int(labels[0])


def thick_tight(digit, light: bool):
    """An MNIST digit drawn with a brush a twelfth of its height thick, cropped to its ink, as
    a grey Pillow image: about as much stroke as paper on the border, the corners and the
    area, so its polarity is often unclear (runtime/ink.py: polarity)."""
    import numpy as np
    from PIL import Image

    from benchmarks.imagesets import dilate, upscaled_digit

    mask = dilate(upscaled_digit(digit, 120) > 0.5, 0.08 * 120)
    rows, cols = np.flatnonzero(mask.any(1)), np.flatnonzero(mask.any(0))
    mask = mask[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1]
    return Image.fromarray(np.where(mask == light, 230, 30).astype(np.uint8))


def on_a_desk(writing, share: float, angle: float = 0.0, size=(400, 600)):
    """A light note carrying `writing` (an L Pillow image, dark on light, the note's own
    colour around it), turned by `angle`, on a dark desk; the note covers `share` of the
    photo."""
    import numpy as np
    from PIL import Image

    h, w = size
    scale = np.sqrt(share * h * w / (writing.width * writing.height))
    note = writing.resize((round(writing.width * scale), round(writing.height * scale)))
    shape = Image.new("L", note.size, 255).rotate(angle, expand=True)
    note = note.rotate(angle, expand=True)
    photo = Image.new("L", (w, h), 45)
    photo.paste(note, ((w - note.width) // 2 - 20, (h - note.height) // 2 + 10), shape)
    return photo
