"""Ray Data: the same readings as `mnist-infer --json`, on a cluster (the `ray` extra).

    from runtime.distributed import predict_dataset
    ds = ray.data.read_binary_files("s3://bucket/scans/", include_paths=True)
    predictions = predict_dataset(ds)          # a Dataset: path, record (the --json object)

Each worker holds one Predictor (one ONNX Runtime session), made once by a callable class that
`map_batches` keeps alive; images travel as bytes. The model is the one shipped with the package
unless a path readable on every node is given.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator

import numpy as np

from runtime.predict import Predictor
from runtime.results import DigitReading, NumberResult, Prediction


class RayError(Exception):
    """Ray is missing, or the cluster cannot be reached; the message is one line."""


class Reader:
    """map_batches' callable: one Predictor per worker, a batch of image bytes in, records out."""

    def __init__(self, model=None, provider="cpu", mode="auto", min_confidence=0.5, multi=False):
        self.predictor = Predictor(model, provider, mode, min_confidence=min_confidence)
        self.multi = multi

    def __call__(self, batch: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        images = [bytes(b) for b in batch["bytes"]]
        paths = [str(p) for p in batch["path"]] if "path" in batch else [None] * len(images)
        if self.multi:
            results = self.predictor.read_numbers(images)
        else:
            results = self.predictor.predict_batch(images)
        records = []
        for path, result in zip(paths, results, strict=True):
            result.path = path
            records.append(json.dumps(result.to_json(), allow_nan=False))
        return {"path": np.array(paths, dtype=object), "record": np.array(records, dtype=object)}


def predict_dataset(ds, model=None, provider="cpu", mode="auto", min_confidence=0.5,
                    multi=False, batch_size=64, concurrency=None):  # fmt: skip
    """A Ray Dataset of images (column `bytes`, and `path` if known; or `path` alone, read on
    the workers) -> a Dataset of `path` and `record`, the JSON of one `mnist-infer --json` line.
    """
    if "bytes" not in ds.schema().names:
        ds = ds.map(_read_file)
    return ds.map_batches(
        Reader,
        fn_constructor_kwargs={"model": None if model is None else str(model), "provider": provider,
                               "mode": mode, "min_confidence": min_confidence, "multi": multi},
        batch_size=batch_size,
        batch_format="numpy",
        concurrency=concurrency,
    )  # fmt: skip


def _read_file(row: dict) -> dict:
    with open(row["path"], "rb") as f:
        return {"path": row["path"], "bytes": f.read()}


def read_on_ray(paths: list[str], options, predictor: Predictor) -> Iterator:
    """mnist-infer --ray: the images read on Ray, results in input order."""
    try:
        import ray
    except ImportError:
        raise RayError("Ray is not installed: pip install 'mnist-digit[ray]'") from None
    address = None if options.ray == "local" else options.ray
    for name in ("ray", "ray.data"):  # its progress and status lines would mix with ours
        logging.getLogger(name).setLevel(logging.ERROR)
    try:
        ray.init(address=address, ignore_reinit_error=True, include_dashboard=False,
                 log_to_driver=False, configure_logging=False)  # fmt: skip
    except Exception as exc:
        raise RayError(f"cannot start or reach Ray at {options.ray}: {exc}") from exc
    ray.data.DataContext.get_current().execution_options.preserve_order = True
    ray.data.DataContext.get_current().enable_progress_bars = False
    if not paths:
        return iter(())
    ds = ray.data.from_items([{"path": p} for p in paths])
    out = predict_dataset(ds, predictor.info.path, predictor.provider, predictor.mode,
                          predictor.min_confidence, options.multi, options.batch_size)  # fmt: skip
    return (from_record(json.loads(row["record"]), options.multi) for row in out.iter_rows())


def from_record(record: dict, multi: bool):
    """The Prediction (or NumberResult) that a --json record describes."""
    if multi:
        digits = [
            DigitReading(d["digit"], d["confidence"], d["box"], None)
            for d in record.get("digits", [])
        ]
        return NumberResult(record.get("text", ""), digits, record.get("confidence"),
                            record.get("provider", "cpu"), path=record.get("path"),
                            error=record.get("error"),
                            low_confidence=record.get("low_confidence", False))  # fmt: skip
    probabilities = record.get("probabilities")
    return Prediction(
        record.get("digit"), record.get("confidence"),
        None if probabilities is None else np.array(probabilities),
        record.get("provider", "cpu"), record.get("mode", "auto"), record.get("path"),
        error=record.get("error"), low_confidence=record.get("low_confidence", False),
    )  # fmt: skip
