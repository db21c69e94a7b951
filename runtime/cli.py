"""`mnist-infer`: read digits from image files, folders or glob patterns.

Exit codes: 0 every input was read, 1 some inputs failed (the others are still reported),
2 usage or model errors.
"""

from __future__ import annotations

import glob
import json
import os
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

app = typer.Typer(add_completion=False, pretty_exceptions_enable=False)


class Provider(StrEnum):
    auto = "auto"
    cpu = "cpu"
    cuda = "cuda"
    tensorrt = "tensorrt"


class Mode(StrEnum):
    auto = "auto"
    plain = "plain"


def expand(args: list[str]) -> list[tuple[str, str | None]]:
    """Files, folders (searched recursively) and glob patterns -> (path, error or None)."""
    from runtime.preprocess import IMAGE_SUFFIXES

    found: list[tuple[str, str | None]] = []
    for arg in args:
        path = Path(arg)
        if path.is_dir():
            images = sorted(
                str(p)
                for p in path.rglob("*")
                if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file()
            )
            found += [(p, None) for p in images] or [(arg, "no images in this folder")]
        elif path.exists():
            found.append((arg, None))
        elif glob.has_magic(arg):
            matches = sorted(p for p in glob.glob(arg, recursive=True) if os.path.isfile(p))
            found += [(p, None) for p in matches] or [(arg, "no file matches this pattern")]
        else:
            found.append((arg, "no such file"))
    return found


def line(prediction, top_k: int) -> str:
    if not prediction.found:
        return f"{prediction.path}: no digit found"
    text = f"{prediction.path}: {prediction.digit} ({prediction.confidence:.1%})"
    others = prediction.top(top_k)[1:]
    if others:
        text += "  next: " + ", ".join(f"{d} ({p:.1%})" for d, p in others)
    if prediction.low_confidence:
        text += "  [low confidence]"
    return text


@app.command()
def infer(
    paths: Annotated[list[str], typer.Argument(help="Image files, folders or glob patterns.")],
    model: Annotated[
        Path | None,
        typer.Option(
            help="ONNX model (default: the one shipped in exported/).", show_default=False
        ),
    ] = None,
    provider: Annotated[Provider, typer.Option(help="Execution provider.")] = Provider.auto,
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
) -> None:
    """Read the digit in each image and print it with its confidence."""
    from runtime.predict import Predictor
    from runtime.session import ModelError, ProviderError, RuntimeSetupError

    try:
        predictor = Predictor(model, provider.value, mode.value, threads, min_confidence)
    except (ModelError, ProviderError, RuntimeSetupError) as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None

    failed = 0
    used: set[str] = set()
    items = expand(paths)
    for start in range(0, len(items), batch_size):
        chunk = items[start : start + batch_size]
        readable = [p for p, err in chunk if err is None]
        results = iter(predictor.predict_batch(readable, batch_size))
        for path, error in chunk:
            result = next(results) if error is None else predictor.failure(path, error)
            failed += result.error is not None
            report(result, as_json, top_k)
            if save_vis is not None and result.error is None:
                visualise(save_vis, result, predictor, used)
    raise typer.Exit(1 if failed else 0)


def report(result, as_json: bool, top_k: int) -> None:
    if as_json:
        typer.echo(json.dumps(result.to_json()))
    elif result.error is not None:
        typer.echo(f"error: {result.path}: {result.error}", err=True)
    else:
        typer.echo(line(result, top_k))


def visualise(folder: Path, result, predictor, used: set[str]) -> None:
    from runtime.preprocess import open_image
    from runtime.vis import render

    folder.mkdir(parents=True, exist_ok=True)
    stem = name = Path(result.path).stem
    n = 1
    while name in used:  # two inputs named alike in one run keep both pictures
        name, n = f"{stem}-{n}", n + 1
    used.add(name)
    target = folder / f"{name}.png"
    tmp = target.with_name(f".{target.name}.tmp")
    render(open_image(result.path), result, predictor.input).save(tmp, format="PNG")
    os.replace(tmp, target)


if __name__ == "__main__":
    app()
