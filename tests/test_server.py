"""mnist-serve: the API's answers and statuses, batching under concurrency, and the page in a real
headless Chromium."""

from __future__ import annotations

import base64
import io
import shutil
import socket
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
from PIL import Image

pytest.importorskip("fastapi")
from fastapi.testclient import TestClient  # noqa: E402

from runtime import Predictor  # noqa: E402
from runtime.server import ServeConfig, create_app  # noqa: E402
from tests.conftest import BIN, ROOT, thick_tight  # noqa: E402

SAMPLES = ROOT / "exported" / "samples"
SCHEMA = {"digit", "confidence", "probabilities", "provider", "mode"}


@pytest.fixture(scope="module")
def predictor(shipped_model):
    return Predictor(shipped_model, provider="cpu")


@pytest.fixture(scope="module")
def client(predictor):
    with TestClient(create_app(predictor, ServeConfig(max_upload_mb=1))) as client:
        yield client


def png(image: Image.Image) -> bytes:
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


def test_multipart_upload_is_read(client, predictor):
    """POST /v1/predict with field `file`: the same JSON as mnist-infer --json, without path."""
    response = client.post(
        "/v1/predict",
        files={"file": ("seven.jpg", (SAMPLES / "seven.jpg").read_bytes(), "image/jpeg")},
    )
    assert response.status_code == 200
    record = response.json()
    expected = predictor.predict(SAMPLES / "seven.jpg").to_json()
    expected.pop("path")
    assert record.keys() == expected.keys() == SCHEMA
    assert record["digit"] == expected["digit"] == 7
    np.testing.assert_allclose(record["probabilities"], expected["probabilities"], rtol=1e-6)


def test_raw_body_and_options(client):
    """The raw body with an image/* type; top_k, mode and return_input."""
    body = (SAMPLES / "two.png").read_bytes()
    response = client.post("/v1/predict?top_k=3&mode=plain&return_input=true", content=body,
                           headers={"Content-Type": "image/png"})  # fmt: skip
    assert response.status_code == 200, response.text
    record = response.json()
    assert record["mode"] == "plain" and [t["digit"] for t in record["top"]][:1] == [
        record["digit"]
    ]
    assert len(record["top"]) == 3
    seen = Image.open(io.BytesIO(base64.b64decode(record["input_png"])))
    assert seen.size == (28, 28) and seen.mode == "L"


def test_unclear_polarity_is_served_as_predictor_reads_it(client, predictor, mnist_test):
    """A thick digit cropped tight whose paper the model reads better than its first guess:
    the server runs both inputs and answers as Predictor does."""
    from runtime.preprocess import auto_inputs

    images, _ = mnist_test
    for i in range(150):
        img = thick_tight(images[i], light=True)
        tries = auto_inputs(img, predictor.input)
        if len(tries) > 1 and predictor.run(tries[:, None]).max(axis=1).argmax() == 1:
            break
    else:
        pytest.fail("no thick digit whose second reading is the surer")
    response = client.post("/v1/predict", content=png(img), headers={"Content-Type": "image/png"})
    expected = predictor.predict(img)
    assert response.json()["digit"] == expected.digit
    assert response.json()["confidence"] == pytest.approx(expected.confidence, rel=1e-6)


def test_blank_image_is_200_with_a_note(client):
    """No digit found is an answer, not an error."""
    response = client.post("/v1/predict", content=png(Image.new("L", (120, 90), 240)),
                           headers={"Content-Type": "image/png"})  # fmt: skip
    assert response.status_code == 200
    assert response.json()["digit"] is None and response.json()["note"] == "no digit found"


def test_multi_reads_a_number(client, mnist_test):
    """multi=true: the number's text and a box per digit."""
    images, labels = mnist_test
    canvas = np.full((80, 200), 240, np.uint8)
    for n, i in enumerate((0, 1, 2)):
        canvas[10:66, 10 + 62 * n : 66 + 62 * n] = (
            255 - np.asarray(Image.fromarray(images[i]).resize((56, 56))) * 0.9
        )
    response = client.post("/v1/predict?multi=true", content=png(Image.fromarray(canvas)),
                           headers={"Content-Type": "image/png"})  # fmt: skip
    assert response.status_code == 200, response.text
    record = response.json()
    assert (
        record["text"] == "".join(str(labels[i]) for i in (0, 1, 2)) and len(record["digits"]) == 3
    )


BOMB = io.BytesIO()
Image.new("1", (50000, 50000)).save(BOMB, "PNG")


@pytest.mark.parametrize(
    "query, body, kind, status, words",
    [
        ("", b"x" * (2 * 1024 * 1024), "image/png", 413, "over the limit"),
        ("", b"hello", "text/plain", 415, "text/plain"),
        ("", b"%PDF-1.4", "application/pdf", 415, "application/pdf"),
        ("", b"", "", 422, "no image"),
        ("", b"not really a png", "image/png", 422, "not an image"),
        ("", BOMB.getvalue(), "image/png", 422, "too many pixels"),
        ("?mode=fancy", b"x", "image/png", 400, "mode"),
        ("?top_k=eleven", b"x", "image/png", 400, "top_k"),
        ("?path=/etc/passwd", b"x", "image/png", 400, "unknown parameter"),
        ("?multi=true&mode=plain", b"x", "image/png", 400, "multi"),
    ],
    ids=["too-big", "text", "pdf", "nothing", "garbage", "bomb", "mode", "top-k", "path",
         "multi-plain"],
)  # fmt: skip
def test_errors_are_json_with_the_right_status(client, query, body, kind, status, words):
    """Every bad request: its status and {"error": "..."} naming the problem; never a 500."""
    headers = {"Content-Type": kind} if kind else {}
    response = client.post("/v1/predict" + query, content=body, headers=headers)
    assert response.status_code == status, response.text
    assert set(response.json()) == {"error"} and words in response.json()["error"]


def test_multipart_errors(client):
    """A form without `file` is 422; a form file of a non-image type is 415."""
    no_file = client.post(
        "/v1/predict", data={"other": "x"}, files={"x": ("a.txt", b"a", "text/plain")}
    )
    assert no_file.status_code == 422 and "no file" in no_file.json()["error"]
    text = client.post("/v1/predict", files={"file": ("a.txt", b"hello", "text/plain")})
    assert text.status_code == 415 and "text/plain" in text.json()["error"]


def test_health_and_model(client, predictor, shipped_model):
    """/healthz names the provider, the model's sha256 and the version; /v1/model its card."""
    import hashlib

    from runtime import __version__

    health = client.get("/healthz").json()
    assert health["provider"] == "cpu" and health["version"] == __version__
    assert health["model_sha256"] == hashlib.sha256(shipped_model.read_bytes()).hexdigest()
    model = client.get("/v1/model").json()
    assert model["metadata"]["mean"] == predictor.info.metadata["mean"]
    assert model["card"]["sha256"] == health["model_sha256"]


def test_page_is_self_contained(client):
    """The page loads nothing from elsewhere: no CDN, web font or outside script."""
    html = client.get("/").text
    assert "<canvas" in html and "/v1/predict" in html
    for outside in ("http://", "https://", "//cdn", "@import", 'src="http'):
        assert outside not in html


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server(shipped_model):
    """mnist-serve as a real process on a free loopback port."""
    port = free_port()
    proc = subprocess.Popen(
        [BIN / "mnist-serve", "--port", str(port), "--provider", "cpu", "--model", shipped_model],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    import httpx

    for _ in range(100):
        try:
            if httpx.get(url + "/healthz", timeout=1).status_code == 200:
                break
        except httpx.HTTPError:
            time.sleep(0.1)
    else:
        proc.kill()
        pytest.fail(f"mnist-serve did not start: {proc.stderr.read()}")
    yield url
    proc.terminate()
    proc.wait(timeout=10)


def test_concurrent_requests_answer_as_predictor_does(server, predictor, mnist_test):
    """64 requests at once, over real HTTP: every answer equals Predictor's for its image."""
    import httpx

    images, _ = mnist_test
    bodies = [png(Image.fromarray(255 - images[i]).resize((84, 84))) for i in range(64)]
    expected = [
        r.digit for r in predictor.predict_batch([Image.open(io.BytesIO(b)) for b in bodies])
    ]

    def ask(body):
        headers = {"Content-Type": "image/png"}
        return httpx.post(server + "/v1/predict", content=body, headers=headers, timeout=60).json()

    with ThreadPoolExecutor(64) as pool:
        answers = list(pool.map(ask, bodies))
    assert [a["digit"] for a in answers] == expected


def test_requests_that_arrive_together_share_a_run(predictor, mnist_test):
    """While the model runs, ready images wait and go in the next run together."""
    import asyncio

    images, _ = mnist_test
    app = create_app(predictor, ServeConfig(max_wait_ms=20))
    batcher = app.state.batcher
    inputs = [predictor.prepare(Image.fromarray(images[i]))[1] for i in range(32)]

    async def burst():
        from concurrent.futures import ThreadPoolExecutor

        batcher.start(ThreadPoolExecutor(2))
        rows = await asyncio.gather(*(batcher.read(x) for x in inputs))
        batcher.task.cancel()
        return rows

    rows = asyncio.run(burst())
    assert batcher.batched == 32 and batcher.runs < 32
    direct = predictor.run(np.stack(inputs))
    np.testing.assert_allclose(np.stack(rows), direct, rtol=1e-5, atol=1e-6)


def test_wider_host_is_warned_about(tmp_path):
    """--host 0.0.0.0 prints a warning before serving (checked with a model that fails to load,
    so the server does not start)."""
    (tmp_path / "bad.onnx").write_bytes(b"x")
    command = [BIN / "mnist-serve", "--host", "0.0.0.0", "--model", tmp_path / "bad.onnx"]
    result = subprocess.run(command, capture_output=True, text=True, timeout=60)
    assert result.returncode == 2 and "cannot load the model" in result.stderr
    assert result.stderr.startswith("warning: listening on 0.0.0.0")


# ---------------------------------------------------------------------------------------------
# The page in a real browser


def chromium():
    browser, driver = shutil.which("chromium"), shutil.which("chromedriver")
    if not (browser and driver):
        pytest.skip(
            "Chromium and its driver are not installed (make test installs them with apt-get)"
        )
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = browser
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--no-first-run", "--window-size=1000,900"):  # fmt: skip
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={ROOT / 'runs' / 'browser' / 'profile'}")
    return webdriver.Chrome(service=Service(driver), options=options)


def test_page_reads_a_drawn_seven_and_an_uploaded_photo(server):
    """Draw a 7 with mouse strokes: the page shows 7. Upload a sample photo: it shows its digit.
    A screenshot of each is saved under runs/browser/."""
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    out = ROOT / "runs" / "browser"
    out.mkdir(parents=True, exist_ok=True)
    browser = chromium()
    try:
        browser.get(server + "/")
        pad = browser.find_element(By.ID, "pad")
        size = pad.size["width"]
        s = size / 280  # strokes drawn in a 280 px square, scaled to the pad
        actions = ActionChains(browser)
        actions.move_to_element_with_offset(pad, int(-80 * s), int(-90 * s)).click_and_hold()
        for dx, dy in [
            (40, 0),
            (40, 0),
            (40, 0),
            (-10, 40),
            (-15, 40),
            (-15, 40),
            (-15, 40),
            (-10, 30),
        ]:
            actions.move_by_offset(int(dx * s), int(dy * s))
        actions.release().perform()
        digit = browser.find_element(By.ID, "digit")
        WebDriverWait(browser, 20).until(lambda _: digit.text not in ("?", ""))
        browser.save_screenshot(str(out / "drawn-seven.png"))
        assert digit.text == "7", browser.find_element(By.ID, "confidence").text
        assert "sure" in browser.find_element(By.ID, "confidence").text
        bars = browser.find_elements(By.CSS_SELECTOR, "#bars .bar")
        assert len(bars) == 10

        browser.find_element(By.ID, "clear").click()
        browser.find_element(By.ID, "file").send_keys(str(SAMPLES / "four.png"))
        WebDriverWait(browser, 20).until(lambda _: digit.text == "4")
        browser.save_screenshot(str(out / "uploaded-four.png"))
        assert (
            browser.find_element(By.ID, "input28").get_attribute("src").startswith("data:image/png")
        )
    finally:
        browser.quit()


if __name__ == "__main__":
    sys.exit(pytest.main([__file__]))
