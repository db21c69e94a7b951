"""Ray Data on a local Ray: the same answers as Predictor, through the API and mnist-infer --ray."""

from __future__ import annotations

import json

import pytest
from PIL import Image

from runtime import Predictor
from tests.conftest import run_cli

ray = pytest.importorskip("ray")
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def local_ray():
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, ignore_reinit_error=True)
    yield
    ray.shutdown()


def test_dataset_of_images_reads_as_predictor_does(local_ray, mnist_test, tmp_path, shipped_model):
    """300 MNIST test digits as a Ray Dataset of bytes: every record equals Predictor's JSON."""
    from runtime.distributed import predict_dataset

    images, _ = mnist_test
    paths = []
    for i in range(300):
        paths.append(tmp_path / f"{i:03d}.png")
        Image.fromarray(255 - images[i]).resize((56, 56)).save(paths[-1])
    ds = ray.data.read_binary_files([str(p) for p in paths], include_paths=True)
    rows = predict_dataset(ds, model=shipped_model).take_all()
    got = {row["path"]: json.loads(row["record"]) for row in rows}
    expected = Predictor(shipped_model, provider="cpu").predict_batch(paths)
    assert len(got) == 300
    for path, result in zip(paths, expected, strict=True):
        record = got[str(path)]
        assert record["digit"] == result.digit
        assert abs(record["confidence"] - result.confidence) < 1e-6


def test_cli_on_ray_keeps_the_input_order(tmp_path):
    """mnist-infer --ray prints the same lines as without it, in the same order."""
    from tests.conftest import ROOT

    samples = ROOT / "exported" / "samples"
    plain = run_cli("mnist-infer", samples, "--json")
    on_ray = run_cli("mnist-infer", samples, "--json", "--ray", timeout=300)
    assert on_ray.returncode == 0, on_ray.stderr
    digits = lambda out: [json.loads(line)["digit"] for line in out.splitlines()]  # noqa: E731
    assert digits(on_ray.stdout) == digits(plain.stdout) == [4, 1, 7, 2]
