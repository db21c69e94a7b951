"""mnist-export: declared opset, dynamic batch, metadata, parity, variants and every error path."""

from __future__ import annotations

import json

import numpy as np
import onnx
import onnxruntime as ort
import pytest
import torch

from tests.conftest import assert_one_line_error, run_cli
from trainer.checkpoint import load_checkpoint, model_from_checkpoint
from trainer.export import ExportError, to_onnx


def session(path):
    return ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])


def torch_reference(checkpoint, x: np.ndarray) -> np.ndarray:
    model = model_from_checkpoint(load_checkpoint(checkpoint))
    with torch.no_grad():
        return model(torch.from_numpy(x)).numpy()


def test_declares_opset_17_with_named_io_and_no_side_file(small_onnx):
    """Opset 17, input `input` [batch,1,28,28] -> `log_probs` [batch,10], one file."""
    model = onnx.load(small_onnx)
    assert [(o.domain, o.version) for o in model.opset_import if o.domain in ("", "ai.onnx")] == [
        ("", 17)
    ]
    (inp,), (out,) = model.graph.input, model.graph.output
    dims = [d.dim_param or d.dim_value for d in inp.type.tensor_type.shape.dim]
    assert inp.name == "input" and dims[1:] == [1, 28, 28] and isinstance(dims[0], str)
    assert out.name == "log_probs"
    assert sorted(p.name for p in small_onnx.parent.iterdir() if p.suffix == ".data") == []


@pytest.mark.parametrize("batch", [1, 7, 300])
def test_batch_axis_is_dynamic(small_onnx, batch):
    """Batches of 1, 7 and 300 all run and give (batch, 10)."""
    x = np.random.default_rng(batch).normal(size=(batch, 1, 28, 28)).astype(np.float32)
    assert session(small_onnx).run(None, {"input": x})[0].shape == (batch, 10)


def test_metadata_carries_the_preprocessing_contract(small_onnx, small_checkpoint):
    """mean, std, size, polarity, labels, opset, source sha256, accuracy, config, version."""
    from trainer.export import sha256_bytes

    meta = {p.key: p.value for p in onnx.load(small_onnx).metadata_props}
    state = load_checkpoint(small_checkpoint)
    assert float(meta["mean"]) == 0.1307 and float(meta["std"]) == 0.3081
    assert meta["input_size"] == "28,28" and meta["polarity"] == "white-on-black"
    assert json.loads(meta["labels"]) == [str(d) for d in range(10)]
    assert meta["opset"] == "17" and meta["exporter"] == "dynamo" and meta["precision"] == "float32"
    assert meta["source_checkpoint_sha256"] == sha256_bytes(small_checkpoint.read_bytes())
    assert float(meta["test_accuracy"]) == pytest.approx(
        state["metrics"]["test_accuracy"], abs=1e-4
    )
    assert json.loads(meta["train_config"])["limit"] == 6000
    assert meta["package_version"]


def test_parity_on_random_inputs(small_onnx, small_checkpoint):
    """ONNX Runtime equals the PyTorch log-softmax on random inputs (float32 rounding only)."""
    x = np.random.default_rng(0).normal(size=(64, 1, 28, 28)).astype(np.float32)
    got = session(small_onnx).run(None, {"input": x})[0]
    np.testing.assert_allclose(got, torch_reference(small_checkpoint, x), rtol=1e-6, atol=1e-5)


def test_parity_on_real_inputs(small_onnx, small_checkpoint, mnist_test):
    """... and on 1,000 real MNIST test digits."""
    images, _ = mnist_test
    x = ((images[:1000].astype(np.float32) / 255 - 0.1307) / 0.3081)[:, None]
    got = session(small_onnx).run(None, {"input": x})[0]
    np.testing.assert_allclose(got, torch_reference(small_checkpoint, x), rtol=1e-6, atol=1e-5)


def test_card_records_the_verification(small_onnx):
    """The card beside the model holds parity, sizes, sha256s, versions and commands."""
    from trainer.export import sha256_bytes

    card = json.loads(small_onnx.with_suffix(".card.json").read_text())
    v = card["verification"]
    assert v["images"] == 10000 and v["argmax_agreement"] == 1.0
    assert v["max_abs_diff"] <= 1e-4 and v["accuracy_torch"] == v["accuracy_onnx"]
    assert card["sha256"] == sha256_bytes(small_onnx.read_bytes())
    assert card["size_bytes"] == small_onnx.stat().st_size and card["opset"] == 17
    assert card["commands"][0].startswith("mnist-train") and "--limit 6000" in card["commands"][0]
    assert {"torch", "onnx", "onnxruntime"} <= card["versions"].keys()


def test_int8_variant_agrees_with_float(small_onnx, mnist_test):
    """The int8 QDQ file is smaller, quantised and agrees with the float model."""
    int8 = small_onnx.with_name("digit.int8.onnx")
    card = json.loads(int8.with_suffix(".card.json").read_text())
    ops = {n.op_type for n in onnx.load(int8).graph.node}
    assert {"QuantizeLinear", "DequantizeLinear"} <= ops
    assert int8.stat().st_size < small_onnx.stat().st_size / 3
    v = card["verification"]
    assert v["accuracy_torch"] - v["accuracy_onnx"] <= 0.003 and v["argmax_agreement"] > 0.99
    images, _ = mnist_test
    x = ((images[:500].astype(np.float32) / 255 - 0.1307) / 0.3081)[:, None]
    a = session(small_onnx).run(None, {"input": x})[0].argmax(1)
    b = session(int8).run(None, {"input": x})[0].argmax(1)
    assert (a == b).mean() > 0.98


@pytest.mark.slow
@pytest.mark.parametrize("opset, exporter", [(18, "dynamo"), (15, "dynamo"), (17, "legacy")])
def test_other_opsets_and_the_legacy_exporter(small_checkpoint, tmp_path, opset, exporter):
    """The CLI writes the opset asked for, with either exporter."""
    out = tmp_path / "m.onnx"
    result = run_cli(
        "mnist-export", "--checkpoint", small_checkpoint, "--out", out, "--opset", opset,
        "--exporter", exporter,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    model = onnx.load(out)
    assert [o.version for o in model.opset_import if o.domain in ("", "ai.onnx")] == [opset]
    assert {p.key: p.value for p in model.metadata_props}["exporter"] == exporter


def test_failed_down_conversion_is_caught():
    """When the exporter cannot reach the opset asked for, nothing claims it did."""
    with pytest.raises(ExportError, match="produced opset 18, not 13"):
        to_onnx(model_from_checkpoint({"model_state_dict": _fresh_state()}), 13, "dynamo")


def _fresh_state():
    from trainer.model import Digit

    return Digit().state_dict()


@pytest.mark.parametrize("opset", ["5", "99"])
def test_unsupported_opset_is_refused(small_checkpoint, tmp_path, opset):
    """Below or above what the exporter and onnx support: one line, no file."""
    out = tmp_path / "m.onnx"
    result = run_cli(
        "mnist-export", "--checkpoint", small_checkpoint, "--out", out, "--opset", opset
    )
    assert "not supported" in assert_one_line_error(result, 1)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda p: None, "not found"),
        (lambda p: p.write_bytes(b"\x00" * 100), "not a readable PyTorch checkpoint"),
        (lambda p: torch.save({"weights": torch.zeros(3)}, p), "not a Digit checkpoint"),
        (
            lambda p: torch.save(
                {"epoch": 1, "config": {}, "model_state_dict": torch.nn.Linear(2, 2).state_dict()},
                p,
            ),
            "another architecture",
        ),
    ],
    ids=["missing", "corrupt", "foreign", "other-architecture"],
)
def test_bad_checkpoint_is_refused_and_nothing_written(tmp_path, make, message):
    """Each bad checkpoint: one line, exit 1, no .onnx left behind."""
    ckpt, out = tmp_path / "c.pth", tmp_path / "out" / "m.onnx"
    make(ckpt)
    line = assert_one_line_error(run_cli("mnist-export", "--checkpoint", ckpt, "--out", out), 1)
    assert message in line
    assert not out.exists() and not list(tmp_path.rglob("*.onnx*"))


def test_unwritable_output_is_refused(small_checkpoint, tmp_path):
    """An output under a regular file cannot be written: one line, nothing left."""
    blocker = tmp_path / "file"
    blocker.write_text("x")
    result = run_cli("mnist-export", "--checkpoint", small_checkpoint, "--out", blocker / "m.onnx")
    assert "cannot write" in assert_one_line_error(result, 1)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["file"]


@pytest.fixture(scope="module")
def untrained_checkpoint(tmp_path_factory):
    """A Digit with seeded random weights, saved as mnist-train saves: export needs no
    training to be tested (this fixture is cheap, the gates below are in the fast set)."""
    from trainer.config import TrainConfig
    from trainer.model import Digit

    torch.manual_seed(0)
    path = tmp_path_factory.mktemp("untrained") / "digit.pth"
    torch.save({"epoch": 0, "model_state_dict": Digit().state_dict(),
                "config": TrainConfig().__dict__}, path)  # fmt: skip
    return path


@pytest.mark.parametrize(
    "change, message",
    [
        (lambda out: out + np.float32(2e-4) * (np.arange(out.size).reshape(out.shape) == 0),
         "exceeds 0.0001"),
        (lambda out: np.where(np.arange(len(out))[:, None] == 0, out[:, ::-1], out),
         "disagree on test images [0"),
    ],
    ids=["diff-2e-4", "argmax-flip"],
)  # fmt: skip
def test_export_gates_refuse_a_perturbed_output(untrained_checkpoint, mnist_dir, tmp_path,
                                                monkeypatch, change, message):  # fmt: skip
    """ONNX Runtime's output nudged past the real tolerance (2e-4 > 1e-4 on one value), or
    with one image's answer changed: the export fails and writes nothing."""
    from trainer import export as export_module

    real = export_module.ort_log_probs
    monkeypatch.setattr(export_module, "ort_log_probs", lambda *a, **k: change(real(*a, **k)))
    out = tmp_path / "out" / "m.onnx"
    options = export_module.ExportOptions(checkpoint=untrained_checkpoint, out=out,
                                          data_dir=mnist_dir, log=lambda _: None)  # fmt: skip
    with pytest.raises(ExportError) as info:
        export_module.export(options)
    assert message in str(info.value) and "nothing was written" in str(info.value)
    assert not (tmp_path / "out").exists()


def test_unperturbed_export_passes_its_gates(untrained_checkpoint, mnist_dir, tmp_path):
    """The same export, untouched, verifies and writes the model and its card."""
    from trainer import export as export_module

    out = tmp_path / "m.onnx"
    options = export_module.ExportOptions(checkpoint=untrained_checkpoint, out=out,
                                          data_dir=mnist_dir, log=lambda _: None)  # fmt: skip
    (card,) = export_module.export(options)
    assert out.is_file() and card["verification"]["max_abs_diff"] <= 1e-4
