"""What a training run is asked to do: light enough for the CLIs to import without torch."""

from __future__ import annotations

import math
from dataclasses import dataclass, fields
from pathlib import Path

DEFAULT_CHECKPOINT = Path("runs/digit.pth")
DEFAULT_ONNX = Path("exported/digit.onnx")
AUGMENTATIONS = ("styles", "affine", "elastic", "width", "lowres", "contrast")  # trainer/augment.py
MAX_SEED = 2**63 - 1


RECIPE = "styles,affine,elastic,width,lowres,contrast"  # the shipped model's augmentations
OUTLIERS = 0.25  # the shipped weight of the loss on non-digits (trainer/outliers.py)


@dataclass
class TrainConfig:
    epochs: int = 15
    batch_size: int = 128
    lr: float = 3e-3  # peak of the one-cycle schedule
    seed: int = 1
    augment: str = RECIPE  # comma-separated names from trainer/augment.py, or none
    limit: int | None = None  # train on the first N samples only (smoke runs)
    outliers: float = OUTLIERS  # weight of the loss on pictures that are not one digit (0: none)

    def __post_init__(self):
        """Refuse what cannot train, with a one-line ValueError that names the field."""
        if isinstance(self.augment, bool):  # checkpoints from before named augmentations
            self.augment = "affine" if self.augment else "none"
        for name in ("epochs", "batch_size"):
            _whole(name, getattr(self, name), 1)
        if self.limit is not None:
            _whole("limit", self.limit, 1)
        _whole("seed", self.seed, 0, MAX_SEED)
        lr = self.lr
        if (
            isinstance(lr, bool)
            or not isinstance(lr, int | float)
            or not math.isfinite(lr)
            or lr <= 0
        ):
            raise ValueError(f"lr must be a finite number above 0, not {lr!r}")
        out = self.outliers
        if (
            isinstance(out, bool)
            or not isinstance(out, int | float)
            or not math.isfinite(out)
            or out < 0
        ):
            raise ValueError(f"outliers must be a finite number of at least 0, not {out!r}")
        self.outliers = float(out)
        if not isinstance(self.augment, str):
            raise ValueError(f"augment must be names of augmentations, not {self.augment!r}")
        self.augment = ",".join(parse_augment(self.augment)) or "none"

    @classmethod
    def from_dict(cls, stored) -> TrainConfig:
        """A config as a checkpoint stores it; ValueError if it is not one."""
        if not isinstance(stored, dict):
            raise ValueError(f"config must be a mapping, not {type(stored).__name__}")
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(map(str, stored)) - known)
        if unknown:
            raise ValueError(f"config has unknown fields {unknown}")
        # checkpoints from before outlier exposure trained without it
        return cls(**{"outliers": 0.0, **stored})


def _whole(name: str, value, low: int, high: int | None = None) -> None:
    ok = isinstance(value, int) and not isinstance(value, bool) and value >= low
    if not ok or (high is not None and value > high):
        bound = f"from {low} to {high}" if high is not None else f"of at least {low}"
        raise ValueError(f"{name} must be a whole number {bound}, not {value!r}")


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
