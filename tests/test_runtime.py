"""The torch-free runtime: preprocessing, the Predictor API, providers and bad inputs."""

from __future__ import annotations

import io
import subprocess
import sys

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper
from PIL import Image

from benchmarks.photolike import write_photo_set
from runtime import Predictor
from runtime.preprocess import (
    ImageError,
    ModelInput,
    preprocess_auto,
    preprocess_plain,
    to_grey,
)
from runtime.session import ModelError, ProviderError
from tests.conftest import ROOT, SAMPLES

NORM = ModelInput(0.1307, 0.3081)


def test_runtime_never_imports_torch(shipped_model):
    """Importing the runtime and running a prediction leaves torch out of sys.modules."""
    code = (
        "import sys, runtime\n"
        f"p = runtime.Predictor({str(shipped_model)!r}, provider='cpu')\n"
        f"r = p.predict({str(SAMPLES / 'seven.jpg')!r})\n"
        "assert r.digit == 7, r\n"
        "assert 'torch' not in sys.modules and 'torchvision' not in sys.modules\n"
        "print('ok')\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT.parent
    )
    assert result.stdout.strip() == "ok", result.stderr


def test_plain_equals_torchvision(digit_image):
    """plain == ToTensor() + Normalize((0.1307,), (0.3081,)) on the same resized image."""
    torch = pytest.importorskip("torch")
    from torchvision import transforms

    image, _ = digit_image
    resized = image.convert("L").resize((28, 28))
    reference = transforms.Compose(
        [transforms.ToTensor(), transforms.Normalize((0.1307,), (0.3081,))]
    )(resized)
    assert isinstance(reference, torch.Tensor)
    np.testing.assert_allclose(preprocess_plain(image, NORM), reference.numpy(), atol=1e-6, rtol=0)


def test_auto_reads_photo_like_images(predictor, mnist_test, tmp_path):
    """On 240 photo-like images made from MNIST test digits, auto is right >= 98 %, plain is not."""
    images, labels = mnist_test
    pairs = write_photo_set(images, labels, tmp_path, 240, seed=7)
    auto = predictor.predict_batch([p for p, _ in pairs])
    right = np.mean([r.digit == label for r, (_, label) in zip(auto, pairs, strict=True)])
    assert right >= 0.98, [(p.name, r.digit) for r, (p, _) in zip(auto, pairs, strict=True)]
    plain = Predictor(predictor.info.path, provider="cpu", mode="plain").predict_batch(
        [p for p, _ in pairs]
    )
    assert np.mean([r.digit == label for r, (_, label) in zip(plain, pairs, strict=True)]) < 0.5


@pytest.mark.slow
def test_auto_matches_plain_on_mnist_pngs(shipped_model, mnist_test, tmp_path):
    """On all 10,000 MNIST test digits saved as PNG, auto is within 0.1 point of plain."""
    images, labels = mnist_test
    paths = []
    for i, image in enumerate(images):
        paths.append(tmp_path / f"{i:05d}.png")
        Image.fromarray(image).save(paths[-1])
    accuracy = {}
    for mode in ("plain", "auto"):
        results = Predictor(shipped_model, provider="cpu", mode=mode).predict_batch(paths, 500)
        accuracy[mode] = np.mean([r.digit == y for r, y in zip(results, labels, strict=True)])
    assert accuracy["plain"] >= 0.993
    assert accuracy["auto"] >= accuracy["plain"] - 0.001, accuracy


MODES = ["1", "L", "LA", "La", "LAB", "P", "RGB", "RGBA", "I;16", "I", "F", "CMYK"]


@pytest.mark.parametrize("mode", MODES)
def test_every_pillow_mode_reads_right(predictor, digit_image, mode):
    """The same photo in each Pillow mode gives the same digit, in auto and in plain."""
    image, label = digit_image
    grey = image.convert("L")
    if mode == "I;16":
        converted = Image.fromarray((np.asarray(grey, np.uint16) * 257).astype(np.uint16))
    elif mode == "I":
        converted = Image.fromarray(np.asarray(grey, np.int32) * 257)
    elif mode == "F":
        converted = Image.fromarray(np.asarray(grey, np.float32) / 255.0)
    elif mode == "1":
        converted = grey.point(lambda v: 255 if v > 140 else 0).convert("1")
    elif mode == "La":  # premultiplied alpha: Pillow converts it only to LA
        converted = grey.convert("LA").convert("La")
    elif mode == "LAB":  # lightness and two neutral colour axes: Pillow cannot convert it to L
        neutral = Image.new("L", grey.size, 128)
        converted = Image.merge("LAB", (grey, neutral, neutral))
    else:
        converted = image.convert(mode)
    assert converted.mode == mode
    assert predictor.predict(converted).digit == label
    plain = preprocess_plain(converted, NORM)
    assert plain.shape == (1, 28, 28) and np.isfinite(plain).all()


def test_sixteen_bit_images_are_not_clamped():
    """A 16-bit level of 30000 is 0.46 of white, not 1.0 as an 8-bit clamp would make it."""
    a = np.full((4, 4), 30000, np.uint16)
    assert to_grey(Image.fromarray(a))[0, 0] == pytest.approx(30000 / 65535, abs=1e-6)


@pytest.mark.parametrize("mode", ["I;16", "I", "F"])
def test_plain_scales_deep_images_to_eight_bits(mode):
    """plain reads a 16-bit, 32-bit or float picture scaled to 8 bits by its range, as the
    seed's convert("L") reads an 8-bit one; nothing is clipped to white."""
    level = {"I;16": 30000, "I": 30000, "F": 0.46}[mode]
    a = np.zeros((28, 28), {"I;16": np.uint16, "I": np.int32, "F": np.float32}[mode])
    a[10:18, 10:18] = level
    img = Image.fromarray(a, mode) if mode != "I;16" else Image.fromarray(a)
    assert img.mode == mode
    pixels = NORM.pixels(preprocess_plain(img, NORM))
    expected = round(255 * (30000 / 65535 if mode != "F" else 0.46)) / 255
    assert pixels[12, 12] == pytest.approx(expected, abs=1e-5) and pixels[0, 0] == 0


def test_transparency_is_composited_onto_white():
    """Transparent pixels are paper (white), whatever colour they hold."""
    rgba = np.zeros((4, 4, 4), np.uint8)  # transparent black
    assert to_grey(Image.fromarray(rgba)).min() == pytest.approx(1.0)


@pytest.mark.parametrize("ink, backdrop", [(20, 1.0), (240, 0.0)], ids=["dark-ink", "chalk"])
def test_transparent_canvas_lands_on_the_contrasting_backdrop(ink, backdrop):
    """A drawing app's strokes on a transparent canvas: dark ink lands on white, light chalk
    on black, half-transparent edges blend into that backdrop, whatever colour the app stored
    under the transparent pixels."""
    rgba = np.zeros((6, 6, 4), np.uint8)
    rgba[..., :3] = 255 - ink  # the stored colour under the transparent pixels: the opposite
    rgba[2:4, 1:5] = (ink, ink, ink, 255)  # the stroke, opaque
    rgba[4, 1:5] = (ink, ink, ink, 102)  # its soft edge, 40 % opaque
    grey = to_grey(Image.fromarray(rgba))
    assert grey[0, 0] == pytest.approx(backdrop) and grey[2, 2] == pytest.approx(
        ink / 255, abs=1e-3
    )
    assert grey[4, 2] == pytest.approx(0.4 * ink / 255 + 0.6 * backdrop, abs=1e-3)


def test_auto_inverts_dark_ink_and_centres_by_mass(digit_image):
    """The auto input is white on black, fits 20x20 and has its centre of mass at (14, 14)."""
    image, _ = digit_image
    x = preprocess_auto(image, NORM)[0] * NORM.std + NORM.mean
    assert x[0].max() < 0.01 and x.max() > 0.9  # black border, white strokes
    rows, cols = np.flatnonzero(x.max(1) > 0.4), np.flatnonzero(x.max(0) > 0.4)
    assert (
        19 <= max(rows[-1] - rows[0], cols[-1] - cols[0]) + 1 <= 21
    )  # 20, give or take resampling
    mass = x.sum()
    cy, cx = (x.sum(1) * np.arange(28)).sum() / mass, (x.sum(0) * np.arange(28)).sum() / mass
    assert abs(cy - 14) <= 0.75 and abs(cx - 14) <= 0.75


def test_exif_orientation_is_applied(predictor, digit_image):
    """A JPEG stored sideways with an EXIF orientation tag reads as the upright digit."""
    image, label = digit_image
    exif = Image.Exif()
    exif[0x0112] = 6  # the viewer rotates 90 degrees clockwise
    buf = io.BytesIO()
    image.transpose(Image.Transpose.ROTATE_90).save(buf, "JPEG", quality=95, exif=exif)
    assert predictor.predict(Image.open(buf)).digit == label


@pytest.mark.parametrize("value", [0, 255, 128])
def test_no_ink_is_no_digit(predictor, value):
    """A blank black, white or grey image is 'no digit found', not a confident guess."""
    result = predictor.predict(np.full((60, 80), value, np.uint8))
    assert result.digit is None and result.confidence is None and not result.found


def test_predict_accepts_path_pillow_and_numpy(predictor, digit_image, tmp_path):
    """A path, a Pillow image and a NumPy array of one picture give one answer."""
    image, label = digit_image
    image.save(tmp_path / "d.png")
    results = [
        predictor.predict(tmp_path / "d.png"),
        predictor.predict(image),
        predictor.predict(np.asarray(image)),
    ]
    assert [r.digit for r in results] == [label] * 3
    for r in results:
        assert r.provider == "cpu" and r.mode == "auto"
        assert r.probabilities.shape == (10,) and r.probabilities.sum() == pytest.approx(1.0)
        assert r.confidence == pytest.approx(r.probabilities.max())


def write_truncated_png(path):
    buf = io.BytesIO()
    Image.fromarray(np.random.default_rng(0).integers(0, 255, (64, 64), np.uint8)).save(buf, "PNG")
    path.write_bytes(buf.getvalue()[: len(buf.getvalue()) // 2])


def write_bomb(path):
    Image.new("1", (20000, 10000)).save(path)  # 200 Mpixel: over Pillow's limit, tiny on disk


BAD_INPUTS = {
    "missing": (lambda p: None, "no such file"),
    "not-an-image": (lambda p: p.write_text("hello"), "not an image"),
    "truncated": (write_truncated_png, "unreadable image"),
    "zero-size": (lambda p: p.write_bytes(b""), "empty file"),
    "decompression-bomb": (write_bomb, "too many pixels"),
}


@pytest.mark.parametrize("name", BAD_INPUTS)
def test_bad_images_fail_alone(predictor, tmp_path, digit_image, name):
    """A bad image is an error for itself only; the image beside it is still read."""
    make, message = BAD_INPUTS[name]
    bad = tmp_path / f"{name}.png"
    make(bad)
    image, label = digit_image
    good = tmp_path / "good.png"
    image.save(good)
    first, second = predictor.predict_batch([bad, good])
    assert message in first.error and first.digit is None
    assert second.digit == label
    with pytest.raises(ImageError, match=message):
        predictor.predict(bad)


def test_zero_size_array_is_refused(predictor):
    """An empty NumPy array is an error, not a crash."""
    with pytest.raises(ImageError, match="array"):
        predictor.predict(np.zeros((0, 5), np.uint8))


def test_animated_gif_reads_the_first_frame(predictor, mnist_test, tmp_path):
    """An animated GIF is read from its first frame."""
    images, labels = mnist_test
    frames = [Image.fromarray(images[i]).resize((84, 84)) for i in (0, 1)]
    frames[0].save(tmp_path / "a.gif", save_all=True, append_images=frames[1:], duration=100)
    assert Image.open(tmp_path / "a.gif").n_frames == 2
    assert predictor.predict(tmp_path / "a.gif").digit == labels[0]


def tiny_model(tmp_path, name="input", shape=(None, 1, 28, 28), elem=TensorProto.FLOAT, meta=True):
    """A one-node ONNX model with a chosen input, to exercise the contract checks."""
    dims = ["batch" if d is None else d for d in shape]
    inp = helper.make_tensor_value_info(name, elem, dims)
    out = helper.make_tensor_value_info("log_probs", TensorProto.FLOAT, ["batch", 10])
    shape_const = helper.make_tensor("s", TensorProto.INT64, [2], [-1, 10])
    nodes = [helper.make_node("Reshape", [name, "s"], ["r"])]
    if elem != TensorProto.FLOAT:
        nodes.append(helper.make_node("Cast", ["r"], ["c"], to=TensorProto.FLOAT))
    nodes.append(
        helper.make_node("Identity", ["c" if elem != TensorProto.FLOAT else "r"], ["log_probs"])
    )
    graph = helper.make_graph(nodes, "g", [inp], [out], [shape_const])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    if meta:
        helper.set_model_props(model, {"mean": "0.1307", "std": "0.3081"})
    path = tmp_path / "m.onnx"
    onnx.save(model, path)
    return path


@pytest.mark.parametrize(
    "kwargs, problem",
    [
        ({"name": "pixels"}, "inputs are ['pixels']"),
        ({"shape": (None, 784)}, "input is tensor(float)"),
        ({"elem": TensorProto.DOUBLE}, "input is tensor(double)"),
        ({"meta": False}, "metadata lacks mean, std"),
    ],
    ids=["wrong-name", "wrong-shape", "wrong-type", "no-metadata"],
)
def test_model_breaking_the_contract_names_it(tmp_path, kwargs, problem):
    """A model with the wrong input name, shape, type or metadata: the error names the contract."""
    path = tiny_model(tmp_path, **kwargs)
    with pytest.raises(ModelError) as info:
        Predictor(path, provider="cpu")
    assert problem in str(info.value)
    assert "expected input 'input' float32 [batch, 1, 28, 28]" in str(info.value)


@pytest.mark.parametrize(
    "content, message",
    [(None, "model not found"), (b"garbage" * 10, "cannot load the model")],
    ids=["missing", "corrupt"],
)
def test_missing_or_corrupt_model(tmp_path, content, message):
    """A missing or corrupt model file is a one-line ModelError."""
    path = tmp_path / "m.onnx"
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(ModelError, match=message) as info:
        Predictor(path)
    assert "\n" not in str(info.value)


@pytest.mark.skipif(
    "CUDAExecutionProvider" in __import__("onnxruntime").get_available_providers(),
    reason="this ONNX Runtime build has CUDA",
)
def test_cuda_with_cpu_only_onnxruntime_is_a_clear_error(shipped_model):
    """Asking for cuda with the CPU-only package names the package, its version and providers."""
    with pytest.raises(ProviderError) as info:
        Predictor(shipped_model, provider="cuda")
    text = str(info.value)
    assert (
        "onnxruntime " in text
        and "CPUExecutionProvider" in text
        and "install onnxruntime-gpu" in text
    )


def test_auto_provider_runs_and_reports_itself(shipped_model):
    """auto picks a provider that really runs the session, and the name it reports is the one
    ONNX Runtime says runs first."""
    from runtime.session import PROVIDERS

    p = Predictor(shipped_model)
    assert p.session.get_providers()[0] == PROVIDERS[p.provider]
    assert p.predict(SAMPLES / "two.png").provider == p.provider


def test_missing_onnxruntime_says_what_to_install():
    """Without ONNX Runtime importable, mnist-infer exits 2 with the pip command to run."""
    code = (
        "import sys; sys.modules['onnxruntime'] = None\n"  # as if it were not installed
        f"sys.argv = ['mnist-infer', {str(SAMPLES / 'two.png')!r}]\n"
        "from runtime.cli import app; app()\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT.parent
    )
    assert result.returncode == 2, result.stderr
    assert result.stderr.strip() == (
        "error: ONNX Runtime is not installed: pip install onnxruntime (CPU) "
        "or pip install 'onnxruntime-gpu[cuda,cudnn]' (NVIDIA GPU)"
    )


def test_both_onnxruntime_packages_installed_warns(monkeypatch):
    """With onnxruntime and onnxruntime-gpu both installed, the runtime warns."""
    from runtime import session

    both = [("onnxruntime", "1.32.0"), ("onnxruntime-gpu", "1.31.1")]
    monkeypatch.setattr(session, "installed_ort", lambda: both)
    with pytest.warns(RuntimeWarning, match="both onnxruntime and onnxruntime-gpu"):
        session.import_ort()
