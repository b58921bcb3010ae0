"""The best quality: test-time averaging of four predictions (the photo and its mirror
image at two sizes) with a chroma-preserving mean, in the API and infer.py; the fast
quality stays what it was (tiny models, small photos)."""

import numpy as np
import pytest
import tensorflow as tf
from PIL import Image
from skimage import color

import infer
from colorization.cli import infer as infer_cli
from colorization.inference import graph
from colorization.inference.colorizer import Colorizer
from colorization.models.model_file import ModelFacts, save_model
from tests.conftest import encode, photo
from tests.inference_helpers import hint_oracle_model, tiny_unet


def mean(vectors):
    return graph.chroma_preserving_mean(np.asarray(vectors, np.float32)).numpy()


@pytest.fixture(scope="module")
def model():
    import keras

    keras.utils.set_random_seed(22)
    return tiny_unet()  # random weights: not mirror-symmetric, stride 4


@pytest.fixture(scope="module")
def best(model):
    return Colorizer([model], size=32, quality="best")


def test_the_mean_of_equal_vectors_is_that_vector():
    np.testing.assert_allclose(mean([[3.0, -4.0]] * 4), [3.0, -4.0], rtol=1e-6)


def test_the_mean_of_one_hue_is_the_plain_mean():
    # Chromas 5 and 10 in one direction: plain mean (4.5, 6), of length 7.5 = (5+10)/2.
    np.testing.assert_allclose(mean([[3.0, 4.0], [6.0, 8.0]]), [4.5, 6.0], rtol=1e-6)


def test_opposite_hues_cancel_to_grey_without_nan():
    np.testing.assert_array_equal(mean([[10.0, 0.0], [-10.0, 0.0]]), [0.0, 0.0])
    np.testing.assert_array_equal(mean([[0.0, 0.0]] * 3), [0.0, 0.0])


def test_different_hues_keep_their_mean_chroma():
    # 90 degrees apart, chroma 10 each: the plain mean (5, 5) has chroma 7.07 (it
    # desaturates); this mean keeps its direction, with chroma 10.
    np.testing.assert_allclose(
        mean([[10.0, 0.0], [0.0, 10.0]]), [10 / 2**0.5, 10 / 2**0.5], rtol=1e-6
    )
    # Chromas 10, 10 and 20: plain mean (10/3, -10/3), chroma (10 + 10 + 20) / 3.
    np.testing.assert_allclose(
        mean([[10.0, 0.0], [0.0, 10.0], [0.0, -20.0]]),
        [40 / 3 / 2**0.5, -40 / 3 / 2**0.5],
        rtol=1e-6,
    )


def test_the_mean_is_per_pixel_over_the_first_axis():
    rng = np.random.default_rng(5)
    stack = rng.normal(0, 0.3, (4, 3, 5, 7, 2)).astype(np.float32)  # K, N, h, w, ab
    got = mean(stack)
    plain = stack.mean(0)
    chroma = np.hypot(stack[..., 0], stack[..., 1]).mean(0)[..., None]
    expected = plain / np.hypot(plain[..., 0], plain[..., 1])[..., None] * chroma
    assert got.shape == (3, 5, 7, 2)
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-7)


def test_best_sizes_are_the_model_size_and_one_larger_multiple_of_the_stride():
    assert [int(s) for s in graph.best_sizes(224, 32)] == [224, 288]  # 291.2 -> 288
    assert [int(s) for s in graph.best_sizes(32, 4)] == [32, 40]  # 41.6 -> 40
    assert [int(s) for s in graph.best_sizes(16, 32)] == [16, 32]
    assert [int(s) for s in graph.best_sizes(8, 32)] == [8, 9]  # always larger


def hand_made_best(colorizer, rgb, hints=None):
    """The best quality's ab_norm, made here from four fast predictions: the photo and
    its mirror image (mirror undone) at the two sizes, on the larger one's grid."""
    small, large = (int(s) for s in graph.best_sizes(colorizer.size, colorizer.stride))
    batch = rgb[None]
    mirrored = batch[:, :, ::-1]
    mirrored_hints = None
    if hints is not None:
        mirrored_hints = [(rgb.shape[1] - 1 - x, y, c) for x, y, c in hints]
    grid = colorizer.predict_ab(batch, hints, size=large, quality="fast").shape[1:3]
    predictions = []
    for size in (large, small):
        ab = colorizer.predict_ab(batch, hints, size=size, quality="fast")
        back = colorizer.predict_ab(mirrored, mirrored_hints, size=size, quality="fast")
        for one in (ab, back[:, :, ::-1]):
            predictions.append(tf.image.resize(one, grid, method="bilinear").numpy())
    stack = np.stack(predictions)  # (4, 1, h, w, 2)
    plain = stack.mean(0)
    chroma = np.hypot(stack[..., 0], stack[..., 1]).mean(0)[..., None]
    length = np.hypot(plain[..., 0], plain[..., 1])[..., None]
    return plain * np.divide(chroma, length, np.zeros_like(chroma), where=length > 0)


def test_best_is_the_hand_made_average_of_four_predictions(best):
    rgb = photo("coffee", (61, 45))
    ab = best.predict_ab(rgb[None])
    expected = hand_made_best(best, rgb)
    assert ab.shape == expected.shape == (1, 30, 40, 2)  # the 40 px copy's grid
    np.testing.assert_allclose(ab, expected, atol=1e-5)
    # The four differ (the model is not mirror-symmetric), so the average is not
    # any one of them, and the photo comes out of `join_ab` as in the fast quality.
    fast = best.predict_ab(rgb[None], size=40, quality="fast")
    assert np.abs(ab - fast).max() > 1e-3
    result = best.colorize_array(rgb)
    np.testing.assert_array_equal(result, best.join_ab(rgb[None], ab)[0])
    joined = best.join_ab(rgb[None], expected)[0]
    assert np.abs(result.astype(int) - joined).max() <= 1


def test_best_with_hints_mirrors_the_hint_points():
    colorizer = Colorizer([hint_oracle_model()], size=32, quality="best")
    rgb = np.full((30, 61, 3), 140, np.uint8)
    hints = [(45, 10, "#e02020")]
    ab = colorizer.predict_ab(rgb[None], hints)
    np.testing.assert_allclose(ab, hand_made_best(colorizer, rgb, hints), atol=1e-6)
    result = colorizer.colorize_array(rgb, hints)
    assert np.ptp(result[10, 45].astype(int)) > 30  # the hint's colour, where it was
    assert np.ptp(result[10, 15].astype(int)) <= 2  # not at its mirror image


@pytest.mark.parametrize("shape", [(1, 1), (7, 5), (13, 97), (301, 33), (45, 61)])
def test_any_photo_size_comes_back_at_its_size_with_its_l(best, shape):
    rgb = np.full(shape + (3,), 90, np.uint8)
    if min(shape) > 1:
        rgb[...] = photo("astronaut", (shape[1], shape[0]))[..., :1]  # grey
    result = best.colorize_array(rgb)
    assert result.shape == shape + (3,) and result.dtype == np.uint8
    l_in = color.rgb2lab(rgb)[..., 0]
    assert np.abs(color.rgb2lab(result)[..., 0] - l_in).max() < 0.5
    lightness, ab = best.predict_small(rgb[None])
    assert lightness.shape[:3] == ab.shape[:3]  # videos smooth ab on this grid
    np.testing.assert_array_equal(ab, best.predict_ab(rgb[None]))


def test_fast_is_the_default_and_unchanged(model, best, monkeypatch):
    rgb = photo("chelsea", (50, 37))
    fast = Colorizer([model], size=32)
    assert fast.quality == "fast"
    run = tf.function(  # the graph as it was before the quality option
        lambda x: graph.join_ab(x, graph.predict_small([model], x, 32, fast.stride)[1])
    )
    today = run(rgb[None]).numpy()[0]
    calls = []
    monkeypatch.setattr(graph, "predict_best", lambda *a: calls.append(a))
    for got in (
        fast.colorize_array(rgb),
        fast.colorize_array(rgb, quality="fast"),
        best.colorize_array(rgb, quality="fast"),
        fast.colorize_array(rgb, size=32, quality="fast"),  # the options graph
    ):
        np.testing.assert_array_equal(got, today)
    _, small = fast.predict_small(rgb[None])
    np.testing.assert_array_equal(small, fast.predict_ab(rgb[None]))
    assert not calls  # the fast quality never runs the best graph


def test_best_is_traced_once_for_every_photo_size_and_option(model, monkeypatch):
    colorizer = Colorizer([model], size=32)
    traces = []
    original = graph.predict_best

    def counting(*args, **kwargs):
        traces.append(args[2])  # runs once per trace, not per call
        return original(*args, **kwargs)

    monkeypatch.setattr(graph, "predict_best", counting)
    cases = [(None, (40, 30)), (24, (17, 61)), (48, (9, 9)), (None, (64, 48))]
    for size, shape in cases:
        rgb = photo("rocket", shape)
        out = colorizer.colorize_array(rgb, size=size, quality="best")
        assert out.shape == (shape[1], shape[0], 3)
    assert len(traces) == 1, traces


def test_the_api_option(model, best, tmp_path):
    rgb = photo("astronaut", (48, 40))
    path = tmp_path / "photo.png"
    path.write_bytes(encode(rgb))
    expected = best.colorize_array(rgb)
    fast = Colorizer([model], size=32)
    np.testing.assert_array_equal(fast.colorize(str(path), quality="best"), expected)
    np.testing.assert_array_equal(best.colorize(str(path)), expected)
    assert np.abs(fast.colorize(str(path)).astype(int) - expected).max() > 2
    model_path = tmp_path / "m.keras"
    save_model(model, model_path, ModelFacts(image_size=32))
    loaded = Colorizer.load(str(model_path), quality="best")
    assert loaded.quality == "best"
    np.testing.assert_array_equal(loaded.colorize(str(path)), expected)
    for bad in (
        lambda: fast.colorize_array(rgb, quality="good"),
        lambda: fast.predict_ab(rgb[None], quality="Best"),
        lambda: Colorizer([model], size=32, quality="slow"),
        lambda: Colorizer.load(str(model_path), quality=3),
    ):
        with pytest.raises(ValueError, match="quality must be one of fast, best"):
            bad()


def test_the_command_line_flag_and_its_bad_value(model, best, tmp_path, capsys):
    assert infer_cli.parser().parse_args(["x"]).quality == "fast"
    assert infer_cli.QUALITIES == graph.QUALITIES
    model_path = tmp_path / "m.keras"
    save_model(model, model_path, ModelFacts(image_size=32))
    rgb = photo("coffee", (45, 33))
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "a.png").write_bytes(encode(rgb))
    for quality in ("fast", "best"):
        argv = [str(tmp_path / "in"), "--model", str(model_path), "--quiet"]
        argv += ["--output", str(tmp_path / quality), "--quality", quality]
        assert infer.main(argv) == 0
    expected = {"fast": Colorizer([model], size=32).colorize_array(rgb)}
    expected["best"] = best.colorize_array(rgb)
    for quality, result in expected.items():
        written = np.asarray(Image.open(tmp_path / quality / "a.png"))
        np.testing.assert_array_equal(written, result)
    capsys.readouterr()
    argv = [str(tmp_path / "in"), "--model", str(model_path), "--quality", "good"]
    assert infer.main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "--quality" in err[0] and "'best'" in err[0], err
