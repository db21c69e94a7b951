"""`mnist-infer`: read digits from image files, folders or glob patterns.

Exit codes: 0 every input was read; 1 some inputs failed (the others are still reported);
2 usage or model errors; 3 an internal error of this tool (a bug: `--debug` shows where);
130 interrupted (every line printed before is complete).
"""

from __future__ import annotations

import json
import os
import sys
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from runtime.errors import first_line, printable, warnings_on_one_line
from runtime.paths import expand
from runtime.preprocess import MODES
from runtime.session import PROVIDERS

app = typer.Typer(add_completion=False, pretty_exceptions_enable=False)

Provider = StrEnum("Provider", {name: name for name in ("auto", *PROVIDERS)})
Mode = StrEnum("Mode", {name: name for name in MODES})
ModelPath = Annotated[
    Path | None,
    typer.Option(help="ONNX model (default: the one shipped in exported/).", show_default=False),
]
ProviderChoice = Annotated[Provider, typer.Option(help="Execution provider.")]


def line(prediction, top_k: int) -> str:
    if not prediction.found:
        return f"{printable(prediction.path)}: no digit found"
    text = f"{printable(prediction.path)}: {prediction.digit} ({prediction.confidence:.1%})"
    others = prediction.top(top_k)[1:]
    if others:
        text += "  next: " + ", ".join(f"{d} ({p:.1%})" for d, p in others)
    if prediction.low_confidence:
        text += "  [low confidence]"
    return text


@app.command()
def infer(
    paths: Annotated[list[str], typer.Argument(help="Image files, folders or glob patterns.")],
    model: ModelPath = None,
    provider: ProviderChoice = Provider.auto,
    mode: Annotated[
        Mode, typer.Option(help="auto: any photo or drawing; plain: the seed's resize only.")
    ] = Mode.auto,
    top_k: Annotated[int, typer.Option(min=1, max=10, help="Show the k likeliest digits.")] = 1,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per line.")] = False,
    save_vis: Annotated[
        Path | None, typer.Option(help="Write a PNG per image into this folder.")
    ] = None,
    batch_size: Annotated[int, typer.Option(min=1, help="Images per session run.")] = 64,
    threads: Annotated[
        int | None, typer.Option(min=1, help="CPU threads (default: ONNX Runtime's choice).")
    ] = None,
    min_confidence: Annotated[
        float, typer.Option(min=0.0, max=1.0, help="Flag readings below this confidence.")
    ] = 0.5,
    multi: Annotated[
        bool, typer.Option("--multi", help="Read every digit of a number, left to right.")
    ] = False,
    jobs: Annotated[
        int | None,
        typer.Option(
            min=1, help="Images read at once (default: this machine's cores).", show_default=False
        ),
    ] = None,
    ray: Annotated[bool, typer.Option("--ray", help="Read the images on Ray.")] = False,
    ray_address: Annotated[
        str | None,
        typer.Option(
            help="Ray cluster to join: auto, or ray://HOST:PORT (implies --ray; "
            "default: a local Ray).",
            show_default=False,
        ),
    ] = None,
    debug: Annotated[bool, typer.Option(help="Show the traceback of internal errors.")] = False,
) -> None:
    """Read the digit in each image (or, with --multi, the number) and print it with its
    confidence."""
    try:
        options = Options(
            model,
            provider.value,
            mode.value,
            top_k,
            as_json,
            save_vis,
            batch_size,
            threads,
            min_confidence,
            multi,
            jobs or cores(),
            ray_address or ("local" if ray else None),
        )
        code = run(paths, options)
    except KeyboardInterrupt:
        sys.stdout.flush()
        typer.echo("error: interrupted", err=True)
        code = 130
    except (typer.Exit, typer.BadParameter):
        raise
    except Exception as exc:
        if debug:
            raise
        typer.echo(
            f"error: internal error ({type(exc).__name__}: {first_line(exc)}); "
            "run again with --debug for the traceback",
            err=True,
        )
        code = 3
    raise typer.Exit(code)


@dataclass
class Options:
    model: Path | None
    provider: str
    mode: str
    top_k: int
    as_json: bool
    save_vis: Path | None
    batch_size: int
    threads: int | None
    min_confidence: float
    multi: bool
    jobs: int
    ray: str | None


FEW = 8  # images per job below which one process reads them all


def cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def run(paths: list[str], o: Options) -> int:
    from runtime.predict import Predictor, current_image, start_readers
    from runtime.session import ModelError, ProviderError, RuntimeSetupError

    if o.multi and o.mode != "auto":
        typer.echo("error: --multi reads with --mode auto (plain has no segmentation)", err=True)
        return 2
    if o.save_vis is not None:
        problem = "pictures are drawn on this machine, not on Ray" if o.ray else None
        problem = problem or writable_folder(o.save_vis)
        if problem:
            typer.echo(f"error: --save-vis {printable(o.save_vis)}: {problem}", err=True)
            return 2
    warnings_on_one_line(current_image)
    items = list(expand(paths))
    readable = [path for path, error in items if error is None]
    # reading processes cost a fraction of a second to start and end: worth it from a few dozen
    # images, and started now, before the model loads
    jobs = o.jobs if len(readable) >= FEW * o.jobs and not o.ray and not o.multi else 1
    if jobs > 1:
        start_readers(jobs)
    try:
        predictor = Predictor(o.model, o.provider, o.mode, o.threads, o.min_confidence)
    except (ModelError, ProviderError, RuntimeSetupError) as exc:
        typer.echo(f"error: {exc}", err=True)
        return 2

    failed = internal = 0
    used: set[str] = set()
    if o.ray:
        from runtime.distributed import RayError, read_on_ray

        try:
            results = read_on_ray(readable, o, predictor)
        except RayError as exc:
            typer.echo(f"error: {exc}", err=True)
            return 2
    else:
        if o.multi:  # numbers are read in threads: their cuts ask the model
            results = predictor.iter_numbers(readable, o.jobs if len(readable) > 1 else 1)
        else:
            results = predictor.iter_predict(readable, o.batch_size, jobs)
    describe = number_line if o.multi else lambda result: line(result, o.top_k)
    try:
        for path, error in items:
            result = next(results) if error is None else predictor.failure(path, error)
            failed += result.error is not None
            internal += result.internal
            report(result, o.as_json, describe)
            if o.save_vis is not None and result.error is None:
                visualise(o.save_vis, result, predictor, used)
    except ModelError as exc:
        typer.echo(f"error: {exc}", err=True)
        return 2
    return 3 if internal else 1 if failed else 0


def number_line(result) -> str:
    """`path: 2026  (2 99.9%, 0 99.7%, 2 98.1%, 6 99.9%)`."""
    if not result.found:
        return f"{printable(result.path)}: no digit found"
    each = ", ".join(f"{d.digit} {d.confidence:.1%}" for d in result.digits)
    text = f"{printable(result.path)}: {result.text}  ({each})"
    return text + ("  [low confidence]" if result.low_confidence else "")


def report(result, as_json: bool, describe) -> None:
    if as_json:
        typer.echo(json.dumps(result.to_json(), allow_nan=False))
    elif result.error is not None:
        typer.echo(f"error: {printable(result.path)}: {result.error}", err=True)
    else:
        typer.echo(describe(result))


def writable_folder(folder: Path) -> str | None:
    """Why `folder` cannot take the pictures, or None: it is (or can be made) a writable folder."""
    if folder.exists():
        if not folder.is_dir():
            return "is a file, not a folder"
        return None if os.access(folder, os.W_OK | os.X_OK) else "is not writable"
    parent = folder.parent
    while not parent.exists() and parent != parent.parent:
        parent = parent.parent
    if not parent.is_dir():
        return f"{printable(parent)} is a file, not a folder"
    return None if os.access(parent, os.W_OK | os.X_OK) else f"{printable(parent)} is not writable"


def visualise(folder: Path, result, predictor, used: set[str]) -> None:
    from runtime.preprocess import ImageError, open_image
    from runtime.results import NumberResult
    from runtime.vis import render, render_number

    stem = name = Path(result.path).stem
    n = 1
    while name in used:  # two inputs named alike in one run keep both pictures
        name, n = f"{stem}-{n}", n + 1
    used.add(name)
    target = folder / f"{name}.png"
    tmp = target.with_name(f".{target.name}.tmp")
    try:
        folder.mkdir(parents=True, exist_ok=True)
        draw = render_number if isinstance(result, NumberResult) else render
        draw(open_image(result.path, draft=1024), result, predictor.input).save(tmp, format="PNG")
        os.replace(tmp, target)
    except (OSError, ImageError) as exc:
        tmp.unlink(missing_ok=True)
        typer.echo(
            f"warning: {printable(result.path)}: picture not saved ({first_line(exc)})", err=True
        )


if __name__ == "__main__":
    app()


serve_app = typer.Typer(add_completion=False, pretty_exceptions_enable=False)
LOOPBACK = ("127.0.0.1", "localhost", "::1")


@serve_app.command()
def serve(
    host: Annotated[
        str, typer.Option(help="Address to listen on (loopback only by default).")
    ] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=0, max=65535, help="Port.")] = 8000,
    model: ModelPath = None,
    provider: ProviderChoice = Provider.auto,
    mode: Annotated[Mode, typer.Option(help="Default preprocessing of requests.")] = Mode.auto,
    max_batch: Annotated[int, typer.Option(min=1, help="Images per model run.")] = 64,
    max_wait_ms: Annotated[
        float, typer.Option(min=0, help="How long a ready image waits for others being read.")
    ] = 5.0,
    max_upload_mb: Annotated[float, typer.Option(min=0.001, help="Largest upload.")] = 10.0,
    timeout: Annotated[float, typer.Option(min=0.1, help="Seconds a request may take.")] = 30.0,
    workers: Annotated[int, typer.Option(min=1, help="Threads reading images.")] = 4,
) -> None:
    """Serve the draw-a-digit page at / and the HTTP API at /v1/predict."""
    try:
        import uvicorn

        from runtime.server import ServeConfig, create_app
    except ImportError as exc:
        typer.echo(f"error: {exc.name} is missing: pip install 'mnist-digit[serve]'", err=True)
        raise typer.Exit(2) from None
    from runtime.predict import Predictor
    from runtime.session import ModelError, ProviderError, RuntimeSetupError

    if host not in LOOPBACK:
        typer.echo(
            f"warning: listening on {host}: anyone who can reach this machine can use the API",
            err=True,
        )
    try:
        predictor = Predictor(model, provider.value, mode.value)
    except (ModelError, ProviderError, RuntimeSetupError) as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    config = ServeConfig(max_batch, max_wait_ms, max_upload_mb, timeout, workers)
    shown_host = f"[{host}]" if ":" in host else host
    typer.echo(f"mnist-serve: http://{shown_host}:{port}/ (provider {predictor.provider})")
    uvicorn.run(
        create_app(predictor, config),
        host=host,
        port=port,
        log_level="warning",
        timeout_keep_alive=5,
        limit_concurrency=1024,
    )
