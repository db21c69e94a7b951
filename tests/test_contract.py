"""What a user reads must be what the model said: output consistency, the metadata contract,
the export's gates, the provider check, bounded working sizes. Each test here was written to
catch a bug planted on purpose (issue 13's list) in the fast set."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import onnx
import pytest
from PIL import Image
from typer.testing import CliRunner

from runtime import Predictor
from runtime.cli import app
from runtime.preprocess import WORK_SIDE, ModelInput, NoDigitError, preprocess
from tests.conftest import SAMPLES, corrupt_exif_jpeg

runner = CliRunner()


def consistent(digit, confidence, probabilities, top=None):
    probabilities = np.asarray(probabilities)
    assert int(np.argmax(probabilities)) == digit
    assert probabilities[digit] == pytest.approx(confidence, abs=1e-12)
    assert probabilities.sum() == pytest.approx(1.0, abs=1e-9)
    if top is not None:
        digits = [d for d, _ in top]
        ps = [p for _, p in top]
        assert digits[0] == digit and len(set(digits)) == len(digits)
        assert ps == sorted(ps, reverse=True)
        for d, p in top:
            assert probabilities[d] == pytest.approx(p, abs=1e-12)


def test_prediction_is_consistent(predictor):
    """digit = argmax(probabilities), confidence = probabilities[digit], top-k distinct and
    descending, in the API."""
    for path in sorted(SAMPLES.iterdir()):
        r = predictor.predict(path)
        consistent(r.digit, r.confidence, r.probabilities, r.top(10))


def test_json_and_text_are_consistent():
    """The same holds in --json, and the text's `next:` list is the top-k, descending."""
    result = runner.invoke(app, [str(SAMPLES), "--json", "--provider", "cpu"])
    for record in map(json.loads, result.stdout.splitlines()):
        consistent(record["digit"], record["confidence"], record["probabilities"])
    text = runner.invoke(app, [str(SAMPLES / "seven.jpg"), "--top-k", "4", "--provider", "cpu"])
    match = re.fullmatch(r".*: (\d) \((\d+\.\d)%\)  next: (.*)\n", text.stdout)
    assert match, text.stdout
    others = [(int(d), float(p)) for d, p in re.findall(r"(\d) \((\d+\.\d)%\)", match.group(3))]
    digits = [int(match.group(1))] + [d for d, _ in others]
    assert len(others) == 3 and len(set(digits)) == 4 and digits[0] == 7
    assert [p for _, p in others] == sorted((p for _, p in others), reverse=True)


def with_metadata(shipped_model, tmp_path, **meta) -> str:
    model = onnx.load(shipped_model)
    props = {p.key: p.value for p in model.metadata_props}
    props.update(meta)
    del model.metadata_props[:]
    for key, value in props.items():
        model.metadata_props.add(key=key, value=value)
    path = tmp_path / "meta.onnx"
    onnx.save(model, path)
    return str(path)


@pytest.mark.parametrize("mode", ["auto", "plain"])
def test_normalisation_is_read_from_the_models_metadata(shipped_model, tmp_path, mode):
    """A model whose metadata says mean 0.5 and std 0.25 gets (pixels - 0.5) / 0.25: the same
    pixels as the shipped model's input, a different model input."""
    usual = Predictor(shipped_model, provider="cpu", mode=mode)
    other = Predictor(with_metadata(shipped_model, tmp_path, mean="0.5", std="0.25"),
                      provider="cpu", mode=mode)  # fmt: skip
    assert (other.info.mean, other.info.std) == (0.5, 0.25)
    a = usual.predict(SAMPLES / "two.png").model_input
    b = other.predict(SAMPLES / "two.png").model_input
    np.testing.assert_allclose(a * 0.3081 + 0.1307, b * 0.25 + 0.5, atol=1e-5)
    assert np.abs(a - b).max() > 0.1


def test_labels_map_columns_to_digits(shipped_model, tmp_path, predictor):
    """A model whose labels list the digits in reverse answers through that mapping."""
    reversed_labels = json.dumps([str(d) for d in range(9, -1, -1)])
    other = Predictor(
        with_metadata(shipped_model, tmp_path, labels=reversed_labels), provider="cpu"
    )
    usual = predictor.predict(SAMPLES / "seven.jpg")
    flipped = other.predict(SAMPLES / "seven.jpg")
    assert flipped.digit == 9 - usual.digit
    np.testing.assert_allclose(flipped.probabilities, usual.probabilities[::-1])


def test_session_that_falls_back_to_cpu_is_refused(monkeypatch, shipped_model):
    """If ONNX Runtime quietly runs a CUDA session on the CPU, create_session says so.

    A GPU-less machine cannot make a real CUDA session, so ONNX Runtime's classes are
    replaced here by ones that report what a silent fallback reports.
    """
    import onnxruntime

    from runtime import session as session_module

    class FallBack(onnxruntime.InferenceSession):
        def __init__(self, model, sess_options=None, providers=None, **kw):
            super().__init__(model, sess_options, providers=["CPUExecutionProvider"])

    monkeypatch.setattr(onnxruntime, "InferenceSession", FallBack)
    monkeypatch.setattr(
        onnxruntime,
        "get_available_providers",
        lambda: ["CUDAExecutionProvider", "CPUExecutionProvider"],
    )
    with pytest.raises(session_module.ProviderError, match="does not run the session"):
        session_module.create_session(shipped_model, "cuda")


def test_huge_image_reaches_the_float_work_at_the_bounded_size(monkeypatch, tmp_path, mnist_test):
    """A 3000x3000 PNG and a 3000x2250 JPEG reach auto's float work at most WORK_SIDE wide,
    and are read right."""
    from runtime import preprocess as pre

    images, labels = mnist_test
    seen = []
    real = pre.to_grey
    monkeypatch.setattr(pre, "to_grey", lambda img: seen.append(img.size) or real(img))
    big = Image.fromarray(255 - images[0]).resize((3000, 3000))
    big.save(tmp_path / "big.png")
    big.convert("RGB").resize((3000, 2250)).save(tmp_path / "big.jpg", quality=90)
    for name in ("big.png", "big.jpg"):
        x = preprocess(tmp_path / name, "auto", ModelInput(0.1307, 0.3081))
        assert max(seen[-1]) <= WORK_SIDE, seen
        assert Predictor(provider="cpu").run(x[None]).argmax() == labels[0]


@pytest.mark.parametrize("contrast, found", [(0.04, False), (0.2, True)])
def test_faint_marks_below_the_contrast_floor_are_no_digit(contrast, found):
    """A stroke 4 % darker than its paper is no digit; one 20 % darker is read."""
    page = np.full((200, 200), 0.9, np.float32)
    page[40:160, 95:105] -= contrast
    image = Image.fromarray((page * 255).astype(np.uint8))
    if found:
        assert preprocess(image, "auto", ModelInput(0.1307, 0.3081)).max() > 2
    else:
        with pytest.raises(NoDigitError):
            preprocess(image, "auto", ModelInput(0.1307, 0.3081))


def test_plain_mode_runs_the_seeds_pipeline(predictor, shipped_model):
    """--mode plain gives the input of the seed's resize-and-normalise, not auto's."""
    plain = Predictor(shipped_model, provider="cpu", mode="plain")
    image = Image.open(SAMPLES / "two.png")
    seed = (np.asarray(image.convert("L").resize((28, 28)), np.float32) / 255 - 0.1307) / 0.3081
    np.testing.assert_allclose(plain.predict(image).model_input, seed, atol=1e-6)
    assert np.abs(predictor.predict(image).model_input - seed).max() > 1
    record = json.loads(runner.invoke(app, [str(SAMPLES / "two.png"), "--json", "--mode", "plain",
                                            "--provider", "cpu"]).stdout)  # fmt: skip
    np.testing.assert_allclose(
        record["probabilities"], plain.predict(image).probabilities, rtol=1e-9
    )


def field_model(
    tmp_path, side: int | tuple[int, int], meta: dict, output="log_probs", columns=10
) -> str:
    """A model whose input is [batch, 1, height, width]: a flatten and a slice of `columns`."""
    from onnx import TensorProto, helper

    height, width = (side, side) if isinstance(side, int) else side
    inp = helper.make_tensor_value_info("input", TensorProto.FLOAT, ["batch", 1, height, width])
    out = helper.make_tensor_value_info(output, TensorProto.FLOAT, ["batch", columns])
    consts = [helper.make_tensor("shape", TensorProto.INT64, [2], [0, -1]),
              helper.make_tensor("start", TensorProto.INT64, [1], [0]),
              helper.make_tensor("end", TensorProto.INT64, [1], [columns]),
              helper.make_tensor("axis", TensorProto.INT64, [1], [1])]  # fmt: skip
    nodes = [helper.make_node("Reshape", ["input", "shape"], ["flat"]),
             helper.make_node("Slice", ["flat", "start", "end", "axis"], ["first"]),
             helper.make_node("LogSoftmax", ["first"], [output], axis=1)]  # fmt: skip
    graph = helper.make_graph(nodes, "g", [inp], [out], consts)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    helper.set_model_props(model, {"mean": "0.1307", "std": "0.3081", **meta})
    path = tmp_path / f"field{height}x{width}.onnx"
    onnx.save(model, path)
    return str(path)


def test_any_positive_field_is_accepted(tmp_path):
    """input_size is checked for two positive sides, no more: a 10 x 1 field loads."""
    path = field_model(tmp_path, (10, 1), {"input_size": "10,1"})
    assert Predictor(path, provider="cpu").info.input_size == (10, 1)


@pytest.mark.parametrize("field", [(32, 32), (32, 24)], ids=["32x32", "32x24"])
def test_field_size_is_read_from_the_metadata(tmp_path, field):
    """A model that declares a 32x32 (or 32 high, 24 wide) field gets inputs of that size, in
    both modes, and its whole-number reading too."""
    path = field_model(tmp_path, field, {"input_size": f"{field[0]},{field[1]}"})
    for mode in ("auto", "plain"):
        predictor = Predictor(path, provider="cpu", mode=mode)
        assert predictor.info.input_size == field and predictor.info.path == path
        assert predictor.info.metadata["input_size"] == f"{field[0]},{field[1]}"
        assert predictor.predict(SAMPLES / "two.png").model_input.shape == field
    number = Predictor(path, provider="cpu").read_number(SAMPLES / "two.png")
    assert len(number.digits) == 1 and number.error is None


@pytest.mark.parametrize(
    "side, meta, words",
    [(32, {}, "input is tensor"), (28, {"input_size": "32,32"}, "input is tensor"),
     (28, {"input_size": "twenty"}, "malformed metadata"), (28, {"input_size": "28"}, "input_size"),
     (28, {"input_size": "0,28"}, "input_size"),
     (28, {"labels": '["0", "1"]'}, "labels"), (28, {"labels": "not json"}, "malformed"),
     (28, {"polarity": "black-on-white"}, "polarity"), (28, {"std": "1e-6"}, "normalisation"),
     (28, {"output": "probs"}, "outputs are"), (28, {"columns": 11}, "output is tensor")],
    ids=["no-size-for-32", "size-disagrees", "size-text", "size-one-number", "size-zero",
         "two-labels", "labels-text", "dark-digits", "std-zero", "output-name", "eleven-columns"],
)  # fmt: skip
def test_contract_mismatches_are_model_errors(tmp_path, side, meta, words):
    """A field size, labels, normalisation or output that the contract does not allow:
    one-line ModelError."""
    from runtime.session import ModelError

    meta = dict(meta)  # the parameter itself stays as written: it is shared by every run
    graph = {k: meta.pop(k) for k in ("output", "columns") if k in meta}
    with pytest.raises(ModelError, match=words) as info:
        Predictor(field_model(tmp_path, side, meta, **graph), provider="cpu")
    assert "\n" not in str(info.value) and "field" in str(info.value)


def test_default_model_is_the_wheels_or_the_checkouts(monkeypatch, tmp_path, shipped_model):
    """Installed, the model beside the package is loaded; in a checkout, exported/ beside it;
    load_model's defaults are that model on the best provider here, with the given options."""
    from runtime import session

    checkout = Path(session.__file__).resolve().parent.parent / "exported" / "digit.onnx"
    assert session.default_model_path() == checkout
    _, used, info = session.load_model(config=session.SessionConfig(threads=1))
    assert used == "cpu" and info.path == str(checkout)
    wheel = tmp_path / "site" / "runtime"
    (wheel / "exported").mkdir(parents=True)
    (wheel / "exported" / "digit.onnx").write_bytes(Path(shipped_model).read_bytes())
    monkeypatch.setattr(session, "__file__", str(wheel / "session.py"))
    assert session.default_model_path() == wheel / "exported" / "digit.onnx"


def test_session_options_are_applied(shipped_model):
    """The thread count and spinning asked for are the session's."""
    from runtime import session

    config = session.SessionConfig(threads=1, spinning=False)
    ort_session, _, _ = session.load_model(shipped_model, "cpu", config)
    options = ort_session.get_session_options()
    assert options.intra_op_num_threads == 1 and options.inter_op_num_threads == 1
    assert options.get_session_config_entry("session.intra_op.allow_spinning") == "0"
    assert options.log_severity_level == 3  # errors only: no screenfuls of provider warnings
    spinning, _, _ = session.load_model(shipped_model, "cpu", session.SessionConfig(spinning=True))
    spin = spinning.get_session_options().get_session_config_entry(
        "session.intra_op.allow_spinning"
    )
    assert spin == "1"
    predictor = Predictor(shipped_model, provider="cpu", threads=1)
    assert predictor.session.get_session_options().intra_op_num_threads == 1


def test_reading_processes_answer_as_one_process(predictor, tmp_path, mnist_test):
    """predict_batch with jobs=2 (processes) gives the same answers, in the same order."""
    images, _ = mnist_test
    paths = []
    for i in range(20):
        paths.append(tmp_path / f"{i:02d}.png")
        Image.fromarray(255 - images[i]).resize((56, 56)).save(paths[-1])
    (tmp_path / "05.png").write_bytes(b"not an image")  # an unreadable file among them
    Image.new("L", (56, 56), 240).save(tmp_path / "11.png")  # and a blank page
    one = predictor.predict_batch(paths)
    two = predictor.predict_batch(paths, batch_size=7, jobs=2)
    # the pool's manager thread is gone when the answers are: left running, it races the
    # interpreter's exit (a traceback, or a hang, now and then)
    from concurrent.futures import process

    assert not [t for t in process._threads_wakeups if t.is_alive()]
    assert [r.path for r in two] == [str(p) for p in paths]
    assert [r.to_json() for r in two] == [r.to_json() for r in one]
    assert [(r.error, r.internal) for r in two] == [(r.error, r.internal) for r in one]
    assert one[5].error and one[11].to_json()["note"] == "no digit found"
    assert (two[5].provider, two[5].mode, two[5].path) == ("cpu", "auto", str(paths[5]))
    read = [i for i, r in enumerate(one) if r.digit is not None]
    assert len(read) == 18
    np.testing.assert_allclose(
        [two[i].confidence for i in read], [one[i].confidence for i in read], rtol=1e-9
    )


def test_a_reading_process_prepares_as_the_main_one(tmp_path, capsys):
    """What each reading process runs (--jobs), run here, where the checks can see it: it
    leaves Ctrl-C to the main process, names its image in library warnings, and prepares a
    chunk of images (mode, model and provider passed through) as the main process would."""
    import signal
    import warnings

    from runtime import predict

    (tmp_path / "broken.png").write_bytes(b"not an image")
    images = [SAMPLES / "two.png", tmp_path / "broken.png", corrupt_exif_jpeg(tmp_path / "odd.jpg")]
    model = ModelInput(0.5, 0.25)
    before = signal.getsignal(signal.SIGINT)
    with warnings.catch_warnings():
        try:
            predict._reader_started()
            assert signal.getsignal(signal.SIGINT) == signal.SIG_IGN
            prepared = predict.prepare_many(images, "plain", model, "tensorrt")
        finally:
            signal.signal(signal.SIGINT, before)
    assert [path for path, _ in prepared] == [str(p) for p in images]
    np.testing.assert_array_equal(prepared[0][1], preprocess(images[0], "plain", model))
    failed = prepared[1][1]
    assert (failed.provider, failed.mode, failed.digit) == ("tensorrt", "plain", None)
    assert failed.error and not failed.internal
    assert f"warning: {tmp_path / 'odd.jpg'}: " in capsys.readouterr().err


READERS_FORKED = """
import os, sys, threading
from runtime import predict

def forked(jobs):
    pool = predict._new_pool(jobs)
    try:  # a forked reader's parent is this process; the fork server's readers are its own
        return all(pool.submit(os.getppid).result() == os.getpid() for _ in range(jobs))
    finally:
        pool.shutdown()

print(forked(2))  # nothing loaded yet, one thread: forked at once
blocker = threading.Event()
thread = threading.Thread(target=blocker.wait)
thread.start()
print(forked(2))  # another thread runs: from the fork server
blocker.set()
thread.join()
import onnxruntime
print(forked(2))  # ONNX Runtime loaded (its threads are not Python's): from the fork server
"""


def test_readers_are_forked_only_while_nothing_else_runs():
    """Reading processes are forked at once (soonest at work) only by a process running one
    Python thread with ONNX Runtime not loaded, as the CLI is when it starts them; else they
    come from the fork server, which copies no other thread's state."""
    import subprocess
    import sys

    done = subprocess.run([sys.executable, "-c", READERS_FORKED], capture_output=True, text=True,
                          cwd=Path(__file__).resolve().parents[1], timeout=120)  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["True", "False", "False"]


def test_reading_tasks_hold_a_few_photos_or_many_small_images(tmp_path):
    """Tasks sent to reading processes: at most CHUNK images, fewer once their files reach
    CHUNK_BYTES, so a folder of photos ends with every process busy."""
    from runtime.predict import _chunks

    small = tmp_path / "small.png"
    small.write_bytes(b"x" * 300)
    photo = tmp_path / "photo.jpg"
    photo.write_bytes(b"x" * 600)
    assert [len(c) for c in _chunks([small] * 20, 8)] == [8, 8, 4]
    assert [len(c) for c in _chunks([str(photo)] * 5, 8, 1000)] == [2, 2, 1]
    mixed = [small, photo, small, photo, b"y" * 2000, tmp_path / "missing.png", small]
    assert [len(c) for c in _chunks(mixed, 8, 1000)] == [3, 2, 2]
    assert sum(_chunks(mixed, 8, 1000), []) == mixed


def test_a_library_warning_outside_any_image_is_one_plain_line(capsys):
    """A Pillow warning raised while no image is being read (at start-up, say, or in a thread
    that has read none) is still one `warning:` line, with no image named."""
    import threading
    import warnings

    from runtime import predict
    from runtime.errors import warnings_on_one_line

    def warn():
        warnings.warn_explicit("a library notice", UserWarning, "Image.py", 1, module="PIL.Image")

    with warnings.catch_warnings():
        warnings_on_one_line(predict.current_image)
        warn()
        fresh = threading.Thread(target=warn)  # no image was ever read in this thread
        fresh.start()
        fresh.join()
    assert capsys.readouterr().err == "warning: a library notice\n" * 2
