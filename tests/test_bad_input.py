"""Bad input never breaks a run, and a bad number never passes: the fuzzing pass's cases."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys

import numpy as np
import onnx
import pytest
from PIL import Image
from typer.testing import CliRunner

from runtime import Predictor
from runtime.cli import app
from runtime.preprocess import ImageError, ModelInput, preprocess
from runtime.session import ModelError
from tests.conftest import ROOT, assert_one_line_error, corrupt_exif_jpeg, run_cli

SAMPLES = ROOT / "exported" / "samples"
MODEL = ModelInput(0.1307, 0.3081)
runner = CliRunner()


def mnist_png(mnist_test, path, index=0, scale=4):
    images, labels = mnist_test
    img = Image.fromarray(255 - images[index]).resize((28 * scale, 28 * scale))
    img.save(path)
    return int(labels[index])


# ---------------------------------------------------------------------------------------------
# 1. One thin image never kills a batch


THIN = {
    "3x2000-png": lambda p: Image.new("L", (3, 2000), 200).save(p),
    "640x7-png": lambda p: Image.new("RGB", (640, 7), (10, 20, 30)).save(p),
    "1x1-png": lambda p: Image.new("L", (1, 1), 0).save(p),
}


@pytest.mark.parametrize("name", THIN)
def test_thin_image_is_read_alone_and_the_batch_goes_on(predictor, mnist_test, tmp_path, name):
    """A strip a few pixels thin is an answer of its own; the images after it are still read."""
    strip = tmp_path / f"{name}.png"
    THIN[name](strip)
    label = mnist_png(mnist_test, tmp_path / "good.png")
    first, second, third = predictor.predict_batch(
        [tmp_path / "good.png", strip, tmp_path / "good.png"]
    )
    assert first.digit == label and third.digit == label
    assert second.error is None or "pixels" in second.error


@pytest.mark.parametrize("shape", [(3, 2000), (2000, 3), (7, 640), (0, 0)])
def test_thin_arrays_and_pictures_are_answered(predictor, shape):
    """Thin NumPy arrays and a 0x0 Pillow image give a result or ImageError, never a crash."""
    images = [np.full(shape, 128, np.uint8), Image.new("L", shape[::-1])]
    for image in images:
        try:
            result = predictor.predict(image)
        except ImageError:
            continue
        assert result.digit is None or 0 <= result.digit <= 9


def test_cli_reads_every_image_around_a_strip(mnist_test, tmp_path):
    """mnist-infer good.png strip.png good.png: three lines, the strip in the middle."""
    mnist_png(mnist_test, tmp_path / "good.png")
    Image.new("L", (3, 2000), 200).save(tmp_path / "strip.png")
    good = tmp_path / "good.png"
    result = run_cli("mnist-infer", good, tmp_path / "strip.png", good, "--json")
    assert result.returncode in (0, 1), result.stderr
    records = [json.loads(line) for line in result.stdout.splitlines()]
    assert [r["path"] for r in records] == [str(good), str(tmp_path / "strip.png"), str(good)]
    assert "Traceback" not in result.stderr


# ---------------------------------------------------------------------------------------------
# 2-4. Numbers: NaN weights, impossible normalisation, models that fail at run time


def edited_model(shipped_model, tmp_path, meta=None, nan_weight=False, batch=None):
    model = onnx.load(shipped_model)
    if meta:
        props = {p.key: p.value for p in model.metadata_props}
        props.update(meta)
        del model.metadata_props[:]
        for k, v in props.items():
            model.metadata_props.add(key=k, value=v)
    if nan_weight:
        init = max(model.graph.initializer, key=lambda t: onnx.numpy_helper.to_array(t).size)
        array = onnx.numpy_helper.to_array(init).copy()
        array.flat[0] = np.nan
        init.CopyFrom(onnx.numpy_helper.from_array(array, init.name))
    if batch is not None:
        model.graph.input[0].type.tensor_type.shape.dim[0].dim_value = batch
        model.graph.output[0].type.tensor_type.shape.dim[0].dim_value = batch
    path = tmp_path / "edited.onnx"
    onnx.save(model, path)
    return path


@pytest.mark.parametrize(
    "meta",
    [{"mean": "nan"}, {"mean": "inf"}, {"std": "0"}, {"std": "1e-45"}, {"std": "-0.3081"}],
    ids=["mean-nan", "mean-inf", "std-0", "std-tiny", "std-negative"],
)
def test_impossible_normalisation_is_refused(shipped_model, tmp_path, meta):
    """A model whose metadata cannot normalise pixels is a one-line ModelError."""
    with pytest.raises(ModelError, match="impossible normalisation") as info:
        Predictor(edited_model(shipped_model, tmp_path, meta), provider="cpu")
    assert "\n" not in str(info.value)


def test_nan_model_is_an_error_not_a_digit(shipped_model, tmp_path):
    """A model with a NaN weight: exit 2 and one line, not '0 (nan%)'; --json writes no NaN."""
    model = edited_model(shipped_model, tmp_path, nan_weight=True)
    text = run_cli("mnist-infer", SAMPLES / "two.png", "--model", model)
    assert "NaN or infinite" in assert_one_line_error(text, 2)
    as_json = run_cli("mnist-infer", SAMPLES / "two.png", "--model", model, "--json")
    assert as_json.returncode == 2 and "NaN" not in as_json.stdout


@pytest.mark.parametrize("batch", [1, 3])
def test_fixed_batch_model_is_run_in_chunks(shipped_model, predictor, tmp_path, batch):
    """A model whose batch dimension is fixed reads a folder of several images: in chunks of
    its size, the last one padded, with the same numbers as the model with a free batch."""
    fixed = Predictor(edited_model(shipped_model, tmp_path, batch=batch), provider="cpu")
    assert fixed.fixed_batch == batch
    results = fixed.predict_batch(sorted(SAMPLES.iterdir()))
    assert [r.digit for r in results] == [4, 1, 7, 2]
    inputs = np.random.default_rng(0).normal(size=(4, 1, 28, 28)).astype(np.float32)
    np.testing.assert_allclose(fixed.run(inputs), predictor.run(inputs), rtol=1e-5, atol=1e-5)


def test_model_failing_at_run_time_is_a_model_error(tmp_path):
    """A graph that fails inside ONNX Runtime: exit 2 and one line, no traceback."""
    from onnx import TensorProto, helper

    inp = helper.make_tensor_value_info("input", TensorProto.FLOAT, ["batch", 1, 28, 28])
    out = helper.make_tensor_value_info("log_probs", TensorProto.FLOAT, ["batch", 10])
    shape = helper.make_tensor("s", TensorProto.INT64, [2], [7, 10])  # 784 values into 70
    node = helper.make_node("Reshape", ["input", "s"], ["log_probs"])
    graph = helper.make_graph([node], "g", [inp], [out], [shape])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    helper.set_model_props(model, {"mean": "0.1307", "std": "0.3081"})
    onnx.save(model, tmp_path / "broken.onnx")
    result = run_cli("mnist-infer", SAMPLES / "two.png", "--model", tmp_path / "broken.onnx")
    assert "the model failed to run" in assert_one_line_error(result, 2)


# ---------------------------------------------------------------------------------------------
# 5. --save-vis


@pytest.mark.parametrize("where", ["a-file", "under-a-file"])
def test_save_vis_that_cannot_be_written_is_refused_first(tmp_path, where):
    """--save-vis at a file, or under one: exit 2 before any image is read."""
    (tmp_path / "a-file").write_text("x")
    target = tmp_path / "a-file" if where == "a-file" else tmp_path / "a-file" / "vis"
    result = run_cli("mnist-infer", SAMPLES / "two.png", "--save-vis", target)
    assert "--save-vis" in assert_one_line_error(result, 2)
    assert result.stdout == ""


# ---------------------------------------------------------------------------------------------
# 6, 10. Modes and arrays in plain


@pytest.mark.parametrize("mode", ["LAB", "HSV"])
def test_plain_reads_modes_that_convert_refuses(predictor, mode):
    """LAB and HSV images in plain mode are read through RGB, not a ValueError."""
    image = Image.open(SAMPLES / "two.png").convert("RGB").convert(mode)
    plain = Predictor(predictor.info.path, provider="cpu", mode="plain")
    assert plain.predict(image).probabilities is not None


def test_float_array_in_plain_is_scaled_not_truncated(mnist_test):
    """An MNIST digit as floats in [0, 1] gives plain the same input as its uint8 version."""
    images, _ = mnist_test
    as_bytes = preprocess(images[0], "plain", MODEL)
    as_floats = preprocess(images[0].astype(np.float32) / 255, "plain", MODEL)
    np.testing.assert_allclose(as_floats, as_bytes, atol=1e-5)


@pytest.mark.parametrize("bad", [np.full((28, 28), np.nan), np.array([["a"]]), np.zeros((2, 3, 5))])
def test_bad_arrays_are_image_errors(predictor, bad):
    """NaN, text and shapeless arrays are ImageError, in both modes."""
    for mode in ("auto", "plain"):
        with pytest.raises(ImageError):
            preprocess(bad, mode, MODEL)


# ---------------------------------------------------------------------------------------------
# 7, 12. mnist-train's arguments are checked before any work


@pytest.mark.parametrize(
    "args, message",
    [
        (["--lr", "inf"], "lr must be a finite number"),
        (["--lr", "nan"], "lr must be a finite number"),
        (["--seed", "99999999999999999999999"], "--seed"),
        (["--augment", "sparkles"], "unknown augmentation"),
        (["--outliers", "nan"], "outliers must be a finite number"),
        (["--outliers", "-0.5"], "--outliers"),
    ],
    ids=["lr-inf", "lr-nan", "seed-huge", "augment-unknown", "outliers-nan", "outliers-negative"],
)
def test_train_arguments_are_checked_first(tmp_path, args, message):
    """Impossible hyperparameters: exit 2 and one line, nothing trained or written."""
    result = run_cli("mnist-train", *args, "--out", tmp_path / "d.pth")
    assert result.returncode == 2 and message in result.stderr, result.stderr
    assert "Traceback" not in result.stderr and list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("where", ["existing-folder", "under-a-file"])
def test_train_out_that_cannot_be_written_is_refused_first(tmp_path, where):
    """--out naming a folder, or a path under a file: exit 2 before training starts."""
    (tmp_path / "folder").mkdir()
    (tmp_path / "file").write_text("x")
    out = tmp_path / "folder" if where == "existing-folder" else tmp_path / "file" / "d.pth"
    result = run_cli("mnist-train", "--out", out)
    assert "--out" in assert_one_line_error(result, 2)
    assert "training Digit" not in result.stdout


# ---------------------------------------------------------------------------------------------
# 8. Symbolic-link cycles


def test_glob_through_a_link_cycle_ends_and_reads_each_image_once(tmp_path):
    """'dir/**/*.png' with two self-links: the walk ends and the image is read once."""
    folder = tmp_path / "dir"
    folder.mkdir()
    Image.open(SAMPLES / "two.png").save(folder / "two.png")
    os.symlink(".", folder / "loop-a")
    os.symlink(".", folder / "loop-b")
    for arg in (f"{folder}/**/*.png", str(folder)):
        result = run_cli("mnist-infer", arg, "--json", timeout=60)
        assert result.returncode == 0, result.stderr
        assert [json.loads(line)["digit"] for line in result.stdout.splitlines()] == [2]


# ---------------------------------------------------------------------------------------------
# 9. Malformed checkpoints


MALFORMED = {
    "normalization-string": {"normalization": "0.1307"},
    "normalization-missing-std": {"normalization": {"mean": 0.1307}},
    "normalization-nan": {"normalization": {"mean": float("nan"), "std": 0.3081}},
    "metrics-list": {"metrics": [1, 2]},
    "accuracy-text": {"metrics": {"test_accuracy": "high"}},
    "epoch-text": {"epoch": "five"},
    "config-list": {"config": [1, 2]},
    "config-unknown-key": {"config": {"epochs": 1, "colour": "red"}},
    "config-bad-lr": {"config": {"lr": -1}},
}


@pytest.mark.parametrize("name", MALFORMED)
def test_malformed_checkpoint_fields_are_one_line_errors(small_checkpoint, tmp_path, name):
    """Each malformed field: mnist-export and mnist-train --resume exit 1 with one line and
    leave no output folder behind."""
    import torch

    state = torch.load(small_checkpoint, weights_only=True)
    state.update(MALFORMED[name])
    bad = tmp_path / "bad.pth"
    torch.save(state, bad)
    export = run_cli("mnist-export", "--checkpoint", bad, "--out", tmp_path / "new" / "m.onnx")
    assert "bad.pth" in assert_one_line_error(export, 1)
    resume = run_cli("mnist-train", "--resume", bad, "--out", tmp_path / "new" / "d.pth")
    assert "bad.pth" in assert_one_line_error(resume, 1)
    assert not (tmp_path / "new").exists()


def test_nan_checkpoint_is_not_exported(small_checkpoint, tmp_path):
    """A checkpoint with a NaN weight: mnist-export refuses it and writes nothing."""
    import torch

    state = torch.load(small_checkpoint, weights_only=True)
    state["model_state_dict"]["fc2.weight"][0, 0] = float("nan")
    torch.save(state, tmp_path / "nan.pth")
    result = run_cli(
        "mnist-export", "--checkpoint", tmp_path / "nan.pth", "--out", tmp_path / "m.onnx"
    )
    assert "NaN or infinite weights" in assert_one_line_error(result, 1)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["nan.pth"]


def test_diverging_training_stops_and_keeps_the_last_good_epoch(mnist_dir, tmp_path):
    """A learning rate that blows the weights up stops training with a clear error; the
    checkpoint on disk holds the last epoch whose loss was finite, or nothing."""
    from trainer.train import Diverged, Run, TrainConfig, train

    out = tmp_path / "d.pth"
    run = Run(data_dir=mnist_dir, out=out, progress=False, log=lambda _: None)
    with pytest.raises(Diverged, match="loss became") as info:
        train(TrainConfig(epochs=3, limit=2000, lr=1e9), run)
    assert "try a lower --lr" in str(info.value)
    if out.exists():
        import torch

        state = torch.load(out, weights_only=True)
        assert all(torch.isfinite(v).all() for v in state["model_state_dict"].values())


# ---------------------------------------------------------------------------------------------
# 11. Large legal photos are read; real bombs are refused


def test_png_declaring_fifty_thousand_squared_is_refused(predictor, tmp_path):
    """A PNG that says 50000x50000 is refused from its header, before any decoding."""
    Image.new("1", (50000, 50000)).save(tmp_path / "bomb.png")
    with pytest.raises(ImageError, match="too many pixels"):
        predictor.predict(tmp_path / "bomb.png")


def test_108_megapixel_jpeg_is_read_in_bounded_memory(tmp_path):
    """A 12000x9000 phone photo is read (decoded at reduced scale) within 600 MB."""
    photo = tmp_path / "photo.jpg"
    writer = (
        "import sys; from PIL import Image, ImageDraw\n"
        "img = Image.new('L', (12000, 9000), 235)\n"
        "ImageDraw.Draw(img).line([(5000, 2500), (7000, 2500), (5600, 6800)], fill=20, width=260)\n"
        f"img.save({str(photo)!r}, quality=90)\n"
    )
    subprocess.run([sys.executable, "-c", writer], check=True)
    reader = (  # VmHWM: this process's peak after exec (ru_maxrss would count pytest's)
        "import json, re; from runtime import Predictor\n"
        f"r = Predictor(provider='cpu').predict({str(photo)!r})\n"
        "kb = re.search(r'VmHWM:\\s+(\\d+)', open('/proc/self/status').read()).group(1)\n"
        "print(json.dumps({'digit': r.digit, 'peak_mb': int(kb) / 1024}))\n"
    )
    out = subprocess.run([sys.executable, "-c", reader], capture_output=True, text=True, cwd=ROOT)
    assert out.returncode == 0, out.stderr
    record = json.loads(out.stdout)
    assert record["digit"] == 7 and record["peak_mb"] <= 600, record


# ---------------------------------------------------------------------------------------------
# 13. The API's types


def truncated_png() -> Image.Image:
    buf = io.BytesIO()
    Image.fromarray(np.random.default_rng(0).integers(0, 255, (64, 64), np.uint8)).save(buf, "PNG")
    return Image.open(io.BytesIO(buf.getvalue()[: len(buf.getvalue()) // 2]))


def closed_png() -> Image.Image:
    img = Image.open(SAMPLES / "two.png")
    img.close()
    return img


@pytest.mark.parametrize("make", [truncated_png, closed_png], ids=["truncated", "closed"])
def test_broken_pillow_images_are_image_errors(predictor, make):
    """A truncated, not yet loaded Pillow image and a closed one are ImageError."""
    with pytest.raises(ImageError):
        predictor.predict(make())


def test_api_arguments_are_checked(predictor, shipped_model):
    """A string for predict_batch, batch_size 0 and threads 'a' are clear errors."""
    with pytest.raises(TypeError, match="for one image use predict"):
        predictor.predict_batch(str(SAMPLES / "two.png"))
    with pytest.raises(ValueError, match="batch_size"):
        predictor.predict_batch([SAMPLES / "two.png"], batch_size=0)
    with pytest.raises(ValueError, match="threads"):
        Predictor(shipped_model, provider="cpu", threads="a")


# ---------------------------------------------------------------------------------------------
# 14. Output lines and warnings


def test_file_name_with_a_newline_stays_on_one_line(tmp_path):
    """A newline in a file name is escaped in text output; JSON keeps the real name."""
    odd = tmp_path / "two\nlines.png"
    Image.open(SAMPLES / "two.png").save(odd, format="PNG")
    text = run_cli("mnist-infer", odd)
    assert text.returncode == 0 and len(text.stdout.splitlines()) == 1
    assert "two\\nlines.png: 2 (" in text.stdout
    record = json.loads(run_cli("mnist-infer", odd, "--json").stdout)
    assert record["path"] == str(odd)


def test_corrupt_exif_warns_in_one_line_naming_the_file(tmp_path):
    """A corrupt EXIF block: one 'warning: path: ...' line, and the digit is still read."""
    result = run_cli("mnist-infer", corrupt_exif_jpeg(tmp_path / "odd.jpg"))
    assert result.returncode == 0 and ": 7 (" in result.stdout, result.stderr
    warnings = [line for line in result.stderr.splitlines() if line.strip()]
    assert all(line.startswith(f"warning: {tmp_path / 'odd.jpg'}: ") for line in warnings)


# ---------------------------------------------------------------------------------------------
# Defence in depth: a fault of the tool fails one image and exits 3


@pytest.mark.parametrize(
    "fault, code, error",
    [
        (ZeroDivisionError, 3, "internal error (ZeroDivisionError: injected)"),
        (MemoryError, 1, "not enough memory to read this image"),
    ],
    ids=["bug", "memory"],
)
def test_a_failure_on_one_image_is_that_images_result(monkeypatch, fault, code, error):
    """A bug while reading one image (injected here) is that image's error; the others are
    read; the run exits 3 and says 'internal error'. Running out of memory on one image is
    that image's failure (exit 1), not the tool's."""
    from runtime import predict

    real = predict.model_inputs

    def faulty(image, mode, model):
        if "four" in str(image):
            raise fault("injected")
        return real(image, mode, model)

    monkeypatch.setattr(predict, "model_inputs", faulty)
    result = runner.invoke(app, [str(SAMPLES), "--json"])
    assert result.exit_code == code
    records = [json.loads(line) for line in result.stdout.splitlines()]
    assert [r.get("digit") for r in records] == [None, 1, 7, 2]
    assert records[0]["error"] == error and records[0]["path"].endswith("four.png")
