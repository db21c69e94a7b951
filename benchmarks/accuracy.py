"""The external bench: accuracy per kind of image, per preprocessing mode and per model.

    python benchmarks/accuracy.py [--count 1000] [--seed 1] [--fonts dev|heldout|all]
        [--categories mnist,photo,...] [--modes plain,old-auto,auto]
        [--models new=exported/digit.onnx,old=git:9cadec7] [--json runs/bench/accuracy.json]

Categories are described in benchmarks/imagesets.py; every image is made with a fixed seed from
MNIST test digits, fonts or UCI optdigits, and cached under runs/bench/. `old-auto` is the
`auto` preprocessing of an earlier commit (`--baseline`, read from git), and a model given as
`git:REV` is the shipped model of that commit, so the table compares before and after.

For each cell it prints the accuracy, how many wrong answers carried a confidence above 0.9, how
many answers were flagged low-confidence (under 0.5, mnist-infer's default), how many were "no
digit found", and the milliseconds per image spent reading and preprocessing.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.imagesets import CATEGORIES, FONT_CATEGORIES, write_set  # noqa: E402
from runtime.predict import likelier  # noqa: E402
from runtime.preprocess import (  # noqa: E402
    ImageError,
    ModelInput,
    NoDigitError,
    model_inputs,
    preprocess,
)
from runtime.session import INPUT_NAME, create_session, read_contract  # noqa: E402
from trainer.data import SPLITS, default_data_dir, ensure_mnist, read_idx  # noqa: E402

BASELINE = "9cadec7"  # the last commit before auto was rebuilt and the model retrained
CONFIDENT, LOW = 0.9, 0.5


@dataclass
class Cell:
    category: str
    mode: str
    model: str
    images: int
    accuracy: float
    wrong_confident: int  # wrong answers with confidence > 0.9
    low_confidence: int  # answers under 0.5
    no_digit: int  # "no digit found" (counted as wrong)
    failed: int  # unreadable (counted as wrong)
    ms_preprocess: float  # reading + preprocessing, per image
    ms_model: float  # the model's share, per image


def git_file(rev: str, path: str, out: Path) -> Path:
    data = subprocess.run(
        ["git", "-C", str(ROOT), "show", f"{rev}:{path}"], capture_output=True, check=True
    ).stdout
    out.write_bytes(data)
    return out


def old_auto(rev: str, tmp: Path):
    """The `auto` preprocessing as it was at `rev`, loaded from git as its own module."""
    path = git_file(rev, "runtime/preprocess.py", tmp / f"preprocess_{rev}.py")
    spec = importlib.util.spec_from_file_location(f"preprocess_{rev}", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)

    def run(source, norm):
        try:
            return module.preprocess(source, "auto", norm)
        except module.NoDigitError as exc:
            raise NoDigitError() from exc
        except module.ImageError as exc:
            raise ImageError(str(exc)) from exc

    return run


def load_models(spec: str, tmp: Path) -> dict:
    models = {}
    for item in spec.split(","):
        name, where = item.split("=", 1)
        path = (
            git_file(where[4:], "exported/digit.onnx", tmp / f"{name}.onnx")
            if where.startswith("git:")
            else Path(where)
        )
        session = create_session(path, "cpu")[0]
        models[name] = (session, read_contract(session, path))
    return models


def run_preprocess(fn, paths, norm) -> tuple[list, float]:
    inputs = []
    t0 = time.perf_counter()
    for path in paths:
        try:
            inputs.append(fn(path, norm))
        except NoDigitError:
            inputs.append("no digit")
        except ImageError:
            inputs.append("failed")
    return inputs, 1000 * (time.perf_counter() - t0) / len(paths)


def score(category, mode, name, session, inputs, labels, ms_pre) -> tuple[Cell, np.ndarray]:
    ok = [i for i, x in enumerate(inputs) if isinstance(x, np.ndarray)]
    probs = np.zeros((len(inputs), 10))
    t0 = time.perf_counter()
    for start in range(0, len(ok), 500):
        idx = ok[start : start + 500]
        tries = [inputs[i] for i in idx]  # each image's inputs to try (k, h, w), as Predictor
        batch = np.concatenate(tries)[:, None].astype(np.float32)
        rows = iter(session.run(None, {INPUT_NAME: batch})[0])
        chosen = [likelier(x, [next(rows) for _ in x])[1] for x in tries]
        probs[idx] = np.exp(np.stack(chosen).astype(np.float64))
    ms_model = 1000 * (time.perf_counter() - t0) / len(inputs)
    read = np.zeros(len(inputs), bool)
    read[ok] = True
    pred = np.where(read, probs.argmax(1), -1)
    conf = probs.max(1)
    right = pred == np.asarray(labels)
    cell = Cell(
        category=category,
        mode=mode,
        model=name,
        images=len(inputs),
        accuracy=float(right.mean()),
        wrong_confident=int((read & ~right & (conf > CONFIDENT)).sum()),
        low_confidence=int((read & (conf < LOW)).sum()),
        no_digit=sum(x == "no digit" for x in inputs if isinstance(x, str)),
        failed=sum(x == "failed" for x in inputs if isinstance(x, str)),
        ms_preprocess=ms_pre,
        ms_model=ms_model,
    )
    return cell, pred


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=1000, help="images per category")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--fonts", choices=("dev", "heldout", "all"), default="all")
    parser.add_argument("--categories", default=",".join(CATEGORIES))
    parser.add_argument("--modes", default="plain,old-auto,auto")
    shipped = ROOT / "exported" / "digit.onnx"
    parser.add_argument("--models", default=f"new={shipped},old=git:{BASELINE}")
    parser.add_argument("--baseline", default=BASELINE, help="commit whose auto is old-auto")
    parser.add_argument("--work", type=Path, default=ROOT / "runs" / "bench")
    parser.add_argument("--json", type=Path, help="also write every cell as JSON")
    parser.add_argument("--errors", type=Path, help="write the wrong answers of auto as TSV")
    args = parser.parse_args(argv)

    raw = ensure_mnist(default_data_dir(), log=lambda _: None)
    images, labels = read_idx(raw / SPLITS["test"].images), read_idx(raw / SPLITS["test"].labels)
    cells, errors = [], []
    with tempfile.TemporaryDirectory() as tmp:
        models = load_models(args.models, Path(tmp))
        info = next(iter(models.values()))[1]
        norm = ModelInput(info.mean, info.std, info.input_size)
        modes = {
            "plain": lambda s, n: preprocess(s, "plain", n),
            "auto": lambda s, n: model_inputs(s, "auto", n),
        }
        if "old-auto" in args.modes.split(","):
            modes["old-auto"] = old_auto(args.baseline, Path(tmp))
        print("| category | images | mode | " + " | ".join(models) + " | ms per image |")
        print("|---|---:|---|" + "---:|" * len(models) + "---:|")
        for category in args.categories.split(","):
            count = 10000 if category == "mnist" else args.count
            fonts = args.fonts if category in FONT_CATEGORIES else "all"
            folder = (
                args.work
                / f"seed{args.seed}-{count}"
                / (category if fonts == "all" else f"{category}-{fonts}")
            )
            rows = write_set(
                category, folder, images, labels, count, args.seed, args.work / "cache", fonts
            )
            paths, truth = [p for p, _, _ in rows], [y for _, y, _ in rows]
            for mode in args.modes.split(","):
                inputs, ms_pre = run_preprocess(modes[mode], paths, norm)
                shown = []
                for name, (session, _) in models.items():
                    cell, pred = score(category, mode, name, session, inputs, truth, ms_pre)
                    cells.append(cell)
                    shown.append(
                        f"{cell.accuracy:.2%} ({cell.wrong_confident}/{cell.low_confidence}"
                        f"/{cell.no_digit})"
                    )
                    if mode == "auto" and name == next(iter(models)):
                        errors += [
                            (category, str(p), y, int(d), k)
                            for p, y, d, (_, _, k) in zip(paths, truth, pred, rows, strict=True)
                            if d != y
                        ]
                print(
                    f"| {category} | {len(paths)} | {mode} | " + " | ".join(shown)
                    + f" | {ms_pre + cell.ms_model:.2f} |",
                    flush=True,
                )  # fmt: skip
    print(
        "\nEach cell: accuracy (wrong answers with confidence > 0.9 / answers flagged under 0.5 /"
        " no digit found)."
    )
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps([asdict(c) for c in cells], indent=1))
    if args.errors:
        args.errors.parent.mkdir(parents=True, exist_ok=True)
        args.errors.write_text("".join("\t".join(map(str, e)) + "\n" for e in errors))
    return 0


if __name__ == "__main__":
    sys.exit(main())
