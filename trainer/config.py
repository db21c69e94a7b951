"""What a training run is asked to do: light enough for the CLIs to import without torch."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

DEFAULT_CHECKPOINT = Path("runs/digit.pth")
DEFAULT_ONNX = Path("exported/digit.onnx")


@dataclass
class TrainConfig:
    epochs: int = 5
    batch_size: int = 128
    lr: float = 3e-3  # peak of the one-cycle schedule
    seed: int = 1
    augment: bool = False  # light random affine on the training batches
    limit: int | None = None  # train on the first N samples only (smoke runs)
