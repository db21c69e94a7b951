"""What a reading gives back: one digit (Prediction), or a number (NumberResult) of digits."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


def json_record(result, fields: dict) -> dict:
    """One line of `mnist-infer --json`: the path and the reading's fields, or the error."""
    if result.error is not None:
        return {"path": result.path, "error": result.error}
    record = {"path": result.path, **fields, "provider": result.provider, "mode": result.mode}
    if not result.found:
        record["note"] = "no digit found"
    elif result.low_confidence:
        record["low_confidence"] = True
    return record


@dataclass
class Prediction:
    """One image's reading. `digit` is None when no digit was found or the image failed."""

    digit: int | None
    confidence: float | None
    probabilities: np.ndarray | None  # the ten softmax probabilities, index = digit
    provider: str
    mode: str
    path: str | None = None
    error: str | None = None  # why the image could not be read
    low_confidence: bool = False
    model_input: np.ndarray | None = field(default=None, repr=False)  # (28, 28), normalised
    internal: bool = False  # the error is a fault of this tool, not of the input

    @property
    def found(self) -> bool:
        return self.digit is not None

    def top(self, k: int) -> list[tuple[int, float]]:
        """The k likeliest digits with their probabilities, likeliest first."""
        if self.probabilities is None:
            return []
        order = np.argsort(-self.probabilities, kind="stable")[:k]
        return [(int(d), float(self.probabilities[d])) for d in order]

    def to_json(self) -> dict:
        probabilities = None if self.probabilities is None else self.probabilities.tolist()
        fields = {
            "digit": self.digit,
            "confidence": self.confidence,
            "probabilities": probabilities,
        }
        return json_record(self, fields)


@dataclass
class DigitReading:
    digit: int
    confidence: float
    box: list[int]  # x0, y0, x1, y1 in the original picture's pixels, after EXIF orientation
    probabilities: np.ndarray = field(repr=False)
    model_input: np.ndarray | None = field(default=None, repr=False)


@dataclass
class NumberResult:
    """A picture read as a number: its digits left to right."""

    text: str
    digits: list[DigitReading]
    confidence: float | None  # the weakest digit's
    provider: str
    mode: str = "auto"
    path: str | None = None
    error: str | None = None
    low_confidence: bool = False
    internal: bool = False

    @property
    def found(self) -> bool:
        return bool(self.digits)

    def to_json(self) -> dict:
        digits = [{"digit": d.digit, "confidence": d.confidence, "box": d.box} for d in self.digits]
        fields = {"text": self.text, "digits": digits, "confidence": self.confidence}
        return json_record(self, fields)
