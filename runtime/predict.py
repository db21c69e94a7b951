"""The public API: `Predictor(model=None, provider="auto", mode="auto").predict(x)`."""

from __future__ import annotations

import os
import sys
import threading
from collections import deque
from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from functools import partial

import numpy as np
from PIL import Image

from runtime import segment
from runtime.errors import first_line, warnings_on_one_line
from runtime.preprocess import (
    MODES,
    ImageError,
    ModelInput,
    NoDigitError,
    model_inputs,
    open_image,
    read_pages,
)
from runtime.results import DigitReading, NumberResult, Prediction
from runtime.session import INPUT_NAME, ModelError, SessionConfig, load_model

_now = threading.local()  # the image each thread is reading, to name it in warnings


def current_image() -> str | None:
    """The path of the image this thread is reading (for warnings about it), if any."""
    return getattr(_now, "path", None)


class Predictor:
    """Reads digits from images with the Digit ONNX model; torch is never imported.

    model: path of an ONNX file (default: the model shipped in exported/).
    provider: auto | cpu | cuda | tensorrt; one asked for that cannot run is an error.
    mode: auto (any photo, scan or drawing) or plain (the seed's resize-and-normalise).
    threads: ONNX Runtime's intra-op threads (None: its choice).
    min_confidence: readings under it are flagged `low_confidence`.
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
        if threads is not None:
            _check_count("threads", threads)
        if not isinstance(min_confidence, int | float) or not 0 <= min_confidence <= 1:
            raise ValueError(f"min_confidence must be a number from 0 to 1, not {min_confidence!r}")
        self.session, self.provider, self.info = load_model(
            model, provider, SessionConfig(threads=threads)
        )
        self.mode = mode
        self.min_confidence = float(min_confidence)
        self.input = ModelInput(self.info.mean, self.info.std, self.info.input_size)
        self.digit_of_column = np.array([int(label) for label in self.info.labels])
        batch = self.session.get_inputs()[0].shape[0]
        self.fixed_batch = batch if isinstance(batch, int) and batch > 0 else None

    def predict(self, image) -> Prediction:
        """One image (a path, a file's bytes, a Pillow image or a NumPy array); raises ImageError
        if it is unreadable."""
        result = self.predict_batch([image])[0]
        if result.error is not None:
            raise ImageError(result.error)
        return result

    def predict_batch(self, images: Iterable, batch_size: int = 64, jobs: int = 1) -> list:
        """Many images through one session; an unreadable one gets `error`, the rest go on."""
        return list(self.iter_predict(images, batch_size, jobs))

    def iter_predict(
        self, images: Iterable, batch_size: int = 64, jobs: int = 1
    ) -> Iterator[Prediction]:
        """Readings in input order, as each batch is done; `jobs` images are read at once."""
        _check_images(images)
        _check_count("batch_size", batch_size)
        _check_count("jobs", jobs)
        pending: list[tuple[str | None, np.ndarray | Prediction]] = []
        ready = 0
        for path, prepared in self._prepare_all(images, jobs):
            pending.append((path, prepared))
            ready += isinstance(prepared, np.ndarray)
            if ready == batch_size:
                yield from self._finish(pending)
                pending, ready = [], 0
        yield from self._finish(pending)

    def _prepare_all(self, images: Iterable, jobs: int):
        """(path, model input or finished result) per image, in input order; `jobs` processes
        read at once (processes, not threads: measured 1.3-3x faster, the GIL holds threads)."""
        if jobs == 1:
            yield from map(self.prepare, images)
            return
        task = partial(prepare_many, mode=self.mode, model=self.input, provider=self.provider)
        chunks = _chunks(images, CHUNK, CHUNK_BYTES)
        yield from _ordered(_process_pool(jobs), task, chunks, 4 * jobs, flatten=True)

    def _threaded(self, work, images: Iterable, jobs: int):
        """work(image) for each image, in input order, `jobs` threads at once."""
        if jobs == 1:
            yield from map(work, images)
            return
        pool = ThreadPoolExecutor(jobs, thread_name_prefix="mnist-read")
        yield from _ordered(pool, work, images, 4 * jobs)

    def prepare(self, image, mode: str | None = None) -> tuple[str | None, np.ndarray | Prediction]:
        """(path, model input (1, h, w)) of one image, or (path, its result) when there is
        nothing to run: no digit, or an error. Safe to call from several threads."""
        return prepare_image(image, mode or self.mode, self.input, self.provider)

    def _finish(self, pending) -> Iterator[Prediction]:
        arrays = [x for _, x in pending if isinstance(x, np.ndarray)]
        rows = iter(self.run(np.concatenate(arrays)[:, None]) if arrays else ())
        for path, prepared in pending:
            if isinstance(prepared, Prediction):
                yield prepared
            else:
                yield self.reading(path, *likelier(prepared, [next(rows) for _ in prepared]))

    def run(self, batch: np.ndarray) -> np.ndarray:
        """Log-probabilities (N, 10) of model inputs (N, 1, H, W); ModelError if the model fails.

        A model whose batch dimension is fixed is run in chunks of that size.
        """
        batch = np.ascontiguousarray(batch, dtype=np.float32)
        step = self.fixed_batch or len(batch)
        out = []
        for start in range(0, len(batch), step):
            chunk = batch[start : start + step]
            short = step - len(chunk) if self.fixed_batch else 0
            if short:
                chunk = np.concatenate([chunk, np.zeros((short, *chunk.shape[1:]), np.float32)])
            try:
                result = self.session.run(None, {INPUT_NAME: chunk})[0]
            except Exception as exc:
                raise ModelError(f"the model failed to run: {first_line(exc)}") from exc
            out.append(np.asarray(result)[: len(chunk) - short])
        log_probs = np.concatenate(out)
        if log_probs.shape != (len(batch), len(self.digit_of_column)):
            raise ModelError(f"the model returned shape {log_probs.shape} for {len(batch)} images")
        if not np.isfinite(log_probs).all():
            raise ModelError("the model returned NaN or infinite values: its weights are broken")
        return log_probs

    def reading(
        self, path: str | None, model_input: np.ndarray, log_probs, mode: str | None = None
    ) -> Prediction:
        """The Prediction for one model input (h, w) and the model's log-probabilities."""
        probs = self._probabilities(log_probs)
        digit = int(probs.argmax())
        confidence = float(probs[digit])
        return Prediction(
            digit=digit,
            confidence=confidence,
            probabilities=probs,
            provider=self.provider,
            mode=mode or self.mode,
            path=path,
            low_confidence=confidence < self.min_confidence,
            model_input=model_input,
        )

    def read_number(self, image) -> NumberResult:
        """Every digit of one picture, left to right (always with `auto`'s cleaning)."""
        result = self.read_numbers([image])[0]
        if result.error is not None:
            raise ImageError(result.error)
        return result

    def read_numbers(self, images: Iterable, jobs: int = 1) -> list[NumberResult]:
        """read_number for many pictures; an unreadable one gets `error`, the rest go on."""
        return list(self.iter_numbers(images, jobs))

    def iter_numbers(self, images: Iterable, jobs: int = 1) -> Iterator[NumberResult]:
        _check_images(images)
        _check_count("jobs", jobs)
        for path, found in self._threaded(self._segment, images, jobs):
            yield found if isinstance(found, NumberResult) else self._number(path, *found)

    def _segment(self, image):
        """The digits of one picture, framed, or its result when there is nothing to run."""

        def work():
            pages = read_pages(open_image(image, segment.WORK_SIDE), segment.WORK_SIDE)
            size = self.input.size
            options = [(page, segment.digits(page, self._classify, size)) for page in pages]
            options = [(page, found) for page, found in options if found]
            if not options:
                raise NoDigitError()
            page, found = options[0]
            if len(options) > 1:  # polarity unclear, or a thick digit taken for a sheet:
                # the reading whose weakest digit is surest
                page, found = max(options, key=lambda o: self._weakest(o[1]))
            if len(found) == 1:  # one digit: framed exactly as the single reading frames it
                try:
                    inputs = model_inputs(image, "auto", self.input)
                    x = (
                        inputs[0]
                        if len(inputs) == 1
                        else likelier(inputs, self.run(inputs[:, None]))[0]
                    )
                    found = [(found[0][0], x * self.input.std + self.input.mean)]
                except NoDigitError:
                    pass
            return page, found

        return _guarded(
            image,
            work,
            lambda path: NumberResult("", [], None, self.provider, path=path),
            lambda path, message, internal: NumberResult(
                "", [], None, self.provider, path=path, error=message, internal=internal
            ),
        )

    def _weakest(self, found: list) -> float:
        """The model's confidence in the weakest of these framed digits."""
        return float(self._classify(np.stack([framed for _, framed in found])).max(axis=1).min())

    def _classify(self, framed: np.ndarray) -> np.ndarray:
        """Framed digits (n, h, w) in [0, 1] -> probabilities (n, 10), index = digit."""
        x = np.stack([self.input.normalise(f) for f in framed])
        return np.stack([self._probabilities(row) for row in self.run(x)])

    def _probabilities(self, log_probs: np.ndarray) -> np.ndarray:
        by_column = np.exp(log_probs.astype(np.float64) - float(np.max(log_probs)))
        probs = np.empty_like(by_column)
        probs[self.digit_of_column] = by_column / by_column.sum()  # index = digit, per `labels`
        return probs

    def _number(self, path, page, found) -> NumberResult:
        inputs = np.stack([self.input.normalise(framed) for _, framed in found])
        readings = []
        for (candidate, _), x, log_probs in zip(found, inputs, self.run(inputs), strict=True):
            probs = self._probabilities(log_probs)
            digit = int(probs.argmax())
            box = segment.box_in_original(candidate, page)
            readings.append(DigitReading(digit, float(probs[digit]), box, probs, x[0]))
        weakest = min(r.confidence for r in readings)
        return NumberResult(
            text="".join(str(r.digit) for r in readings),
            digits=readings,
            confidence=weakest,
            provider=self.provider,
            path=path,
            low_confidence=weakest < self.min_confidence,
        )

    def failure(self, path: str | None, message: str) -> Prediction:
        """The result for an input that could not be read."""
        return Prediction(None, None, None, self.provider, self.mode, path, error=message)


CHUNK = 8  # images per task sent to a reading process, at most
CHUNK_BYTES = 1 << 20  # or fewer, once their files hold this many bytes (one or two photos)


def likelier(inputs: np.ndarray, log_probs: list) -> tuple[np.ndarray, np.ndarray]:
    """(model input (h, w), its log-probabilities): of one picture's inputs to try (see
    preprocess.auto_inputs), the one the model reads with most confidence; the first on a tie."""
    best = max(range(len(inputs)), key=lambda i: float(np.max(log_probs[i])))
    return inputs[best], log_probs[best]


def prepare_image(image, mode: str, model: ModelInput, provider: str):
    """(path, model inputs to try (k, h, w)) of one image, or (path, its result): no digit,
    or an error, as a Prediction. A module function, so that reading processes can run it."""
    if mode not in MODES:
        raise ValueError(f"unknown mode {mode!r}: use {' or '.join(MODES)}")
    return _guarded(
        image,
        lambda: model_inputs(image, mode, model),
        lambda path: Prediction(None, None, None, provider, mode, path),
        lambda path, message, internal: Prediction(
            None, None, None, provider, mode, path, error=message, internal=internal
        ),
    )


def prepare_many(images: list, mode: str, model: ModelInput, provider: str) -> list:
    return [prepare_image(image, mode, model, provider) for image in images]


def _chunks(items: Iterable, size: int, size_bytes: int = 0) -> Iterator[list]:
    """Lists of `size` items, or fewer once their files (paths) or bytes hold `size_bytes`:
    a task is about as much work for 28x28 PNGs as for phone photos, and the last tasks of a
    folder of photos keep every process busy to the end."""
    chunk, held = [], 0
    for item in items:
        chunk.append(item)
        held += _file_bytes(item)
        if len(chunk) == size or (size_bytes and held >= size_bytes):
            yield chunk
            chunk, held = [], 0
    if chunk:
        yield chunk


def _file_bytes(item) -> int:
    """The size of a path's file or of bytes; 0 for anything else, or a file that is not there."""
    if isinstance(item, (bytes, bytearray, memoryview)):
        return len(item)
    if isinstance(item, (str, os.PathLike)):
        try:
            return os.stat(item).st_size
        except (OSError, ValueError):
            return 0
    return 0


def _ordered(pool, work, items: Iterable, ahead: int, flatten: bool = False):
    """work(item) for each item on the pool, yielded in order; at most `ahead` in flight, so
    memory stays bounded whatever the number of items. The pool is shut down at the end, or
    when the caller stops early (Ctrl-C: what has not started is cancelled, what runs ends).

    The shutdown waits for the pool's own threads: a process pool left to end them itself
    (`wait=False`) races the interpreter's exit, which now and then printed a traceback or
    hung (CPython issue 83386; seen once each in a few dozen 12 MP folder runs here)."""
    window: deque = deque()
    try:
        for item in items:
            window.append(pool.submit(work, item))
            if len(window) >= ahead:
                done = window.popleft().result()
                yield from (done if flatten else [done])
        while window:
            done = window.popleft().result()
            yield from (done if flatten else [done])
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


_started: list = []  # (jobs, pool) started ahead by start_readers, for the next reading to take


def start_readers(jobs: int) -> None:
    """Start `jobs` reading processes now, for the next reading with as many jobs to use:
    called before the model loads (the CLI does), they boot while it loads."""
    _started.append((jobs, _new_pool(jobs)))


def _process_pool(jobs: int):
    """`jobs` reading processes: those start_readers started, or new ones. They leave Ctrl-C
    to this process."""
    for i, (count, pool) in enumerate(_started):
        if count == jobs:
            del _started[i]
            return pool
    return _new_pool(jobs)


def _new_pool(jobs: int):
    """A process pool for reading. Before ONNX Runtime is loaded, in a process that runs no
    other Python thread, the readers are forked at once, on Linux, the preprocessing already
    imported (~0.1 s sooner at work than from a fork server, measured on 12 MP photos).
    Otherwise they come from a fork server, which copies none of ONNX Runtime's threads and
    imports the preprocessing once."""
    import multiprocessing
    import multiprocessing.forkserver
    from concurrent.futures import ProcessPoolExecutor

    alone = threading.active_count() == 1 and "onnxruntime" not in sys.modules
    if sys.platform == "linux" and alone:
        context = multiprocessing.get_context("fork")
        pool = ProcessPoolExecutor(jobs, mp_context=context, initializer=_reader_started)
        pool.submit(int)  # a fork pool starts all its processes on the first task, here, now
        return pool
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(["runtime.predict"])
    multiprocessing.forkserver.ensure_running()
    return ProcessPoolExecutor(jobs, mp_context=context, initializer=_reader_started)


def _reader_started() -> None:
    import signal

    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is for the main process to handle
    warnings_on_one_line(current_image)


def _guarded(image, work, empty, failed):
    """(path, work()) for one image; its failures become its result, never the run's end.

    empty(path): the result when no digit is found; failed(path, message, internal): when the
    image cannot be read, or (internal=True) when this tool fails on it.
    """
    path = _path_of(image)
    _now.path = path
    try:
        return path, work()
    except NoDigitError:
        return path, empty(path)
    except ImageError as exc:
        return path, failed(path, str(exc), False)
    except MemoryError:
        return path, failed(path, "not enough memory to read this image", False)
    except ModelError:
        raise  # the model, not this image: the run stops with its own error
    except Exception as exc:  # a fault of this tool: this image fails, the others go on
        return path, failed(path, f"internal error ({type(exc).__name__}: {first_line(exc)})", True)
    finally:
        _now.path = None


def _path_of(image) -> str | None:
    return os.fspath(image) if isinstance(image, str | os.PathLike) else None


def _check_images(images) -> None:
    if isinstance(images, str | bytes | os.PathLike | Image.Image | np.ndarray):
        raise TypeError(
            "predict_batch takes an iterable of images (paths, Pillow images or arrays); "
            "for one image use predict()"
        )


def _check_count(name: str, value) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{name} must be a whole number of at least 1, not {value!r}")
