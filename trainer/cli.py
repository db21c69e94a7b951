"""`mnist-train` and `mnist-export`: thin command lines over trainer.train and trainer.export."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from trainer.config import (
    AUGMENTATIONS,
    DEFAULT_CHECKPOINT,
    DEFAULT_ONNX,
    MAX_SEED,
    OUTLIERS,
    TrainConfig,
    parse_augment,
)
from trainer.data import DataError, default_data_dir

# torch and the exporters are imported inside the commands: --help and usage errors stay fast

train_app = typer.Typer(add_completion=False, pretty_exceptions_enable=False)
export_app = typer.Typer(add_completion=False, pretty_exceptions_enable=False)


class Device(StrEnum):
    auto = "auto"
    cpu = "cpu"
    cuda = "cuda"


def _check_augment(value: str | None) -> str | None:
    if value is None:
        return None
    try:
        return ",".join(parse_augment(value)) or "none"
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from None


def fail(message: str, code: int = 1) -> typer.Exit:
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(code)


@train_app.command()
def train(
    epochs: Annotated[int | None, typer.Option(min=1, help="Epochs (default 15).")] = None,
    batch_size: Annotated[int | None, typer.Option(min=1, help="Batch size (default 128).")] = None,
    lr: Annotated[
        float | None, typer.Option(min=0.0, help="Peak one-cycle learning rate (default 3e-3).")
    ] = None,
    seed: Annotated[
        int | None,
        typer.Option(min=0, max=MAX_SEED, help="Seed: same seed on CPU, same weights."),
    ] = None,
    augment: Annotated[
        str | None,
        typer.Option(
            help=f"Augmentations, comma-separated: {', '.join(AUGMENTATIONS)}; or none "
            "(default: all).",
            callback=_check_augment,
            show_default=False,
        ),
    ] = None,
    limit: Annotated[int | None, typer.Option(min=1, help="Train on N samples only.")] = None,
    outliers: Annotated[
        float | None,
        typer.Option(
            min=0.0,
            help="Weight of the loss that teaches the model to doubt pictures that are not one "
            f"digit: touching digits, pieces of one (default {OUTLIERS}; 0: none).",
            show_default=False,
        ),
    ] = None,
    device: Annotated[Device, typer.Option(help="auto takes CUDA when present.")] = Device.auto,
    data_dir: Annotated[
        Path | None,
        typer.Option(help="MNIST folder (env MNIST_DATA_DIR, else ./data).", show_default=False),
    ] = None,
    out: Annotated[Path, typer.Option(help="Checkpoint to write.")] = DEFAULT_CHECKPOINT,
    resume: Annotated[
        Path | None, typer.Option(help="Continue this checkpoint at its stored epoch.")
    ] = None,
    log_interval: Annotated[
        int, typer.Option(min=1, help="Batches between progress updates.")
    ] = 100,
) -> None:
    """Train the Digit CNN on MNIST and save a .pth checkpoint, metrics JSON and curves PNG."""
    from trainer.checkpoint import CheckpointError, unwritable
    from trainer.train import Interrupted, Run, TrainError
    from trainer.train import train as run_training

    given = dict(
        epochs=epochs, batch_size=batch_size, lr=lr, seed=seed, augment=augment, limit=limit,
        outliers=outliers,
    )  # fmt: skip
    given = {k: v for k, v in given.items() if v is not None}
    if resume and given:
        names = ", ".join("--" + k.replace("_", "-") for k in given)
        raise fail(f"{names} cannot be changed when resuming: the checkpoint's config is used", 2)
    try:
        config = TrainConfig(**given)
    except ValueError as exc:
        raise fail(str(exc), 2) from None
    problem = unwritable(out)
    if problem:
        raise fail(f"--out {out}: {problem}", 2)
    data_dir = data_dir or default_data_dir()
    run = Run(data_dir=data_dir, out=out, device=device.value, log_interval=log_interval)
    try:
        run_training(config, run, resume=resume)
    except TrainError as exc:
        raise fail(str(exc), 130 if isinstance(exc, Interrupted) else 1) from None
    except (DataError, CheckpointError) as exc:
        raise fail(str(exc)) from None


class Exporter(StrEnum):
    dynamo = "dynamo"
    legacy = "legacy"


@export_app.command()
def export(
    checkpoint: Annotated[
        Path, typer.Option(help="Checkpoint from mnist-train.")
    ] = DEFAULT_CHECKPOINT,
    out: Annotated[Path, typer.Option(help="ONNX file to write.")] = DEFAULT_ONNX,
    opset: Annotated[int, typer.Option(help="ONNX opset the file must declare.")] = 17,
    exporter: Annotated[
        Exporter, typer.Option(help="torch.export-based (dynamo) or TorchScript-based (legacy).")
    ] = Exporter.dynamo,
    int8: Annotated[bool, typer.Option(help="Also write a static int8 (QDQ) variant.")] = False,
    fp16: Annotated[bool, typer.Option(help="Also write a float16 variant for GPUs.")] = False,
    data_dir: Annotated[
        Path | None,
        typer.Option(help="MNIST folder (env MNIST_DATA_DIR, else ./data).", show_default=False),
    ] = None,
) -> None:
    """Export a checkpoint to ONNX, verify it on the whole MNIST test set, write it and its card."""
    import sys

    from trainer.checkpoint import CheckpointError
    from trainer.export import ExportError, ExportOptions
    from trainer.export import export as run_export

    options = ExportOptions(
        checkpoint=checkpoint,
        out=out,
        opset=opset,
        exporter=exporter.value,
        int8=int8,
        fp16=fp16,
        data_dir=data_dir or default_data_dir(),
        command=" ".join(["mnist-export", *sys.argv[1:]]),
    )
    try:
        run_export(options)
    except (ExportError, CheckpointError, DataError) as exc:
        raise fail(str(exc)) from None
