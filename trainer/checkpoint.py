"""Saving and loading `.pth` checkpoints: atomically, and with one-line errors for bad files."""

from __future__ import annotations

import math
import os
import tempfile
from dataclasses import asdict
from pathlib import Path

import torch

from runtime.errors import first_line
from trainer.config import TrainConfig
from trainer.data import MEAN, STD
from trainer.model import Digit

REQUIRED_KEYS = ("epoch", "model_state_dict", "config")


class CheckpointError(Exception):
    """A checkpoint that cannot be used; the message is one line."""


def atomic_write(path: Path, write) -> None:
    """Call `write(file)` on a temporary file beside `path`, fsync it, then rename it over `path`.

    An interrupted or failed write leaves `path` as it was and no temporary file behind.
    """
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    except OSError as exc:
        raise CheckpointError(f"cannot write {path}: {exc.strerror}") from exc
    try:
        os.chmod(tmp, 0o666 & ~_umask())
        with os.fdopen(fd, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def unwritable(path: Path) -> str | None:
    """Why a file cannot be written at `path`, or None; nothing is created to find out."""
    path = Path(path)
    if path.is_dir():
        return "it is a folder"
    folder = path.parent
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent
    if not folder.is_dir():
        return f"{folder} is a file, not a folder"
    if not os.access(folder, os.W_OK | os.X_OK):
        return f"{folder} is not writable"
    if path.exists() and not os.access(path, os.W_OK):
        return "the file is not writable"
    return None


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def save_checkpoint(state: dict, path: Path) -> None:
    atomic_write(path, lambda f: torch.save(state, f))


def load_checkpoint(path: Path) -> dict:
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"checkpoint not found: {path}")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:
        raise CheckpointError(
            f"{path} is not a readable PyTorch checkpoint (truncated or foreign file?)"
        ) from exc
    if not isinstance(state, dict) or any(k not in state for k in REQUIRED_KEYS):
        raise CheckpointError(f"{path} is not a Digit checkpoint made by mnist-train")
    return checked(state, path)


def checked(state: dict, path: Path | str = "checkpoint") -> dict:
    """The checkpoint with its fields checked, and the optional ones filled with defaults.

    A field of the wrong type or with an impossible value is a one-line CheckpointError that
    names it, before anything is trained or written.
    """
    epoch = state["epoch"]
    if isinstance(epoch, bool) or not isinstance(epoch, int) or epoch < 0:
        raise CheckpointError(f"{path} has a malformed epoch ({epoch!r}): not a whole number")
    try:
        config = TrainConfig.from_dict(state["config"])
    except (ValueError, TypeError) as exc:
        raise CheckpointError(f"{path} has a malformed config: {first_line(exc)}") from exc
    norm = state.get("normalization")
    norm = {"mean": MEAN, "std": STD} if norm is None else norm
    mean = norm.get("mean") if isinstance(norm, dict) else None
    std = norm.get("std") if isinstance(norm, dict) else None
    if not (_finite(mean) and _finite(std) and std > 0):
        raise CheckpointError(
            f"{path} has malformed normalization ({norm!r}): mean must be finite, std above 0"
        )
    metrics = state.get("metrics") or {}
    if not isinstance(metrics, dict):
        raise CheckpointError(f"{path} has malformed metrics ({type(metrics).__name__})")
    accuracy = metrics.get("test_accuracy")
    if accuracy is not None and not (_finite(accuracy) and 0 <= accuracy <= 1):
        raise CheckpointError(f"{path} has a malformed test_accuracy ({accuracy!r})")
    versions = state.get("versions") or {}
    return {
        **state,
        "config": asdict(config),
        "normalization": {"mean": float(mean), "std": float(std)},
        "metrics": metrics,
        "versions": versions if isinstance(versions, dict) else {},
    }


def _finite(value) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def model_from_checkpoint(state: dict, path: Path | str = "checkpoint") -> Digit:
    model = Digit()
    try:
        model.load_state_dict(state["model_state_dict"])
    except (RuntimeError, TypeError, AttributeError) as exc:
        first = str(exc).strip().splitlines()
        detail = first[1].strip() if len(first) > 1 else (first[0] if first else "")
        raise CheckpointError(
            f"{path} holds another architecture, not Digit: {detail.rstrip('.')}"
        ) from exc
    return model.eval()
