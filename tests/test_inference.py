"""Colorizer: any size and layout at full resolution, L kept, ensembles."""

import numpy as np
import pytest
from skimage import color

from colorization.inference import Colorizer, ModelNotFoundError, infer_stride
from tests.conftest import photo
from tests.inference_helpers import constant_ab_model, tiny_unet


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
        "colorization.inference.default_model_path",
        lambda: str(tmp_path / "none.keras"),
    )
    with pytest.raises(
        ModelNotFoundError, match="no default model is installed.*--model"
    ):
        Colorizer.load()
    (tmp_path / "junk.keras").write_text("not a model")
    with pytest.raises(ValueError, match="cannot load model"):
        Colorizer.load(str(tmp_path / "junk.keras"))


def test_load_reads_the_training_size_from_config_json(tmp_path):
    tiny_unet().save(tmp_path / "model.keras")
    (tmp_path / "config.json").write_text('{"data": {"image_size": 96}}')
    loaded = Colorizer.load(str(tmp_path / "model.keras"))
    assert loaded.size == 96 and loaded.stride == 4
