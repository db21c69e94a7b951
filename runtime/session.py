"""ONNX Runtime sessions on the provider that was asked for, and the model's contract.

A provider that was asked for but does not run the session is an error, never a silent CPU
fallback: `get_available_providers()` lists what was compiled in, `session.get_providers()`
what actually runs, and only the latter is trusted.
"""

from __future__ import annotations

import contextlib
import importlib.util
import io
import json
import math
import os
import warnings
from dataclasses import dataclass, field
from pathlib import Path

from runtime.errors import first_line

PROVIDERS = {
    "cpu": "CPUExecutionProvider",
    "cuda": "CUDAExecutionProvider",
    "tensorrt": "TensorrtExecutionProvider",
}
AUTO_ORDER = ("cuda", "cpu")
# TF32 is on by default in ONNX Runtime's CUDA provider: on an H200 it moved log-probabilities by
# up to 8e-3; off, CUDA matches PyTorch within float32 rounding (batch 1024: 0.22 -> 0.26 ms)
CUDA_DEFAULTS = {"use_tf32": "0"}  # TensorRT only on request: building its engine takes a while
ORT_DISTRIBUTIONS = ("onnxruntime", "onnxruntime-gpu")

INPUT_NAME, OUTPUT_NAME = "input", "log_probs"
CONTRACT = (
    f"input '{INPUT_NAME}' float32 [batch, 1, 28, 28] -> output '{OUTPUT_NAME}' float32 "
    "[batch, 10], with mean/std metadata (as written by mnist-export)"
)


class RuntimeSetupError(Exception):
    """ONNX Runtime is missing or unusable; the message says what to install."""


class ProviderError(Exception):
    """The provider asked for cannot run the session."""


class ModelError(Exception):
    """The model file is missing, unreadable or does not follow the Digit contract."""


def installed_ort() -> list[tuple[str, str]]:
    """The ONNX Runtime distributions installed, as (name, version).

    Read from the *.dist-info folders beside the onnxruntime package: importlib.metadata would
    add 25 ms to every start of mnist-infer.
    """
    spec = importlib.util.find_spec("onnxruntime")
    if spec is None or not spec.submodule_search_locations:
        return []
    site = Path(next(iter(spec.submodule_search_locations))).parent
    found = []
    for name in ORT_DISTRIBUTIONS:
        for info in sorted(site.glob(f"{name.replace('-', '_')}-*.dist-info")):
            found.append((name, info.name[len(name) + 1 : -len(".dist-info")]))
    return found


def import_ort():
    try:
        import onnxruntime as ort
    except ImportError as exc:
        raise RuntimeSetupError(
            "ONNX Runtime is not installed: pip install onnxruntime (CPU) "
            "or pip install 'onnxruntime-gpu[cuda,cudnn]' (NVIDIA GPU)"
        ) from exc
    if len(installed_ort()) > 1:
        warnings.warn(
            "both onnxruntime and onnxruntime-gpu are installed and overwrite each other's "
            "files; uninstall both and reinstall only the one you want",
            RuntimeWarning,
            stacklevel=2,
        )
    return ort


def describe_ort() -> str:
    ort = import_ort()
    packages = ", ".join(f"{n} {v}" for n, v in installed_ort()) or f"onnxruntime {ort.__version__}"
    return f"{packages} (available providers: {', '.join(ort.get_available_providers())})"


@dataclass
class SessionConfig:
    """How a session runs; the defaults are the ones benchmarks/latency.py found fastest here."""

    threads: int | None = None  # intra-op threads; None lets ONNX Runtime use the physical cores
    spinning: bool = True  # threads busy-wait briefly after a run: ~1.5x faster at batch 1 here
    provider_options: dict = field(default_factory=dict)

    def session_options(self, ort):
        so = ort.SessionOptions()
        so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        so.inter_op_num_threads = 1
        if self.threads:
            so.intra_op_num_threads = self.threads
        spin = "1" if self.spinning else "0"
        so.add_session_config_entry("session.intra_op.allow_spinning", spin)
        so.log_severity_level = 3
        return so


def create_session(
    model: str | os.PathLike | bytes, provider: str = "auto", config: SessionConfig | None = None
):
    """An InferenceSession on `provider` (auto|cpu|cuda|tensorrt) and the provider's short name."""
    ort = import_ort()
    config = config or SessionConfig()
    if provider == "auto":
        available = ort.get_available_providers()
        for name in AUTO_ORDER:
            if PROVIDERS[name] not in available:
                continue
            try:
                return _session_on(ort, model, name, config), name
            except ProviderError:
                continue
        raise ProviderError(f"no provider could run the model; installed: {describe_ort()}")
    if provider not in PROVIDERS:
        raise ProviderError(f"unknown provider {provider!r}: use auto, {', '.join(PROVIDERS)}")
    return _session_on(ort, model, provider, config), provider


def _session_on(ort, model, name: str, config: SessionConfig):
    wanted = PROVIDERS[name]
    if wanted not in ort.get_available_providers():
        raise ProviderError(
            f"provider {name} is not in this ONNX Runtime build: {describe_ort()}"
            + (f"; for {name} install onnxruntime-gpu" if name != "cpu" else "")
        )
    if name != "cpu" and hasattr(ort, "preload_dlls"):
        # CUDA and cuDNN from pip's nvidia-* wheels, where installed; it prints what it misses,
        # which must not reach a --json stdout: a missing library shows as the provider failing.
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
            try:
                ort.preload_dlls()
            except Exception:
                pass
    options = dict(config.provider_options)
    if name == "cuda":
        options = {**CUDA_DEFAULTS, **options}
    providers = [(wanted, options)] if name != "cpu" else []
    providers.append("CPUExecutionProvider")
    if name != "cpu":  # a provider failing to load logs screenfuls; our error says it in a line
        ort.set_default_logger_severity(4)
    try:
        session = ort.InferenceSession(
            model if isinstance(model, bytes) else str(model),
            sess_options=config.session_options(ort),
            providers=providers,
        )
    except Exception as exc:
        raise ModelError(f"ONNX Runtime cannot load the model: {first_line(exc)}") from exc
    finally:
        ort.set_default_logger_severity(2)
    if session.get_providers()[0] != wanted:
        raise ProviderError(
            f"provider {name} was asked for but does not run the session (no usable GPU, or the "
            "CUDA and cuDNN libraries are missing: pip install 'onnxruntime-gpu[cuda,cudnn]'): "
            f"{describe_ort()}"
        )
    return session


@dataclass(frozen=True)
class ModelInfo:
    """What the model file says about how to feed it (its `metadata_props`)."""

    path: str
    mean: float
    std: float
    input_size: tuple[int, int]
    labels: tuple[str, ...]
    metadata: dict


DIGITS = tuple(str(d) for d in range(10))
POLARITY = "white-on-black"  # light digits on a dark field, as MNIST


def read_contract(session, path: str | os.PathLike = "model") -> ModelInfo:
    """Check the session's inputs and outputs against the Digit contract; read its metadata.

    The field size, mean, std and labels come from the file's metadata; the input must be
    [batch, 1, height, width] of that size and the output one column per label.
    """
    meta = dict(session.get_modelmeta().custom_metadata_map)
    missing = [k for k in ("mean", "std") if k not in meta]
    if missing:
        raise _not_digit(path, f"metadata lacks {', '.join(missing)}")
    try:
        size = tuple(int(v) for v in meta.get("input_size", "28,28").split(","))
        labels = tuple(str(v) for v in json.loads(meta.get("labels", json.dumps(DIGITS))))
        mean, std = float(meta["mean"]), float(meta["std"])
    except (ValueError, TypeError) as exc:
        raise ModelError(
            f"{path} has malformed metadata ({first_line(exc)}); expected {CONTRACT}"
        ) from exc
    if len(size) != 2 or min(size) < 1:
        raise ModelError(f"{path} has malformed metadata (input_size {meta['input_size']!r})")
    if not math.isfinite(mean) or not math.isfinite(std) or std <= 1e-6:
        raise ModelError(
            f"{path} has impossible normalisation in its metadata (mean {mean!r}, std {std!r}):"
            " the mean must be finite and the std positive"
        )
    if sorted(labels) != list(DIGITS):
        raise ModelError(f"{path} has labels {list(labels)}: a Digit model reads the ten digits")
    polarity = meta.get("polarity", POLARITY)
    if polarity != POLARITY:
        raise ModelError(f"{path} has polarity {polarity!r}: this runtime feeds {POLARITY} digits")

    inputs, outputs = session.get_inputs(), session.get_outputs()
    problems = []
    if len(inputs) != 1 or inputs[0].name != INPUT_NAME:
        problems.append(f"inputs are {[i.name for i in inputs]}")
    elif inputs[0].type != "tensor(float)" or list(inputs[0].shape[1:]) != [1, *size]:
        problems.append(f"input is {inputs[0].type} {inputs[0].shape}")
    if len(outputs) != 1 or outputs[0].name != OUTPUT_NAME:
        problems.append(f"outputs are {[o.name for o in outputs]}")
    elif outputs[0].type != "tensor(float)" or list(outputs[0].shape[1:]) != [len(labels)]:
        problems.append(f"output is {outputs[0].type} {outputs[0].shape}")
    if problems:
        raise _not_digit(path, "; ".join(problems))
    return ModelInfo(
        path=str(path),
        mean=mean,
        std=std,
        input_size=(size[0], size[1]),
        labels=labels,
        metadata=meta,
    )


def _not_digit(path, problems: str) -> ModelError:
    return ModelError(f"{path} is not a Digit model ({problems}); expected {CONTRACT}")


def default_model_path() -> Path:
    """The model shipped with the package (a wheel) or in the checkout's exported/ folder."""
    here = Path(__file__).resolve().parent
    wheel, checkout = here / "exported" / "digit.onnx", here.parent / "exported" / "digit.onnx"
    return wheel if wheel.is_file() else checkout


def load_model(
    model: str | os.PathLike | None = None,
    provider: str = "auto",
    config: SessionConfig | None = None,
):
    """Open `model` (default: the shipped one): the session, its provider and its ModelInfo."""
    path = Path(model) if model is not None else default_model_path()
    if not path.is_file():
        raise ModelError(f"model not found: {path}")
    session, used = create_session(path, provider, config)
    return session, used, read_contract(session, path)
