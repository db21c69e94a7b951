"""The public API: `Predictor(model=None, provider="auto", mode="auto").predict(x)`."""

from __future__ import annotations

import os
from dataclasses import dataclass, field

import numpy as np

from runtime.preprocess import MODES, ImageError, ModelInput, NoDigitError, preprocess
from runtime.session import INPUT_NAME, SessionConfig, load_model


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

    @property
    def found(self) -> bool:
        return self.digit is not None

    def top(self, k: int) -> list[tuple[int, float]]:
        if self.probabilities is None:
            return []
        order = np.argsort(self.probabilities)[::-1][:k]
        return [(int(d), float(self.probabilities[d])) for d in order]

    def to_json(self) -> dict:
        if self.error is not None:
            return {"path": self.path, "error": self.error}
        record = {
            "path": self.path,
            "digit": self.digit,
            "confidence": self.confidence,
            "probabilities": None if self.probabilities is None else self.probabilities.tolist(),
            "provider": self.provider,
            "mode": self.mode,
        }
        if not self.found:
            record["note"] = "no digit found"
        elif self.low_confidence:
            record["low_confidence"] = True
        return record


class Predictor:
    """Reads digits from images with the Digit ONNX model; torch is never imported.

    model: path of an ONNX file (default: the model shipped in exported/).
    provider: auto | cpu | cuda | tensorrt; one asked for that cannot run is an error.
    mode: auto (any photo, scan or drawing) or plain (the seed's resize-and-normalise).
    """

    def __init__(
        self,
        model: str | os.PathLike | None = None,
        provider: str = "auto",
        mode: str = "auto",
        threads: int | None = None,
        min_confidence: float = 0.5,
    ):
        if mode not in MODES:
            raise ValueError(f"unknown mode {mode!r}: use {' or '.join(MODES)}")
        self.session, self.provider, self.info = load_model(
            model, provider, SessionConfig(threads=threads)
        )
        self.mode = mode
        self.min_confidence = min_confidence
        self.input = ModelInput(self.info.mean, self.info.std, self.info.input_size)
        self.digit_of_column = np.array([int(label) for label in self.info.labels])

    def predict(self, image) -> Prediction:
        """One image (a path, a Pillow image or a NumPy array); raises ImageError if unreadable."""
        result = self.predict_batch([image])[0]
        if result.error is not None:
            raise ImageError(result.error)
        return result

    def predict_batch(self, images, batch_size: int = 64) -> list[Prediction]:
        """Many images through one session; an unreadable one gets `error`, the rest go on."""
        images = list(images)
        results: list[Prediction | None] = [None] * len(images)
        ready: list[tuple[int, np.ndarray]] = []
        for i, image in enumerate(images):
            path = _path_of(image)
            try:
                ready.append((i, preprocess(image, self.mode, self.input)))
            except NoDigitError:
                results[i] = Prediction(None, None, None, self.provider, self.mode, path)
            except ImageError as exc:
                results[i] = self.failure(path, str(exc))
        for start in range(0, len(ready), batch_size):
            chunk = ready[start : start + batch_size]
            batch = np.stack([x for _, x in chunk]).astype(np.float32, copy=False)
            log_probs = self.session.run(None, {INPUT_NAME: batch})[0]
            for (i, x), row in zip(chunk, log_probs, strict=True):
                results[i] = self._reading(_path_of(images[i]), x[0], row)
        return results  # type: ignore[return-value]

    def _reading(
        self, path: str | None, model_input: np.ndarray, log_probs: np.ndarray
    ) -> Prediction:
        by_column = np.exp(log_probs.astype(np.float64))
        probs = np.empty_like(by_column)
        probs[self.digit_of_column] = by_column / by_column.sum()  # index = digit, per `labels`
        digit = int(probs.argmax())
        confidence = float(probs[digit])
        return Prediction(
            digit=digit,
            confidence=confidence,
            probabilities=probs,
            provider=self.provider,
            mode=self.mode,
            path=path,
            low_confidence=confidence < self.min_confidence,
            model_input=model_input,
        )

    def failure(self, path: str | None, message: str) -> Prediction:
        """The result for an input that could not be read."""
        return Prediction(None, None, None, self.provider, self.mode, path, error=message)


def _path_of(image) -> str | None:
    return str(image) if isinstance(image, str | os.PathLike) else None
