"""The default recipe, round three (issue 22): the bins head at a lower resolution,
Iizuka et al.'s global context, the encoder frozen up to a stride, and one real step
of the default-hints recipe with all of them on. The bins' soft target
(`losses.soft_encoding`) is tested with the other bins tests, in test_ab_bins.py."""

import dataclasses
import re

import keras
import numpy as np
import pytest
import tensorflow as tf

from colorization.config.experiment import TrainConfig
from colorization.config.presets import resolve_config
from colorization.models import ModelConfig, build_generator
from colorization.models.efficientnet_lite import ENCODER_NAME, freeze_to_stride
from colorization.models.layers import GlobalModulation, nested_layers
from colorization.models.model_file import (
    ModelFacts,
    load_model,
    model_facts,
    save_model,
)
from colorization.training import train_steps
from colorization.training.distribute import make_strategy
from colorization.training.warm_start import copy_weights
from data_pipeline import hints, lab
from tests.conftest import photo
from tests.train_data import tiny_config, write_photos

Q = 262  # the in-gamut ab bins
MODULATIONS = ["dec1_global", "dec2_global", "dec3_global", "dec4_global"]
GLOBAL_LAYERS = ["global_dense", *MODULATIONS]


def _effnet(**fields):
    """A small two-head effnet_unet with random weights (no encoder file)."""
    return build_generator(
        ModelConfig(name="effnet_unet", head="dual", base_filters=2, **fields)
    )


def _with_logits(model):
    """`model` -> (ab_logits, ab)."""
    return keras.Model(model.input, [model.get_layer("ab_logits").output, model.output])


def _perturb_global_branch(model, seed=0, std=0.05):
    """Gives the zero-initialised modulation layers random weights, as training
    would: the branch then does something."""
    rng = np.random.default_rng(seed)
    for name in MODULATIONS:
        layer = model.get_layer(name)
        layer.set_weights(
            [rng.normal(0, std, w.shape).astype(np.float32) for w in layer.weights]
        )


def _one_line(error):
    message = str(error.value)
    assert message and "\n" not in message, message


# -- The bins head at a lower resolution (bins_stride) -------------------------------


def test_bins_stride_lowers_the_logits_and_keeps_the_output_size():
    keras.utils.set_random_seed(0)
    half = _effnet()
    assert half.get_layer("ab_logits").output.shape[-1] == Q
    for stride in (4, 8):
        model = _effnet(bins_stride=stride)
        assert model.count_params() == half.count_params()  # pooling, same weights
        for height, width in ((64, 96), (96, 64)):
            logits, ab = _with_logits(model)(tf.random.uniform((2, height, width, 1)))
            assert logits.shape == (2, height // stride, width // stride, Q)
            assert ab.shape == (2, height, width, 2) and ab.dtype == tf.float32
            assert np.abs(ab.numpy()).max() <= 1.0


def test_the_pooled_bins_head_is_the_half_resolution_head_averaged():
    # A 1x1 convolution commutes with average pooling: a quarter-resolution head
    # given the weights of a half-resolution one gives its logits, 2x2-averaged.
    keras.utils.set_random_seed(1)
    half = _effnet(global_context=True)
    quarter = _effnet(global_context=True, bins_stride=4)
    report = copy_weights(quarter, half)
    assert not report.missing and not report.mismatched
    x = tf.random.uniform((2, 64, 96, 1), -1, 1)
    half_logits = _with_logits(half)(x)[0]
    quarter_logits = _with_logits(quarter)(x)[0]
    expected = keras.layers.AveragePooling2D(2)(half_logits)
    np.testing.assert_allclose(quarter_logits.numpy(), expected.numpy(), atol=1e-5)


def test_a_round_three_model_survives_save_and_load(tmp_path):
    keras.utils.set_random_seed(2)
    model = _effnet(bins_stride=4, global_context=True)
    _perturb_global_branch(model)  # so that the branch's weights matter
    facts = ModelFacts(64, training={"name": "default"})
    save_model(model, tmp_path / "m.keras", facts)
    loaded = load_model(tmp_path / "m.keras")
    assert model_facts(loaded) == facts
    modulations = [x for x in nested_layers(loaded) if isinstance(x, GlobalModulation)]
    assert len(modulations) == len(MODULATIONS)
    x = tf.random.uniform((2, 64, 96, 1), -1, 1)
    logits, ab = _with_logits(loaded)(x)
    assert logits.shape == (2, 16, 24, Q)
    np.testing.assert_allclose(ab.numpy(), model(x).numpy(), atol=1e-6)


def test_invalid_round_three_fields_are_one_line_errors():
    with pytest.raises(ValueError, match="bins_stride must be one of 2, 4, 8") as e:
        ModelConfig(name="effnet_unet", head="dual", bins_stride=3)
    _one_line(e)
    with pytest.raises(ValueError, match="bins_stride") as e:
        resolve_config("default", {"generator.bins_stride": 3})
    _one_line(e)
    with pytest.raises(ValueError, match="global_context must be true or false"):
        ModelConfig(name="effnet_unet", global_context="yes")
    with pytest.raises(ValueError, match="does not use 'global_context'"):
        ModelConfig(name="unet", global_context=True)
    with pytest.raises(ValueError, match="freeze_stride must be 0, 2, 4") as e:
        TrainConfig(freeze_stride=3)
    _one_line(e)
    with pytest.raises(ValueError, match="freeze_stride"):
        resolve_config("default", {"train.freeze_stride": 64})
    assert TrainConfig(freeze_stride=0).freeze_stride == 0


# -- Global context (GlobalModulation) -----------------------------------------------


def test_global_modulation_with_zero_parameters_is_the_identity():
    x = tf.random.normal((2, 3, 5, 4))
    out = GlobalModulation()([x, tf.zeros((2, 8))])
    np.testing.assert_array_equal(out.numpy(), x.numpy())


def test_global_modulation_by_hand():
    # Two examples of 1x2 pixels and 2 channels; params are (scales, shifts).
    x = tf.constant([[[[1.0, 2.0], [3.0, 4.0]]], [[[-1.0, 0.0], [2.0, 1.0]]]])
    params = tf.constant([[0.5, -1.0, 0.25, 2.0], [0.0, 1.0, -1.0, 0.0]])
    expected = [
        [[[1.5 * 1 + 0.25, 0 * 2 + 2.0], [1.5 * 3 + 0.25, 0 * 4 + 2.0]]],
        [[[-1.0 - 1.0, 2 * 0.0], [2.0 - 1.0, 2 * 1.0]]],
    ]
    layer = GlobalModulation(name="m")
    np.testing.assert_allclose(layer([x, params]).numpy(), expected, atol=1e-6)
    assert layer.compute_output_shape([(2, 1, 2, 2), (2, 4)]) == (2, 1, 2, 2)
    again = GlobalModulation.from_config(layer.get_config())
    np.testing.assert_allclose(again([x, params]).numpy(), expected, atol=1e-6)


@pytest.fixture(scope="module")
def shipped():
    """The shipped model: its trained encoder gives the global branch real features
    (a random EfficientNet's top features are ~1e-13)."""
    from colorization.inference.colorizer import default_model_path

    return load_model(default_model_path())


def _grown(shipped):
    """(source, target): the default-hints generator of round two (no global
    branch, bins at half resolution) with the shipped weights, and the same with the
    global branch, its weights copied from the source."""
    base = resolve_config("default-hints").generator
    source = build_generator(
        dataclasses.replace(base, bins_stride=2, global_context=False)
    )
    copy_weights(source, shipped)
    target = build_generator(dataclasses.replace(base, bins_stride=2))
    report = copy_weights(target, source)
    assert report.missing == GLOBAL_LAYERS and not report.mismatched
    return source, target


def _hinted_input(shape, seed=0):
    """L from the astronaut photo resized to `shape` (height, width) and 3 hints."""
    rgb = photo("astronaut", shape[::-1]).astype(np.float32) / 255
    l_norm, ab = lab.rgb_to_model(tf.constant(rgb))
    hint_ab, hint_mask = hints.sample_hints(ab, None, tf.constant([seed, 1]), count=3)
    return hints.hint_input(l_norm, hint_ab, hint_mask)[tf.newaxis]


def test_the_global_branch_starts_as_the_model_it_grows_from(shipped):
    source, target = _grown(shipped)
    x = tf.concat([_hinted_input((64, 96), 0), _hinted_input((64, 96), 1)], 0)
    expected = source(x).numpy()
    np.testing.assert_array_equal(target(x).numpy(), expected)
    # The first training step's forward pass too (batch statistics).
    np.testing.assert_array_equal(
        target(x, training=True).numpy(), source(x, training=True).numpy()
    )
    _perturb_global_branch(target)
    assert np.abs(target(x).numpy() - expected).max() > 1e-3


def test_the_global_branch_makes_far_away_pixels_count(shipped):
    # 32 x 1024 px, the right quarter changed: without the branch the change
    # reaches ~540 px to the left (measured), not the left 32 columns, 736 px away;
    # with it they change (by 4e-3 here).
    source, target = _grown(shipped)
    _perturb_global_branch(target)
    x = hints.no_hints(
        tf.random.stateless_uniform((1, 32, 1024, 1), [3, 4], -1.0, 1.0)
    ).numpy()
    changed = x.copy()
    changed[:, :, -256:, 0] *= -1.0
    for model, moves in ((source, False), (target, True)):
        out, other = model(x).numpy(), model(changed).numpy()
        assert np.abs(out[:, :, -256:] - other[:, :, -256:]).max() > 1e-3
        left = np.abs(out[:, :, :32] - other[:, :, :32]).max()
        assert (left > 1e-4) if moves else (left < 1e-6), (model.name, left)


# -- The encoder frozen up to a stride (freeze_to_stride, TrainConfig.freeze_stride) -


def _frozen_by_rule(name, last_block):
    """Whether `name` (an encoder layer) is the stem or a block <= last_block."""
    if name.startswith(("conv_stem", "bn0")):
        return True
    block = re.match(r"blocks_(\d+)_", name)
    return block is not None and int(block.group(1)) <= last_block


@pytest.mark.parametrize("stride,last_block", [(2, 0), (4, 2)])
def test_freeze_to_stride_freezes_the_stem_and_the_blocks_before_it(stride, last_block):
    model = _effnet(global_context=True, bins_stride=4)
    all_weights = len(model.trainable_weights)
    count = freeze_to_stride(model, stride)
    encoder = model.get_layer(ENCODER_NAME)
    frozen = [layer.name for layer in encoder.layers if not layer.trainable]
    expected = [
        layer.name
        for layer in encoder.layers
        if _frozen_by_rule(layer.name, last_block)
    ]
    assert frozen == expected and count == len(frozen)
    assert "conv_stem" in frozen and f"blocks_{last_block}_project_conv" in frozen
    assert f"blocks_{last_block + 1}_project_conv" not in frozen
    assert all(layer.trainable for layer in model.layers)  # the encoder model too
    frozen_weights = sum(len(encoder.get_layer(n).trainable_weights) for n in frozen)
    assert frozen_weights == 0
    frozen_ids = {id(w) for n in frozen for w in encoder.get_layer(n).weights}
    assert not frozen_ids & {id(w) for w in model.trainable_weights}
    assert len(model.trainable_weights) < all_weights


def test_freezing_needs_the_encoder_and_one_of_its_strides(tmp_path):
    unet = build_generator(ModelConfig(name="unet", base_filters=4, depth=2))
    with pytest.raises(ValueError, match="no EfficientNet-Lite0 encoder") as e:
        freeze_to_stride(unet, 4)
    _one_line(e)
    with pytest.raises(ValueError, match="stride must be one of 2, 4, 8, 16, 32"):
        freeze_to_stride(_effnet(), 3)
    # A config that asks for it on another generator is refused before any run.
    photos = write_photos(tmp_path / "photos", copies=1)
    with pytest.raises(ValueError, match="'unet' has none") as e:
        tiny_config(photos, freeze_stride=4)
    _one_line(e)


def _photo_batch(size=64):
    """(L_norm, ab, mask) of two real photos at size x size."""
    rgb = np.stack([photo(n, (size, size)) for n in ("astronaut", "coffee")])
    l_norm, ab = lab.rgb_to_model(tf.constant(rgb.astype(np.float32) / 255))
    return l_norm, ab, tf.ones_like(l_norm)


def _values(model):
    return {id(v): v.numpy().copy() for v in model.variables}


def test_a_real_step_leaves_the_frozen_encoder_bit_identical():
    strategy = make_strategy("one")
    keras.utils.set_random_seed(3)
    with strategy.scope():
        model = _effnet(bins_stride=4)
        freeze_to_stride(model, 4)
        optimizer = keras.optimizers.Adam(1e-3)
        optimizer.build(model.trainable_variables)
    loss_config = resolve_config("default").loss  # bins + 5 L1
    step, _ = train_steps.make_steps(
        strategy, model, None, optimizer, None, loss_config, 2, False, np.ones(Q)
    )
    encoder = model.get_layer(ENCODER_NAME)
    frozen = {id(w) for x in encoder.layers if not x.trainable for w in x.weights}
    trainable = {id(v) for v in model.trainable_variables}
    before = _values(model)
    assert np.isfinite(float(step(_photo_batch())["loss"]))
    after = _values(model)
    same = {key for key in before if np.array_equal(before[key], after[key])}
    assert frozen and frozen <= same  # kernels, scales and moving statistics
    assert not trainable & same  # every trainable weight moved
    # The first unfrozen block normalised with its batch and updated its statistics.
    moving = encoder.get_layer("blocks_3_bn0").moving_mean
    assert id(moving) not in same


# -- Everything on: one step of the default-hints recipe -----------------------------


def test_one_step_of_the_default_hints_recipe_with_everything_on(shipped):
    config = resolve_config("default-hints")
    generator_config, t = config.generator, config.train
    assert generator_config.bins_stride == 4 and generator_config.global_context
    assert generator_config.input_channels == 4 and t.freeze_stride > 0
    strategy = make_strategy("one")
    keras.utils.set_random_seed(4)
    with strategy.scope():
        generator = build_generator(generator_config)
        copy_weights(generator, shipped)  # as --init-from the shipped model
        freeze_to_stride(generator, t.freeze_stride)
        optimizer = train_steps.make_optimizer(t, t.lr, fp16=False)
        optimizer.build(generator.trainable_variables)
    step, _ = train_steps.make_steps(
        strategy, generator, None, optimizer, None, config.loss, 2, False, np.ones(Q)
    )
    l_norm, ab, mask = _photo_batch()
    hint_ab, hint_mask = hints.sample_hints(ab, mask, tf.constant([5, 6]), count=4)
    batch = (hints.hint_input(l_norm, hint_ab, hint_mask), ab, mask)
    encoder = generator.get_layer(ENCODER_NAME)
    frozen = {id(w) for x in encoder.layers if not x.trainable for w in x.weights}
    start = _values(generator)

    def moved(values, name):
        return all(
            not np.array_equal(start[id(w)], values[id(w)])
            for w in generator.get_layer(name).weights
        )

    first = step(batch)
    after_one = _values(generator)
    second = step(batch)
    after_two = _values(generator)
    for metrics in (first, second):
        assert all(np.isfinite(float(v)) for v in metrics.values()), metrics
    # The modulations move at once; the dense layer before them gets no gradient
    # while they are zero, so it moves from the second step.
    assert all(moved(after_one, name) for name in MODULATIONS)
    assert all(moved(after_two, name) for name in GLOBAL_LAYERS)
    assert all(np.array_equal(start[key], after_two[key]) for key in frozen)
    logits, ab_out = _with_logits(generator)(batch[0])
    assert logits.shape == (2, 16, 16, Q) and ab_out.shape == (2, 64, 64, 2)
    assert np.all(np.isfinite(ab_out.numpy()))
