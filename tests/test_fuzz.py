"""Fuzzing: whatever image arrives, preprocessing and Predictor give a result or an ImageError.

Random pictures in every Pillow mode from 1x1 to 3000x3000, NumPy arrays of every dtype and
shape, and byte mutations of valid PNG, JPEG, GIF, TIFF, WebP, BMP and ICO files. Nothing else
may be raised, the model input is always finite, and no example may take more than the
deadline (a hang fails the test).

`make test` runs FUZZ_EXAMPLES examples per property (default 100, three properties); for a long
run: FUZZ_EXAMPLES=5000 .venv/bin/python -m pytest tests/test_fuzz.py
"""

from __future__ import annotations

import io
import os
from datetime import timedelta

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from runtime import Predictor
from runtime.preprocess import ImageError, ModelInput, preprocess

MODEL = ModelInput(0.1307, 0.3081)
EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "100"))
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=timedelta(seconds=20),
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    derandomize=os.environ.get("FUZZ_RANDOM") is None,  # the same examples on every CI run
)
MODES = ["1", "L", "P", "RGB", "RGBA", "CMYK", "YCbCr", "LAB", "HSV", "I", "F", "I;16", "LA",
         "PA", "La", "RGBa"]  # fmt: skip
FORMATS = {"PNG": ".png", "JPEG": ".jpg", "GIF": ".gif", "TIFF": ".tif", "WEBP": ".webp",
           "BMP": ".bmp", "ICO": ".ico"}  # fmt: skip


@pytest.fixture(scope="module")
def predictors(shipped_model):
    return {mode: Predictor(shipped_model, provider="cpu", mode=mode) for mode in ("auto", "plain")}


def holds(source, predictors) -> None:
    """The property: a finite (1, 28, 28) input or ImageError; a Prediction or ImageError."""
    for mode, predictor in predictors.items():
        try:
            x = preprocess(source, mode, MODEL)
        except ImageError:
            pass
        else:
            assert x.shape == (1, 28, 28) and x.dtype == np.float32 and np.isfinite(x).all()
        try:
            result = predictor.predict(source)
        except ImageError:
            continue
        assert result.error is None and not result.internal
        assert result.digit is None or (0 <= result.digit <= 9 and 0 <= result.confidence <= 1)


@st.composite
def pictures(draw):
    """A Pillow image: any mode, 1x1 to 3000x3000, noise, blocks or a drawn stroke."""
    mode = draw(st.sampled_from(MODES))
    w, h = draw(st.integers(1, 3000)), draw(st.integers(1, 3000))
    if w * h > 4_000_000:
        h = max(1, 4_000_000 // w)
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    kind = draw(st.sampled_from(["noise", "blocks", "flat", "stroke"]))
    small = (min(h, 64), min(w, 64))
    if kind == "noise":
        base = rng.integers(0, 256, small, dtype=np.uint8)
    elif kind == "blocks":
        base = (rng.random((4, 4)) * 255).astype(np.uint8)
    elif kind == "flat":
        base = np.full(small, int(rng.integers(0, 256)), np.uint8)
    else:
        base = np.full(small, 230, np.uint8)
        base[small[0] // 4 : 3 * small[0] // 4, small[1] // 2 : small[1] // 2 + 2] = 20
    grey = Image.fromarray(base).resize((w, h), Image.Resampling.NEAREST)
    for via in ("L", "RGB", "RGBA", "LA"):
        try:
            return grey.convert(via).convert(mode)
        except ValueError:
            continue
    raise AssertionError(f"Pillow makes no {mode} image")


@FUZZ
@given(image=pictures())
def test_any_pillow_image(predictors, image):
    """Pillow images of every mode and size hold the property."""
    holds(image, predictors)


DTYPES = [np.uint8, np.uint16, np.int8, np.int32, np.int64, np.float16, np.float32, np.float64,
          np.bool_, np.complex64]  # fmt: skip
SHAPES = [(28, 28), (40, 30, 1), (30, 40, 3), (30, 40, 4), (1, 28, 28), (1, 1, 28, 28),
          (30, 40, 2), (0, 5), (5, 0, 3), (784,), (2, 3, 4, 5), (1, 1), (3, 2000),
          (2000, 3)]  # fmt: skip


@FUZZ
@given(
    dtype=st.sampled_from(DTYPES),
    shape=st.sampled_from(SHAPES),
    fill=st.sampled_from(["random", "nan", "inf", "negative", "huge", "zeros"]),
    seed=st.integers(0, 2**32 - 1),
)
def test_any_numpy_array(predictors, dtype, shape, fill, seed):
    """Arrays of every dtype, shape and odd value hold the property."""
    rng = np.random.default_rng(seed)
    values = {
        "random": rng.random(shape) * 255,
        "nan": np.full(shape, np.nan),
        "inf": np.full(shape, np.inf),
        "negative": -rng.random(shape) * 1000,
        "huge": rng.random(shape) * 1e30,
        "zeros": np.zeros(shape),
    }[fill]
    with np.errstate(all="ignore"):
        array = values.astype(dtype)
    holds(array, predictors)


def valid_file(fmt: str) -> bytes:
    img = Image.open(
        os.path.join(os.path.dirname(__file__), "..", "exported", "samples", "two.png")
    )
    img = img.convert("RGB").resize((48, 48))
    out = io.BytesIO()
    img.save(out, fmt)
    return out.getvalue()


VALID = {fmt: valid_file(fmt) for fmt in FORMATS}


@FUZZ
@given(
    fmt=st.sampled_from(sorted(FORMATS)),
    edits=st.lists(
        st.tuples(
            st.sampled_from(["flip", "cut", "insert", "zero"]),
            st.floats(0, 1),
            st.binary(max_size=8),
        ),
        min_size=1,
        max_size=6,
    ),
)
def test_any_mutated_file(predictors, tmp_path_factory, fmt, edits):
    """Byte mutations of valid PNG, JPEG, GIF, TIFF, WebP, BMP and ICO files hold the property."""
    data = bytearray(VALID[fmt])
    for edit, where, junk in edits:
        at = int(where * max(len(data) - 1, 0))
        if edit == "flip" and data:
            data[at] ^= 0xFF
        elif edit == "cut":
            del data[at:]
        elif edit == "insert":
            data[at:at] = junk
        elif data:
            data[at : at + 4] = b"\x00" * len(data[at : at + 4])
    path = tmp_path_factory.mktemp("fuzz") / f"mutated{FORMATS[fmt]}"
    path.write_bytes(bytes(data))
    holds(path, predictors)
