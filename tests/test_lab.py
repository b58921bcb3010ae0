"""data_pipeline.lab and constants against scikit-image, eagerly, in graphs and in tf.data."""

import numpy as np
import pytest
import tensorflow as tf
from skimage import color

from data_pipeline import constants as C
from data_pipeline import lab
from tests.conftest import photo


def rgb_grid(step=5):
    """Every step-th level of the 8-bit RGB cube, as an image [n, 1, 3]."""
    levels = np.unique(np.r_[np.arange(0, 256, step), 255]).astype(np.uint8)
    grid = np.stack(np.meshgrid(levels, levels, levels, indexing="ij"), -1)
    return grid.reshape(-1, 1, 3)


@pytest.mark.parametrize("mode", ["eager", "graph", "xla"])
def test_rgb_to_lab_matches_skimage_on_the_rgb_cube(mode):
    rgb = rgb_grid()
    convert = {
        "eager": lab.rgb_to_lab,
        "graph": tf.function(lab.rgb_to_lab),
        "xla": tf.function(lab.rgb_to_lab, jit_compile=True),
    }[mode]
    ours = convert(rgb).numpy()
    assert np.abs(ours - color.rgb2lab(rgb)).max() < 0.05


def test_lab_to_rgb_matches_skimage_and_round_trips_within_one_level():
    rgb = rgb_grid()
    reference_lab = color.rgb2lab(rgb)
    ours = lab.lab_to_rgb(reference_lab).numpy()
    assert np.abs(ours - color.lab2rgb(reference_lab)).max() < 0.05 / 100
    back = lab.to_uint8(lab.lab_to_rgb(lab.rgb_to_lab(rgb))).numpy().astype(int)
    assert np.abs(back - rgb).max() <= 1


@pytest.mark.parametrize("name", ["astronaut", "coffee", "chelsea", "rocket"])
def test_rgb_to_lab_matches_skimage_on_real_photos(name):
    image = photo(name)
    assert (
        np.abs(lab.rgb_to_lab(image).numpy() - color.rgb2lab(image))
        .max(axis=(0, 1))
        .max()
        < 0.05
    )


def test_batched_and_unbatched_shapes_and_dtypes():
    image = photo("coffee", (32, 24))
    single = lab.rgb_to_lab(image)
    batch = lab.rgb_to_lab(np.stack([image, image[::-1]]))
    assert single.shape == (24, 32, 3) and batch.shape == (2, 24, 32, 3)
    assert single.dtype == tf.float32
    np.testing.assert_allclose(batch[0], single, atol=1e-5)
    float_input = lab.rgb_to_lab(image.astype(np.float32) / 255.0)
    np.testing.assert_allclose(float_input, single, atol=1e-4)


def test_inside_tf_data_map_equals_eager():
    images = np.stack([photo("astronaut", (16, 16)), photo("rocket", (16, 16))])
    mapped = tf.data.Dataset.from_tensor_slices(images).map(lab.rgb_to_lab)
    for image, result in zip(images, mapped):
        np.testing.assert_allclose(
            result.numpy(), lab.rgb_to_lab(image).numpy(), atol=1e-5
        )


def test_model_scaling_constants_and_inverses():
    assert C.normalize_l(0.0) == -1.0 and C.normalize_l(100.0) == 1.0
    assert C.normalize_ab(-128.0) == -1.0 and C.normalize_ab(0.0) == 0.0
    values = np.linspace(-128, 127, 11)
    np.testing.assert_allclose(C.denormalize_ab(C.normalize_ab(values)), values)
    np.testing.assert_allclose(
        C.denormalize_l(C.normalize_l(values + 128)), values + 128
    )
    # The Studienarbeit's x/128 - 1 on OpenCV 8-bit Lab (a8 = a + 128) is ab/128.
    assert C.normalize_ab(50.0) == (50.0 + 128) / 128 - 1


def test_model_tensors_are_in_range_and_black_is_the_padding_value():
    l_norm, ab_norm = lab.rgb_to_model(rgb_grid(15))
    assert -1.0 - 1e-6 <= l_norm.numpy().min() and l_norm.numpy().max() <= 1.0 + 1e-6
    assert np.abs(ab_norm.numpy()).max() <= 1.0
    black_l, black_ab = lab.rgb_to_model(np.zeros((1, 1, 3), np.uint8))
    np.testing.assert_allclose(black_l, C.PAD_L_NORM, atol=1e-5)
    np.testing.assert_allclose(black_ab, C.PAD_AB_NORM, atol=1e-5)


def test_model_to_rgb_inverts_rgb_to_model():
    image = photo("chelsea", (40, 30))
    l_norm, ab_norm = lab.rgb_to_model(image)
    back = lab.to_uint8(lab.model_to_rgb(l_norm, ab_norm)).numpy().astype(int)
    assert np.abs(back - image).max() <= 1


def test_to_uint8_rounds_and_clips_instead_of_wrapping():
    values = tf.constant([-0.5, 0.0, 0.6 / 255, 0.999, 1.0, 1.7])
    assert lab.to_uint8(values).numpy().tolist() == [0, 0, 1, 255, 255, 255]


def test_keep_lightness_brings_any_lab_into_gamut_at_constant_l():
    rng = np.random.default_rng(0)
    lab_values = np.concatenate(
        [rng.uniform(0, 100, (50_000, 1)), rng.uniform(-128, 127, (50_000, 2))], -1
    ).astype(np.float32)[:, None]
    kept = lab.lab_to_rgb(lab_values, keep_lightness=True).numpy()
    assert kept.min() >= 0.0 and kept.max() <= 1.0
    np.testing.assert_allclose(
        color.rgb2lab(kept)[..., 0], lab_values[..., 0], atol=0.01
    )
    in_8_bits = color.rgb2lab(lab.to_uint8(kept).numpy())[..., 0]
    assert np.abs(in_8_bits - lab_values[..., 0]).max() < 0.5
    clipped = color.rgb2lab(lab.lab_to_rgb(lab_values).numpy())[..., 0]
    assert np.abs(clipped - lab_values[..., 0]).max() > 10  # what clipping would do
    # In-gamut colours are left alone.
    rgb = rgb_grid(15)
    np.testing.assert_allclose(
        lab.lab_to_rgb(color.rgb2lab(rgb), keep_lightness=True), rgb / 255.0, atol=1e-4
    )
