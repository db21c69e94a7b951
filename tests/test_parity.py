"""The shipped model against its checkpoint on all 10,000 MNIST test images, per provider."""

from __future__ import annotations

import json

import numpy as np
import onnx
import pytest

from runtime.session import PROVIDERS, create_session
from tests.conftest import ROOT

torch = pytest.importorskip("torch")

CHECKPOINT = ROOT / "exported" / "digit.pth"
# float32 log-probabilities reach -35 and more; there 1e-5 is a few units in the last place, so
# the bound is 1e-5 plus 1e-6 of the magnitude (PyTorch's own float32 differs from float64 by 9e-6)
TOLERANCE = {"cpu": (1e-6, 1e-5), "cuda": (1e-6, 1e-5)}  # CUDA: with TF32 off, as the runtime runs


def session_on(model, provider):
    """A session that runs on `provider` (the gpu marker skips CUDA where it cannot run)."""
    session = create_session(model, provider)[0]
    assert session.get_providers()[0] == PROVIDERS[provider]
    return session


@pytest.fixture(scope="module")
def reference(mnist_test):
    from trainer.checkpoint import load_checkpoint, model_from_checkpoint

    images, labels = mnist_test
    x = ((images.astype(np.float32) / 255 - 0.1307) / 0.3081)[:, None]
    model = model_from_checkpoint(load_checkpoint(CHECKPOINT))
    with torch.no_grad():
        log_probs = np.concatenate(
            [model(torch.from_numpy(x[i : i + 1000])).numpy() for i in range(0, len(x), 1000)]
        )
    return x, labels, log_probs


def test_shipped_model_comes_from_the_shipped_checkpoint(shipped_model):
    """The model's metadata names the sha256 of exported/digit.pth."""
    from trainer.export import sha256_bytes

    meta = {p.key: p.value for p in onnx.load(shipped_model).metadata_props}
    assert meta["source_checkpoint_sha256"] == sha256_bytes(CHECKPOINT.read_bytes())
    card = json.loads(shipped_model.with_suffix(".card.json").read_text())
    assert card["verification"]["accuracy_onnx"] >= 0.993


@pytest.mark.parametrize("provider", ["cpu", pytest.param("cuda", marks=pytest.mark.gpu)])
def test_whole_test_set_parity(shipped_model, reference, provider):
    """Max |diff| within tolerance, 100 % argmax agreement and equal accuracy on 10,000 images."""
    x, labels, expected = reference
    session = session_on(shipped_model, provider)
    got = np.concatenate(
        [session.run(None, {"input": x[i : i + 1000]})[0] for i in range(0, len(x), 1000)]
    )
    rtol, atol = TOLERANCE[provider]
    np.testing.assert_allclose(got, expected, rtol=rtol, atol=atol)
    disagree = np.flatnonzero(got.argmax(1) != expected.argmax(1))
    assert disagree.size == 0, f"argmax differs on test images {disagree[:20].tolist()}"
    assert (got.argmax(1) == labels).mean() == (expected.argmax(1) == labels).mean() >= 0.993
