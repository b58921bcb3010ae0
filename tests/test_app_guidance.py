"""The web app's guidance: a reference photo, a palette and their strength on POST
/api/colorize, and /api/uncertainty, /api/suggest, /api/variants, with one-line errors
and models that cannot do them (tiny models; the browser test clicks them)."""

import base64
import io
import json
import warnings

import keras
import numpy as np
import pytest
from PIL import Image

with warnings.catch_warnings():  # Starlette 1.10 asks for httpx2; httpx still works
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient

from colorization.app import analysis, server
from colorization.app.colorize import ColorizeService, Limits, ModelRunner
from colorization.inference.colorizer import Colorizer
from colorization.inference.guidance import DEFAULT_STRENGTHS
from colorization.models import ModelConfig, build_generator
from colorization.models.hint_propagation import add_hint_propagation
from tests.conftest import encode, photo
from tests.inference_helpers import hint_oracle_model

GREY = photo("astronaut", (48, 32)).mean(-1).astype(np.uint8)
REFERENCE = encode(photo("coffee", (40, 30)), "JPEG")
PALETTE = "#c02818,#2040e0"


def two_heads_model(hinted):
    """A tiny two-head U-Net (a bins head) with random weights, hinted or not."""
    keras.utils.set_random_seed(5)
    config = ModelConfig(
        name="unet",
        base_filters=4,
        depth=2,
        head="dual",
        input_channels=4 if hinted else 1,
        dropout=0.0,
    )
    model = build_generator(config)
    return add_hint_propagation(model) if hinted else model


def _client(model, **limits):
    service = ColorizeService(
        ModelRunner(Colorizer([model], size=32)), Limits(**limits)
    )
    return TestClient(server.create_app(service, model_name="tiny"))


@pytest.fixture(scope="module")
def client():
    with _client(two_heads_model(hinted=True), max_bytes=100_000) as c:
        yield c


@pytest.fixture(scope="module")
def unhinted():
    with _client(two_heads_model(hinted=False)) as c:
        yield c


@pytest.fixture(scope="module")
def oracle():
    """A hinted model without a bins head: no distribution to guide."""
    with _client(hint_oracle_model()) as c:
        yield c


def post(client, path="/api/colorize", data=GREY, ref=None, **fields):
    files = {}
    if data is not None:
        files["file"] = ("grey.png", encode(data), "image/png")
    if ref is not None:  # the reference photo's bytes
        files["reference"] = ("reference.jpg", ref, "image/jpeg")
    if not files:  # multipart without a file
        files = {"hints": (None, fields.pop("hints", "[]"))}
    return client.post(path, files=files, data={k: str(v) for k, v in fields.items()})


def rgb(response):
    assert response.status_code == 200, response.text
    return np.asarray(Image.open(io.BytesIO(response.content)).convert("RGB"), int)


def one_line_error(response, status, words):
    assert response.status_code == status, response.text
    message = response.json()["error"]
    assert words in message and "\n" not in message, message
    return message


def test_health_says_what_guidance_the_model_can_do(client, unhinted, oracle):
    keys = ("hints", "guidance", "uncertainty", "suggestions", "variants")
    body = client.get("/api/health").json()
    assert [body[k] for k in keys] == [True] * 5 and body[
        "guide_strength"
    ] == DEFAULT_STRENGTHS["reference"]
    body = unhinted.get("/api/health").json()
    assert [body[k] for k in keys] == [False, True, True, True, False]
    body = oracle.get("/api/health").json()
    assert [body[k] for k in keys] == [True, False, False, False, False]


def test_a_palette_or_a_reference_guides_the_colours_and_strength_0_does_not(client):
    automatic = rgb(post(client))
    red = rgb(post(client, palette="#d02010"))
    blue = rgb(post(client, palette="#1040d0", guide_strength=1))
    assert red.shape == automatic.shape == (32, 48, 3)
    assert np.abs(red - automatic).mean() > 0.5 and np.abs(red - blue).mean() > 0.5
    assert np.mean(red[..., 0] - red[..., 2]) > np.mean(blue[..., 0] - blue[..., 2])
    assert np.array_equal(
        rgb(post(client, palette=PALETTE, guide_strength=0)), automatic
    )
    referenced = post(client, ref=REFERENCE, guide_strength=0.9)
    assert np.abs(rgb(referenced) - automatic).mean() > 0.5
    # A kept photo takes the guidance too (the page sends it by id).
    image_id = referenced.headers["x-image-id"]
    again = post(client, data=None, image_id=image_id, palette="#d02010")
    assert np.array_equal(rgb(again), red)


@pytest.mark.parametrize(
    "fields, reference, status, words",
    [
        ({"palette": "#c02818,red"}, None, 400, "palette entry 'red' is not a colour"),
        ({"palette": "#12345g"}, None, 400, "is not a colour"),
        ({"palette": ",".join(["#102030"] * 40)}, None, 400, "at most 32 colours"),
        ({"guide_strength": 2}, None, 400, "guide_strength must be a number from 0 to 1"),
        ({"guide_strength": "strong"}, None, 400, "guide_strength must be a number"),
        ({}, b"not a photo\n" * 20, 400, "reference photo: "),
        ({}, b"", 400, "reference photo: empty file"),
        ({"palette": PALETTE}, REFERENCE, 400, "a reference photo or a palette, not both"),
        ({"reference": "photo.jpg"}, None, 400, "reference must be a file"),
        ({"k": 3}, None, 400, "unknown form field 'k'"),
    ],
)  # fmt: skip
def test_bad_guidance_is_a_400_with_one_line(client, fields, reference, status, words):
    response = post(client, ref=reference, **fields)
    one_line_error(response, status, words)
    assert client.app.state.service.pending == 0


def test_a_reference_over_the_upload_limit_is_a_413(client):
    large = encode(np.random.default_rng(0).integers(0, 255, (200, 200, 3), np.uint8))
    assert len(large) > 100_000
    one_line_error(post(client, ref=large), 413, "reference is larger")


def test_the_uncertainty_map_is_a_png_heat_map_at_the_photos_size(client):
    response = post(client, "/api/uncertainty", hints=json.dumps([]))
    heat = rgb(response)
    assert response.headers["content-type"] == "image/png"
    assert heat.shape == (32, 48, 3) and heat.std() > 0
    assert 0 <= float(response.headers["x-uncertainty-mean"]) <= 1
    # Hints make the model surer where they are; by id, without the photo.
    image_id = response.headers["x-image-id"]
    hints = json.dumps([{"x": 10, "y": 10, "color": "#d02010"}])
    hinted = post(client, "/api/uncertainty", data=None, image_id=image_id, hints=hints)
    assert float(hinted.headers["x-uncertainty-mean"]) != float(
        response.headers["x-uncertainty-mean"]
    )
    guided = post(client, "/api/uncertainty", palette=PALETTE)
    assert rgb(guided).shape == (32, 48, 3)


def test_a_large_photos_uncertainty_map_is_at_display_size(client):
    wide = np.tile(GREY, (1, 30))  # 1440 x 32
    heat = rgb(post(client, "/api/uncertainty", data=wide))
    assert heat.shape[1] == analysis.DISPLAY_SIDE and heat.shape[0] in (22, 23)


def test_suggestions_are_spots_of_the_photo_with_three_colours(client):
    response = post(client, "/api/suggest", k=3)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["width"] == 48 and body["height"] == 32
    spots = body["suggestions"]
    assert 1 <= len(spots) <= 3
    for spot in spots:
        assert 0 <= spot["x"] < 48 and 0 <= spot["y"] < 32
        assert len(spot["colours"]) == 3 and len(spot["probabilities"]) == 3
        assert all(c.startswith("#") and len(c) == 7 for c in spot["colours"])
        assert 0 <= spot["uncertainty"] <= 1 and spot["expected_error"] >= 0
    assert len(post(client, "/api/suggest").json()["suggestions"]) <= 5  # k=5
    guided = post(client, "/api/suggest", ref=REFERENCE, k=2)
    assert guided.status_code == 200 and len(guided.json()["suggestions"]) <= 2


def test_suggestions_on_a_large_photo_are_in_its_own_pixels(client):
    wide = np.tile(GREY, (2, 30))  # 1440 x 64: worked on at 1024 x 46
    spots = post(client, "/api/suggest", data=wide, k=4).json()["suggestions"]
    assert spots and all(0 <= s["x"] < 1440 and 0 <= s["y"] < 64 for s in spots)
    assert max(s["x"] for s in spots) > 100


def test_variants_differ_and_their_hints_give_them_at_full_size(client):
    given = [{"x": 5, "y": 5, "color": "#20a040"}]
    response = post(client, "/api/variants", n=3, hints=json.dumps(given))
    assert response.status_code == 200, response.text
    variants = response.json()["variants"]
    assert len(variants) == 3
    images = []
    for variant in variants:
        head, data = variant["image"].split(",", 1)
        assert head == "data:image/jpeg;base64"
        image = Image.open(io.BytesIO(base64.b64decode(data)))
        assert image.format == "JPEG" and image.size == (48, 32)
        images.append(np.asarray(image, int))
        assert variant["hints"][0] == given[0] and len(variant["hints"]) > 1
        for hint in variant["hints"]:
            assert 0 <= hint["x"] < 48 and 0 <= hint["y"] < 32
    assert max(np.abs(images[0] - other).mean() for other in images[1:]) > 0.5
    full = rgb(post(client, hints=json.dumps(variants[1]["hints"])))
    same_jpeg = encode(full.astype(np.uint8), "JPEG", quality=85, subsampling=0)
    assert (
        np.abs(np.asarray(Image.open(io.BytesIO(same_jpeg)), int) - images[1]).max()
        <= 1
    )
    other_seed = post(client, "/api/variants", n=1, seed=7).json()["variants"]
    assert len(other_seed) == 1


@pytest.mark.parametrize(
    "path, fields, words",
    [
        ("/api/suggest", {"k": 0}, "k must be an integer from 1 to 20"),
        ("/api/suggest", {"k": 21}, "k must be an integer from 1 to 20"),
        ("/api/variants", {"n": 0}, "n must be an integer from 1 to 8"),
        ("/api/variants", {"n": 9}, "n must be an integer from 1 to 8"),
        ("/api/variants", {"seed": -1}, "seed must be an integer"),
        ("/api/uncertainty", {"size": 64}, "unknown form field 'size'"),
        ("/api/uncertainty", {"palette": "#zzzzzz"}, "is not a colour"),
        ("/api/suggest", {"guide_strength": 2}, "guide_strength must be"),
    ],
)
def test_bad_requests_for_the_analyses_are_400s(client, path, fields, words):
    one_line_error(post(client, path, **fields), 400, words)


def test_a_hint_outside_the_photo_is_a_422(client):
    hints = json.dumps([{"x": 48, "y": 0, "color": "#ff0000"}])
    for path in ("/api/uncertainty", "/api/suggest", "/api/variants"):
        one_line_error(post(client, path, hints=hints), 422, "outside the 48 x 32")


def test_a_model_without_a_bins_head_says_why_it_cannot(oracle, unhinted):
    for path in ("/api/uncertainty", "/api/suggest", "/api/variants"):
        one_line_error(post(oracle, path), 400, "the model has no bins head")
    one_line_error(post(oracle, palette=PALETTE), 400, "the model has no bins head")
    one_line_error(post(oracle, ref=REFERENCE), 400, "no bins head")
    assert post(oracle).status_code == 200  # colorizing still works
    one_line_error(post(unhinted, "/api/variants"), 400, "variants are made with hints")
    assert post(unhinted, "/api/suggest", k=2).status_code == 200
    assert post(unhinted, palette=PALETTE).status_code == 200


def test_the_downloaded_result_keeps_the_photo_s_metadata_and_carries_the_record(
    client,
):
    from colorization.inference import record

    source = Image.fromarray(GREY)
    exif = Image.Exif()
    exif.get_ifd(0x8769)[0x9003] = "1931:02:03 04:05:06"  # DateTimeOriginal
    exif[0x0110] = "Box camera"  # Model
    buffer = io.BytesIO()
    source.save(buffer, "JPEG", exif=exif, dpi=(300, 300))
    files = {"file": ("old.jpg", buffer.getvalue(), "image/jpeg")}
    data = {"palette": "#c02818", "guide_strength": "0.5", "blend": "0.4"}
    response = client.post("/api/colorize", files=files, data=data)
    assert response.status_code == 200, response.text
    with Image.open(io.BytesIO(response.content)) as result:
        assert result.format == "JPEG"
        taken = result.getexif().get_ifd(0x8769)[0x9003]
        assert taken == "1931:02:03 04:05:06"
        assert result.getexif()[0x0110] == "Box camera"
        assert tuple(round(v) for v in result.info["dpi"]) == (300, 300)
        made = record.record_from_xmp(result.info["xmp"])
    assert made["machine_colorized"] is True and made["blend"] == 0.4
    assert made["guide"] == {"palette": ["#c02818"], "strength": 0.5}
    png = client.post(
        "/api/colorize", files={"file": ("g.png", encode(GREY), "image/png")}
    )
    with Image.open(io.BytesIO(png.content)) as result:
        assert json.loads(result.info["colorization"])["machine_colorized"] is True
