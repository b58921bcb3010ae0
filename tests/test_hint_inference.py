"""User colour hints at inference (issue 14): Colorizer(hints=...), where the points land
on non-square and EXIF-rotated photos, the colours, infer.py --hints and its bad files,
and the SavedModel's `hinted` signature. Tiny models: a hint 'oracle' (it outputs the
hint ab it is given) shows where a hint lands."""

import json
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image, ImageOps
from skimage import color

import infer
from colorization.hints import hint_graph, user_hints
from colorization.inference.colorizer import Colorizer
from colorization.models import ModelConfig, build_generator
from colorization.training.warm_start import copy_weights
from tests.conftest import encode, photo
from tests.inference_helpers import (
    effnet_twin,
    hint_oracle_model,
    shipped_twins,
    tiny_hinted_unet,
    tiny_unet,
)

TINY = {"name": "unet", "base_filters": 4, "depth": 2}


@pytest.fixture(scope="module")
def oracle():
    return Colorizer([hint_oracle_model()], size=32)


@pytest.fixture(scope="module")
def hinted():
    return Colorizer([tiny_hinted_unet()], size=48)


def _chroma(rgb):
    return np.hypot(*color.rgb2lab(rgb)[..., 1:].transpose(2, 0, 1))


def _centroid(weights):
    """(x, y) of the weighted mean pixel."""
    rows, cols = np.indices(weights.shape)
    total = weights.sum()
    return (cols * weights).sum() / total, (rows * weights).sum() / total


def _patch_photo(width, height, box):
    """Grey noise with a bright square at `box` = (left, top, side)."""
    rng = np.random.default_rng(0)
    grey = rng.integers(60, 110, (height, width), np.uint8)
    left, top, side = box
    grey[top : top + side, left : left + side] = 230
    return np.stack([grey] * 3, -1)


# -- reading and checking hints --------------------------------------------------------


def test_hints_of_every_accepted_form_and_their_json(tmp_path):
    hints = user_hints.parse_hints(
        [
            (3, 4, (255, 0, 10)),
            [5.5, 0, "#00FF80"],
            {"x": 1, "y": 2, "color": "#102030"},
            (0, 0, np.array([1, 2, 3])),
        ]
    )
    assert hints.points.dtype == np.float32 and hints.points.shape == (4, 2)
    assert hints.colours.dtype == np.uint8
    assert hints.colours.tolist() == [
        [255, 0, 10],
        [0, 255, 128],
        [16, 32, 48],
        [1, 2, 3],
    ]
    assert hints.to_json()[1] == {"x": 5.5, "y": 0, "color": "#00ff80"}
    assert user_hints.parse_hints(hints.to_json()).to_json() == hints.to_json()
    user_hints.write_hints_file(tmp_path / "hints.json", hints)
    again = user_hints.read_hints_file(str(tmp_path / "hints.json"))
    np.testing.assert_array_equal(again.points, hints.points)
    np.testing.assert_array_equal(again.colours, hints.colours)
    assert len(user_hints.parse_hints([])) == 0


@pytest.mark.parametrize(
    "hints, words",
    [
        ([(1, 2, "red")], 'hint 1: color must be "#rrggbb"'),
        ([(1, 2, "#12345")], 'not "#12345"'),
        ([(1, 2, (0, 0, 256))], "integers 0-255"),
        ([(1, 2, (0, 0.5, 9))], "integers 0-255"),
        ([(1, 2, (True, 0, 9))], "integers 0-255"),
        ([(0, 0, "#000000"), ("3", 2, "#000000")], "hint 2: x must be a number"),
        ([(1, float("nan"), "#000000")], "y must be a number"),
        ([(1, 2)], "each hint is (x, y, colour)"),
        ([{"x": 1, "y": 2}], 'no "color"'),
        ([{"x": 1, "y": 2, "color": "#000000", "size": 3}], 'unknown key "size"'),
        ("#ff0000", "hints must be a list"),
        ([(0, 0, "#000000")] * (user_hints.MAX_HINTS + 1), "at most"),
    ],
)
def test_bad_hints_are_one_line_errors(hints, words):
    with pytest.raises(user_hints.HintError) as error:
        user_hints.parse_hints(hints)
    assert words in str(error.value) and "\n" not in str(error.value)


def test_points_must_lie_on_the_photo(oracle):
    image = np.zeros((20, 30, 3), np.uint8)
    for x, y in ((30, 0), (0, 20), (-1, 5), (29.5, 0)):
        with pytest.raises(user_hints.HintError, match="outside the 30 x 20 photo"):
            oracle.colorize(image, hints=[(x, y, "#ff0000")])
    assert oracle.colorize(image, hints=[(29, 19, "#ff0000")]).shape == (20, 30, 3)


# -- colours and where they land ----------------------------------------------------------


def test_a_colour_becomes_its_ab_and_its_lightness_is_ignored():
    colours = np.array([[255, 0, 0], [0, 0, 255], [128, 128, 128], [30, 140, 60]])
    got = hint_graph.colours_to_ab_norm(colours.astype(np.uint8)).numpy()
    expected = color.rgb2lab(colours[None] / 255.0)[0, :, 1:] / 128
    np.testing.assert_allclose(got, expected, atol=0.3 / 128)  # 0.3 Lab units


def test_hints_never_move_the_l_and_ab_follows_the_colour_not_its_l(oracle, hinted):
    image = photo("coffee", (64, 48))
    l_in = color.rgb2lab(image)[..., 0]
    many = [(x, y, "#20c0ff") for x in range(0, 64, 9) for y in range(0, 48, 7)]
    for colorizer in (oracle, hinted):
        result = colorizer.colorize(image, hints=many)
        assert np.abs(color.rgb2lab(result)[..., 0] - l_in).max() < 0.5

    # Two colours of the same chroma, one dark and one light, paint the same ab.
    grey = np.full((48, 64, 3), 150, np.uint8)
    dark, light = (
        (color.lab2rgb(np.array([[[lightness, 25.0, 20.0]]]))[0, 0] * 255).round()
        for lightness in (35, 75)
    )
    results = [
        oracle.colorize(grey, hints=[(30, 20, tuple(c.astype(int)))]).astype(int)
        for c in (dark, light)
    ]
    assert np.abs(results[0] - results[1]).max() <= 2
    ab = color.rgb2lab(results[0].astype(np.uint8))[20, 30, 1:]
    np.testing.assert_allclose(ab, [25, 20], atol=1.5)
    other_hue = oracle.colorize(grey, hints=[(30, 20, "#2040ff")]).astype(int)
    assert np.abs(other_hue - results[0]).max() > 40


def test_points_map_to_the_network_copy_and_stay_off_the_padding():
    # A 90 x 40 photo at size 32: the copy is 32 x 14, padded to 32 x 16 (stride 4).
    maps = hint_graph.network_hints(
        [[89, 39], [0, 0], [45, 20]],
        np.array([[255, 0, 0]] * 3, np.uint8),
        40, 90, 14, 32, 16, 32,
    ).numpy()  # fmt: skip
    assert maps.shape == (16, 32, 3)
    mask = maps[..., 2]
    assert mask[14:].max() == 0, "a hint on the padding"
    # The corner pixels map to the corners of the copy: 3 x 3 of each 5 x 5 patch.
    assert mask[11:14, 29:32].min() == 1 and mask[0:3, 0:3].min() == 1
    # The middle pixel (x 45.5 of 90, y 20.5 of 40) to the middle of the copy.
    assert mask[5:10, 14:19].min() == 1
    assert mask.sum() == 9 + 9 + 25
    np.testing.assert_allclose(maps[12, 30, :2], maps[0, 0, :2])
    assert maps[0, 0, 0] > 0.5  # red: large a


def test_a_hint_lands_where_it_is_placed_on_a_non_square_photo(oracle):
    image = _patch_photo(90, 40, (60, 4, 12))  # a bright square right of centre
    hint = (66, 10)  # its centre
    result = oracle.colorize(image, hints=[(*hint, "#e02020")])
    chroma = _chroma(result)
    assert chroma.max() > 30
    x, y = _centroid(np.where(chroma > 10, chroma, 0))
    # Within a pixel of the network's copy (2.8 photo pixels) of the point.
    assert abs(x - hint[0]) <= 3 and abs(y - hint[1]) <= 3
    assert chroma[:, :40].max() < 2  # nowhere near the left half


def test_a_hint_on_an_exif_rotated_photo_is_in_the_photo_as_shown(oracle, tmp_path):
    stored = _patch_photo(90, 40, (8, 20, 12))
    exif = Image.Exif()
    exif[0x0112] = 6  # shown turned 90 degrees clockwise: 40 wide, 90 high
    path = tmp_path / "phone.jpg"
    path.write_bytes(encode(stored, "JPEG", quality=95, exif=exif.tobytes()))
    shown = np.asarray(ImageOps.exif_transpose(Image.open(path)).convert("L"))
    assert shown.shape == (90, 40)
    hint = tuple(round(v) for v in _centroid(shown > 180))  # the square, as shown
    result = oracle.colorize(str(path), hints=[(*hint, "#2050e0")])
    assert result.shape == (90, 40, 3)
    chroma = _chroma(result)
    x, y = _centroid(np.where(chroma > 10, chroma, 0))
    assert abs(x - hint[0]) <= 3 and abs(y - hint[1]) <= 3  # a network pixel: 2.9


# -- hinted and automatic models -----------------------------------------------------------


def test_a_hinted_model_without_hints_is_its_automatic_source():
    import keras

    keras.utils.set_random_seed(11)
    source = build_generator(ModelConfig(**TINY))
    widened = build_generator(ModelConfig(input_channels=4, **TINY))
    copy_weights(widened, source)
    automatic, hinted = Colorizer([source], size=48), Colorizer([widened], size=48)
    assert hinted.hinted and not automatic.hinted and hinted.stride == 4
    image = photo("astronaut", (70, 52))
    expected = automatic.colorize(image).astype(int)
    for hints in (None, [], [(10, 10, "#ff0000"), (60, 40, (0, 200, 0))]):
        got = hinted.colorize(image, hints=hints).astype(int)
        assert np.abs(got - expected).max() <= 1, hints  # the hint weights are zero


def test_an_automatic_model_refuses_hints_in_one_line():
    colorizer = Colorizer([tiny_unet()], size=32)
    image = photo("chelsea", (40, 30))
    with pytest.raises(user_hints.HintError, match="this model takes no hints"):
        colorizer.colorize(image, hints=[(1, 1, "#ff0000")])
    np.testing.assert_array_equal(
        colorizer.colorize(image, hints=[]), colorizer.colorize(image)
    )


def test_hints_change_a_hinted_model_and_apply_to_each_image_of_a_batch(hinted):
    images = np.stack([photo("astronaut", (40, 30)), photo("chelsea", (40, 30))])
    hints = [(20, 15, "#ff2000")]
    plain = hinted.colorize_array(images)
    with_hints = hinted.colorize_array(images, hints)
    assert with_hints.shape == (2, 30, 40, 3)
    assert np.abs(with_hints.astype(int) - plain).max() > 2
    for one, batched in zip(images, with_hints):
        single = hinted.colorize_array(one, hints)
        assert np.abs(single.astype(int) - batched).max() <= 1
    as_float = hinted.colorize_array(images[0].astype(np.float32) / 255, hints)
    assert np.abs(as_float.astype(int) - with_hints[0]).max() <= 1


@pytest.mark.slow
def test_the_zero_initialised_hinted_default_is_the_shipped_colorizer():
    # The shipped model's automatic form (itself, or a hinted default narrowed to
    # its L channel), widened again with hint weights at zero: hints do nothing.
    automatic, hinted, _ = shipped_twins()
    zero_hinted, _ = effnet_twin(automatic, hinted=True)
    size = Colorizer.load().size
    shipped = Colorizer([automatic], size=size)
    image = photo("chelsea", (451, 300))
    expected = shipped.colorize(image).astype(int)
    for colorizer in (
        Colorizer([hinted], size=size),
        Colorizer([zero_hinted], size=size),
    ):
        assert np.abs(colorizer.colorize(image).astype(int) - expected).max() <= 1
    hints = [(100, 100, "#ff0000"), (300, 200, "#0000ff")]
    got = Colorizer([zero_hinted], size=size).colorize(image, hints).astype(int)
    assert np.abs(got - expected).max() <= 1


# -- infer.py --hints ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def model_files(tmp_path_factory):
    folder = tmp_path_factory.mktemp("models")
    paths = {"oracle": str(folder / "oracle.keras"), "plain": str(folder / "p.keras")}
    hint_oracle_model().save(paths["oracle"])
    tiny_unet().save(paths["plain"])
    return paths


def _write_hints(path, value):
    path.write_text(value if isinstance(value, str) else json.dumps(value))
    return str(path)


def _infer(args, model):
    return infer.main(args + ["--model", model, "--quiet", "--size", "32"])


def test_infer_colours_one_photo_with_a_hints_file(tmp_path, model_files, capsys):
    source = tmp_path / "photo.png"
    source.write_bytes(encode(_patch_photo(90, 40, (60, 4, 12))))
    hints = _write_hints(tmp_path / "h.json", [{"x": 66, "y": 10, "color": "#e02020"}])
    out = tmp_path / "out"
    assert _infer([str(source), "--hints", hints, "--output", str(out)], model_files["oracle"]) == 0  # fmt: skip
    result = np.asarray(Image.open(out / "photo.png"))
    chroma = _chroma(result)
    x, y = _centroid(np.where(chroma > 10, chroma, 0))
    assert abs(x - 66) <= 3 and abs(y - 10) <= 3
    assert "colorized 1 of 1 images" in capsys.readouterr().err


BAD_FILES = {
    "missing": (None, "no such file"),
    "not json": ("[{'x': 1}]", "not valid JSON"),
    "not utf-8": (b"\xff\xfe[]", "not UTF-8"),
    "an object": ({"x": 1, "y": 2, "color": "#000000"}, "must be a JSON list"),
    "bad colour": ([{"x": 1, "y": 2, "color": "#00zz00"}], "hint 1: color must be"),
    "wrong type": ([{"x": "1", "y": 2, "color": "#000000"}], "x must be a number"),
    "unknown key": ([{"x": 1, "y": 2, "colour": "#000000"}], 'unknown key "colour"'),
}


@pytest.mark.parametrize("case", list(BAD_FILES))
def test_bad_hints_files_are_one_line_usage_errors_with_no_output(
    tmp_path, model_files, capsys, case
):
    content, words = BAD_FILES[case]
    source = tmp_path / "photo.png"
    source.write_bytes(encode(photo("coffee", (40, 30))))
    path = tmp_path / "hints.json"
    if isinstance(content, bytes):
        path.write_bytes(content)
    elif content is not None:
        _write_hints(path, content)
    out = tmp_path / "out"
    assert _infer([str(source), "--hints", str(path), "--output", str(out)], model_files["oracle"]) == 2  # fmt: skip
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and str(path) in err[0] and words in err[0], err
    assert not out.exists()


def test_a_point_outside_the_photo_fails_it_with_nothing_written(
    tmp_path, model_files, capsys
):
    source = tmp_path / "photo.png"
    source.write_bytes(encode(photo("coffee", (40, 30))))
    hints = _write_hints(tmp_path / "h.json", [{"x": 40, "y": 3, "color": "#ff0000"}])
    out = tmp_path / "out"
    assert _infer([str(source), "--hints", hints, "--output", str(out)], model_files["oracle"]) == 1  # fmt: skip
    err = capsys.readouterr().err
    line = next(line for line in err.splitlines() if line.startswith("error:"))
    assert str(source) in line and hints in line
    assert "hint 1 at (x=40, y=3) is outside the 40 x 30 photo" in line
    assert not out.exists() or not list(out.iterdir())


@pytest.mark.parametrize(
    "inputs, words",
    [
        (
            lambda d: [str(d / "a.png"), str(d / "b.png")],
            "exactly one image or video file, not 2",
        ),
        (lambda d: [str(d)], "is not an image or video file"),
        (lambda d: [str(d / "*.png")], "is not an image or video file"),
        (lambda d: [str(d / "film.mp4")], "is not an image or video file"),
    ],
)
def test_hints_are_for_exactly_one_photo(tmp_path, model_files, capsys, inputs, words):
    for name in ("a.png", "b.png"):
        (tmp_path / name).write_bytes(encode(photo("coffee", (20, 16))))
    hints = _write_hints(tmp_path / "h.json", [])
    assert _infer(inputs(tmp_path) + ["--hints", hints], model_files["oracle"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "--hints" in err[0] and words in err[0], err


def test_an_automatic_model_refuses_a_hints_file(tmp_path, model_files, capsys):
    source = tmp_path / "photo.png"
    source.write_bytes(encode(photo("coffee", (20, 16))))
    hints = _write_hints(tmp_path / "h.json", [{"x": 1, "y": 1, "color": "#ff0000"}])
    assert _infer([str(source), "--hints", hints], model_files["plain"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "this model takes no hints" in err[0]
    assert not (tmp_path.parent / f"{tmp_path.name}_colorized").exists()


# -- the SavedModel's `hinted` signature ---------------------------------------------------

CHECK = r"""
import json, sys
import numpy as np
import tensorflow as tf
model = tf.saved_model.load(sys.argv[1])
images = np.load(sys.argv[2])
points = np.array([[10, 5], [40, 30], [0, 36]], np.int32)
colors = np.array([[255, 32, 0], [0, 90, 255], [20, 200, 40]], np.uint8)
out = {
    "hinted": model.hinted(images, points, colors)["rgb"].numpy().tolist(),
    "grey": model.hinted(images[..., :1], points, colors)["rgb"].numpy().tolist(),
    "none": model.hinted(images, np.zeros([0, 2], np.int32), np.zeros([0, 3], np.uint8))["rgb"].numpy().tolist(),
    "signature": model.signatures["hinted"](
        images=tf.constant(images), points=tf.constant(points), colors=tf.constant(colors)
    )["rgb"].numpy().tolist(),
    "automatic": model.serving_default(images)["rgb"].numpy().tolist(),
    "loaded": [m for m in ("colorization", "data_pipeline", "keras") if m in sys.modules],
}
try:
    model.hinted(images, np.array([[50, 0]], np.int32), colors[:1])
    out["outside"] = "accepted"
except tf.errors.InvalidArgumentError as error:
    out["outside"] = " ".join(error.message.split())[:300]
print(json.dumps(out))
"""


def test_the_hinted_endpoint_matches_colorizer_and_refuses_points_outside(hinted):
    import tensorflow as tf

    from colorization.export.saved_model import _hinted_endpoint

    endpoint = _hinted_endpoint(hinted.models, hinted.size, hinted.stride)
    images = np.stack([photo("astronaut", (50, 37)), photo("chelsea", (50, 37))])
    hints = [(10, 5, (255, 32, 0)), (49, 36, (0, 90, 255))]
    points = np.array([h[:2] for h in hints], np.int32)
    colours = np.array([h[2] for h in hints], np.uint8)
    got = endpoint(images, points, colours)["rgb"].numpy().astype(int)
    assert np.abs(got - hinted.colorize_array(images, hints)).max() <= 1
    grey = np.repeat(images[..., 1:2], 3, -1)
    got = endpoint(images[..., 1:2], points, colours)["rgb"].numpy().astype(int)
    assert np.abs(got - hinted.colorize_array(grey, hints)).max() <= 1
    for outside in ([50, 0], [0, 37], [-1, 3]):
        with pytest.raises(
            tf.errors.InvalidArgumentError, match="pixels of the images"
        ):
            endpoint(images, np.array([outside], np.int32), colours[:1])


@pytest.mark.slow
def test_saved_model_hinted_signature_matches_colorizer(tmp_path):
    import export

    model_path = tmp_path / "hinted.keras"
    tiny_hinted_unet().save(model_path)
    out_dir = tmp_path / "exported"
    assert export.main(["--model", str(model_path), "--size", "48", str(out_dir)]) == 0
    images = np.stack([photo("astronaut", (50, 37)), photo("chelsea", (50, 37))])
    np.save(tmp_path / "images.npy", images)
    done = subprocess.run(
        [sys.executable, "-c", CHECK, str(out_dir), str(tmp_path / "images.npy")],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    result = {
        k: np.asarray(v) for k, v in json.loads(done.stdout.splitlines()[-1]).items()
    }
    colorizer = Colorizer.load(str(model_path), size=48)
    hints = [(10, 5, (255, 32, 0)), (40, 30, (0, 90, 255)), (0, 36, (20, 200, 40))]
    expected = colorizer.colorize_array(images, hints).astype(int)
    automatic = colorizer.colorize_array(images).astype(int)
    for key in ("hinted", "signature"):
        assert result[key].shape == (2, 37, 50, 3)
        assert np.abs(result[key] - expected).max() <= 1, key
    grey = np.repeat(images[..., :1], 3, -1)
    expected_grey = colorizer.colorize_array(grey, hints).astype(int)
    assert np.abs(result["grey"] - expected_grey).max() <= 1
    assert np.abs(expected - automatic).max() > 2  # the hints did something
    for key in ("none", "automatic"):
        assert np.abs(result[key] - automatic).max() <= 1, key
    assert "hint points must be (x, y) pixels" in str(result["outside"])
    assert not {"colorization", "data_pipeline"} & set(result["loaded"].tolist())
