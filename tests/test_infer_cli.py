"""mnist-infer: output formats, paths, visualisations and exit codes (CliRunner and subprocess)."""

from __future__ import annotations

import json
import re
import shutil

import pytest
from PIL import Image
from typer.testing import CliRunner

from runtime.cli import app
from tests.conftest import ROOT, assert_one_line_error, run_cli

SAMPLES = ROOT / "exported" / "samples"
EXPECTED = {"seven.jpg": 7, "two.png": 2, "one-rotated.jpg": 1, "four.png": 4}
runner = CliRunner()


def invoke(*args):
    return runner.invoke(app, [str(a) for a in args])


def test_one_line_per_image_with_digit_and_percentage():
    """Default output: `path: digit (confidence%)` per image."""
    result = invoke(SAMPLES / "seven.jpg", "--provider", "cpu")
    assert result.exit_code == 0, result.output
    assert re.fullmatch(
        rf"{re.escape(str(SAMPLES / 'seven.jpg'))}: 7 \(\d+\.\d%\)\n", result.output
    )


def test_json_lines_keep_their_schema():
    """--json: one object per line with path, digit, confidence, probabilities, provider, mode."""
    result = invoke(SAMPLES, "--json", "--provider", "cpu")
    assert result.exit_code == 0, result.output
    records = [json.loads(line) for line in result.output.splitlines()]
    assert {r["path"].split("/")[-1]: r["digit"] for r in records} == EXPECTED
    for r in records:
        assert {"path", "digit", "confidence", "probabilities", "provider", "mode"} <= r.keys()
        assert len(r["probabilities"]) == 10 and abs(sum(r["probabilities"]) - 1) < 1e-6
        assert r["confidence"] == max(r["probabilities"]) and r["provider"] == "cpu"
        assert r["mode"] == "auto"


def test_failed_input_is_reported_and_exit_is_1(tmp_path):
    """One missing file among good ones: the others are read, the failure has {path, error}."""
    result = invoke(SAMPLES / "two.png", tmp_path / "nope.png", "--json")
    assert result.exit_code == 1
    good, bad = (json.loads(line) for line in result.output.splitlines())
    assert good["digit"] == 2
    assert bad == {"path": str(tmp_path / "nope.png"), "error": "no such file"}


def test_folders_are_searched_recursively_and_globs_expand(tmp_path):
    """A folder (with a subfolder) and a glob pattern both find their images."""
    (tmp_path / "sub").mkdir()
    shutil.copy(SAMPLES / "two.png", tmp_path / "sub" / "a.png")
    shutil.copy(SAMPLES / "seven.jpg", tmp_path / "b.jpg")
    (tmp_path / "notes.txt").write_text("not an image")
    result = invoke(tmp_path, str(SAMPLES / "f*.png"), "--json")
    assert result.exit_code == 0, result.output
    digits = sorted(json.loads(line)["digit"] for line in result.output.splitlines())
    assert digits == [2, 4, 7]


@pytest.mark.parametrize(
    "arg, message", [("empty-folder", "no images in this folder"), ("*.nothing", "no file matches")]
)
def test_nothing_to_read_is_an_error(tmp_path, arg, message):
    """A folder with no images, or a pattern matching nothing, is an error for that argument."""
    (tmp_path / "empty-folder").mkdir()
    result = invoke(tmp_path / arg)
    assert result.exit_code == 1 and message in result.output


def test_top_k_and_low_confidence_flag(tmp_path):
    """--top-k lists the k likeliest digits, distinct and descending, the answer first; a
    reading under --min-confidence is flagged, in text and JSON."""
    result = invoke(SAMPLES / "seven.jpg", "--top-k", "3", "--min-confidence", "1.0")
    assert result.exit_code == 0
    line = result.output.strip()
    head, _, tail = line.partition("  next: ")
    others = re.findall(r"(\d) \((\d+\.\d)%\)", tail)
    assert head.endswith(": 7 (100.0%)") and len(others) == 2
    digits = [7] + [int(d) for d, _ in others]
    assert len(set(digits)) == 3
    assert [float(p) for _, p in others] == sorted((float(p) for _, p in others), reverse=True)
    assert line.endswith("[low confidence]")
    as_json = json.loads(invoke(SAMPLES / "seven.jpg", "--json", "--min-confidence", "1").output)
    assert as_json["low_confidence"] is True
    calm = json.loads(invoke(SAMPLES / "seven.jpg", "--json", "--min-confidence", "0.5").output)
    assert "low_confidence" not in calm


def test_no_digit_found_is_said(tmp_path):
    """A blank page is reported as no digit found, in text and JSON, and is not a failure."""
    Image.new("RGB", (200, 150), (240, 238, 230)).save(tmp_path / "blank.png")
    text = invoke(tmp_path / "blank.png")
    assert text.exit_code == 0 and text.output.strip().endswith("no digit found")
    record = json.loads(invoke(tmp_path / "blank.png", "--json").output)
    assert record["digit"] is None and record["note"] == "no digit found"


def test_save_vis_draws_one_png_per_image(tmp_path):
    """--save-vis writes a picture per image, with both panels and the bar chart."""
    result = invoke(SAMPLES, "--save-vis", tmp_path / "vis")
    assert result.exit_code == 0
    pictures = sorted(p.name for p in (tmp_path / "vis").iterdir())
    assert pictures == sorted(f"{name.rsplit('.', 1)[0]}.png" for name in EXPECTED)
    picture = Image.open(tmp_path / "vis" / "seven.png")
    assert picture.width > 3 * 196 and picture.height > 196


@pytest.mark.parametrize(
    "args, message",
    [
        (["--model", "missing.onnx"], "model not found"),
        (["--provider", "gpu"], "Invalid value"),
        (["--mode", "fancy"], "Invalid value"),
    ],
)
def test_usage_and_model_errors_exit_2(args, message):
    """A missing model or a bad option exits 2."""
    result = invoke(SAMPLES / "two.png", *args)
    assert result.exit_code == 2 and message in result.output


def test_subprocess_exit_codes(tmp_path):
    """As a real process: 0 all read, 1 some failed, 2 model error, with one-line errors."""
    ok = run_cli("mnist-infer", SAMPLES / "two.png")
    assert ok.returncode == 0 and re.fullmatch(r".*two\.png: 2 \(\d+\.\d%\)\n", ok.stdout)
    some = run_cli("mnist-infer", SAMPLES / "two.png", tmp_path / "x.png")
    assert some.returncode == 1 and ": 2 (" in some.stdout
    assert some.stderr.strip() == f"error: {tmp_path / 'x.png'}: no such file"
    (tmp_path / "bad.onnx").write_bytes(b"nope")
    model = run_cli("mnist-infer", SAMPLES / "two.png", "--model", tmp_path / "bad.onnx")
    assert "cannot load the model" in assert_one_line_error(model, 2)


@pytest.mark.slow
def test_ctrl_c_exits_130_and_every_printed_line_is_whole(tmp_path):
    """SIGINT during a run with reading processes: exit 130, and each line printed is whole
    JSON for its own image."""
    import signal
    import subprocess

    from tests.conftest import BIN, interruptible

    folder = tmp_path / "many"
    folder.mkdir()
    for i in range(400):
        shutil.copy(SAMPLES / "seven.jpg", folder / f"{i:04d}.jpg")
    command = [BIN / "mnist-infer", folder, "--json", "--jobs", "2", "--batch-size", "8"]
    proc = interruptible(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    first = proc.stdout.readline()  # the run is under way
    proc.send_signal(signal.SIGINT)
    rest, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 130, stderr
    lines = [first, *rest.splitlines()]
    assert 1 <= len(lines) < 400
    for line in lines:
        assert json.loads(line)["digit"] == 7
    assert "Traceback" not in stderr and stderr.strip().splitlines()[-1] == "error: interrupted"
