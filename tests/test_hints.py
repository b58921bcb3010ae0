"""User colour hints (issue 14): the sampled and user hint maps, the hinted model made
from an automatic one, training with simulated hints, and the hint measurement."""

import importlib.util
import json
import os

import keras
import numpy as np
import pytest
import tensorflow as tf

from colorization.cli import checkpoints
from colorization.config.experiment import ExperimentConfig
from colorization.config.presets import HINT_GAIN, resolve_config
from colorization.evaluation import scoring
from colorization.hints import hint_eval
from colorization.inference.colorizer import load_model
from colorization.models import ModelConfig, build_generator, is_hinted
from colorization.training import train_steps
from colorization.training.loop import fit
from colorization.training.warm_start import copy_weights
from data_pipeline import dataset as dataset_module
from data_pipeline import hints, lab
from data_pipeline.config import HintConfig
from tests.conftest import photo
from tests.inference_helpers import shipped_twins
from tests.train_data import REPO, tiny_config, write_photos

SEED = tf.constant([7, 8], tf.int64)
TINY = {"name": "unet", "base_filters": 4, "depth": 2}


def _photo_tensors(size=(40, 24)):
    """A real photo (w, h) as (L_norm, ab_norm) [H, W, C]."""
    return lab.rgb_to_model(photo("astronaut", size))


def _padded_mask(height, width, image_width):
    """[H, W, 1]: image on the first `image_width` columns, padding after."""
    mask = np.zeros((height, width, 1), np.float32)
    mask[:, :image_width] = 1.0
    return tf.constant(mask)


@pytest.fixture(scope="module")
def photos(tmp_path_factory):
    return write_photos(tmp_path_factory.mktemp("photos"), copies=2)


# -- the hint maps ---------------------------------------------------------------------


def test_sampled_hints_have_the_shape_range_and_stay_on_the_image():
    _, ab = _photo_tensors()  # 24 x 40, not square
    mask = _padded_mask(24, 40, 30)
    config = HintConfig(p_none=0.0)
    hint_ab, hint_mask = (t.numpy() for t in hints.sample_hints(ab, mask, SEED, config))
    assert hint_ab.shape == (24, 40, 2) and hint_mask.shape == (24, 40, 1)
    assert hint_ab.dtype == np.float32 and set(np.unique(hint_mask)) == {0.0, 1.0}
    assert np.abs(hint_ab).max() <= 1.0
    assert np.all(hint_ab[hint_mask[..., 0] == 0] == 0)
    assert hint_mask[:, 30:].max() == 0, "a hint on the padding"
    batch_ab, batch_mask = hints.sample_hints(
        tf.stack([ab] * 3), tf.stack([mask] * 3), SEED, config
    )
    assert batch_ab.shape == (3, 24, 40, 2) and batch_mask.shape == (3, 24, 40, 1)


def test_sampled_hints_follow_the_seed():
    _, ab = _photo_tensors()
    config = HintConfig(p_none=0.0, p_geometric=0.2)
    first = hints.sample_hints(ab, None, SEED, config)
    again = hints.sample_hints(ab, None, SEED, config)
    other = hints.sample_hints(ab, None, tf.constant([9, 9], tf.int64), config)
    for a, b in zip(first, again):
        np.testing.assert_array_equal(a.numpy(), b.numpy())
    assert np.any(first[1].numpy() != other[1].numpy())


def test_sampled_hints_are_the_same_inside_tf_data_batched_or_not():
    _, ab = _photo_tensors()
    mask = _padded_mask(24, 40, 32)
    eager = hints.sample_hints(ab, mask, SEED)
    single = tf.data.Dataset.from_tensors((ab, mask)).map(
        lambda a, m: hints.sample_hints(a, m, SEED)
    )
    batched = tf.data.Dataset.from_tensors((ab, mask)).batch(1)
    batched = batched.map(lambda a, m: hints.sample_hints(a, m, SEED))
    for graph in (next(iter(single)), [t[0] for t in next(iter(batched))]):
        for a, b in zip(eager, graph):
            np.testing.assert_allclose(a.numpy(), b.numpy(), atol=1e-6)


def test_the_share_of_unhinted_images_and_the_mean_count_are_as_configured():
    batch = 2000
    config = HintConfig(p_none=0.3, p_geometric=0.25, max_points=64)
    counts = hints._counts(batch, SEED, config).numpy()
    assert abs(np.mean(counts == 0) - 0.3) < 0.04
    assert abs(counts[counts > 0].mean() - 4.0) < 0.4  # 1 / p_geometric
    ab = tf.random.stateless_uniform([400, 16, 16, 2], SEED, -0.5, 0.5)
    _, hint_mask = hints.sample_hints(ab, None, SEED, HintConfig(p_none=0.5))
    unhinted = np.mean(hint_mask.numpy().reshape(400, -1).max(1) == 0)
    assert abs(unhinted - 0.5) < 0.08


def test_a_hint_is_the_mean_ab_of_its_patch_over_the_image_pixels():
    ab = tf.random.stateless_uniform([20, 30, 2], SEED, -0.6, 0.6)
    mask = _padded_mask(20, 30, 22)
    config = HintConfig(p_none=0.0, min_patch=3, max_patch=3, location="uniform")
    for seed in range(20):
        hint_ab, hint_mask = hints.sample_hints(
            ab, mask, tf.constant([seed, 1]), config, count=1
        )
        rows, cols = np.nonzero(hint_mask.numpy()[..., 0])
        # One patch: at most 3 x 3, cut at the image's border.
        assert 1 <= len(rows) <= 9 and np.ptp(rows) <= 2 and np.ptp(cols) <= 2
        assert cols.max() < 22
        patch = ab.numpy()[rows, cols]
        expected = np.broadcast_to(patch.mean(0), patch.shape)
        np.testing.assert_allclose(hint_ab.numpy()[rows, cols], expected, atol=1e-6)


def test_more_hints_of_one_seed_add_to_fewer():
    _, ab = _photo_tensors()
    config = hint_eval.hint_sets()
    masks = [
        hints.sample_hints(ab, None, SEED, config, count=k)[1].numpy()
        for k in hint_eval.HINT_COUNTS
    ]
    assert masks[0].max() == 0
    for fewer, more in zip(masks, masks[1:]):
        assert np.all(more >= fewer) and more.sum() > fewer.sum()


def test_points_to_hints_puts_x_in_columns_and_y_in_rows():
    points = [[7, 2], [0.4, 4.6]]  # (x, y); the second rounds to (0, 5)
    colours = [[0.25, -0.5], [0.1, 0.2]]
    hint_ab, hint_mask = hints.points_to_hints(points, colours, 6, 10, patch_size=1)
    assert hint_ab.shape == (6, 10, 2) and hint_mask.shape == (6, 10, 1)
    assert sorted(zip(*np.nonzero(hint_mask.numpy()[..., 0]))) == [(2, 7), (5, 0)]
    np.testing.assert_allclose(hint_ab.numpy()[2, 7], [0.25, -0.5])
    np.testing.assert_allclose(hint_ab.numpy()[5, 0], [0.1, 0.2])
    _, square = hints.points_to_hints(points[:1], colours[:1], 6, 10, patch_size=3)
    rows, cols = np.nonzero(square.numpy()[..., 0])
    assert set(rows) == {1, 2, 3} and set(cols) == {6, 7, 8}
    # Overlapping patches average; the padding mask keeps hints off the padding.
    both, _ = hints.points_to_hints([[7, 2], [8, 2]], [[0.2, 0], [0.4, 0]], 6, 10, 3)
    assert both.numpy()[2, 7, 0] == pytest.approx(0.3)
    _, on_image = hints.points_to_hints(
        points[:1], colours[:1], 6, 10, 3, mask=_padded_mask(6, 10, 8)
    )
    assert on_image.numpy()[:, 8:].max() == 0 and on_image.numpy().sum() == 6
    empty_ab, empty_mask = hints.points_to_hints([], [], 6, 10)
    assert empty_mask.numpy().max() == 0 and empty_ab.numpy().max() == 0


def test_hinted_batches_keep_l_ab_and_mask_and_resume_at_their_index():
    l_norm, ab = _photo_tensors((24, 24))
    mask = _padded_mask(24, 24, 20)
    batches = tf.data.Dataset.from_tensors((l_norm, ab, mask)).repeat(12).batch(4)
    config = HintConfig(p_none=0.0)
    hinted = list(dataset_module._with_hints(batches, config, seed=5))
    assert len(hinted) == 3
    for inputs, hinted_ab, hinted_mask in hinted:
        assert inputs.shape == (4, 24, 24, hints.INPUT_CHANNELS)
        np.testing.assert_array_equal(inputs[..., :1].numpy()[0], l_norm.numpy())
        np.testing.assert_array_equal(hinted_ab[0].numpy(), ab.numpy())
        np.testing.assert_array_equal(hinted_mask[0].numpy(), mask.numpy())
        hint_mask = inputs[..., 3:].numpy()
        assert hint_mask.max() == 1 and np.all(hint_mask <= mask.numpy())
    # Each batch draws its own hints; a resumed epoch gets the same from its step on.
    assert np.any(hinted[0][0].numpy() != hinted[1][0].numpy())
    resumed = list(dataset_module._with_hints(batches.skip(1), config, 5, start=1))
    np.testing.assert_array_equal(resumed[0][0].numpy(), hinted[1][0].numpy())
    other = next(iter(dataset_module._with_hints(batches, config, 5, pipeline=1)))
    assert np.any(other[0].numpy() != hinted[0][0].numpy())


# -- the hinted model ------------------------------------------------------------------


def test_a_widened_first_convolution_keeps_the_automatic_model():
    keras.utils.set_random_seed(1)
    source = build_generator(ModelConfig(**TINY))
    target = build_generator(ModelConfig(input_channels=4, **TINY))
    report = copy_weights(target, source)
    assert report.widened == ["down1_conv1"] and not report.mismatched
    assert "new input channels at zero: down1_conv1" in report.summary()
    kernel = target.get_layer("down1_conv1").get_weights()[0]
    assert kernel.shape[2] == 4 and np.all(kernel[:, :, 1:] == 0)
    l_norm = tf.random.stateless_uniform([2, 16, 24, 1], SEED, -1, 1)
    some_hints = tf.random.stateless_uniform([2, 16, 24, 3], SEED, 0, 1)
    expected = source(l_norm).numpy()
    for extra in (tf.zeros_like(some_hints), some_hints):
        # (Not bit-exact: the convolution sums 36 products instead of 9.)
        np.testing.assert_allclose(
            target(tf.concat([l_norm, extra], -1)).numpy(), expected, atol=1e-5
        )


def test_a_narrowed_first_convolution_is_the_hinted_model_without_hints():
    keras.utils.set_random_seed(4)
    source = build_generator(ModelConfig(input_channels=4, **TINY))  # hint weights
    target = build_generator(ModelConfig(**TINY))
    report = copy_weights(target, source)
    assert report.narrowed == ["down1_conv1"] and not report.mismatched
    assert "first input channels only: down1_conv1" in report.summary()
    l_norm = tf.random.stateless_uniform([2, 16, 24, 1], SEED, -1, 1)
    some_hints = tf.random.stateless_uniform([2, 16, 24, 3], SEED, 0, 1)
    expected = source(hints.no_hints(l_norm)).numpy()
    np.testing.assert_allclose(target(l_norm).numpy(), expected, atol=1e-5)
    # The source's hint weights are not zero: the hints it is not given matter.
    with_hints = source(tf.concat([l_norm, some_hints], -1)).numpy()
    assert np.abs(with_hints - expected).max() > 1e-3


def test_the_shipped_model_and_its_twin_with_the_other_input_agree_without_hints():
    # Whichever is shipped: an automatic default widened to take hints (hint
    # weights at zero), or a hinted default narrowed to its L channel.
    automatic, hinted, report = shipped_twins()
    resized = report.widened + report.narrowed  # the stem, and decoder_hints' convs
    assert "conv_stem" in resized and not (report.widened and report.narrowed)
    assert not report.missing and not report.mismatched
    assert is_hinted(hinted) and not is_hinted(automatic)
    l_norm, _ = lab.rgb_to_model(photo("chelsea", (224, 160)))
    l_norm = l_norm[tf.newaxis]
    np.testing.assert_allclose(
        hinted(hints.no_hints(l_norm), training=False).numpy(),
        automatic(l_norm, training=False).numpy(),
        atol=1e-5,
    )


def test_effnet_encoder_weights_load_into_a_hinted_stem(tmp_path):
    from colorization.models.efficientnet_lite import (
        build_efficientnet_lite0,
        build_efficientnet_lite0_encoder,
    )

    keras.utils.set_random_seed(2)
    source = build_efficientnet_lite0()
    path = str(tmp_path / "lite0.weights.h5")
    source.save_weights(path)
    encoder = build_efficientnet_lite0_encoder((None, None, 4), weights=path)
    kernel = encoder.get_layer("conv_stem").get_weights()[0]
    expected = source.get_layer("conv_stem").get_weights()[0].sum(2)
    np.testing.assert_allclose(kernel[:, :, 0], expected, rtol=1e-6)
    assert np.all(kernel[:, :, 1:] == 0)


def test_hint_gain_scales_the_hint_channels_only_and_survives_saving(tmp_path):
    from colorization.models.layers import HintGain

    inputs = tf.random.stateless_uniform([2, 8, 8, 4], SEED, -1, 1)
    out = HintGain(64.0)(inputs).numpy()
    np.testing.assert_array_equal(out[..., :1], inputs.numpy()[..., :1])
    np.testing.assert_allclose(out[..., 1:], 64.0 * inputs.numpy()[..., 1:], rtol=1e-6)
    with pytest.raises(ValueError, match="gain must be a positive number"):
        HintGain(0)

    keras.utils.set_random_seed(4)
    config = ModelConfig(
        name="effnet_unet", base_filters=4, input_channels=4, hint_gain=8.0
    )
    model = build_generator(config)
    assert model.get_layer("hint_gain").gain == 8.0
    stem = model.get_layer("efficientnet_lite0_encoder").get_layer("conv_stem")
    kernel = stem.get_weights()[0]
    kernel[:, :, 1:] = 0.01
    stem.set_weights([kernel])
    path = str(tmp_path / "gain.keras")
    model.save(path)
    x = tf.random.stateless_uniform([1, 32, 32, 4], SEED, -1, 1)
    np.testing.assert_allclose(
        load_model(path)(x, training=False).numpy(),
        model(x, training=False).numpy(),
        atol=1e-6,
    )
    # No layer where it would do nothing: one input channel, or a gain of 1.
    for values in ({"input_channels": 1, "hint_gain": 8.0}, {"input_channels": 4}):
        names = [
            layer.name
            for layer in build_generator(
                ModelConfig(name="effnet_unet", base_filters=4, **values)
            ).layers
        ]
        assert "hint_gain" not in names


def test_the_hint_gain_multiplies_the_hint_weights_adam_step():
    """Adam moves a weight by about its rate whatever the gradient's scale; with the
    gain, the hint channels' effective weights move `gain` times further."""
    moved = {}
    for gain in (1.0, 16.0):
        keras.utils.set_random_seed(5)
        config = ModelConfig(
            name="effnet_unet",
            base_filters=4,
            input_channels=4,
            hint_gain=gain,
        )
        model = build_generator(config)
        stem = model.get_layer("efficientnet_lite0_encoder").get_layer("conv_stem")
        kernel = stem.get_weights()[0]
        kernel[:, :, 1:] = 0.0
        stem.set_weights([kernel])
        l_norm = tf.random.stateless_uniform([2, 32, 32, 1], SEED, -1, 1)
        ab = tf.random.stateless_uniform([2, 32, 32, 2], SEED, -0.5, 0.5)
        mask = tf.ones_like(l_norm)
        batch = (hints.hint_input(l_norm, ab, mask), ab, mask)
        _one_step(model, resolve_config("tiny").loss, batch)
        moved[gain] = gain * np.abs(stem.get_weights()[0][:, :, 1:]).max()
    np.testing.assert_allclose(moved[16.0] / moved[1.0], 16.0, rtol=0.05)


# -- configuration ---------------------------------------------------------------------


def test_default_hints_preset_and_the_hints_switch():
    config = resolve_config(
        "default-hints", {"dataset": "folder", "data_dir": "x", "val_dir": "v"}
    )
    assert config.data.hints == HintConfig() and config.val_data.hints is None
    assert config.generator.input_channels == 4 and config.generator.head == "dual"
    assert config.generator.hint_gain == HINT_GAIN
    assert ExperimentConfig.from_json(config.to_json()) == config
    off = resolve_config(
        "default-hints", {"dataset": "folder", "data_dir": "x", "hints": False}
    )
    assert off.data.hints is None and off.generator.resolved().input_channels == 1
    assert off.generator.hint_gain == 1.0  # effnet_unet's default, resolved
    switched = resolve_config("default", {"hints": True})
    assert switched.generator.hint_gain == HINT_GAIN
    tiny = resolve_config("tiny", {"hints": True, "model": "unet"})
    assert tiny.data.hints is not None and tiny.generator.input_channels == 4


@pytest.mark.parametrize(
    "change, message",
    [
        ({"generator": {"input_channels": 4}}, "input_channels 4: a generator takes L"),
        ({"data": {"hints": {"p_none": 1.5}}}, r"hints.p_none must be in \[0, 1\]"),
        ({"data": {"hints": {"min_patch": 5, "max_patch": 3}}}, "is above"),
        ({"data": {"hints": {"patch": 3}}}, r"unknown keys .*\['patch'\]"),
        ({"data": {"hints": {"location": "edge"}}}, "hints.location must be one of"),
    ],
)
def test_bad_hint_settings_fail_in_one_line(change, message):
    values = resolve_config("tiny").to_dict()
    for section, fields in change.items():
        values[section] |= fields
    with pytest.raises(ValueError, match=message) as error:
        ExperimentConfig.from_dict(values)
    assert "\n" not in str(error.value)


def test_hints_without_a_hinted_generator_are_refused():
    values = resolve_config("tiny", {"hints": True}).to_dict()
    values["generator"]["input_channels"] = None
    with pytest.raises(ValueError, match="data.hints needs a generator with input_ch"):
        ExperimentConfig.from_dict(values)


# -- training --------------------------------------------------------------------------


def test_training_with_hints_from_an_automatic_model(photos, tmp_path, capsys):
    keras.utils.set_random_seed(3)
    source = build_generator(resolve_config("tiny").generator)
    source_path = str(tmp_path / "automatic.keras")
    source.save(source_path)
    config = tiny_config(photos, hints=True, init_from=source_path)
    workdir = tmp_path / "run"
    result = fit(config, str(workdir))
    assert "new input channels at zero: down1_conv1" in capsys.readouterr().err
    assert result.metrics["global_step"] == 2
    assert np.isfinite(result.metrics["loss"]) and np.isfinite(result.metrics["val_l1"])
    # The hint weights learnt from zero; the L weights kept going from the source's.
    kernel = result.generator.get_layer("down1_conv1").get_weights()[0]
    assert np.abs(kernel[:, :, 1:]).max() > 0  # so the batches did carry hints

    saved = load_model(str(workdir / "model.keras"))
    assert is_hinted(saved)
    inputs = hints.no_hints(tf.random.stateless_uniform([1, 32, 32, 1], SEED, -1, 1))
    np.testing.assert_allclose(
        saved(inputs).numpy(), result.generator(inputs).numpy(), atol=1e-6
    )
    # Exported with hint propagation: the same model where no hint is given.
    out = str(tmp_path / "propagating.keras")
    flags = [str(workdir), out, "--which", "last", "--propagate-hints"]
    assert checkpoints.main(flags) == 0
    propagating = load_model(out)
    assert type(propagating.layers[-1]).__name__ == "HintPropagation"
    np.testing.assert_allclose(
        propagating(inputs).numpy(), result.generator(inputs).numpy(), atol=1e-6
    )


def test_an_automatic_run_starts_from_a_hinted_model(photos, tmp_path, capsys):
    # The way back (a hinted default, an automatic preset): the L channel is kept.
    keras.utils.set_random_seed(5)
    source = build_generator(resolve_config("tiny", {"hints": True}).generator)
    source_path = str(tmp_path / "hinted.keras")
    source.save(source_path)
    config = tiny_config(photos, lr=1e-12, init_from=source_path, steps_per_epoch=1)
    result = fit(config, str(tmp_path / "run"))
    assert "first input channels only: down1_conv1" in capsys.readouterr().err
    assert not is_hinted(result.generator)
    kernel = result.generator.get_layer("down1_conv1").get_weights()[0]
    expected = source.get_layer("down1_conv1").get_weights()[0][:, :, :1]
    np.testing.assert_allclose(kernel, expected, atol=1e-6)


def _one_step(generator, loss, batch):
    """One real training step of `generator` on `batch`, as training runs it."""
    optimizer = keras.optimizers.Adam(1e-3)
    optimizer.build(generator.trainable_variables)
    step, _ = train_steps.make_steps(
        tf.distribute.get_strategy(), generator, None, optimizer, None, loss, 2, False
    )
    return {k: float(v) for k, v in step(batch).items()}


def test_a_bf16_step_with_hints_is_finite():
    l_norm, ab = _photo_tensors((32, 32))
    mask = tf.ones([32, 32, 1])
    hint_ab, hint_mask = hints.sample_hints(ab, mask, SEED, HintConfig(p_none=0.0))
    inputs = hints.hint_input(l_norm, hint_ab, hint_mask)
    batch = tuple(tf.stack([t, t[::-1]]) for t in (inputs, ab, mask))
    previous = keras.mixed_precision.global_policy()
    keras.mixed_precision.set_global_policy("mixed_bfloat16")
    try:
        generator = build_generator(ModelConfig(input_channels=4, **TINY))
        values = _one_step(generator, resolve_config("tiny").loss, batch)
        out = generator(batch[0]).numpy()
    finally:
        keras.mixed_precision.set_global_policy(previous)
    assert all(np.isfinite(v) for v in values.values()), values
    assert out.dtype == np.float32 and np.all(np.isfinite(out))
    assert np.abs(out).max() <= 1.0


@pytest.mark.slow
def test_the_gan_step_shows_the_discriminator_l_only():
    keras.utils.set_random_seed(4)
    generator = build_generator(ModelConfig(input_channels=4, **TINY))
    discriminator = keras.Sequential(
        [keras.Input((None, None, 3)), keras.layers.Conv2D(1, 4, strides=4)]
    )
    config = resolve_config("cpu-unet-gan").loss
    g_opt, d_opt = keras.optimizers.Adam(1e-4), keras.optimizers.Adam(1e-4)
    g_opt.build(generator.trainable_variables)
    d_opt.build(discriminator.trainable_variables)
    _, gan = train_steps.make_steps(
        tf.distribute.get_strategy(),
        generator,
        discriminator,
        g_opt,
        d_opt,
        config,
        2,
        False,
    )
    inputs = hints.no_hints(tf.zeros([2, 16, 16, 1]))
    values = gan((inputs, tf.zeros([2, 16, 16, 2]), tf.ones([2, 16, 16, 1])))
    assert all(np.isfinite(v.numpy()) for v in values.values())


@pytest.mark.slow
def test_a_hinted_run_stopped_mid_epoch_resumes_to_the_same_weights(
    photos, tmp_path, monkeypatch
):
    from colorization.training import train_io

    config = tiny_config(
        photos, hints=True, epochs=2, steps_per_epoch=3, save_every_steps=1
    )
    reference = fit(config, str(tmp_path / "reference"))
    save = train_io.save_checkpoint

    def save_then_die(checkpoint, directory, global_step, chief):
        path = save(checkpoint, directory, global_step, chief)
        if global_step == 4:
            raise KeyboardInterrupt
        return path

    monkeypatch.setattr(train_io, "save_checkpoint", save_then_die)
    with pytest.raises(KeyboardInterrupt):
        fit(config, str(tmp_path / "run"))
    monkeypatch.undo()
    resumed = fit(config, str(tmp_path / "run"))
    for a, b in zip(reference.generator.weights, resumed.generator.weights):
        np.testing.assert_array_equal(a.numpy(), b.numpy(), err_msg=a.path)


# -- the measurement -------------------------------------------------------------------


def _hint_table_script():
    path = os.path.join(REPO, "scripts", "hint_table.py")
    spec = importlib.util.spec_from_file_location("hint_table", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _save_models(folder):
    """(a hint 'oracle' that outputs the hint ab, colourless without hints; a tiny
    automatic model), saved as .keras files."""
    inputs = keras.Input((None, None, 4))
    oracle = keras.Model(inputs, keras.layers.Identity()(inputs)[..., 1:3])
    keras.utils.set_random_seed(5)
    automatic = build_generator(ModelConfig(**TINY))
    paths = [str(folder / "oracle.keras"), str(folder / "automatic.keras")]
    for model, path in zip((oracle, automatic), paths):
        model.save(path)
    return paths, automatic


def test_hint_table_scores_more_hints_better_and_draws_them(photos, tmp_path, capsys):
    (oracle, automatic), model = _save_models(tmp_path)
    plot = tmp_path / "plots" / "hints.png"
    argv = [oracle, automatic, "--val", photos, "--size", "32", "--limit", "6"]
    assert _hint_table_script().main([*argv, "--plot", str(plot)]) == 0
    out = capsys.readouterr().out.strip().splitlines()
    assert any(line.startswith(f"| {oracle} | 20 |") for line in out)
    results = json.loads(out[-1])
    assert results["images"] == 6 and results["size"] == 32
    scores = results["models"][oracle]
    assert list(scores) == ["0", "1", "2", "5", "10", "20"]
    errors = [scores[k]["ab_error"] for k in scores]
    assert all(a > b for a, b in zip(errors, errors[1:])), errors
    assert scores["20"]["psnr"] > scores["0"]["psnr"]
    assert list(results["models"][automatic]) == ["0"]
    assert plot.read_bytes()[:4] == b"\x89PNG"
    assert not list(plot.parent.glob(".*partial*"))
    # The automatic score is validation's PSNR (`scoring.score_batches`).
    batches = [b[:3] for b in hint_eval.photo_batches(photos, 32, limit=6)]
    expected = scoring.score_batches(train_steps.make_predict(model), batches)
    assert results["models"][automatic]["0"]["psnr"] == pytest.approx(expected["psnr"])


def test_hint_table_script_errors_are_one_line(tmp_path, capsys):
    hint_table = _hint_table_script()
    assert hint_table.main([str(tmp_path / "none.keras"), "--val", str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "no such model file" in err
    assert hint_table.main(["m.keras", "--val", "x", "--limit", "0"]) == 2
    assert "--limit: invalid" in capsys.readouterr().err
    model = str(tmp_path / "tiny.keras")
    build_generator(ModelConfig(input_channels=4, **TINY)).save(model)
    assert hint_table.main([model, "--val", str(tmp_path), "--size", "30"]) == 1
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "cannot take 30 px inputs" in err
