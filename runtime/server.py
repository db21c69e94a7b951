"""`mnist-serve`: a draw-a-digit page and an HTTP API over one Predictor (FastAPI + uvicorn).

    POST /v1/predict   the image as multipart field `file`, or as the raw body (image/*);
                       query: mode, top_k, return_input, multi
    GET  /healthz      provider, model sha256, version
    GET  /v1/model     the model's metadata and card
    GET  /             the page

Every image is read in a thread pool, never on the event loop. Readings are batched: while the
model runs, the images that become ready wait, and the next run takes them all (up to
--max-batch); a lone request never waits for company (max-wait-ms only applies while other
requests are still being read). Errors are JSON {"error": ...}: 413 over the upload limit, 415
for a type that is not an image, 422 for no file or an unreadable image, 400 for a bad
parameter, 503 when a request runs past the time limit; an input problem is never a 500.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import io
import json
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import numpy as np
from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse

from runtime import __version__
from runtime.predict import Predictor, likelier
from runtime.preprocess import MODES
from runtime.results import Prediction

MULTIPART_LIMIT_SLACK = 64 * 1024  # form fields and boundaries around the file


@dataclass
class ServeConfig:
    max_batch: int = 64  # images per model run
    max_wait_ms: float = 5.0  # how long a ready image may wait for others still being read
    max_upload_mb: float = 10.0
    timeout_s: float = 30.0  # per request
    workers: int = 4  # threads reading images


class Batcher:
    """Gathers model inputs that are ready at the same time into one session run."""

    def __init__(self, predictor: Predictor, config: ServeConfig):
        self.predictor = predictor
        self.config = config
        self.queue: asyncio.Queue = asyncio.Queue()
        self.reading = 0  # requests whose image is still being read
        self.runs = 0  # model runs, and images run: how much batching happened
        self.batched = 0
        self.task: asyncio.Task | None = None

    def start(self, pool: ThreadPoolExecutor) -> None:
        self.pool = pool
        self.task = asyncio.get_running_loop().create_task(self._loop())

    async def read(self, x: np.ndarray) -> np.ndarray:
        """Log-probabilities of one model input, run together with whatever else is ready."""
        future = asyncio.get_running_loop().create_future()
        await self.queue.put((x, future))
        return await future

    async def _loop(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            batch = [await self.queue.get()]
            deadline = loop.time() + self.config.max_wait_ms / 1000
            while len(batch) < self.config.max_batch:
                if not self.queue.empty():
                    batch.append(self.queue.get_nowait())
                elif self.reading > 0 and loop.time() < deadline:
                    await asyncio.sleep(0.0005)  # others are being read: wait a little for them
                else:
                    break
            inputs = np.stack([x for x, _ in batch])
            try:
                log_probs = await loop.run_in_executor(self.pool, self.predictor.run, inputs)
            except Exception as exc:  # the model failed: every waiting request learns why
                for _, future in batch:
                    if not future.done():
                        future.set_exception(exc)
                continue
            self.runs += 1
            self.batched += len(batch)
            for (_, future), row in zip(batch, log_probs, strict=True):
                if not future.done():
                    future.set_result(row)


def create_app(predictor: Predictor, config: ServeConfig | None = None):
    """The FastAPI application serving `predictor`."""
    config = config or ServeConfig()
    batcher = Batcher(predictor, config)
    pool = ThreadPoolExecutor(config.workers, thread_name_prefix="mnist-serve")
    model_path = Path(predictor.info.path)
    sha256 = hashlib.sha256(model_path.read_bytes()).hexdigest()

    @asynccontextmanager
    async def lifespan(app):
        batcher.start(pool)
        yield
        batcher.task.cancel()
        pool.shutdown(wait=False, cancel_futures=True)

    app = FastAPI(title="mnist-digit", version=__version__, lifespan=lifespan)
    app.state.batcher = batcher

    def error(status: int, message: str) -> JSONResponse:
        return JSONResponse({"error": message}, status_code=status)

    @app.get("/", response_class=HTMLResponse)
    async def page():
        return HTMLResponse(resources.files("runtime").joinpath("page.html").read_text())

    @app.get("/healthz")
    async def healthz():
        return {"status": "ok", "provider": predictor.provider, "model_sha256": sha256,
                "version": __version__}  # fmt: skip

    @app.get("/v1/model")
    async def model():
        card_file = model_path.with_suffix(".card.json")
        card = json.loads(card_file.read_text()) if card_file.is_file() else None
        return {"path": model_path.name, "sha256": sha256, "provider": predictor.provider,
                "metadata": predictor.info.metadata, "card": card}  # fmt: skip

    @app.post("/v1/predict")
    async def predict(request: Request):
        try:
            options = parse_query(request.query_params, predictor.mode)
        except ValueError as exc:
            return error(400, str(exc))
        limit = int(config.max_upload_mb * 1024 * 1024)
        declared = request.headers.get("content-length")
        if declared and declared.isdigit() and int(declared) > limit + MULTIPART_LIMIT_SLACK:
            return error(413, f"the upload is over the limit of {config.max_upload_mb:g} MB")
        kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if kind == "multipart/form-data":
            try:
                form = await request.form(max_files=1, max_fields=8, max_part_size=limit + 1)
            except Exception as exc:  # malformed multipart, or a part over the limit
                too_big = "size" in str(exc).lower() or "large" in str(exc).lower()
                return error(413 if too_big else 422, f"unreadable form ({exc})")
            upload = form.get("file")
            if upload is None or isinstance(upload, str):
                return error(422, "no file: send the image as the multipart field 'file'")
            data = await upload.read()
            kind = (upload.content_type or "").lower()
            if kind and not (kind.startswith("image/") or kind == "application/octet-stream"):
                return error(415, f"the file is {kind}, not an image")
        elif kind.startswith("image/") or kind == "application/octet-stream":
            data = await read_body(request, limit)
            if data is None:
                return error(413, f"the upload is over the limit of {config.max_upload_mb:g} MB")
        elif kind:
            return error(415, f"the request is {kind}: send an image, raw or as field 'file'")
        else:
            return error(422, "no image: send one as the raw body or the multipart field 'file'")
        if len(data) > limit:
            return error(413, f"the upload is over the limit of {config.max_upload_mb:g} MB")
        if not data:
            return error(422, "the image is empty")
        try:
            record = await asyncio.wait_for(answer(data, options), config.timeout_s)
        except TimeoutError:
            return error(503, f"the request took longer than {config.timeout_s:g} s")
        if "error" in record:
            return error(422, record["error"])
        return JSONResponse(record)

    async def answer(data: bytes, options: dict) -> dict:
        loop = asyncio.get_running_loop()
        if options["multi"]:
            result = await loop.run_in_executor(pool, lambda: predictor.read_numbers([data])[0])
            return clean(result.to_json())
        batcher.reading += 1
        try:
            _, prepared = await loop.run_in_executor(pool, predictor.prepare, data, options["mode"])
        finally:
            batcher.reading -= 1
        if isinstance(prepared, Prediction):
            return clean(prepared.to_json())
        rows = await asyncio.gather(*(batcher.read(x[None]) for x in prepared))
        result = predictor.reading(None, *likelier(prepared, rows), options["mode"])
        record = clean(result.to_json())
        if options["top_k"]:
            record["top"] = [
                {"digit": d, "probability": p} for d, p in result.top(options["top_k"])
            ]
        if options["return_input"]:
            record["input_png"] = input_png(predictor, result.model_input)
        return record

    return app


def clean(record: dict) -> dict:
    record.pop("path", None)
    return record


async def read_body(request, limit: int) -> bytes | None:
    """The raw body, or None as soon as it passes the limit (nothing more is read)."""
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
    return b"".join(chunks)


def parse_query(query, default_mode: str = "auto") -> dict:
    """mode, top_k, return_input and multi from the query string; ValueError if one is bad."""
    known = {"mode", "top_k", "return_input", "multi"}
    unknown = sorted(set(query) - known)
    if unknown:
        raise ValueError(f"unknown parameter {unknown[0]!r}: use {', '.join(sorted(known))}")
    mode = query.get("mode", default_mode)
    if mode not in MODES:
        raise ValueError(f"mode must be {' or '.join(MODES)}, not {mode!r}")
    top = query.get("top_k", "0")
    if not top.isdigit() or not 0 <= int(top) <= 10:
        raise ValueError(f"top_k must be a whole number from 0 to 10, not {top!r}")
    flags = {}
    for name in ("return_input", "multi"):
        value = query.get(name, "false").lower()
        if value not in ("true", "false", "1", "0"):
            raise ValueError(f"{name} must be true or false, not {value!r}")
        flags[name] = value in ("true", "1")
    if flags["multi"] and mode != "auto":
        raise ValueError("multi reads with mode=auto")
    return {"mode": mode, "top_k": int(top), **flags}


def input_png(predictor: Predictor, model_input: np.ndarray) -> str:
    """The 28x28 image the model saw, as a base64 PNG."""
    from PIL import Image

    pixels = (predictor.input.pixels(model_input) * 255).astype(np.uint8)
    out = io.BytesIO()
    Image.fromarray(pixels).save(out, "PNG")
    return base64.b64encode(out.getvalue()).decode()
