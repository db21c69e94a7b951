"""Training Digit on MNIST: Adam at batch 128 with a one-cycle schedule, the whole set held as
tensors (no per-sample DataLoader), evaluated on the test set after every epoch."""

from __future__ import annotations

import json
import math
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import torch
import torch.nn.functional as F
from tqdm import tqdm

import runtime
from runtime.errors import first_line
from trainer.augment import augment
from trainer.checkpoint import (
    CheckpointError,
    atomic_write,
    load_checkpoint,
    save_checkpoint,
    unwritable,
)
from trainer.config import DEFAULT_CHECKPOINT, TrainConfig, parse_augment
from trainer.data import MEAN, STD, ensure_mnist, load_split
from trainer.model import Digit
from trainer.outliers import outlier_pool

CHECKPOINT_FORMAT = "mnist-digit-checkpoint/1"
OUTLIER_POOL = 30000  # pictures that are not one digit (at most half as many as the digits),
# made once per run and augmented as the digits are at each step


class TrainError(Exception):
    """A training problem the user can act on; the message is one line."""


class Interrupted(TrainError):
    """Ctrl-C: the message says which epoch the checkpoint holds."""


class Diverged(TrainError):
    """The loss became NaN or infinite."""


@dataclass
class EpochStats:
    epoch: int
    train_loss: float
    test_loss: float
    test_accuracy: float
    seconds: float


@dataclass
class Run:
    """Everything one training run needs besides its hyperparameters."""

    data_dir: Path
    out: Path = DEFAULT_CHECKPOINT
    device: str = "auto"
    log_interval: int = 100  # batches between progress updates
    progress: bool = field(default_factory=lambda: sys.stderr.isatty())
    log: Callable[[str], None] = print


def select_device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise TrainError(f"--device cuda: no CUDA GPU is visible to torch {torch.__version__}")
    if name not in ("cpu", "cuda"):
        raise TrainError(f"unknown device {name!r}: use auto, cpu or cuda")
    return torch.device(name)


def normalize(images: torch.Tensor, mean: float = MEAN, std: float = STD) -> torch.Tensor:
    """uint8 (N, 28, 28) -> float32 (N, 1, 28, 28), as ToTensor() then Normalize(mean, std)."""
    return (pixels(images) - mean) / std


def pixels(images: torch.Tensor) -> torch.Tensor:
    """uint8 (N, 28, 28) -> float32 (N, 1, 28, 28) in [0, 1], as ToTensor()."""
    return (images.float() / 255.0).unsqueeze(1)


@torch.no_grad()
def evaluate(model: Digit, x: torch.Tensor, y: torch.Tensor, batch_size: int = 1000):
    """Mean NLL, accuracy and predictions on (x, y)."""
    model.eval()
    total, preds = 0.0, []
    for i in range(0, len(x), batch_size):
        out = model(x[i : i + batch_size])
        total += F.nll_loss(out, y[i : i + batch_size], reduction="sum").item()
        preds.append(out.argmax(1))
    pred = torch.cat(preds)
    return total / len(x), (pred == y).float().mean().item(), pred


def confusion_matrix(y: torch.Tensor, pred: torch.Tensor) -> list[list[int]]:
    counts = torch.bincount(y.cpu() * 10 + pred.cpu(), minlength=100).reshape(10, 10)
    return counts.tolist()


def train_epoch(
    model, optimizer, scheduler, x, y, cfg, gen, run: Run, epoch: int, outliers=None
) -> float:
    """One pass over (x, y); with `outliers` (a pool of pictures that are not one digit), each
    step also reads half a batch of them and adds cfg.outliers times their cross-entropy to
    the uniform distribution (trainer/outliers.py says why)."""
    model.train()
    order = torch.randperm(len(x), generator=gen).to(x.device)
    steps = math.ceil(len(x) / cfg.batch_size)
    bar = tqdm(total=steps, desc=f"epoch {epoch}/{cfg.epochs}", disable=not run.progress)
    total, seen = 0.0, 0
    names = parse_augment(cfg.augment)
    for step in range(steps):
        idx = order[step * cfg.batch_size : (step + 1) * cfg.batch_size]
        data, target = (augment(x[idx], y[idx], names, gen) - MEAN) / STD, y[idx]
        optimizer.zero_grad(set_to_none=True)
        loss = step_loss(model, data, target, cfg.outliers, names, gen, outliers)
        if not torch.isfinite(loss):
            raise Diverged(
                f"the training loss became {loss.item()} in epoch {epoch}, step {step + 1}"
            )
        loss.backward()
        optimizer.step()
        scheduler.step()
        total += loss.item() * len(idx)
        seen += len(idx)
        if (step + 1) % run.log_interval == 0 or step + 1 == steps:
            bar.set_postfix(loss=f"{total / seen:.4f}")
            if not run.progress:
                run.log(f"  epoch {epoch} [{seen}/{len(x)}] loss {total / seen:.4f}")
        bar.update()
    bar.close()
    return total / seen


def step_loss(model, data, target, weight: float, names, gen, outliers=None) -> torch.Tensor:
    """The NLL of a batch of digits; with a pool of outliers, plus `weight` times the
    cross-entropy to the uniform distribution of half a batch of them, augmented as the digits
    are, in the same forward pass."""
    if outliers is None:
        return F.nll_loss(model(data), target)
    n = max(len(target) // 2, 1)
    pick = torch.randint(len(outliers), (n,), generator=gen).to(data.device)
    unlabelled = torch.full((n,), -1, device=data.device)  # `styles` leaves them alone
    odd = (augment(outliers[pick], unlabelled, names, gen) - MEAN) / STD
    out = model(torch.cat([data, odd]))
    doubt = -out[len(target) :].mean(1).mean()
    return F.nll_loss(out[: len(target)], target) + weight * doubt


def build(cfg: TrainConfig, steps_per_epoch: int, device: torch.device):
    torch.manual_seed(cfg.seed)
    model = Digit().to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=cfg.lr)
    scheduler = torch.optim.lr_scheduler.OneCycleLR(
        optimizer, max_lr=cfg.lr, total_steps=cfg.epochs * steps_per_epoch
    )
    return model, optimizer, scheduler


def train(cfg: TrainConfig, run: Run, resume: Path | None = None) -> dict:
    """Train (or continue training) and write the checkpoint, metrics JSON and curves PNG."""
    device = select_device(run.device)
    state = load_checkpoint(resume) if resume else None
    if state is not None:
        cfg = TrainConfig.from_dict(state["config"])
    problem = unwritable(run.out)
    if problem:
        raise TrainError(f"cannot write {run.out}: {problem}")
    ensure_mnist(run.data_dir, log=run.log)
    train_images, train_labels = load_split(run.data_dir, train=True)
    test_images, test_labels = load_split(run.data_dir, train=False)
    if cfg.limit:
        train_images, train_labels = train_images[: cfg.limit], train_labels[: cfg.limit]
    x, y = pixels(train_images).to(device), train_labels.to(device)
    x_test, y_test = normalize(test_images).to(device), test_labels.to(device)

    outliers = None
    if cfg.outliers:
        count = min(OUTLIER_POOL, max(len(x) // 2, 1))
        pool = outlier_pool(train_images.numpy(), count, cfg.seed)
        outliers = pixels(torch.from_numpy(pool)).to(device)
    steps_per_epoch = math.ceil(len(x) / cfg.batch_size)
    model, optimizer, scheduler = build(cfg, steps_per_epoch, device)
    gen = torch.Generator().manual_seed(cfg.seed)
    history: list[dict] = []
    start = 0
    if state is not None:
        start, history = _restore(state, model, optimizer, scheduler, gen, resume)
        run.log(f"resuming {resume} after epoch {start} of {cfg.epochs}")

    run.log(
        f"training Digit on {len(x)} images, {cfg.epochs} epochs, batch {cfg.batch_size}, "
        f"lr {cfg.lr}, device {device}, {torch.get_num_threads()} threads"
    )
    if start >= cfg.epochs:
        raise TrainError(f"{resume} already holds all {cfg.epochs} epochs: nothing to train")
    epoch, saved = start, None
    try:
        for epoch in range(start + 1, cfg.epochs + 1):
            t0 = time.perf_counter()
            train_loss = train_epoch(
                model, optimizer, scheduler, x, y, cfg, gen, run, epoch, outliers
            )
            seconds = time.perf_counter() - t0
            test_loss, accuracy, pred = evaluate(model, x_test, y_test)
            stats = EpochStats(epoch, train_loss, test_loss, accuracy, seconds)
            history.append(asdict(stats))
            run.log(
                f"epoch {epoch}: train loss {train_loss:.4f}, test loss {test_loss:.4f}, "
                f"test accuracy {accuracy:.2%}, {seconds:.1f} s"
            )
            metrics = final_metrics(history, y_test, pred, device)
            save_checkpoint(
                checkpoint_state(model, optimizer, scheduler, gen, cfg, epoch, history, metrics),
                run.out,
            )
            saved = epoch
    except KeyboardInterrupt:
        raise Interrupted(
            f"interrupted during epoch {epoch}: {_kept(run, resume, saved, start)}"
        ) from None
    except Diverged as exc:
        raise Diverged(f"{exc} (try a lower --lr): {_kept(run, resume, saved, start)}") from None
    report(metrics, run)
    return metrics


def _kept(run: Run, resume, saved, start) -> str:
    """What the checkpoint on disk holds after a run stopped early."""
    if saved is not None:
        return f"{run.out} holds epoch {saved}"
    if resume is not None:
        return f"{resume} still holds epoch {start}"
    return "nothing was saved"


def _restore(state, model, optimizer, scheduler, gen, path) -> tuple[int, list[dict]]:
    try:
        model.load_state_dict(state["model_state_dict"])
        optimizer.load_state_dict(state["optimizer_state_dict"])
        scheduler.load_state_dict(state["scheduler_state_dict"])
        gen.set_state(state["rng_state"])
        history = [dict(h) for h in state.get("history", [])]
    except (KeyError, RuntimeError, ValueError, TypeError, AttributeError, IndexError) as exc:
        raise CheckpointError(f"{path} cannot be resumed: {first_line(exc)}") from exc
    return int(state["epoch"]), history


def checkpoint_state(model, optimizer, scheduler, gen, cfg, epoch, history, metrics) -> dict:
    return {
        "format": CHECKPOINT_FORMAT,
        "epoch": epoch,
        "model_state_dict": {k: v.detach().cpu() for k, v in model.state_dict().items()},
        "optimizer_state_dict": optimizer.state_dict(),
        "scheduler_state_dict": scheduler.state_dict(),
        "rng_state": gen.get_state(),
        "config": asdict(cfg),
        "normalization": {"mean": MEAN, "std": STD},
        "history": history,
        "metrics": metrics,
        "versions": {"torch": str(torch.__version__), "mnist-digit": runtime.__version__},
    }


def final_metrics(history: list[dict], y: torch.Tensor, pred: torch.Tensor, device) -> dict:
    matrix = confusion_matrix(y, pred)
    per_class = [row[i] / max(sum(row), 1) for i, row in enumerate(matrix)]
    last = history[-1]
    return {
        "epochs": last["epoch"],
        "test_accuracy": last["test_accuracy"],
        "test_loss": last["test_loss"],
        "train_loss": last["train_loss"],
        "train_seconds": sum(h["seconds"] for h in history),
        "device": str(device),
        "per_class_accuracy": per_class,
        "confusion_matrix": matrix,
        "history": history,
    }


def report(metrics: dict, run: Run) -> None:
    run.log(
        "per-class test accuracy: "
        + "  ".join(f"{d}:{a:.2%}" for d, a in enumerate(metrics["per_class_accuracy"]))
    )
    run.log("confusion matrix (rows: true digit, columns: predicted):")
    run.log("      " + "".join(f"{d:>6}" for d in range(10)))
    for d, row in enumerate(metrics["confusion_matrix"]):
        run.log(f"{d:>6}" + "".join(f"{c:>6}" for c in row))
    metrics_path = run.out.with_suffix(".metrics.json")
    atomic_write(metrics_path, lambda f: f.write(json.dumps(metrics, indent=2).encode()))
    curves_path = run.out.with_suffix(".curves.png")
    plot_curves(metrics["history"], curves_path)
    run.log(
        f"test accuracy {metrics['test_accuracy']:.2%} after {metrics['epochs']} epochs "
        f"({metrics['train_seconds']:.0f} s of training); saved {run.out}, {metrics_path.name}, "
        f"{curves_path.name}"
    )


def plot_curves(history: list[dict], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    epochs = [h["epoch"] for h in history]
    fig, (left, right) = plt.subplots(1, 2, figsize=(9, 3.5))
    left.plot(epochs, [h["train_loss"] for h in history], "o-", label="train")
    left.plot(epochs, [h["test_loss"] for h in history], "o-", label="test")
    left.set(xlabel="epoch", ylabel="NLL loss", title="Loss")
    left.legend()
    right.plot(epochs, [100 * h["test_accuracy"] for h in history], "o-", color="C2")
    right.set(xlabel="epoch", ylabel="%", title="Test accuracy")
    fig.tight_layout()
    atomic_write(path, lambda f: fig.savefig(f, format="png", dpi=100))
    plt.close(fig)
