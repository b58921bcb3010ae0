"""Zhang et al.'s classification head: the ab bins, the rebalancing weights, the
rebalanced cross-entropy, the annealed mean and training with the "bins" loss."""

import json

import keras
import numpy as np
import pytest
import tensorflow as tf

from colorization.config.presets import resolve_config
from colorization.models import ModelConfig, ab_bins, build_generator
from colorization.models.layers import AnnealedMean
from colorization.training import losses
from colorization.training.loop import fit
from data_pipeline import lab
from tests.train_data import tiny_config, write_photos


@pytest.fixture(scope="module")
def centres():
    return ab_bins.gamut_centres()


def test_gamut_bins_cover_srgb(centres):
    assert len(centres) == 262  # the sRGB gamut on the 10-unit grid
    assert len(np.unique(centres, axis=0)) == len(centres)
    assert np.abs(centres).max() < 1.0
    assert np.any(np.all(centres == 0.0, axis=1))  # grey is a bin
    # Every sRGB colour lies within half a diagonal of the grid of some centre.
    rgb = np.random.default_rng(0).uniform(0, 1, (5000, 3)).astype(np.float32)
    ab = lab.rgb_to_lab(tf.constant(rgb)).numpy()[:, 1:] / 128
    nearest = centres[ab_bins.nearest_bins(ab, centres).numpy()]
    assert np.abs(ab - nearest).max() <= 5.0 / 128 + 1e-6


def test_rebalancing_favours_rare_bins(centres):
    counts = np.ones(len(centres))
    grey = int(np.argmin(np.sum(centres**2, -1)))
    counts[grey] = 1e6  # grey dominates, as in photos
    weights = ab_bins.rebalancing_weights(counts, centres)
    prior = counts / counts.sum()
    kernel = np.exp(
        -np.sum((centres[:, None] - centres[None]) ** 2, -1) / (2 * (5 / 128) ** 2)
    )
    smoothed = (kernel / kernel.sum(0, keepdims=True)) @ prior
    assert np.sum(smoothed * weights) == pytest.approx(1.0, rel=1e-5)
    assert weights[grey] < 0.1 * np.median(weights)
    assert weights.dtype == np.float32 and np.all(weights > 0)
    with pytest.raises(ValueError, match="empty"):
        ab_bins.rebalancing_weights(np.zeros(len(centres)), centres)


def _logits_at(centres, ab, shape, sigma=5.0 / 128):
    """Logits of a Gaussian bump around `ab` at every pixel (the soft target's shape)."""
    bump = -np.sum((centres - np.array(ab)) ** 2, -1) / (2 * sigma**2)
    return tf.broadcast_to(tf.constant(bump, tf.float32), (*shape, len(centres)))


def test_bin_loss_prefers_the_true_colour(centres):
    weights = np.ones(len(centres), np.float32)
    ab = tf.fill((2, 8, 8, 2), 0.3)
    right = _logits_at(centres, [0.3, 0.3], (2, 8, 8))
    wrong = _logits_at(centres, [-0.3, 0.3], (2, 8, 8))
    uniform = tf.zeros((2, 8, 8, len(centres)))
    loss = [
        losses.rebalanced_bin_loss(ab, x, None, centres, weights).numpy()
        for x in (right, uniform, wrong)
    ]
    assert loss[0].shape == (2,)
    assert np.all(loss[0] < loss[1]) and np.all(loss[1] < loss[2])
    assert loss[1] == pytest.approx(np.log(len(centres)), rel=1e-5)


def test_bin_loss_mask_and_half_resolution(centres):
    weights = np.ones(len(centres), np.float32)
    ab = np.full((1, 8, 8, 2), 0.3, np.float32)
    mask = np.ones((1, 8, 8, 1), np.float32)
    mask[:, :, 4:] = 0.0
    garbage = ab.copy()
    garbage[:, :, 4:] = -0.9  # padding holds another colour
    logits = _logits_at(centres, [0.3, 0.3], (1, 4, 4))  # half resolution
    clean = losses.rebalanced_bin_loss(ab, logits, mask, centres, weights)
    dirty = losses.rebalanced_bin_loss(garbage, logits, mask, centres, weights)
    np.testing.assert_allclose(clean.numpy(), dirty.numpy(), rtol=1e-5)
    variable = tf.Variable(tf.zeros((1, 4, 4, len(centres))))
    with tf.GradientTape() as tape:
        loss = losses.rebalanced_bin_loss(ab, variable, mask, centres, weights)
    gradient = tape.gradient(loss, variable).numpy()
    assert np.all(np.isfinite(gradient))
    assert np.all(gradient[:, :, 2:] == 0.0)  # padding columns give no gradient


def test_bin_loss_weights_scale_pixels(centres):
    ab = tf.fill((1, 4, 4, 2), 0.3)
    logits = tf.zeros((1, 4, 4, len(centres)))
    ones = np.ones(len(centres), np.float32)
    base = losses.rebalanced_bin_loss(ab, logits, None, centres, ones).numpy()
    doubled = losses.rebalanced_bin_loss(ab, logits, None, centres, 2 * ones).numpy()
    np.testing.assert_allclose(doubled, 2 * base, rtol=1e-6)


def test_annealed_mean(centres):
    layer = AnnealedMean(centres, temperature=0.38)
    index = 17
    peaked = tf.one_hot([[[index]]], len(centres)) * 30.0
    np.testing.assert_allclose(
        layer(peaked).numpy()[0, 0, 0], centres[index], atol=1e-4
    )
    flat = tf.zeros((1, 1, 1, len(centres)))
    np.testing.assert_allclose(layer(flat).numpy()[0, 0, 0], centres.mean(0), atol=1e-6)
    # A lower temperature moves a two-bin mixture towards its mode.
    two = tf.constant([[[[0.0] * len(centres)]]]).numpy()
    two[..., 3], two[..., 200] = 2.0, 1.0
    warm = AnnealedMean(centres, temperature=1.0)(two).numpy()
    cold = AnnealedMean(centres, temperature=0.1)(two).numpy()
    assert np.linalg.norm(cold - centres[3]) < np.linalg.norm(warm - centres[3])
    with pytest.raises(ValueError, match="temperature"):
        AnnealedMean(centres, temperature=0.0)


@pytest.mark.parametrize(
    "cfg",
    [
        ModelConfig(name="unet", base_filters=4, depth=2, head="bins"),
        ModelConfig(name="effnet_unet", base_filters=4, head="bins"),
    ],
    ids=["unet", "effnet_unet"],
)
def test_bins_head_models(cfg, centres, tmp_path):
    previous = keras.mixed_precision.global_policy()
    keras.mixed_precision.set_global_policy("mixed_bfloat16")
    try:
        model = build_generator(cfg)
    finally:
        keras.mixed_precision.set_global_policy(previous)
    x = tf.random.uniform((2, 64, 96, 1), -1, 1)
    out = model(x)
    assert out.shape == (2, 64, 96, 2) and out.dtype == tf.float32
    assert np.abs(out.numpy()).max() <= 1.0
    assert model.get_layer("ab_logits").output.shape[-1] == len(centres)
    path = str(tmp_path / "bins.keras")
    model.save(path)
    loaded = keras.models.load_model(path)
    np.testing.assert_allclose(loaded(x).numpy(), out.numpy(), atol=1e-2)


def test_bins_config_rules():
    config = resolve_config("tiny", {"loss": "bins"})
    assert config.loss.recon == "bins" and config.generator.head == "bins"
    assert resolve_config("tiny", {"loss": "l1"}).generator.head == "tanh"
    with pytest.raises(ValueError, match="go together"):
        resolve_config("klefbom-resnet18", {"loss": "bins"})
    with pytest.raises(ValueError, match="go together"):
        resolve_config("tiny", {"generator": {"head": "bins"}})
    with pytest.raises(ValueError, match="head must be"):
        ModelConfig(name="unet", head="softmax")


def test_train_with_bins_loss(tmp_path):
    photos = write_photos(tmp_path / "photos", copies=2)
    config = tiny_config(photos, loss="bins", steps_per_epoch=3, epochs=2)
    workdir = tmp_path / "run"
    result = fit(config, str(workdir))
    assert result.metrics["global_step"] == 6
    assert np.isfinite(result.metrics["loss"]) and np.isfinite(result.metrics["val_l1"])
    prior = json.loads((workdir / "ab_prior.json").read_text())
    assert len(prior["counts"]) == len(ab_bins.gamut_centres())
    assert sum(prior["counts"]) > 0
    # The trained model's output is ab, as for every other generator.
    l_norm = tf.random.uniform((1, 32, 32, 1), -1, 1)
    assert result.generator(l_norm).shape == (1, 32, 32, 2)


def _saved_model(tmp_path, head):
    cfg = ModelConfig(name="unet", base_filters=4, depth=2, head=head)
    path = str(tmp_path / f"{head}.keras")
    build_generator(cfg).save(path)
    return path


def test_temperature_of_a_loaded_model(tmp_path):
    from colorization.inference.colorizer import Colorizer

    path = _saved_model(tmp_path, "bins")
    rgb = (np.random.default_rng(0).uniform(0, 1, (1, 32, 48, 3)) * 255).astype(
        np.uint8
    )
    saved = Colorizer.load(path, size=32)
    colder = Colorizer.load(path, size=32, temperature=0.05)
    assert colder.models[0].get_layer("ab").temperature == 0.05
    assert not np.array_equal(saved.colorize_array(rgb), colder.colorize_array(rgb))
    with pytest.raises(ValueError, match="--loss bins"):
        Colorizer.load(_saved_model(tmp_path, "tanh"), temperature=0.5)
    with pytest.raises(ValueError, match="> 0"):
        Colorizer.load(path, temperature=-1.0)


@pytest.mark.slow  # a training run (~20 s)
def test_temperature_flags(tmp_path, capsys):
    import infer
    from colorization.cli import checkpoints

    photos = write_photos(tmp_path / "photos", copies=1)
    tanh = _saved_model(tmp_path, "tanh")
    assert infer.main([photos, "--model", tanh, "--temperature", "0.5"]) == 2
    assert "--loss bins" in capsys.readouterr().err
    assert infer.main([photos, "--temperature", "0"]) == 2
    assert "--temperature must be > 0" in capsys.readouterr().err
    # checkpoints --temperature bakes the temperature into the written model.
    config = tiny_config(photos, loss="bins", steps_per_epoch=1)
    fit(config, str(tmp_path / "run"))
    out = str(tmp_path / "t.keras")
    assert checkpoints.main([str(tmp_path / "run"), out, "--temperature", "0.6"]) == 0
    assert keras.models.load_model(out).get_layer("ab").temperature == 0.6


def test_the_stored_gamut_is_the_measured_one():
    np.testing.assert_array_equal(ab_bins.gamut_centres(), ab_bins.measure_gamut())


# -- The soft target (`losses.soft_encoding`, dense over the bins' grid) -------------


def _nearest_numpy(ab, centres):
    """(distances squared (N, Q), index of the nearest bin (N,)), in float64."""
    distance = np.sum((ab[:, None].astype(np.float64) - centres[None]) ** 2, -1)
    return distance, np.argmin(distance, -1)


def test_soft_encoding_sums_to_one_and_peaks_at_the_nearest_bin(centres):
    rng = np.random.default_rng(0)
    inside = centres[rng.integers(0, len(centres), 500)] + rng.uniform(
        -5 / 128, 5 / 128, (500, 2)
    )
    outside = np.array([[1.5, 1.5], [-2.0, 0.0], [0.9, -0.95], [0.0, 1.2]])
    ab = np.concatenate([inside, outside]).astype(np.float32)
    target, nearest = losses.soft_encoding(ab.reshape(1, 63, 8, 2), centres)
    assert target.shape == (1, 63, 8, len(centres)) and target.dtype == tf.float32
    assert nearest.shape == (1, 63, 8) and nearest.dtype == tf.int32
    target = target.numpy().reshape(-1, len(centres))
    _, expected = _nearest_numpy(ab, centres)
    np.testing.assert_allclose(target.sum(-1), 1.0, atol=1e-5)
    assert np.all(target >= 0)
    np.testing.assert_array_equal(nearest.numpy().ravel(), expected)
    np.testing.assert_array_equal(target.argmax(-1), expected)
    # A colour outside the gamut, far from every bin, is all its nearest bin's.
    np.testing.assert_allclose(target[-4:].max(-1), 1.0, atol=1e-6)


def test_soft_encoding_of_a_bin_centre_by_hand(centres):
    # Grey: its 4 grid neighbours (10 units away) are in the disc of radius
    # 10 * sqrt(5 / pi) = 12.6 units, the diagonal ones (14.1) are not; each weighs
    # exp(-10^2 / (2 * 5^2)) = exp(-2) against the centre's 1.
    grey = int(np.argmin(np.sum(centres**2, -1)))
    target, nearest = losses.soft_encoding(np.zeros((1, 2), np.float32), centres)
    target = target.numpy()[0]
    assert int(nearest[0]) == grey
    norm = 1 + 4 * np.exp(-2.0)
    assert target[grey] == pytest.approx(1 / norm, rel=1e-4)
    neighbours = np.flatnonzero(
        np.isclose(np.sum(centres**2, -1), (10 / 128) ** 2, rtol=1e-4)
    )
    assert len(neighbours) == 4
    np.testing.assert_allclose(target[neighbours], np.exp(-2.0) / norm, rtol=1e-4)
    assert np.count_nonzero(target) == 5


def test_soft_encoding_is_close_to_the_five_nearest_bins_target(centres):
    # Zhang et al.'s target: the 5 nearest bins, Gaussian weights (sigma 5 units).
    rng = np.random.default_rng(1)
    count = 4000
    ab = centres[rng.integers(0, len(centres), count)] + rng.uniform(
        -5 / 128, 5 / 128, (count, 2)
    )
    ab = ab.astype(np.float32)
    target = losses.soft_encoding(ab, centres)[0].numpy()
    distance, _ = _nearest_numpy(ab, centres)
    five = np.argsort(distance, -1)[:, :5]
    weights = np.exp(-np.take_along_axis(distance, five, -1) / (2 * (5 / 128) ** 2))
    reference = np.zeros_like(target)
    np.put_along_axis(reference, five, weights / weights.sum(-1, keepdims=True), -1)
    total_variation = 0.5 * np.abs(target - reference).sum(-1)
    assert total_variation.mean() < 0.03  # measured 0.019
    # The disc holds 5 bins on average, never fewer than the nearest.
    bins = np.count_nonzero(target > 0, -1)
    assert bins.min() >= 1 and 4 <= bins.mean() <= 6


def test_bin_loss_at_a_quarter_resolution_reads_the_area_mean(centres):
    # The head at stride 4 (`bins_stride`): the target is area-resized to the logits.
    weights = np.ones(len(centres), np.float32)
    rng = np.random.default_rng(2)
    ab = rng.uniform(-0.4, 0.4, (2, 16, 16, 2)).astype(np.float32)
    logits = tf.constant(rng.normal(0, 1, (2, 4, 4, len(centres))), tf.float32)
    quarter = losses.rebalanced_bin_loss(ab, logits, None, centres, weights)
    pooled = tf.image.resize(ab, (4, 4), method="area")
    expected = losses.rebalanced_bin_loss(pooled, logits, None, centres, weights)
    np.testing.assert_allclose(quarter.numpy(), expected.numpy(), rtol=1e-5)
    assert quarter.shape == (2,) and np.all(np.isfinite(quarter.numpy()))
