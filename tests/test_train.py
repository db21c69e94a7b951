"""Digit, the training loop, checkpoints and mnist-train's errors."""

from __future__ import annotations

import json
import signal
import subprocess
import time

import numpy as np
import pytest
import torch

from tests.conftest import BIN, assert_one_line_error, interruptible, run_cli
from trainer.checkpoint import CheckpointError, load_checkpoint, model_from_checkpoint
from trainer.model import Digit
from trainer.train import Run, TrainConfig, TrainError, train


def quiet_run(mnist_dir, out, **kw) -> Run:
    return Run(data_dir=mnist_dir, out=out, progress=False, log=lambda _: None, **kw)


def test_digit_outputs_log_probabilities():
    """(N, 1, 28, 28) -> (N, 10) rows that are log-probabilities."""
    out = Digit()(torch.randn(5, 1, 28, 28))
    assert out.shape == (5, 10)
    torch.testing.assert_close(out.exp().sum(1), torch.ones(5))
    assert (out <= 0).all()


def test_digit_has_the_seed_architecture():
    """conv 1->10 5x5, conv 10->20 3x3, fc 2000->500, fc 500->10 and nothing else."""
    shapes = {k: tuple(v.shape) for k, v in Digit().state_dict().items()}
    assert shapes == {
        "conv1.weight": (10, 1, 5, 5),
        "conv1.bias": (10,),
        "conv2.weight": (20, 10, 3, 3),
        "conv2.bias": (20,),
        "fc1.weight": (500, 2000),
        "fc1.bias": (500,),
        "fc2.weight": (10, 500),
        "fc2.bias": (10,),
    }


def test_short_training_lowers_the_loss_and_writes_its_report(mnist_dir, tmp_path):
    """Two epochs on 3,000 images: the loss falls; checkpoint, metrics JSON and PNG are written."""
    out = tmp_path / "d.pth"
    metrics = train(TrainConfig(epochs=2, limit=3000), quiet_run(mnist_dir, out))
    history = metrics["history"]
    assert history[1]["train_loss"] < history[0]["train_loss"]
    assert history[-1]["test_accuracy"] > 0.85
    saved = json.loads(out.with_suffix(".metrics.json").read_text())
    assert (
        len(saved["confusion_matrix"]) == 10 and sum(map(sum, saved["confusion_matrix"])) == 10000
    )
    assert len(saved["per_class_accuracy"]) == 10
    assert out.with_suffix(".curves.png").read_bytes().startswith(b"\x89PNG")
    state = load_checkpoint(out)
    assert state["epoch"] == 2 and state["normalization"] == {"mean": 0.1307, "std": 0.3081}
    assert {"model_state_dict", "optimizer_state_dict", "scheduler_state_dict"} <= state.keys()
    assert state["versions"]["torch"] == str(torch.__version__)


def test_same_seed_gives_identical_weights(mnist_dir, tmp_path):
    """Two runs with one seed on the CPU end with the same weights; another seed does not."""
    weights = []
    for name, seed in (("a", 3), ("b", 3), ("c", 4)):
        train(TrainConfig(epochs=1, limit=1500, seed=seed), quiet_run(mnist_dir, tmp_path / name))
        weights.append(load_checkpoint(tmp_path / name)["model_state_dict"])
    assert all(torch.equal(weights[0][k], weights[1][k]) for k in weights[0])
    assert not torch.equal(weights[0]["fc2.weight"], weights[2]["fc2.weight"])


def test_resume_continues_where_it_stopped(mnist_dir, tmp_path):
    """One epoch, then --resume to two, ends exactly where two epochs in one go end."""
    cfg = TrainConfig(epochs=2, limit=1500, augment=True)
    straight = tmp_path / "straight.pth"
    train(cfg, quiet_run(mnist_dir, straight))

    resumed = tmp_path / "resumed.pth"
    interrupted = quiet_run(mnist_dir, resumed)
    state = _train_one_epoch_of(cfg, interrupted)
    assert state["epoch"] == 1
    assert state["optimizer_state_dict"]["state"][0]["step"] == 12  # 1500 / 128 batches

    train(TrainConfig(), quiet_run(mnist_dir, resumed), resume=resumed)
    a, b = load_checkpoint(straight), load_checkpoint(resumed)
    assert b["epoch"] == 2 and [h["epoch"] for h in b["history"]] == [1, 2]
    assert b["optimizer_state_dict"]["state"][0]["step"] == 24
    for key in a["model_state_dict"]:
        torch.testing.assert_close(a["model_state_dict"][key], b["model_state_dict"][key])


def _train_one_epoch_of(cfg: TrainConfig, run: Run) -> dict:
    """Interrupt a run early in its second epoch, as Ctrl-C would; return what was saved."""

    def log(message):
        if message.startswith("  epoch 2 ["):
            raise KeyboardInterrupt

    run.log, run.log_interval = log, 1
    with pytest.raises(TrainError, match="interrupted during epoch 2"):
        train(cfg, run)
    return load_checkpoint(run.out)


def test_resume_refuses_changed_hyperparameters(tmp_path):
    """--resume with --lr is a usage error: the checkpoint's config is used."""
    result = run_cli("mnist-train", "--resume", tmp_path / "x.pth", "--lr", "0.1")
    assert "cannot be changed when resuming" in assert_one_line_error(result, 2)


def test_interrupted_save_keeps_the_old_checkpoint(mnist_dir, tmp_path, monkeypatch):
    """A crash while writing leaves the previous checkpoint intact and no temporary file."""
    from trainer import checkpoint

    out = tmp_path / "d.pth"
    train(TrainConfig(epochs=1, limit=500), quiet_run(mnist_dir, out))
    before = out.read_bytes()

    def crash(obj, f, *a, **k):
        f.write(b"half a checkpoint")
        raise KeyboardInterrupt

    monkeypatch.setattr(checkpoint.torch, "save", crash)
    with pytest.raises(KeyboardInterrupt):
        checkpoint.save_checkpoint({"epoch": 9}, out)
    assert out.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")) == []


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda p: None, "not found"),
        (lambda p: p.write_bytes(b"not a checkpoint at all"), "not a readable PyTorch checkpoint"),
        (lambda p: torch.save([1, 2, 3], p), "not a Digit checkpoint"),
    ],
    ids=["missing", "foreign-bytes", "foreign-torch-file"],
)
def test_bad_checkpoints_are_one_line_errors(tmp_path, make, message):
    """Missing, foreign and non-Digit files are refused with one line."""
    path = tmp_path / "bad.pth"
    make(path)
    with pytest.raises(CheckpointError, match=message) as info:
        load_checkpoint(path)
    assert "\n" not in str(info.value)


def test_truncated_checkpoint_is_a_one_line_error(small_checkpoint, tmp_path):
    """A checkpoint cut in half is refused, through the CLI too."""
    cut = tmp_path / "cut.pth"
    cut.write_bytes(small_checkpoint.read_bytes()[: small_checkpoint.stat().st_size // 2])
    with pytest.raises(CheckpointError, match="truncated"):
        load_checkpoint(cut)
    line = assert_one_line_error(run_cli("mnist-train", "--resume", cut), 1)
    assert "truncated" in line


def test_other_architecture_is_named(tmp_path):
    """A checkpoint of a wider network is refused as another architecture."""
    state = {"epoch": 1, "config": {}, "model_state_dict": torch.nn.Linear(784, 10).state_dict()}
    with pytest.raises(CheckpointError, match="another architecture"):
        model_from_checkpoint(state, tmp_path / "x.pth")


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has a GPU")
def test_cuda_without_gpu_is_a_clear_error(tmp_path):
    """--device cuda on a machine without a GPU says so in one line."""
    result = run_cli("mnist-train", "--device", "cuda", "--out", tmp_path / "x.pth")
    assert "no CUDA GPU" in assert_one_line_error(result, 1)
    assert not (tmp_path / "x.pth").exists()


@pytest.mark.slow
def test_ctrl_c_stops_cleanly_and_says_what_was_saved(mnist_dir, tmp_path):
    """SIGINT during the second epoch: exit 130, one line naming the saved epoch, a valid file."""
    out = tmp_path / "d.pth"
    proc = interruptible(
        [BIN / "mnist-train", "--epochs", "50", "--limit", "3000", "--out", out,
         "--data-dir", mnist_dir],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    deadline = time.time() + 120
    while not out.exists() and time.time() < deadline:
        time.sleep(0.2)
    proc.send_signal(signal.SIGINT)
    _, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 130, stderr
    assert "Traceback" not in stderr
    assert f"{out} holds epoch" in stderr.strip().splitlines()[-1]
    assert load_checkpoint(out)["epoch"] >= 1


def test_resuming_a_finished_run_says_so(small_checkpoint, tmp_path):
    """--resume on a checkpoint that already holds all its epochs is a one-line error."""
    result = run_cli("mnist-train", "--resume", small_checkpoint, "--out", tmp_path / "x.pth")
    assert "already holds all 1 epochs" in assert_one_line_error(result, 1)


def _ink_box(field: np.ndarray) -> tuple[int, int]:
    rows, cols = np.flatnonzero(field.max(1) > 0.35), np.flatnonzero(field.max(0) > 0.35)
    return rows[-1] - rows[0] + 1, cols[-1] - cols[0] + 1


@pytest.mark.parametrize("kind", ["touching", "pieces"])
def test_outliers_are_framed_as_auto_frames_a_digit(mnist_dir, monkeypatch, kind):
    """Touching digits are framed wider than tall (but for narrow pairs, such as 11), pieces
    of one digit taller than wide; each fills about 20 px on its longer side and sits centred
    by mass, as `auto` frames a digit; a seed gives the same pool."""
    from trainer import outliers
    from trainer.data import SPLITS, raw_dir, read_idx

    images = read_idx(raw_dir(mnist_dir) / SPLITS["train"].images)[:2000]
    monkeypatch.setattr(outliers, "TOUCHING", 1.0 if kind == "touching" else 0.0)
    pool = outliers.outlier_pool(images, 200, seed=5).astype(np.float32) / 255
    assert pool.shape == (200, 28, 28)
    aspect = []
    for field in pool:
        height, width = _ink_box(field)
        aspect.append(width / height)
        assert 18 <= max(height, width) <= 22
        mass = field.sum()
        centre = (field.sum(1) @ np.arange(28) / mass, field.sum(0) @ np.arange(28) / mass)
        assert all(abs(c - 13.5) <= 3 for c in centre)
    wide = np.mean(np.array(aspect) > 1)
    assert wide > 0.75 if kind == "touching" else wide < 0.1
    again = outliers.outlier_pool(images, 200, seed=5)
    assert np.array_equal(again, np.round(pool * 255).astype(np.uint8))


def test_training_on_outliers_teaches_the_model_to_doubt_them(mnist_dir, tmp_path):
    """Two runs alike but for the weight on outliers: the one trained to doubt them reads
    outliers it never saw (another seed's) with a lower confidence, and digits as well."""
    from trainer import outliers
    from trainer.data import SPLITS, raw_dir, read_idx

    images = read_idx(raw_dir(mnist_dir) / SPLITS["train"].images)[3000:4000]
    unseen = torch.from_numpy(outliers.outlier_pool(images, 300, seed=99)).float() / 255
    confidence, accuracy = {}, {}
    for weight in (0.0, 0.5):
        out = tmp_path / f"w{weight}.pth"
        metrics = train(
            TrainConfig(epochs=2, limit=3000, outliers=weight), quiet_run(mnist_dir, out)
        )
        model = model_from_checkpoint(load_checkpoint(out)).eval()
        with torch.no_grad():
            log_probs = model(((unseen - 0.1307) / 0.3081).unsqueeze(1))
        confidence[weight] = log_probs.exp().max(1).values.mean().item()
        accuracy[weight] = metrics["test_accuracy"]
    assert confidence[0.5] < confidence[0.0] - 0.2
    assert accuracy[0.5] > accuracy[0.0] - 0.02


def test_a_checkpoint_from_before_outliers_resumes_without_them():
    """A stored config without the `outliers` field trained without them; a bad weight is a
    one-line ValueError that names the field."""
    stored = {"epochs": 3, "batch_size": 128, "lr": 0.003, "seed": 1, "augment": "none"}
    assert TrainConfig.from_dict(stored).outliers == 0.0
    assert TrainConfig().outliers > 0
    for bad in (-1, float("inf"), True, "0.5"):
        with pytest.raises(ValueError, match="outliers must be"):
            TrainConfig(outliers=bad)
