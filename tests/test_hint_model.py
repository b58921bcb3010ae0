"""The hinted generator's own layers: hints pooled for the decoder blocks
(`PooledHints`, `decoder_hints`), a model widened from an automatic one, and hints
spread over their regions (`HintPropagation`)."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from colorization.inference.colorizer import load_model
from colorization.models import ModelConfig, build_generator
from colorization.models.hint_propagation import (
    HintPropagation,
    add_hint_propagation,
    without_hint_propagation,
)
from colorization.models.layers import PooledHints
from colorization.training.warm_start import copy_weights
from data_pipeline import hints

SEED = (7, 11)
SMALL = {"name": "effnet_unet", "base_filters": 4}


def _hinted_input(height=32, width=64):
    """L, and two hints: a 2 x 3 patch of ab (0.5, -0.25) at rows 2-3, columns 4-6,
    and one pixel of ab (-0.5, 0.75) at row 20, column 40."""
    l_norm = tf.random.stateless_uniform([1, height, width, 1], SEED, -1, 1)
    ab = np.zeros((1, height, width, 2), np.float32)
    mask = np.zeros((1, height, width, 1), np.float32)
    ab[0, 2:4, 4:7] = (0.5, -0.25)
    mask[0, 2:4, 4:7] = 1
    ab[0, 20, 40] = (-0.5, 0.75)
    mask[0, 20, 40] = 1
    return hints.hint_input(l_norm, ab, mask)


def test_pooled_hints_keep_each_hints_colour_whole_in_its_cell():
    out = PooledHints(8, gain=4.0)(_hinted_input()).numpy()
    assert out.shape == (1, 4, 8, 3)
    # The patch lies in cell (0, 0); a sixth of its pixels are hinted, but the mean is
    # over those only. The single pixel lies in cell (2, 5).
    np.testing.assert_allclose(out[0, 0, 0], [2.0, -1.0, 4.0], rtol=1e-6)
    np.testing.assert_allclose(out[0, 2, 5], [-2.0, 3.0, 4.0], rtol=1e-6)
    out[0, 0, 0] = out[0, 2, 5] = 0
    assert np.all(out == 0)  # cells without hints: no colour and no mark


def test_pooled_hints_of_a_patch_across_cells_and_their_config():
    layer = PooledHints(2, gain=1.0)
    out = layer(_hinted_input()).numpy()
    # The 2 x 3 patch at columns 4-6 covers cells (1, 2) whole and (1, 3) by half.
    np.testing.assert_allclose(out[0, 1, 2], [0.5, -0.25, 1.0], rtol=1e-6)
    np.testing.assert_allclose(out[0, 1, 3], [0.5, -0.25, 1.0], rtol=1e-6)
    clone = PooledHints.from_config(layer.get_config())
    assert (clone.stride, clone.gain) == (2, 1.0)
    for bad in ({"stride": 0}, {"gain": -1.0}, {"stride": 2.5}):
        with pytest.raises(ValueError, match="must be a positive"):
            PooledHints(**bad)


def test_decoder_hints_widen_every_decoder_block_and_keep_the_automatic_model(
    tmp_path,
):
    keras.utils.set_random_seed(8)
    automatic = build_generator(ModelConfig(**SMALL))
    config = ModelConfig(input_channels=4, hint_gain=16.0, decoder_hints=True, **SMALL)
    hinted = build_generator(config)
    names = [layer.name for layer in hinted.layers]
    assert [f"dec{level}_hints" for level in (1, 2, 3, 4)] == [
        name for name in names if name.startswith("dec") and name.endswith("hints")
    ]
    report = copy_weights(hinted, automatic)
    assert report.widened == [
        "conv_stem",
        "dec1_a_conv",
        "dec2_a_conv",
        "dec3_a_conv",
        "dec4_a_conv",
    ]
    assert not report.mismatched and not report.missing
    inputs = _hinted_input()
    expected = automatic(inputs[..., :1], training=False).numpy()
    # Zero weights on the hint channels: the automatic model, with hints or without.
    for given in (inputs, hints.no_hints(inputs[..., :1])):
        np.testing.assert_allclose(
            hinted(given, training=False).numpy(), expected, atol=1e-5
        )
    path = str(tmp_path / "hinted.keras")
    hinted.save(path)
    np.testing.assert_allclose(
        load_model(path)(inputs, training=False).numpy(), expected, atol=1e-5
    )


def test_a_training_step_teaches_the_decoder_blocks_the_hints():
    keras.utils.set_random_seed(9)
    config = ModelConfig(input_channels=4, hint_gain=16.0, decoder_hints=True, **SMALL)
    model = build_generator(config)
    copy_weights(model, build_generator(ModelConfig(**SMALL)))
    inputs = _hinted_input()
    ab = tf.random.stateless_uniform([1, 32, 64, 2], SEED, -0.5, 0.5)
    optimizer = keras.optimizers.Adam(1e-3)
    with tf.GradientTape() as tape:
        loss = tf.reduce_mean(tf.abs(model(inputs, training=True) - ab))
    grads = tape.gradient(loss, model.trainable_variables)
    optimizer.apply(grads, model.trainable_variables)
    for level in (1, 2, 3, 4):
        kernel = model.get_layer(f"dec{level}_a_conv").kernel.numpy()
        assert np.abs(kernel[:, :, -3:]).max() > 0, level  # the hint channels learnt


@pytest.mark.parametrize(
    "values, message",
    [
        ({"decoder_hints": "yes"}, "decoder_hints must be true or false"),
        ({"hint_gain": 0}, "hint_gain must be a positive number"),
    ],
)
def test_bad_hint_model_settings_fail_in_one_line(values, message):
    with pytest.raises(ValueError, match=message):
        ModelConfig(input_channels=4, **SMALL, **values)
    with pytest.raises(ValueError, match="does not use 'decoder_hints'"):
        ModelConfig(name="unet", decoder_hints=True)


# -- spreading hints over their regions (HintPropagation) -------------------------------


def _scene(l_left=0.0, l_right=0.0, size=(32, 64)):
    """L_norm with two halves, and the network's ab: 0 everywhere."""
    height, width = size
    l_norm = np.full((1, height, width, 1), l_left, np.float32)
    l_norm[:, :, width // 2 :] = l_right
    return l_norm, np.zeros((1, height, width, 2), np.float32)


def _with_hints(l_norm, points):
    """The hinted input with 2 x 2 hints {(row, col): (a, b)}."""
    ab = np.zeros(l_norm.shape[:3] + (2,), np.float32)
    mask = np.zeros_like(l_norm)
    for (row, col), value in points.items():
        ab[:, row : row + 2, col : col + 2] = value
        mask[:, row : row + 2, col : col + 2] = 1
    return hints.hint_input(l_norm, ab, mask)


def test_without_hints_the_propagation_changes_nothing():
    l_norm, _ = _scene(-0.3, 0.4)
    ab = tf.random.stateless_uniform([1, 32, 64, 2], SEED, -0.8, 0.8)
    out = HintPropagation()([hints.no_hints(l_norm), ab])
    np.testing.assert_array_equal(out.numpy(), ab.numpy())


def test_a_hint_colours_its_region_and_stops_at_an_edge():
    l_norm, ab = _scene(-0.5, 0.5)  # an edge of 50 L between the halves
    out = HintPropagation(reach=1000.0, edge=0.15)(
        [_with_hints(l_norm, {(4, 4): (0.4, -0.2)}), ab]
    ).numpy()[0]
    left, right = out[:, 2:28], out[:, 36:]
    np.testing.assert_allclose(
        left, np.broadcast_to([0.4, -0.2], left.shape), atol=0.03
    )
    assert np.abs(right).max() < 1e-3


def test_the_reach_fades_with_distance():
    l_norm, ab = _scene()
    out = HintPropagation(reach=8.0)(
        [_with_hints(l_norm, {(14, 2): (0.5, 0.5)}), ab]
    ).numpy()[0, 15, :, 0]
    assert out[3] > 0.4 and np.all(np.diff(out[4:]) <= 1e-6)  # fades outward
    assert np.all(out[40:] < 1e-3)  # five reaches away


def test_two_hints_each_take_their_own_region():
    l_norm, ab = _scene(-0.5, 0.5)
    given = _with_hints(l_norm, {(10, 6): (0.5, 0.0), (10, 50): (0.0, -0.5)})
    out = HintPropagation(reach=1000.0)([given, ab]).numpy()[0]
    np.testing.assert_allclose(out[20, 10], [0.5, 0.0], atol=0.03)
    np.testing.assert_allclose(out[20, 56], [0.0, -0.5], atol=0.03)


def test_a_model_with_propagation_saves_loads_and_refuses_misuse(tmp_path):
    keras.utils.set_random_seed(10)
    hinted = build_generator(
        ModelConfig(input_channels=4, hint_gain=16.0, decoder_hints=True, **SMALL)
    )
    model = add_hint_propagation(hinted, reach=12.0)
    inputs = _hinted_input()
    without = hints.no_hints(inputs[..., :1])
    np.testing.assert_allclose(
        model(without, training=False).numpy(),
        hinted(without, training=False).numpy(),
        atol=1e-6,
    )
    path = str(tmp_path / "propagating.keras")
    model.save(path)
    loaded = load_model(path)
    assert loaded.layers[-1].reach == 12.0
    np.testing.assert_allclose(
        loaded(inputs, training=False).numpy(),
        model(inputs, training=False).numpy(),
        atol=1e-6,
    )
    assert without_hint_propagation(model) is hinted
    assert without_hint_propagation(hinted) is hinted
    with pytest.raises(ValueError, match="already propagates its hints"):
        add_hint_propagation(model)
    with pytest.raises(ValueError, match="takes no hints"):
        add_hint_propagation(build_generator(ModelConfig(**SMALL)))
    with pytest.raises(ValueError, match="reach out of range"):
        HintPropagation(reach=-1.0)
