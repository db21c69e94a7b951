"""Which training augmentations pay, chosen without looking at the bench's test images.

    python benchmarks/ablation.py --runs "none:15 styles,affine,elastic,width,lowres,contrast:15"
        [--seeds 1,2] [--threads 1] [--out runs/ablation]

The development protocol: each run trains Digit (`trainer.train`, one thread, so two runs can
share a 2-core machine) on the first 50,000 MNIST training images only, and is scored on
development sets made from the 10,000 training images it never saw, by the external bench's own
generators (benchmarks/imagesets.py): the raw digits, photo-like, drawing, ruled and
low-resolution, 2,000 of each; and on optdigits rows the bench never reads (1,000 on, 797
images). The bench itself (benchmarks/accuracy.py: MNIST test digits, fonts, optdigits' first
1,000) stays for measuring the recipe chosen here. The font categories have no development
counterpart: their fonts are the bench's.

Each set is preprocessed once with `auto` and cached. Prints one row per run and seed: MNIST test
accuracy (from the run's own metrics), each development set's accuracy, and the mean and minimum
over the sets other than the raw digits.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.imagesets import write_set  # noqa: E402
from runtime.preprocess import ModelInput, NoDigitError, preprocess  # noqa: E402
from trainer.data import SPLITS, default_data_dir, ensure_mnist, read_idx  # noqa: E402

TRAIN_ON = 50000  # training images the runs learn from; the rest make the development sets
DEV_SETS = ("mnist", "photo", "drawing", "ruled", "lowres", "optdigits")
DEV_COUNT = 2000  # images per development set (optdigits: all it has left, 797)
DEV_SEED = 101


def development_digits(raw: Path) -> tuple[np.ndarray, np.ndarray]:
    """The MNIST training images (and labels) that the runs, trained on the first TRAIN_ON
    (`TrainConfig.limit`), never see."""
    return (read_idx(raw / SPLITS["train"].images)[TRAIN_ON:],
            read_idx(raw / SPLITS["train"].labels)[TRAIN_ON:])  # fmt: skip


def development_inputs(work: Path) -> dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """Per development set: auto's model inputs, whether a digit was found, and the labels."""
    images, labels = development_digits(ensure_mnist(default_data_dir(), log=lambda _: None))
    model = ModelInput(0.1307, 0.3081)
    out = {}
    for name in DEV_SETS:
        cache = work / f"dev-{name}.npz"
        if not cache.is_file():
            folder = ROOT / "runs" / "bench" / f"dev{DEV_SEED}-{DEV_COUNT}" / name
            rows = write_set(name, folder, images, labels, DEV_COUNT, DEV_SEED,
                             ROOT / "runs" / "bench" / "cache", optdigits="dev")  # fmt: skip
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
        out[name] = (data["x"], data["found"], data["y"])
    return out


def score(checkpoint: Path, inputs) -> tuple[float, dict[str, float]]:
    """MNIST test accuracy from the checkpoint's metrics, and each development set's."""
    import torch

    from trainer.checkpoint import load_checkpoint, model_from_checkpoint

    state = load_checkpoint(checkpoint)
    model = model_from_checkpoint(state)
    result = {}
    with torch.no_grad():
        for name, (x, found, y) in inputs.items():
            pred = torch.cat([model(torch.from_numpy(x[i : i + 1000]))
                              for i in range(0, len(x), 1000)]).argmax(1).numpy()  # fmt: skip
            result[name] = float(((pred == y) & found).mean())
    return float(state["metrics"]["test_accuracy"]), result


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", required=True, help='"augmentations:epochs ..." (none for none)')
    parser.add_argument("--seeds", default="1", help="comma-separated training seeds")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--out", type=Path, default=ROOT / "runs" / "ablation")
    args = parser.parse_args(argv)

    import torch

    from trainer.config import TrainConfig
    from trainer.train import Run, train

    torch.set_num_threads(args.threads)
    inputs = development_inputs(args.out)
    external = [name for name in DEV_SETS if name != "mnist"]
    print("| augmentations | epochs | seed | MNIST test | " + " | ".join(DEV_SETS)
          + " | mean | min |")  # fmt: skip
    print("|---|---:|---:|---:|" + "---:|" * (len(DEV_SETS) + 2))
    for spec in args.runs.split():
        augment, epochs = spec.rsplit(":", 1)
        for seed in (int(s) for s in args.seeds.split(",")):
            name = f"{augment.replace(',', '+')}-{epochs}-{seed}-{TRAIN_ON}.pth"
            checkpoint = args.out / name
            if not checkpoint.is_file():
                config = TrainConfig(epochs=int(epochs), augment=augment, seed=seed,
                                     limit=TRAIN_ON)  # fmt: skip
                train(config, Run(data_dir=default_data_dir(), out=checkpoint, progress=False,
                                  log=lambda _: None))  # fmt: skip
            test, got = score(checkpoint, inputs)
            ext = [got[name] for name in external]
            print(f"| {augment} | {epochs} | {seed} | {test:.2%} | "
                  + " | ".join(f"{got[name]:.2%}" for name in DEV_SETS)
                  + f" | {np.mean(ext):.2%} | {min(ext):.2%} |", flush=True)  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
