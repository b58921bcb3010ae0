"""The web app's colour hints: `hints` on POST /api/colorize, the kept uploads
(`image_id`, 410 once pushed out), one-line errors, and a model without hints (tiny
models; the browser test clicks hints on the page)."""

import io
import json
import warnings

import numpy as np
import pytest
from PIL import Image

with warnings.catch_warnings():  # Starlette 1.10 asks for httpx2; httpx still works
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient

from colorization.app import server
from colorization.app.colorize import ColorizeService, Limits, ModelRunner
from colorization.app.uploads import Upload, Uploads
from colorization.inference import image_io
from colorization.inference.colorizer import Colorizer
from tests.conftest import encode
from tests.inference_helpers import constant_ab_model, hint_oracle_model

GREY = np.full((30, 60), 140, np.uint8)
RED = [{"x": 45, "y": 10, "color": "#e02020"}]


@pytest.fixture(scope="module")
def client():
    colorizer = Colorizer([hint_oracle_model()], size=32)
    service = ColorizeService(ModelRunner(colorizer), Limits(kept_photos=2))
    with TestClient(server.create_app(service, model_name="oracle")) as c:
        yield c


@pytest.fixture(scope="module")
def automatic():
    colorizer = Colorizer([constant_ab_model(0.2, 0.1)], size=32)
    service = ColorizeService(ModelRunner(colorizer), Limits())
    with TestClient(server.create_app(service, model_name="plain")) as c:
        yield c


def post(client, data=None, **fields):
    files = {"file": ("grey.png", data, "image/png")} if data is not None else None
    if files is None:  # multipart without a file
        files = {"output": (None, fields.pop("output", "colorized"))}
    return client.post("/api/colorize", files=files, data=fields)


def chroma(response):
    rgb = np.asarray(Image.open(io.BytesIO(response.content)).convert("RGB"), int)
    return rgb.max(-1) - rgb.min(-1)


def test_health_says_whether_the_model_takes_hints(client, automatic):
    assert client.get("/api/health").json()["hints"] is True
    assert automatic.get("/api/health").json()["hints"] is False


def test_hints_colour_the_photo_where_they_are_and_the_upload_is_kept(client):
    first = post(client, encode(GREY), hints=json.dumps(RED))
    assert first.status_code == 200, first.text
    image_id = first.headers["x-image-id"]
    colour = chroma(first)
    assert colour.shape == (30, 60) and colour[10, 45] > 30
    assert colour[:, :30].max() == 0  # grey away from the hint
    assert chroma(post(client, encode(GREY))).max() == 0  # no hint: the oracle is grey

    # New hints for the kept photo, without sending it again.
    moved = [{"x": 5, "y": 25, "color": "#2040e0"}]
    again = post(client, image_id=image_id, hints=json.dumps(moved))
    assert again.status_code == 200, again.text
    assert again.headers["x-image-id"] == image_id
    assert 'filename="grey_colorized.png"' in again.headers["content-disposition"]
    colour = chroma(again)
    assert colour[25, 5] > 30 and colour[10, 45] == 0
    grey = post(client, image_id=image_id, output="grey")
    assert grey.status_code == 200 and chroma(grey).max() <= 1


def test_a_pushed_out_photo_is_gone_and_the_page_sends_it_again(client):
    ids = [post(client, encode(GREY)).headers["x-image-id"] for _ in range(3)]
    gone = post(client, image_id=ids[0], hints=json.dumps(RED))  # kept_photos=2
    assert gone.status_code == 410 and "send it again" in gone.json()["error"]
    assert post(client, image_id=ids[2], hints=json.dumps(RED)).status_code == 200


@pytest.mark.parametrize(
    "fields, status, words",
    [
        ({"hints": "[{'x': 1}]"}, 400, "hints: not valid JSON"),
        ({"hints": '{"x": 1}'}, 400, "hints: must be a JSON list"),
        ({"hints": '[{"x": 1, "y": 2, "color": "red"}]'}, 400, "hint 1: color must"),
        (
            {"hints": '[{"x": 60, "y": 0, "color": "#ff0000"}]'},
            422,
            "outside the 60 x 30",
        ),
        ({"image_id": "nope"}, 410, "no longer keeps this photo"),
        ({"image_id": "x", "with_file": True}, 400, "not both"),
    ],
)
def test_bad_hint_requests_are_one_line_json_errors(client, fields, status, words):
    fields = dict(fields)
    data = encode(GREY) if fields.pop("with_file", "image_id" not in fields) else None
    response = post(client, data, **fields)
    assert response.status_code == status, response.text
    message = response.json()["error"]
    assert words in message and "\n" not in message
    assert client.app.state.service.pending == 0


HOSTILE_HINTS = {
    "a 5,000-digit number": '[{"x": ' + "9" * 5000 + ', "y": 1, "color": "#ff0000"}]',
    "100,000-deep nesting": "[" * 100_000 + "]" * 100_000,
    "a number too large for a float": '[{"x": 1e999, "y": 1, "color": "#ff0000"}]',
    "300 kB of hints": json.dumps(RED * 7_000),
    "NaN": '[{"x": NaN, "y": 1, "color": "#ff0000"}]',
}


@pytest.mark.parametrize("case", list(HOSTILE_HINTS))
def test_hostile_hints_are_a_4xx_with_one_line_never_a_500(client, automatic, case):
    for app in (client, automatic):
        response = post(app, encode(GREY), hints=HOSTILE_HINTS[case])
        assert 400 <= response.status_code < 500, response.text[:300]
        message = response.json()["error"]
        assert message.startswith("hints") and "\n" not in message
        assert len(message) < 300
        assert app.app.state.service.pending == 0
    assert post(client, encode(GREY), hints=json.dumps(RED)).status_code == 200


def test_a_hints_field_over_the_form_limit_is_a_one_line_4xx(client):
    response = post(client, encode(GREY), hints=json.dumps(RED * 30_000))  # 1.3 MB
    assert 400 <= response.status_code < 500
    assert "\n" not in response.json()["error"]


def test_a_model_without_hints_refuses_them_and_keeps_no_photo(automatic):
    plain = post(automatic, encode(GREY))
    assert plain.status_code == 200 and "x-image-id" not in plain.headers
    refused = post(automatic, encode(GREY), hints=json.dumps(RED))
    assert refused.status_code == 400
    assert "this model takes no hints" in refused.json()["error"]
    assert post(automatic, encode(GREY), hints="[]").status_code == 200
    by_id = post(automatic, image_id="abc")
    assert by_id.status_code == 400 and "send the photo in 'file'" in by_id.text


def test_uploads_drop_the_least_recently_used_by_count_and_bytes():
    def upload(pixels):
        return Upload(
            image_io.ImageData(np.zeros((pixels, 1, 3), np.uint8)), False, "p"
        )

    uploads = Uploads(max_items=2, max_bytes=300)
    a, b = uploads.add(upload(10)), uploads.add(upload(10))
    assert uploads.get(a) is not None  # a is now the most recently used
    c = uploads.add(upload(10))
    assert uploads.get(b) is None and uploads.get(a) and uploads.get(c)
    d = uploads.add(upload(91))  # 273 bytes: the others must go
    assert len(uploads) == 1 and uploads.get(d) is not None
    assert uploads.add(upload(101)) is None and uploads.get(d) is not None
    assert len({a, b, c, d}) == 4 and all(len(i) >= 20 for i in (a, b, c, d))
