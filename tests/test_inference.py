"""Colorizer: any size and layout at full resolution, L kept, ensembles."""

import numpy as np
import pytest
from skimage import color

from colorization.inference.colorizer import Colorizer, ModelNotFoundError
from colorization.inference.graph import infer_stride
from tests.conftest import photo
from tests.inference_helpers import constant_ab_model, hint_oracle_model, tiny_unet


@pytest.fixture(scope="module")
def colorizer():
    return Colorizer([tiny_unet()], size=64)


def test_stride_is_found_from_the_model():
    assert infer_stride(tiny_unet()) == 4
    assert infer_stride(constant_ab_model(0.1, 0.1, stride=8)) == 8


@pytest.mark.parametrize(
    "shape", [(333, 517), (8, 8), (20, 4000), (4000, 20), (1, 1), (64, 64)]
)
def test_any_size_comes_back_at_full_resolution_with_its_l(colorizer, shape):
    rng = np.random.default_rng(0)
    gray = (
        photo("astronaut", (shape[1], shape[0]))[..., 0]
        if min(shape) > 1
        else rng.integers(0, 255, shape, np.uint8)
    )
    result = colorizer.colorize(gray)
    assert result.shape == shape + (3,) and result.dtype == np.uint8
    l_in = color.rgb2lab(np.stack([gray] * 3, -1))[..., 0]
    assert np.abs(color.rgb2lab(result)[..., 0] - l_in).max() < 0.5


def test_rgb_input_is_recolorized_from_its_l_only(colorizer):
    rgb = photo("coffee", (120, 90))
    gray = (color.rgb2gray(rgb) * 255).round().astype(np.uint8)
    from_rgb = colorizer.colorize(rgb)
    l_rgb = color.rgb2lab(rgb)[..., 0]
    assert np.abs(color.rgb2lab(from_rgb)[..., 0] - l_rgb).max() < 0.5
    assert from_rgb.shape == rgb.shape and not np.array_equal(
        from_rgb, colorizer.colorize(gray)
    )


# A grey ramp across the image, and where its L lies in Lab.
RAMP = np.tile(np.linspace(60, 200, 30).round().astype(np.uint8), (20, 1))
RAMP_L = color.rgb2lab(np.stack([RAMP] * 3, -1))[..., 0]


@pytest.mark.parametrize(
    "image",
    [
        RAMP.astype(np.uint16) * 257,
        RAMP[..., None],
        np.dstack([RAMP] * 3 + [255 - RAMP]),  # the alpha must not leak into L
        np.dstack([RAMP] * 3).astype(np.float32) / 255,
    ],
    ids=["gray16", "gray1ch", "rgba", "float"],
)
def test_input_layouts_keep_their_l_and_get_the_predicted_colour(image):
    # The model predicts ab = (0.15, 0.2) * 128 everywhere, inside the sRGB gamut
    # at every L of the ramp, so the output must have exactly that colour.
    colorizer = Colorizer([constant_ab_model(0.15, 0.2)], size=16)
    result = colorizer.colorize(image)
    assert result.shape == (20, 30, 3) and result.dtype == np.uint8
    lab = color.rgb2lab(result)
    assert np.abs(lab[..., 0] - RAMP_L).max() < 0.5
    assert np.abs(lab[..., 1] - 0.15 * 128).max() < 1.0
    assert np.abs(lab[..., 2] - 0.2 * 128).max() < 1.0


def test_ensemble_averages_the_predicted_ab():
    ensemble = Colorizer(
        [constant_ab_model(0.2, -0.1), constant_ab_model(0.0, 0.3)], size=32
    )
    gray = np.full((16, 24), 128, np.uint8)
    lab = color.rgb2lab(ensemble.colorize_array(gray[..., None].repeat(3, -1)))
    np.testing.assert_allclose(lab[..., 1].mean(), 0.1 * 128, atol=0.3)
    np.testing.assert_allclose(lab[..., 2].mean(), 0.1 * 128, atol=0.3)


def test_batch_equals_single_images_and_float_input(colorizer):
    images = np.stack([photo("astronaut", (40, 30)), photo("chelsea", (40, 30))])
    batch = colorizer.colorize_array(images)
    assert batch.dtype == np.uint8 and batch.shape == (2, 30, 40, 3)
    assert np.abs(batch[1].astype(int) - colorizer.colorize_array(images[1])).max() <= 1
    as_float = colorizer.colorize_array(images[1].astype(np.float32) / 255)
    assert np.abs(as_float.astype(int) - batch[1]).max() <= 1


def test_missing_models_have_clear_errors(tmp_path, monkeypatch):
    with pytest.raises(ModelNotFoundError, match="does not exist"):
        Colorizer.load(str(tmp_path / "nope.keras"))
    monkeypatch.setattr(
        "colorization.inference.colorizer.default_model_path",
        lambda: str(tmp_path / "none.keras"),
    )
    with pytest.raises(
        ModelNotFoundError, match="no default model is installed.*--model"
    ):
        Colorizer.load()
    (tmp_path / "junk.keras").write_text("not a model")
    with pytest.raises(ValueError, match="cannot load model"):
        Colorizer.load(str(tmp_path / "junk.keras"))


def test_load_reads_an_old_workdir_config_json_deprecated(tmp_path, capsys):
    tiny_unet().save(tmp_path / "model.keras")
    (tmp_path / "config.json").write_text('{"data": {"image_size": 96}}')
    loaded = Colorizer.load(str(tmp_path / "model.keras"))
    assert loaded.size == 96 and loaded.stride == 4
    assert "deprecated" in capsys.readouterr().err


def test_the_size_inside_the_file_wins_over_a_sidecar(tmp_path, capsys):
    from colorization.models.model_file import ModelFacts, save_model

    save_model(tiny_unet(), tmp_path / "model.keras", ModelFacts(80))
    (tmp_path / "model.json").write_text('{"data": {"image_size": 96}}')
    assert Colorizer.load(str(tmp_path / "model.keras")).size == 80
    assert capsys.readouterr().err == ""  # no deprecation: nothing is read from it


def _two_head_model():
    import keras

    from colorization.models import ModelConfig, build_generator

    keras.utils.set_random_seed(3)
    model = build_generator(
        ModelConfig(name="unet", head="dual", base_filters=4, depth=2, dropout=0.0)
    )
    conv = model.get_layer("ab_conv")  # a trained L1 head is not zero
    conv.set_weights([np.full(w.shape, 0.3, np.float32) for w in conv.get_weights()])
    return model


def _loaded_with(model, size, temperature, blend, rgb):
    """What a Colorizer of a model loaded with these values gives (`Colorizer.load`
    sets them in the layers before the graph is traced)."""
    from colorization.models import layers, set_blend, set_temperature
    from colorization.models.layers import nested_layers

    bins = [x for x in nested_layers(model) if isinstance(x, layers.AnnealedMean)]
    blends = [x for x in nested_layers(model) if isinstance(x, layers.HeadBlend)]
    saved = [x.temperature for x in bins], [x.weight for x in blends]
    try:
        if temperature is not None:
            set_temperature(model, temperature)
        if blend is not None:
            set_blend(model, blend)
        return Colorizer([model], size=size).colorize_array(rgb)
    finally:
        for layer, value in zip(bins, saved[0]):
            layer.temperature = value
        for layer, value in zip(blends, saved[1]):
            layer.weight = value


def test_size_temperature_and_blend_are_graph_inputs_with_the_same_pixels(monkeypatch):
    from colorization.inference import graph

    model = _two_head_model()
    colorizer = Colorizer([model], size=32)
    assert (colorizer.temperature, colorizer.blend) == (pytest.approx(0.38), 0.5)
    traces = []
    original = graph.predict_small

    def counting(*args, **kwargs):
        traces.append(args[2])
        return original(*args, **kwargs)

    cases = [(48, None, None), (None, 0.1, None), (None, None, 0.3)]
    cases += [(24, 2.0, 0.7), (32, 0.38, 0.5), (100, 0.05, 1.0)]
    for number, (size, temperature, blend) in enumerate(cases):
        rgb = photo("chelsea", (40 + 7 * number, 30 + 3 * number))
        monkeypatch.setattr(graph, "predict_small", counting)
        got = colorizer.colorize_array(
            rgb, size=size, temperature=temperature, blend=blend
        )
        monkeypatch.setattr(graph, "predict_small", original)
        reference = _loaded_with(model, size or 32, temperature, blend, rgb)
        np.testing.assert_array_equal(got, reference, err_msg=str(cases[number]))
    assert len(traces) == 1  # one graph for every size, temperature and blend
    assert (colorizer.temperature, colorizer.blend) == (pytest.approx(0.38), 0.5)


def test_options_a_model_does_not_have_are_refused(colorizer):
    rgb = photo("coffee", (20, 16))
    with pytest.raises(ValueError, match="no bins head"):
        colorizer.colorize_array(rgb, temperature=0.3)
    with pytest.raises(ValueError, match="one head"):
        colorizer.predict_ab(rgb[None], blend=0.3)
    with pytest.raises(ValueError, match="size must be a positive integer"):
        colorizer.colorize_array(rgb, size=0)
    assert colorizer.predict_ab(rgb[None], size=16).shape == (1, 13, 16, 2)


def test_hints_with_a_size_for_this_call_are_those_of_a_colorizer_of_that_size():
    model = hint_oracle_model()
    rgb = np.full((30, 60, 3), 140, np.uint8)
    hints = [(45, 10, "#e02020")]
    got = Colorizer([model], size=32).colorize_array(rgb, hints, size=48)
    np.testing.assert_array_equal(
        got, Colorizer([model], size=48).colorize_array(rgb, hints)
    )
    assert np.ptp(got[10, 45].astype(int)) > 30
