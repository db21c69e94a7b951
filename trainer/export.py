"""Export a Digit checkpoint to one self-describing ONNX file, verified before it is written.

The file carries the preprocessing contract in its `metadata_props`; it is checked with
`onnx.checker` (full check) and against the PyTorch log-softmax on the whole MNIST test set with
ONNX Runtime, then renamed into place. A model card JSON beside it records what was measured.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import logging
import math
import sys
import tempfile
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import onnx
import torch

import runtime
from runtime.errors import first_line
from runtime.session import (
    INPUT_NAME,
    OUTPUT_NAME,
    POLARITY,
    ModelError,
    ProviderError,
    create_session,
)
from trainer.checkpoint import atomic_write, load_checkpoint, model_from_checkpoint, unwritable
from trainer.config import DEFAULT_CHECKPOINT, DEFAULT_ONNX
from trainer.data import ensure_mnist, load_split
from trainer.train import normalize
from trainer.verify import (
    MAX_TOLERANCE,
    accuracy_drop_problem,
    check_batches,
    ort_log_probs,
    parity_problem,
    parity_report,
)

MIN_OPSET = {"dynamo": 15, "legacy": 9}  # below 15 the dynamo conversion fails here
CALIBRATION_IMAGES = 512


class ExportError(Exception):
    """The export cannot be made or did not verify; the message is one line."""


@dataclass
class ExportOptions:
    checkpoint: Path = DEFAULT_CHECKPOINT
    out: Path = DEFAULT_ONNX
    opset: int = 17
    exporter: str = "dynamo"
    int8: bool = False
    fp16: bool = False
    data_dir: Path = Path("data")
    command: str = ""  # the command line that asked for this export, for the card
    log: object = field(default=print)


def max_opset() -> int:
    """The highest opset both the installed onnx and the exporter know."""
    return min(onnx.defs.onnx_opset_version(), torch.onnx._constants.ONNX_MAX_OPSET)


def check_opset(opset: int, exporter: str) -> None:
    low, high = MIN_OPSET[exporter], max_opset()
    if exporter == "legacy":
        high = min(high, torch.onnx._constants.ONNX_TORCHSCRIPT_EXPORTER_MAX_OPSET)
    if not low <= opset <= high:
        raise ExportError(
            f"opset {opset} is not supported by the {exporter} exporter with onnx "
            f"{onnx.__version__} and torch {torch.__version__}: use {low} to {high}"
        )


def declared_opset(model: onnx.ModelProto) -> int | None:
    for entry in model.opset_import:
        if entry.domain in ("", "ai.onnx"):
            return entry.version
    return None


def to_onnx(model: torch.nn.Module, opset: int, exporter: str) -> onnx.ModelProto:
    """Trace with batch 2 (batch 1 would be specialised) and a dynamic batch axis."""
    example = (torch.randn(2, 1, 28, 28),)
    try:
        with quiet_exporter():
            proto = _trace(model, example, opset, exporter)
    except Exception as exc:
        raise ExportError(
            f"the {exporter} exporter failed at opset {opset}: {first_line(exc)}"
        ) from exc
    got = declared_opset(proto)
    if got != opset:
        raise ExportError(
            f"the {exporter} exporter produced opset {got}, not {opset} (the conversion did "
            "not happen); nothing was written"
        )
    return proto


@contextlib.contextmanager
def quiet_exporter():
    """The exporters narrate on stdout, stderr and the logs; the CLI reports what matters."""
    sink = io.StringIO()
    logger = logging.getLogger("torch.onnx")
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings(), contextlib.redirect_stdout(sink):
            warnings.simplefilter("ignore")
            with contextlib.redirect_stderr(sink):
                yield
    finally:
        logger.setLevel(level)


def _trace(model, example, opset: int, exporter: str) -> onnx.ModelProto:
    names = dict(opset_version=opset, input_names=[INPUT_NAME], output_names=[OUTPUT_NAME])
    if exporter == "dynamo":
        batch = torch.export.Dim("batch", min=1)
        program = torch.onnx.export(
            model,
            example,
            dynamo=True,
            dynamic_shapes={"x": {0: batch}},
            external_data=False,
            **names,
        )
        return program.model_proto
    buffer = io.BytesIO()
    axes = {INPUT_NAME: {0: "batch"}, OUTPUT_NAME: {0: "batch"}}
    torch.onnx.export(model, example, buffer, dynamo=False, dynamic_axes=axes, **names)
    return onnx.load_from_string(buffer.getvalue())


def contract_metadata(state: dict, checkpoint: Path, opset: int, exporter: str) -> dict[str, str]:
    metrics, norm = state["metrics"], state["normalization"]
    accuracy = metrics.get("test_accuracy")
    return {
        "mean": repr(float(norm["mean"])),
        "std": repr(float(norm["std"])),
        "input_size": "28,28",
        "polarity": POLARITY,
        "labels": json.dumps([str(d) for d in range(10)]),
        "output": "log-softmax over labels",
        "opset": str(opset),
        "exporter": exporter,
        "precision": "float32",
        "source_checkpoint_sha256": sha256_bytes(Path(checkpoint).read_bytes()),
        "test_accuracy": "unknown" if accuracy is None else f"{accuracy:.4f}",
        "train_config": json.dumps(state["config"], sort_keys=True),
        "package_version": runtime.__version__,
    }


def set_metadata(model: onnx.ModelProto, meta: dict[str, str]) -> None:
    del model.metadata_props[:]
    for key, value in meta.items():
        model.metadata_props.add(key=key, value=value)
    model.producer_name = "mnist-digit"
    model.producer_version = runtime.__version__
    model.doc_string = "Digit CNN for MNIST; preprocessing contract in metadata_props."


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


# ---------------------------------------------------------------------------------------------
# Verification


@torch.no_grad()
def torch_log_probs(model: torch.nn.Module, x: torch.Tensor) -> np.ndarray:
    return torch.cat([model(x[i : i + 1000]) for i in range(0, len(x), 1000)]).numpy()


def open_session(model_bytes: bytes, provider: str = "cpu"):
    try:
        return create_session(model_bytes, provider)[0]
    except (ModelError, ProviderError) as exc:
        raise ExportError(f"ONNX Runtime cannot run the exported model: {exc}") from exc


# ---------------------------------------------------------------------------------------------
# Variants


def quantize_int8(float_bytes: bytes, calibration: np.ndarray) -> bytes:
    """Static QDQ quantisation calibrated on training images."""
    from onnxruntime.quantization import (
        CalibrationDataReader,
        QuantFormat,
        QuantType,
        quantize_static,
    )
    from onnxruntime.quantization.shape_inference import quant_pre_process

    class Reader(CalibrationDataReader):
        def __init__(self):
            self.batches = iter(
                [{INPUT_NAME: calibration[i : i + 64]} for i in range(0, len(calibration), 64)]
            )

        def get_next(self):
            return next(self.batches, None)

    with tempfile.TemporaryDirectory() as tmp:
        src, pre, dst = (Path(tmp) / n for n in ("f32.onnx", "pre.onnx", "int8.onnx"))
        src.write_bytes(float_bytes)
        quant_pre_process(str(src), str(pre), skip_symbolic_shape=True)
        quantize_static(
            str(pre),
            str(dst),
            Reader(),
            quant_format=QuantFormat.QDQ,
            activation_type=QuantType.QUInt8,  # U8S8: the fast path of x86 CPUs
            weight_type=QuantType.QInt8,
            per_channel=True,
            reduce_range=True,  # 7-bit weights: no saturation on CPUs without VNNI
        )
        return dst.read_bytes()


def convert_fp16(float_proto: onnx.ModelProto) -> bytes:
    from onnxruntime.transformers.float16 import convert_float_to_float16

    half = convert_float_to_float16(float_proto, keep_io_types=True)
    return half.SerializeToString()


def variant_path(out: Path, precision: str) -> Path:
    return out if precision == "float32" else out.with_name(f"{out.stem}.{precision}{out.suffix}")


def card_path(model_path: Path) -> Path:
    return model_path.with_suffix(".card.json")


def verify_variant(data: bytes, reference, x, y, precision: str) -> dict:
    """Accuracy and argmax agreement of a reduced-precision variant against PyTorch."""
    provider = "cuda" if precision == "float16" else "cpu"
    try:
        session = create_session(data, provider)[0]
        note = f"verified on ONNX Runtime {provider}"
    except ProviderError:
        session = open_session(data, "cpu")
        provider = "cpu"
        note = (
            "float16 arithmetic NOT verified: no CUDA provider here; ONNX Runtime's CPU provider "
            "ran it with float32 casts, which checks the float16 weights only"
        )
    report = parity_report(reference, ort_log_probs(session, x), y)
    report.update(provider=provider, note=note)
    problem = accuracy_drop_problem(report, precision)
    if problem:
        raise ExportError(f"{problem}; nothing was written")
    return report


def export(opts: ExportOptions) -> list[dict]:
    """Export, verify and write the model (and the variants asked for); return their cards."""
    log = opts.log
    check_opset(opts.opset, opts.exporter)
    state = load_checkpoint(opts.checkpoint)
    model = model_from_checkpoint(state, opts.checkpoint)
    broken = [k for k, v in model.state_dict().items() if not torch.isfinite(v).all()]
    if broken:
        raise ExportError(
            f"{opts.checkpoint} holds NaN or infinite weights ({', '.join(broken)}): "
            "the training diverged; nothing was written"
        )
    check_writable(opts.out)

    proto = to_onnx(model, opts.opset, opts.exporter)
    meta = contract_metadata(state, opts.checkpoint, opts.opset, opts.exporter)
    set_metadata(proto, meta)
    try:
        onnx.checker.check_model(proto, full_check=True)
    except Exception as exc:
        raise ExportError(f"onnx.checker rejected the exported model: {first_line(exc)}") from exc
    float_bytes = proto.SerializeToString()
    log(f"exported opset {opts.opset} with the {opts.exporter} exporter; checker passed")

    ensure_mnist(opts.data_dir, log=log)
    images, labels = load_split(opts.data_dir, train=False)
    norm = state["normalization"]
    x, y = normalize(images, norm["mean"], norm["std"]), labels.numpy()
    reference = torch_log_probs(model, x)
    x = x.numpy()

    session = open_session(float_bytes)
    try:
        batches = check_batches(session)
    except ValueError as exc:
        raise ExportError(str(exc)) from None
    parity = parity_report(reference, ort_log_probs(session, x), y)
    log(
        f"parity on {parity['images']} test images: max |diff| {parity['max_abs_diff']:.2e}, "
        f"argmax agreement {parity['argmax_agreement']:.2%}, accuracy torch "
        f"{parity['accuracy_torch']:.2%} / onnx {parity['accuracy_onnx']:.2%}"
    )
    problem = parity_problem(parity)
    if problem:
        raise ExportError(f"{problem}; nothing was written")
    parity.update(provider="cpu", dynamic_batches_run=batches, tolerance=MAX_TOLERANCE)
    files = {"float32": (float_bytes, parity)}

    if opts.int8:
        train_images, _ = load_split(opts.data_dir, train=True)
        pick = torch.randperm(len(train_images), generator=torch.Generator().manual_seed(0))
        chosen = train_images[pick[:CALIBRATION_IMAGES]]
        calibration = normalize(chosen, norm["mean"], norm["std"]).numpy()
        files["int8"] = _variant(quantize_int8(float_bytes, calibration), meta, "int8")
    if opts.fp16:
        files["float16"] = _variant(convert_fp16(proto), meta, "float16")
    for precision, (data, _) in list(files.items()):
        if precision != "float32":
            report = verify_variant(data, reference, x, y, precision)
            files[precision] = (data, report)
            log(
                f"{precision}: accuracy {report['accuracy_onnx']:.2%} (torch "
                f"{report['accuracy_torch']:.2%}), argmax agreement "
                f"{report['argmax_agreement']:.2%} on {report['provider']}"
            )

    cards = []
    for precision, (data, report) in files.items():
        path = variant_path(opts.out, precision)
        variant_meta = {**meta, "precision": precision}
        card = model_card(path, data, variant_meta, report, state, opts)
        atomic_write(path, lambda f, data=data: f.write(data))
        atomic_write(
            card_path(path),
            lambda f, c=card: f.write(json.dumps(c, indent=2, allow_nan=False).encode()),
        )
        log(f"wrote {path} ({len(data) / 1e6:.2f} MB) and {card_path(path).name}")
        cards.append(card)
    return cards


def _variant(data: bytes, meta: dict[str, str], precision: str) -> tuple[bytes, None]:
    proto = onnx.load_from_string(data)
    set_metadata(proto, {**meta, "precision": precision})
    return proto.SerializeToString(), None


def check_writable(path: Path) -> None:
    problem = unwritable(path)
    if problem:
        raise ExportError(f"cannot write {path}: {problem}")


def model_card(path: Path, data: bytes, meta: dict, report: dict, state: dict, opts) -> dict:
    import onnxruntime
    import onnxscript

    config = state["config"]
    flags = [
        f"--{key.replace('_', '-')}" + ("" if value is True else f" {value}")
        for key, value in config.items()
        if value not in (None, False)
    ]
    train_cmd = " ".join(["mnist-train", *flags])
    return {
        "model": path.name,
        "precision": meta["precision"],
        "size_bytes": len(data),
        "sha256": sha256_bytes(data),
        "opset": opts.opset,
        "exporter": opts.exporter,
        "input": {"name": INPUT_NAME, "dtype": "float32", "shape": ["batch", 1, 28, 28]},
        "output": {"name": OUTPUT_NAME, "dtype": "float32", "shape": ["batch", 10]},
        "metadata": meta,
        "verification": report,
        "source_checkpoint": {
            "file": Path(opts.checkpoint).name,
            "size_bytes": Path(opts.checkpoint).stat().st_size,
            "sha256": meta["source_checkpoint_sha256"],
            "epoch": int(state["epoch"]),
            "test_accuracy": state["metrics"].get("test_accuracy"),
            "train_seconds": _number(state["metrics"].get("train_seconds")),
            "device": str(state["metrics"].get("device", "unknown")),
        },
        "versions": {
            "python": sys.version.split()[0],
            "torch": torch.__version__,
            "onnx": onnx.__version__,
            "onnxscript": onnxscript.__version__,
            "onnxruntime": onnxruntime.__version__,
            "mnist-digit": runtime.__version__,
            "trained_with_torch": str(state["versions"].get("torch", "unknown")),
        },
        "commands": [train_cmd, opts.command or f"mnist-export --opset {opts.opset}"],
    }


def _number(value) -> float | None:
    ok = isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
    return float(value) if ok else None
