"""The web app's colorize API with Starlette's test client: every endpoint, every kind
of bad upload, the options, the bounded queue and work off the event loop (tiny models;
the shipped model is in the browser test and the load benchmark)."""

import concurrent.futures
import io
import re
import threading
import time
import warnings

import numpy as np
import pytest
from PIL import Image

with warnings.catch_warnings():  # Starlette 1.10 asks for httpx2; httpx still works
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient

from colorization.app import colorize, server, serving, survey_routes
from colorization.app.colorize import ColorizeService, Limits, ModelRunner
from colorization.cli import app as app_main
from colorization.inference.colorizer import Colorizer
from colorization.models import ModelConfig, build_generator
from colorization.models.layers import nested_layers
from tests.conftest import encode, huge_png_header, photo
from tests.inference_helpers import constant_ab_model


@pytest.fixture(scope="module")
def constant():
    """A colorizer painting one known colour (no bins head, one head)."""
    return Colorizer([constant_ab_model(0.25, -0.3)], size=32)


@pytest.fixture(scope="module")
def dual():
    """A tiny two-head model: it has a temperature and a blend."""
    import keras

    keras.utils.set_random_seed(3)
    model = build_generator(
        ModelConfig(name="unet", head="dual", base_filters=4, depth=2, dropout=0.0)
    )
    conv = model.get_layer("ab_conv")  # a trained L1 head is not zero
    conv.set_weights([np.full(w.shape, 0.3, np.float32) for w in conv.get_weights()])
    return Colorizer([model], size=32)


def client_for(runner, **limits):
    app = server.create_app(ColorizeService(runner, Limits(**limits)), model_name="t")
    return TestClient(app)


@pytest.fixture(scope="module")
def client(constant):
    with client_for(ModelRunner(constant), max_bytes=200_000) as c:
        yield c


def post(client, data, name="photo.png", **fields):
    return client.post(
        "/api/colorize",
        files={"file": (name, data, "application/octet-stream")},
        data={k: str(v) for k, v in fields.items()},
    )


def decode(response):
    image = Image.open(io.BytesIO(response.content))
    image.load()
    return image


def colourfulness(rgb):
    rgb = np.asarray(rgb, np.int16)[..., :3]
    return float(np.mean(rgb.max(-1) - rgb.min(-1)))


def grey(size=(48, 32)):
    return photo("astronaut", size).mean(-1).astype(np.uint8)


def test_health_says_the_model_is_loaded(client):
    body = client.get("/api/health").json()
    assert body["status"] == "ok" and body["model_loaded"] is True
    assert body["options"] == {"size": 32, "temperature": None, "blend": None}
    assert body["queue"] == {"pending": 0, "capacity": 16}
    assert body["limits"]["max_bytes"] == 200_000 and body["survey"] is False


def test_the_page_and_its_static_files_need_no_network(client):
    page = client.get("/")
    assert page.status_code == 200 and "text/html" in page.headers["content-type"]
    assets = re.findall(r'(?:src|href)="(/static/[^"]+)"', page.text)
    assert {"/static/app.js", "/static/zip.js", "/static/style.css"} <= set(assets)
    for path in assets + ["/static/survey.js", "/static/survey.html"]:
        asset = client.get(path)
        assert asset.status_code == 200, path
        # Nothing from a CDN: the page must work offline (an SVG's xmlns is a name).
        text = re.sub(r'xmlns="[^"]*"', "", asset.text)
        assert not re.search(r"(https?:)?//[a-z0-9.-]+\.[a-z]{2,}", text), path


INPUT_KINDS = [
    ("grey.png", encode(grey(), "PNG"), (48, 32), "image/png"),
    ("grey.jpg", encode(grey(), "JPEG", quality=90), (48, 32), "image/jpeg"),
    ("colour.jpeg", encode(photo("coffee", (40, 30)), "JPEG"), (40, 30), "image/jpeg"),
    ("scan.tif", encode(photo("chelsea", (36, 28)), "TIFF"), (36, 28), "image/png"),
    ("a.webp", encode(grey((30, 20)), "WEBP", lossless=True), (30, 20), "image/png"),
    ("a.bmp", encode(grey((22, 34)), "BMP"), (22, 34), "image/png"),
    ("16bit.png", encode(Image.fromarray(grey().astype(np.uint16) * 257), "PNG"), (48, 32), "image/png"),
    ("tiny.png", encode(np.full((8, 8), 90, np.uint8), "PNG"), (8, 8), "image/png"),
    ("long.png", encode(np.full((4, 900), 90, np.uint8), "PNG"), (900, 4), "image/png"),
]  # fmt: skip


@pytest.mark.parametrize(
    "name,data,size,media_type", INPUT_KINDS, ids=[row[0] for row in INPUT_KINDS]
)
def test_every_input_kind_comes_back_colour_at_its_size(
    client, name, data, size, media_type
):
    response = post(client, data, name)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == media_type
    stem = name.rsplit(".", 1)[0]
    extension = ".jpg" if media_type == "image/jpeg" else ".png"
    assert (
        f'filename="{stem}_colorized{extension}"'
        in (response.headers["content-disposition"])
    )
    image = decode(response)
    assert image.size == size and image.mode == "RGB"
    assert colourfulness(image) > 20  # the constant model's colour, not grey


def test_alpha_is_kept_and_exif_orientation_applied(client):
    alpha = np.tile(np.arange(48, dtype=np.uint8) * 5, (32, 1))
    rgba = np.dstack([photo("coffee", (48, 32)), alpha])
    image = decode(post(client, encode(rgba, "PNG"), "logo.png"))
    assert image.mode == "RGBA" and image.size == (48, 32)
    np.testing.assert_array_equal(np.asarray(image)[..., 3], rgba[..., 3])

    exif = Image.Exif()
    exif[0x0112] = 6  # rotated 90 degrees: shown 32 wide, 48 high
    rotated = encode(Image.fromarray(grey()), "JPEG", exif=exif.tobytes())
    assert decode(post(client, rotated, "phone.jpg")).size == (32, 48)


def _multipart(fields):
    boundary = "b0undary"
    parts = [
        f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; '
        f'filename="{name}.png"\r\nContent-Type: image/png\r\n\r\n'.encode()
        + value
        + b"\r\n"
        for name, value in fields
    ]
    body = b"".join(parts) + f"--{boundary}--\r\n".encode()
    return body, {"content-type": f"multipart/form-data; boundary={boundary}"}


GOOD = encode(grey(), "JPEG", quality=90)
BAD_UPLOADS = {
    "not an image": (lambda c: post(c, b"hello\n" * 50, "notes.jpg"), 422, "not an image"),
    "truncated": (lambda c: post(c, GOOD[: len(GOOD) // 3], "cut.jpg"), 422, "truncated"),
    "empty": (lambda c: post(c, b"", "empty.png"), 400, "empty file"),
    "too many pixels": (lambda c: post(c, huge_png_header(), "bomb.png"), 422, "over the limit"),
    "too many bytes": (lambda c: post(c, bytes(250_000), "big.png"), 413, "limit of"),
    "body far too large": (lambda c: post(c, bytes(2_000_000), "huge.png"), 413, "limit of"),
    "no file": (lambda c: c.post("/api/colorize", data={"size": "64"}, files={"x": ("a", b"1")}), 400, "field 'file'"),
    "text in the file field": (lambda c: c.post("/api/colorize", data={"file": "abc"}, files={"x": ("a", b"1")}), 400, "field 'file'"),
    "two files": (lambda c: c.post("/api/colorize", content=_multipart([("file", GOOD), ("file", GOOD)])[0], headers=_multipart([])[1]), 400, "files"),
    "not multipart": (lambda c: c.post("/api/colorize", content=GOOD, headers={"content-type": "image/jpeg"}), 415, "multipart"),
    "broken multipart": (lambda c: c.post("/api/colorize", content=b"--x\r\ngarbage", headers={"content-type": "multipart/form-data"}), 400, ""),
    "unknown field": (lambda c: post(c, GOOD, sise="64"), 400, "unknown form field 'sise'"),
    "size not a number": (lambda c: post(c, GOOD, size="big"), 400, "size must be an integer"),
    "size too small": (lambda c: post(c, GOOD, size=4), 400, "from 16 to 1024"),
    "bad output": (lambda c: post(c, GOOD, output="sepia"), 400, "output must be one of"),
    "temperature without bins": (lambda c: post(c, GOOD, temperature=0.2), 400, "no bins head"),
    "blend without two heads": (lambda c: post(c, GOOD, blend=0.2), 400, "one head"),
    "wrong method": (lambda c: c.get("/api/colorize"), 405, ""),
    "unknown route": (lambda c: c.get("/api/nothing"), 404, ""),
}  # fmt: skip


@pytest.mark.parametrize("case", list(BAD_UPLOADS))
def test_bad_requests_get_one_json_error_and_the_server_keeps_serving(client, case):
    send, status, words = BAD_UPLOADS[case]
    response = send(client)
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/json"
    message = response.json()["error"]
    assert isinstance(message, str) and words in message and "\n" not in message
    assert post(client, GOOD, "after.jpg").status_code == 200
    assert client.app.state.service.pending == 0


def test_an_upload_over_the_limit_without_content_length_is_refused(client):
    body, headers = _multipart([("file", bytes(400_000))])
    chunks = (body[i : i + 65536] for i in range(0, len(body), 65536))
    response = client.post("/api/colorize", content=chunks, headers=headers)
    assert response.status_code == 413 and "limit" in response.json()["error"]
    assert client.get("/api/health").status_code == 200


def test_options_size_temperature_blend_and_outputs(dual):
    data = encode(photo("astronaut", (64, 48)), "PNG")
    with client_for(ModelRunner(dual)) as client:
        options = client.get("/api/health").json()["options"]
        assert options["size"] == 32 and options["blend"] == 0.5
        assert options["temperature"] == pytest.approx(0.38)

        def colorized(**fields):
            response = post(client, data, **fields)
            assert response.status_code == 200, response.text
            return np.asarray(decode(response))

        default = colorized()
        for fields in ({"temperature": 0.1}, {"blend": 1.0}, {"size": 64}):
            changed = colorized(**fields)
            assert changed.shape == default.shape
            assert np.abs(changed.astype(int) - default).max() > 2, fields
            # The option applied to that request only; the shared model is as it was.
            np.testing.assert_array_equal(colorized(), default)
        compare = colorized(output="compare")
        grey_half = colorized(output="grey")
        assert compare.shape == (48, 128, 3)
        np.testing.assert_array_equal(compare[:, :64], grey_half)
        np.testing.assert_array_equal(compare[:, 64:], default)
        assert np.ptp(grey_half.astype(int), axis=-1).max() <= 1  # no colour


def test_the_quality_option_gives_the_api_s_best_quality(dual):
    from colorization.inference import graph

    assert colorize.QUALITIES == graph.QUALITIES
    rgb = photo("coffee", (61, 45))
    data = encode(rgb, "PNG")
    with client_for(ModelRunner(dual)) as client:
        health = client.get("/api/health").json()
        assert health["limits"]["qualities"] == ["fast", "best"]  # fast the default
        got = {}
        for quality in ("", "fast", "best"):
            response = post(client, data, quality=quality)
            assert response.status_code == 200, response.text
            got[quality] = np.asarray(decode(response))
        np.testing.assert_array_equal(got[""], dual.colorize_array(rgb))
        np.testing.assert_array_equal(got["fast"], got[""])
        best = dual.colorize_array(rgb, quality="best")
        np.testing.assert_array_equal(got["best"], best)
        assert np.abs(best.astype(int) - got["fast"]).max() > 2
        response = post(client, data, quality="good")
        assert response.status_code == 400
        assert response.json()["error"] == "quality must be one of fast, best"


class BlockingRunner:
    """A stand-in model that waits until released, to hold jobs in the queue."""

    def __init__(self, error=None):
        self.release = threading.Event()
        self.error = error
        self.running = self.most_at_once = 0
        self._lock = threading.Lock()

    def describe(self):
        return {"size": 32, "temperature": None, "blend": None}

    def check(self, options):
        pass

    def colorize(self, rgb, options, out):
        if self.error is not None:
            raise self.error
        with self._lock:
            self.running += 1
            self.most_at_once = max(self.most_at_once, self.running)
        try:
            assert self.release.wait(60)
        finally:
            with self._lock:
                self.running -= 1
        out[...] = 100


def _wait_for(condition, seconds=30):
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)


def test_a_full_queue_answers_503_with_retry_after_and_work_is_off_the_loop():
    runner = BlockingRunner()
    with client_for(runner, queue_size=2) as client:
        service = client.app.state.service
        with concurrent.futures.ThreadPoolExecutor(2) as pool:
            held = [pool.submit(post, client, GOOD, f"{i}.jpg") for i in range(2)]
            _wait_for(lambda: service.pending == 2)
            # Both jobs are running or waiting on their threads; the loop still answers.
            health = client.get("/api/health")
            assert health.status_code == 200
            assert health.json()["queue"] == {"pending": 2, "capacity": 2}
            assert client.get("/").status_code == 200
            busy = post(client, GOOD, "third.jpg")
            assert busy.status_code == 503
            assert int(busy.headers["retry-after"]) >= 1
            assert "busy" in busy.json()["error"]
            runner.release.set()
            for future in held:
                response = future.result(timeout=60)
                assert response.status_code == 200
                assert decode(response).size == (48, 32)
        assert service.pending == 0
        assert post(client, GOOD).status_code == 200


@pytest.mark.parametrize("error", [MemoryError(), RuntimeError("boom")])
def test_a_failing_model_gives_a_json_5xx_and_the_server_goes_on(constant, error):
    import tensorflow as tf

    if isinstance(error, RuntimeError):
        error = tf.errors.ResourceExhaustedError(None, None, "OOM when allocating")
    with client_for(BlockingRunner(error)) as client:
        response = post(client, GOOD)
        assert response.status_code == 500 and "cannot colorize" in response.text
        assert client.app.state.service.pending == 0
        client.app.state.service.runner = ModelRunner(constant)
        assert post(client, GOOD).status_code == 200


def _count_traces(monkeypatch):
    """A list that grows by one each time a graph of the network is traced."""
    from colorization.inference import graph

    traces = []
    original = graph.predict_small

    def counting(*args, **kwargs):
        traces.append(args[2])  # runs once per trace, not per call
        return original(*args, **kwargs)

    monkeypatch.setattr(graph, "predict_small", counting)
    return traces


def test_new_sizes_temperatures_and_blends_do_not_retrace_the_model(dual, monkeypatch):
    traces = _count_traces(monkeypatch)
    runner = ModelRunner(Colorizer(dual.models, size=32))
    runner.colorize(photo("astronaut", (40, 30)), colorize.Options())
    assert len(traces) == 1
    for size, temperature, blend, shape in [
        (16, None, None, (24, 16)),
        (48, 0.2, None, (50, 33)),
        (None, 1.3, 0.9, (17, 61)),
        (20, 0.05, 0.0, (40, 30)),
        (1024, 7.5, 1.0, (9, 9)),
    ]:
        options = colorize.Options(size=size, temperature=temperature, blend=blend)
        rgb = photo("chelsea", shape)
        assert runner.colorize(rgb, options).shape == (shape[1], shape[0], 3)
    assert len(traces) == 1, traces


@pytest.mark.parametrize("dtype", [np.uint8, np.float32])
def test_options_give_the_same_pixels_as_a_model_traced_with_them(dual, dtype):
    from colorization.models import layers

    rgb = photo("coffee", (70, 45))
    if dtype == np.float32:
        rgb = rgb.astype(np.float32) / 255
    runner = ModelRunner(Colorizer(dual.models, size=32))
    cases = [(None, None, None), (48, None, None), (None, 0.2, None)]
    cases += [(None, None, 0.3), (40, 1.7, 0.66), (None, 0.09, 0.09), (24, 0.38, 0.0)]
    for size, temperature, blend in cases:
        options = colorize.Options(size=size, temperature=temperature, blend=blend)
        got = runner.colorize(rgb, options)
        saved = [
            (layer, name, getattr(layer, name))
            for model in dual.models
            for layer in nested_layers(model)
            for cls, name in ((layers.AnnealedMean, "temperature"), (layers.HeadBlend, "weight"))
            if isinstance(layer, cls)
        ]  # fmt: skip
        try:
            for layer, name, _ in saved:
                value = temperature if name == "temperature" else blend
                if value is not None:
                    setattr(layer, name, value)
            reference = Colorizer(dual.models, size or 32).colorize_array(rgb)
        finally:
            for layer, name, value in saved:
                setattr(layer, name, value)
        np.testing.assert_array_equal(got, reference, err_msg=str(options))


@pytest.mark.parametrize(
    "dtype,size", [(np.uint8, (97, 61)), (np.float32, (97, 61)), (np.uint8, (20, 13))]
)
def test_a_photo_done_in_row_tiles_is_the_same_as_done_at_once(
    dual, monkeypatch, dtype, size
):
    from colorization.app import fullres
    from colorization.inference import image_io

    rgb = photo("astronaut", size)  # (20, 13): smaller than the network's 32
    if dtype == np.float32:
        rgb = rgb.astype(np.float32) / 255
    runner = ModelRunner(Colorizer(dual.models, size=32))
    at_once = dual.colorize_array(rgb)
    grey_at_once = image_io.colourless(rgb)
    for tile in (size[0] * size[1], 500, size[0], 1):  # one tile, some, one row
        monkeypatch.setattr(fullres, "TILE_PIXELS", tile)
        np.testing.assert_array_equal(runner.colorize(rgb, colorize.Options()), at_once)
        grey_tiled = np.zeros_like(at_once)
        fullres.grey(rgb, grey_tiled)
        assert np.abs(grey_tiled.astype(int) - grey_at_once).max() <= 1
        assert np.mean(grey_tiled != grey_at_once) < 0.001


def test_a_photo_too_large_for_the_memory_limit_is_a_413_saying_how_to_fit(constant):
    from colorization.app import memory

    flat = encode(np.full((1500, 2000), 128, np.uint8), "PNG")  # 3 MP in 10 kB
    pixels = 2000 * 1500
    budget = memory.job_bytes(pixels, pixels, upload_bytes=len(flat))  # it fits
    with client_for(ModelRunner(constant), memory_budget=budget) as client:
        refused = post(client, flat, "flat.png", output="compare")
        assert refused.status_code == 413, refused.text
        message = refused.json()["error"]
        assert "2000 x 1500 pixels is too large for this server's memory" in message
        assert "colorized photo rather than 'compare'" in message
        assert "--max-memory-mb" in message and "\n" not in message
        most = float(re.search(r"at most ([0-9.]+) megapixels", message).group(1))
        assert 1.5 < most < 3.0
        assert client.app.state.service.memory.used == 0
        fits = post(client, flat, "flat.png")
        assert fits.status_code == 200 and decode(fits).size == (2000, 1500)
        assert client.app.state.service.pending == 0


def test_jobs_that_do_not_fit_the_memory_budget_together_run_one_at_a_time():
    from colorization.app import memory

    runner = BlockingRunner()
    one = memory.job_bytes(48 * 32, 48 * 32, upload_bytes=len(GOOD))
    with client_for(runner, memory_budget=one + one // 2) as client:
        service = client.app.state.service
        with concurrent.futures.ThreadPoolExecutor(2) as pool:
            held = [pool.submit(post, client, GOOD, f"{i}.jpg") for i in range(2)]
            _wait_for(lambda: runner.running == 1 and service.memory.waiting == 1)
            assert service.memory.used == one and service.pending == 2
            runner.release.set()
            for future in held:
                assert future.result(timeout=60).status_code == 200
        assert service.memory.used == 0 and service.memory.waiting == 0
        assert runner.most_at_once == 1


@pytest.mark.parametrize(
    "argv,words",
    [
        (["--port", "70000"], "--port"),
        (["--queue-size", "0"], "--queue-size"),
        (["--blend", "2"], "--blend"),
        (["--survey-only"], "--survey-images"),
        (["--survey-images", "/no/such/folder"], "does not exist"),
        (["--model", "/no/such/model.keras", "--port", "0"], "does not exist"),
        (["--bogus"], "unrecognized"),
    ],
)
def test_command_line_errors_are_one_line(argv, words, capsys):
    assert app_main.main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].startswith("colorization-app: error:") and words in err[-1]


def test_the_port_in_use_is_a_one_line_error(capsys):
    with serving.listen("127.0.0.1", 0) as taken:
        port = taken.getsockname()[1]
        assert app_main.main(["--port", str(port)]) == 2
    assert "error:" in capsys.readouterr().err


def test_without_a_survey_or_a_model_the_routes_say_so(client, tmp_path):
    assert client.get("/survey").status_code == 404
    for path in ("/api/survey/next", "/survey/results", "/survey/results.csv"):
        response = client.get(path)
        assert (
            response.status_code == 404
            and "--survey-images" in response.json()["error"]
        )
    assert client.post("/api/survey/vote", json={}).status_code == 404

    from tests.test_app_survey import make_survey_folder

    folder = make_survey_folder(tmp_path / "set")
    survey = survey_routes.Survey.open(str(folder), str(tmp_path / "votes.sqlite3"))
    with TestClient(server.create_app(None, survey)) as survey_only:
        health = survey_only.get("/api/health").json()
        assert health == {"status": "ok", "model_loaded": False, "survey": True}
        refused = post(survey_only, GOOD)
        assert refused.status_code == 503 and "survey only" in refused.json()["error"]
        assert "retry-after" not in refused.headers
        assert survey_only.get("/survey").status_code == 200
