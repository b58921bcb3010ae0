"""Tests of colorization.training.losses on small hand-made tensors."""

import math

import numpy as np
import pytest
import tensorflow as tf

from colorization.training.losses import (
    d_accuracy,
    discriminator_loss,
    generator_loss,
    make_labels,
    masked_huber,
    masked_l1,
    masked_l2,
)

RECON = [masked_l1, masked_l2, masked_huber]


def pair(batch=2, height=3, width=4, seed=0):
    rng = np.random.default_rng(seed)
    shape = (batch, height, width, 2)
    return (
        rng.uniform(-1, 1, shape).astype("float32"),
        rng.uniform(-1, 1, shape).astype("float32"),
    )


def test_known_values():
    ab_true = np.zeros((1, 1, 2, 2), "float32")
    ab_pred = np.array([[[[0.25, -0.25], [1.0, -1.0]]]], "float32")
    np.testing.assert_allclose(masked_l1(ab_true, ab_pred), [0.625])
    np.testing.assert_allclose(masked_l2(ab_true, ab_pred), [(0.0625 * 2 + 2) / 4])
    # Huber, delta 0.5: 0.5 * 0.25**2 below delta, 0.5 * (1 - 0.25) above.
    np.testing.assert_allclose(masked_huber(ab_true, ab_pred), [(0.03125 + 0.375) / 2])
    np.testing.assert_allclose(masked_huber(ab_true, ab_pred, delta=2.0), [0.265625])


@pytest.mark.parametrize("loss", RECON)
def test_all_ones_mask_equals_the_plain_mean(loss):
    ab_true, ab_pred = pair()
    ones = np.ones(ab_true.shape[:3] + (1,), "float32")
    per_example = loss(ab_true, ab_pred, ones)
    assert per_example.shape == (2,)
    assert per_example.dtype == tf.float32
    np.testing.assert_allclose(per_example, loss(ab_true, ab_pred), rtol=1e-6)
    if loss is masked_l1:
        expected = np.abs(ab_pred - ab_true).mean(axis=(1, 2, 3))
        np.testing.assert_allclose(per_example, expected, rtol=1e-6)


@pytest.mark.parametrize("loss", RECON)
def test_padding_never_contributes(loss):
    ab_true, ab_pred = pair(height=4, width=6)
    mask = np.zeros((2, 4, 6, 1), "float32")
    mask[:, :3, :4] = 1.0
    garbage_true, garbage_pred = ab_true.copy(), ab_pred.copy()
    garbage_pred[:, 3:] = np.nan
    garbage_pred[:, :, 4:] = 1e30
    garbage_true[:, 3:] = -np.inf
    pred = tf.Variable(garbage_pred)
    with tf.GradientTape() as tape:
        value = loss(garbage_true, pred, mask)
    grad = tape.gradient(value, pred).numpy()
    cropped = loss(ab_true[:, :3, :4], ab_pred[:, :3, :4])
    np.testing.assert_allclose(value, cropped, rtol=1e-6)
    assert np.all(np.isfinite(grad))
    assert np.all(grad[:, 3:] == 0) and np.all(grad[:, :, 4:] == 0)


@pytest.mark.parametrize("loss", RECON)
def test_all_zero_mask_gives_zero_not_nan(loss):
    ab_true, ab_pred = pair()
    mask = np.ones((2, 3, 4, 1), "float32")
    mask[1] = 0.0
    pred = tf.Variable(ab_pred)
    with tf.GradientTape() as tape:
        value = loss(ab_true, pred, mask)
    assert value.numpy()[1] == 0.0
    assert value.numpy()[0] > 0.0
    assert np.all(np.isfinite(tape.gradient(value, pred)))


def test_mask_without_channel_axis_and_bfloat16_inputs():
    ab_true, ab_pred = pair()
    mask = np.ones((2, 3, 4), "float32")
    mask[:, 0] = 0.0
    with_axis = masked_l1(ab_true, ab_pred, mask[..., None])
    np.testing.assert_allclose(masked_l1(ab_true, ab_pred, mask), with_axis)
    bf16 = masked_l1(tf.cast(ab_true, tf.bfloat16), tf.cast(ab_pred, tf.bfloat16))
    assert bf16.dtype == tf.float32
    np.testing.assert_allclose(bf16, masked_l1(ab_true, ab_pred), rtol=1e-2)


def test_per_example_losses_feed_compute_average_loss():
    ab_true, ab_pred = pair(batch=4)
    per_example = masked_l2(ab_true, ab_pred)
    average = tf.nn.compute_average_loss(per_example, global_batch_size=8)
    np.testing.assert_allclose(average, per_example.numpy().sum() / 8, rtol=1e-6)


def test_discriminator_loss_bce_and_lsgan():
    zeros = np.zeros((2, 3, 3, 1), "float32")
    total, real, fake = discriminator_loss(zeros, zeros)
    np.testing.assert_allclose(real, [math.log(2)] * 2, rtol=1e-6)
    np.testing.assert_allclose(total, [math.log(2)] * 2, rtol=1e-6)
    real_logits = np.array([[2.0, 2.0], [1.0, 0.0]], "float32")
    fake_logits = np.array([[0.0, 0.0], [-1.0, 1.0]], "float32")
    total, real, fake = discriminator_loss(real_logits, fake_logits, kind="lsgan")
    np.testing.assert_allclose(real, [1.0, 0.5])
    np.testing.assert_allclose(fake, [0.0, 1.0])
    np.testing.assert_allclose(total, [0.5, 0.75])


def test_one_sided_label_smoothing():
    logits = np.array([[1.5]], "float32")
    _, real, _ = discriminator_loss(logits, logits, real_label=0.9)
    p = 1 / (1 + math.exp(-1.5))
    expected = -(0.9 * math.log(p) + 0.1 * math.log(1 - p))
    np.testing.assert_allclose(real, [expected], rtol=1e-5)


def test_noisy_labels_stay_in_their_ranges_and_follow_the_seed():
    logits = tf.zeros((4, 16, 16, 1), tf.bfloat16)
    real = make_labels(logits, (0.9, 1.0), tf.random.Generator.from_seed(3)).numpy()
    fake = make_labels(logits, (0.0, 0.1), tf.random.Generator.from_seed(3)).numpy()
    assert real.dtype == np.float32 and real.shape == (4, 16, 16, 1)
    assert real.min() >= 0.9 and real.max() <= 1.0 and real.std() > 0.01
    assert fake.min() >= 0.0 and fake.max() <= 0.1 and fake.std() > 0.01
    again = make_labels(logits, (0.9, 1.0), tf.random.Generator.from_seed(3))
    np.testing.assert_array_equal(real, again)
    # LSGAN on zero logits is the mean squared label: inside [0.81, 1] and [0, 0.01].
    _, real_loss, fake_loss = discriminator_loss(
        logits,
        logits,
        kind="lsgan",
        real_label=(0.9, 1.0),
        fake_label=(0.0, 0.1),
        rng=tf.random.Generator.from_seed(4),
    )
    assert np.all((real_loss >= 0.81) & (real_loss <= 1.0))
    assert np.all((fake_loss >= 0.0) & (fake_loss <= 0.01))
    with pytest.raises(ValueError, match=r"\(low, high\)"):
        make_labels(logits, (1.0, 0.9))


def test_generator_loss_weightings():
    fake_logits = np.zeros((2, 2, 2, 1), "float32")
    ab_true, ab_pred = pair()
    mask = np.ones((2, 3, 4, 1), "float32")
    l1 = masked_l1(ab_true, ab_pred, mask).numpy()
    total, adv, rec = generator_loss(fake_logits, ab_pred, ab_true, mask)
    np.testing.assert_allclose(adv, [math.log(2)] * 2, rtol=1e-6)
    np.testing.assert_allclose(rec, l1, rtol=1e-6)
    np.testing.assert_allclose(total, adv + 100.0 * l1, rtol=1e-6)
    total, adv, rec = generator_loss(
        fake_logits, ab_pred, ab_true, mask, lam=0.99, weighting="ehrenberg"
    )
    np.testing.assert_allclose(total, 0.01 * adv + 0.99 * l1, rtol=1e-6)
    total, adv, rec = generator_loss(
        fake_logits, ab_pred, ab_true, kind="lsgan", recon="l2", lam=1000.0
    )
    np.testing.assert_allclose(adv, [1.0, 1.0])
    np.testing.assert_allclose(rec, masked_l2(ab_true, ab_pred), rtol=1e-6)
    np.testing.assert_allclose(total, adv + 1000.0 * rec.numpy(), rtol=1e-6)
    assert total.shape == adv.shape == rec.shape == (2,)


def test_d_accuracy():
    logits = np.array([[[1.0], [-1.0]], [[2.0], [3.0]]], "float32")
    np.testing.assert_allclose(d_accuracy(logits, is_real=True), [0.5, 1.0])
    np.testing.assert_allclose(d_accuracy(logits, is_real=False), [0.5, 0.0])
    outputs = np.array([[0.4, 0.6]], "float32")
    np.testing.assert_allclose(d_accuracy(outputs, True, kind="lsgan"), [0.5])
    np.testing.assert_allclose(d_accuracy(outputs, False, kind="lsgan"), [0.5])


def test_bad_names_raise_value_errors_naming_the_choices():
    logits = np.zeros((1, 1), "float32")
    ab = np.zeros((1, 2, 2, 2), "float32")
    with pytest.raises(ValueError, match="kind must be one of 'bce', 'lsgan'"):
        discriminator_loss(logits, logits, kind="wgan")
    with pytest.raises(ValueError, match="recon must be one of 'l1', 'l2', 'huber'"):
        generator_loss(logits, ab, ab, recon="l3")
    with pytest.raises(
        ValueError, match="weighting must be one of 'lambda', 'ehrenberg'"
    ):
        generator_loss(logits, ab, ab, weighting="sum")
    with pytest.raises(ValueError, match=r"weight in \[0, 1\]"):
        generator_loss(logits, ab, ab, lam=100.0, weighting="ehrenberg")
    with pytest.raises(ValueError, match="kind must be one of"):
        d_accuracy(logits, True, kind="hinge")


def test_the_cast_loss_is_the_distance_between_the_mean_colours():
    from colorization.training.losses import masked_cast

    truth = np.zeros((2, 4, 6, 2), np.float32)
    truth[0, ..., 0] = np.linspace(-0.5, 0.5, 6)  # mean 0, colourful
    pred = truth + np.array([0.03, -0.04], np.float32)  # a uniform cast of 0.05
    pred[1] = truth[1]
    mask = np.ones((2, 4, 6, 1), np.float32)
    mask[:, :, 3:] = 0.0
    pred[:, :, 3:] = 0.9  # padding is not part of the image
    truth_masked = truth.copy()
    truth_masked[:, :, 3:] = -0.9
    np.testing.assert_allclose(
        masked_cast(truth_masked, pred, mask).numpy(), [0.05, 0.0], atol=1e-4
    )
    # A pixel-wise error that leaves the mean colour alone has no cast.
    swapped = truth[:, :, ::-1]
    assert masked_cast(truth, swapped).numpy() == pytest.approx([0.0, 0.0], abs=1e-4)
    variable = tf.Variable(tf.constant(pred))
    with tf.GradientTape() as tape:
        loss = tf.reduce_sum(masked_cast(truth_masked, variable, mask))
    gradient = tape.gradient(loss, variable).numpy()
    assert np.all(np.isfinite(gradient)) and np.all(gradient[:, :, 3:] == 0.0)
