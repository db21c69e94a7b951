"""What a training run is asked to do: light enough for the CLIs to import without torch."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

DEFAULT_CHECKPOINT = Path("runs/digit.pth")
AUGMENTATIONS = ("affine", "elastic", "width", "lowres", "contrast")  # trainer/augment.py
DEFAULT_ONNX = Path("exported/digit.onnx")


@dataclass
class TrainConfig:
    epochs: int = 5
    batch_size: int = 128
    lr: float = 3e-3  # peak of the one-cycle schedule
    seed: int = 1
    augment: str = "none"  # comma-separated names from trainer/augment.py, or none

    def __post_init__(self):
        if isinstance(self.augment, bool):  # checkpoints from before named augmentations
            self.augment = "affine" if self.augment else "none"

    limit: int | None = None  # train on the first N samples only (smoke runs)


def parse_augment(names: str | bool | None) -> tuple[str, ...]:
    """'affine,width' -> ('affine', 'width') in canonical order; 'none' or '' -> ()."""
    if names is True:
        return ("affine",)
    if not names or names == "none":
        return ()
    chosen = [n.strip() for n in str(names).split(",") if n.strip()]
    unknown = [n for n in chosen if n not in AUGMENTATIONS]
    if unknown:
        raise ValueError(
            f"unknown augmentation {', '.join(unknown)}: use {', '.join(AUGMENTATIONS)} or none"
        )
    return tuple(n for n in AUGMENTATIONS if n in chosen)
