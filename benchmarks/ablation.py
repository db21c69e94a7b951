"""Which training augmentations pay: train Digit with each set, read the external bench with it.

    python benchmarks/ablation.py --runs "none:10 affine:10 affine,elastic:10 ..." [--seed 1]
        [--threads 1] [--out runs/ablation]

The bench's images (benchmarks/accuracy.py's categories) are preprocessed once with `auto` and
cached; each run trains a checkpoint with `trainer.train` (one thread, so two runs can share a
2-core machine) and scores it on every category in PyTorch. Prints one row per run: MNIST test
accuracy, each category's accuracy, and the mean and minimum over the external categories.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.imagesets import CATEGORIES, write_set  # noqa: E402
from runtime.preprocess import ModelInput, NoDigitError, preprocess  # noqa: E402
from trainer.data import SPLITS, default_data_dir, ensure_mnist, read_idx  # noqa: E402


def cached_inputs(work: Path, seed: int) -> dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """Per category: auto's model inputs, whether a digit was found, and the labels."""
    raw = ensure_mnist(default_data_dir(), log=lambda _: None)
    images, labels = read_idx(raw / SPLITS["test"].images), read_idx(raw / SPLITS["test"].labels)
    model = ModelInput(0.1307, 0.3081)
    out = {}
    for category in CATEGORIES:
        cache = work / f"inputs-{category}.npz"
        if not cache.is_file():
            count = 10000 if category == "mnist" else 1000
            folder = ROOT / "runs" / "bench" / f"seed{seed}-{count}" / category
            rows = write_set(category, folder, images, labels, count, seed,
                             ROOT / "runs" / "bench" / "cache", "all")  # fmt: skip
            xs = np.zeros((len(rows), 1, 28, 28), np.float32)
            found = np.zeros(len(rows), bool)
            for i, (path, _, _) in enumerate(rows):
                try:
                    xs[i], found[i] = preprocess(path, "auto", model), True
                except NoDigitError:
                    pass
            work.mkdir(parents=True, exist_ok=True)
            np.savez_compressed(cache, x=xs, found=found, y=np.array([y for _, y, _ in rows]))
        data = np.load(cache)
        out[category] = (data["x"], data["found"], data["y"])
    return out


def score(checkpoint: Path, inputs) -> dict[str, float]:
    import torch

    from trainer.checkpoint import load_checkpoint, model_from_checkpoint

    model = model_from_checkpoint(load_checkpoint(checkpoint))
    result = {}
    with torch.no_grad():
        for category, (x, found, y) in inputs.items():
            pred = torch.cat([model(torch.from_numpy(x[i : i + 1000]))
                              for i in range(0, len(x), 1000)]).argmax(1).numpy()  # fmt: skip
            result[category] = float(((pred == y) & found).mean())
    return result


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", required=True, help='"augmentations:epochs ..." (none for none)')
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--out", type=Path, default=ROOT / "runs" / "ablation")
    args = parser.parse_args(argv)

    import torch

    from trainer.config import TrainConfig
    from trainer.train import Run, train

    torch.set_num_threads(args.threads)
    inputs = cached_inputs(args.out, 1)
    external = [c for c in CATEGORIES if c != "mnist"]
    print("| augmentations | epochs | seed | " + " | ".join(CATEGORIES) + " | mean | min |")
    print("|---|---:|---:|" + "---:|" * (len(CATEGORIES) + 2))
    for spec in args.runs.split():
        augment, epochs = spec.rsplit(":", 1)
        checkpoint = args.out / f"{augment.replace(',', '+')}-{epochs}-{args.seed}.pth"
        if not checkpoint.is_file():
            config = TrainConfig(epochs=int(epochs), augment=augment, seed=args.seed)
            train(config, Run(data_dir=default_data_dir(), out=checkpoint, progress=False,
                              log=lambda _: None))  # fmt: skip
        got = score(checkpoint, inputs)
        ext = [got[c] for c in external]
        print(f"| {augment} | {epochs} | {args.seed} | "
              + " | ".join(f"{got[c]:.2%}" for c in CATEGORIES)
              + f" | {np.mean(ext):.2%} | {min(ext):.2%} |", flush=True)  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
