"""Saving and loading `.pth` checkpoints: atomically, and with one-line errors for bad files."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import torch

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
    return state


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
