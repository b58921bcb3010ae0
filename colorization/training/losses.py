"""Masked reconstruction losses and GAN losses, all per example and in float32.

Every loss returns one value per example, shape (batch,), so a distributed training
step can reduce it with
`tf.nn.compute_average_loss(per_example, global_batch_size=...)`.

Tensors: `ab_true`, `ab_pred` are (batch, H, W, 2) in [-1, 1]; `mask` is
(batch, H, W, 1) with 1 for real pixels and 0 for padding (None: all pixels are
real). Discriminator logits are any (batch, ...) map; a patch map is averaged per
example. Inputs may be bfloat16 or float16; the arithmetic is float32.
"""

import math

import tensorflow as tf

# The names of the losses (the config's choices; re-exported here).
from colorization.config.experiment import (  # noqa: F401
    BINS,
    BINS_L1,
    CLASSIFICATION_KINDS,
    GAN_KINDS,
    RECON_KINDS,
    WEIGHTINGS,
)


def _check_choice(name, value, choices):
    if value not in choices:
        raise ValueError(
            f"{name} must be one of {', '.join(map(repr, choices))}; got {value!r}."
        )


def _per_example_mean(values):
    """Mean over every axis but the first: (batch, ...) -> (batch,)."""
    values = tf.reshape(values, [tf.shape(values)[0], -1])
    return tf.reduce_mean(values, axis=1)


def _masked_difference(ab_true, ab_pred, mask):
    """Returns (ab_pred - ab_true with padding set to 0, float valid-entry mask)."""
    diff = tf.cast(ab_pred, tf.float32) - tf.cast(ab_true, tf.float32)
    if mask is None:
        return diff, tf.ones_like(diff)
    mask = tf.cast(mask, tf.float32)
    if mask.shape.rank == diff.shape.rank - 1:
        mask = mask[..., tf.newaxis]
    valid = tf.broadcast_to(mask > 0.5, tf.shape(diff))
    # Zeroing before the nonlinearity keeps NaN or inf in padding out of the
    # value and the gradient.
    return tf.where(valid, diff, 0.0), tf.cast(valid, tf.float32)


def _masked_mean(values, valid):
    axes = tf.range(1, tf.rank(values))
    total = tf.reduce_sum(values * valid, axis=axes)
    count = tf.reduce_sum(valid, axis=axes)
    return tf.math.divide_no_nan(total, count)  # an all-padding example gives 0


def masked_l1(ab_true, ab_pred, mask=None):
    """Mean absolute ab error over the valid pixels and both channels.

    Args:
        ab_true: Target ab, (batch, H, W, 2).
        ab_pred: Predicted ab, (batch, H, W, 2).
        mask: (batch, H, W, 1), 1 for real pixels and 0 for padding; None: all real.

    Returns:
        Per-example losses, (batch,) float32; 0 for an example without valid pixels.
    """
    diff, valid = _masked_difference(ab_true, ab_pred, mask)
    return _masked_mean(tf.abs(diff), valid)


def masked_l2(ab_true, ab_pred, mask=None):
    """Mean squared ab error over the valid pixels and both channels.

    Args and Returns are those of `masked_l1`.
    """
    diff, valid = _masked_difference(ab_true, ab_pred, mask)
    return _masked_mean(tf.square(diff), valid)


def masked_huber(ab_true, ab_pred, mask=None, delta=0.5):
    """Mean Huber loss (0.5 * d**2 below `delta`, linear above) over valid pixels.

    Args:
        ab_true: Target ab, (batch, H, W, 2).
        ab_pred: Predicted ab, (batch, H, W, 2).
        mask: See `masked_l1`.
        delta: Where the loss turns from quadratic to linear (0.5 in the
            Studienarbeit).

    Returns:
        Per-example losses, (batch,) float32.
    """
    diff, valid = _masked_difference(ab_true, ab_pred, mask)
    abs_diff = tf.abs(diff)
    quadratic = tf.minimum(abs_diff, delta)
    huber = 0.5 * tf.square(quadratic) + delta * (abs_diff - quadratic)
    return _masked_mean(huber, valid)


def masked_cast(ab_true, ab_pred, mask=None):
    """The global cast: the distance between the mean ab of the prediction and the
    mean ab of the target over each image's valid pixels.

    Per-pixel losses weigh a photo's overall tint no more than any other error,
    and a bins head trained by cross-entropy alone is not told about it at all:
    riders, rafts and water turned green together. This term asks for the mean
    colour of the whole image, the decision the global-context branch can make.
    It is `evaluate.py`'s cast (`evaluation.metrics.global_cast`) in model units.

    Args and Returns are those of `masked_l1`; 0 for an example without valid
    pixels.
    """
    diff, valid = _masked_difference(ab_true, ab_pred, mask)
    axes = [1, 2]
    mean = tf.math.divide_no_nan(
        tf.reduce_sum(diff * valid, axes), tf.reduce_sum(valid, axes)
    )  # (batch, 2)
    # sqrt(x + eps): a finite gradient when the means agree exactly.
    return tf.sqrt(tf.reduce_sum(tf.square(mean), -1) + 1e-8)


RECON_LOSSES = {"l1": masked_l1, "l2": masked_l2, "huber": masked_huber}


def soft_encoding(ab, centres, sigma=5.0 / 128, neighbours=5, grid=10.0 / 128):
    """Zhang et al.'s soft target over the ab bins, dense: (..., 2) -> (..., Q).

    The paper weights each pixel's 5 nearest bins by a Gaussian of their distance
    (sigma 5 Lab units). Finding them takes a `top_k` over the Q distances and a
    gather whose gradient is a scatter over every pixel and bin: on a CPU those two
    were a third of the default model's training step. The bins lie on a regular
    grid, so the disc of radius `grid * sqrt(neighbours / pi)` around a colour holds
    `neighbours` bins on average; the target is the Gaussian over the bins inside it
    (at least the nearest one, for a colour outside the gamut), normalised: a mask and
    a softmax, no top_k, no gather. It differs from the 5-nearest target by 2 % in
    total variation on average over in-gamut colours (`tests/test_ab_bins.py`).

    Args:
        ab: (..., 2) colours, model units (ab / 128).
        centres: (Q, 2) bin centres, model units.
        sigma: Gaussian width, model units.
        neighbours: Bins in the disc on average.
        grid: The bins' spacing, model units.

    Returns:
        `(target, nearest)`: the (..., Q) float32 target, each pixel's summing to 1,
        and the (...) int32 index of each pixel's nearest bin.
    """
    ab = tf.cast(ab, tf.float32)
    centres = tf.cast(centres, tf.float32)
    # Squared distances to every centre, as |x|^2 - 2 x.c + |c|^2 (one matmul).
    distance = (
        tf.reduce_sum(tf.square(ab), -1, keepdims=True)
        - 2.0 * tf.einsum("...c,qc->...q", ab, centres)
        + tf.reduce_sum(tf.square(centres), -1)
    )
    nearest = tf.argmin(distance, axis=-1, output_type=tf.int32)
    radius_squared = grid**2 * neighbours / math.pi
    closest = tf.reduce_min(distance, -1, keepdims=True)
    inside = distance <= tf.maximum(closest, radius_squared)
    negative = tf.where(inside, -distance / (2.0 * sigma**2), -1e9)
    return tf.nn.softmax(negative, axis=-1), nearest


def rebalanced_bin_loss(
    ab_true, logits, mask, centres, class_weights, sigma=5.0 / 128, neighbours=5
):
    """Zhang et al.'s class-rebalanced multinomial cross-entropy over ab bins.

    The target of each pixel is soft (`soft_encoding`: a Gaussian over the bins
    near its colour, sigma 5 Lab units). Each pixel's cross-entropy is multiplied by
    the rebalancing weight of its nearest bin, so rare saturated colours count as
    much as the common greys and browns.

    Args:
        ab_true: Target ab, (batch, H, W, 2), model units.
        logits: (batch, h, w, Q) logits of the bins; when h, w differ from H, W (a
            head at a lower resolution) the target and the mask are area-resized.
        mask: (batch, H, W, 1), 1 for real pixels; None: all real.
        centres: (Q, 2) bin centres, model units.
        class_weights: (Q,) rebalancing weights (`ab_bins.rebalancing_weights`).
        sigma: Gaussian width of the soft encoding, model units.
        neighbours: Bins of the soft encoding, on average.

    Returns:
        Per-example losses, (batch,) float32.
    """
    logits = tf.cast(logits, tf.float32)
    ab = tf.stop_gradient(tf.cast(ab_true, tf.float32))
    mask = tf.ones_like(ab[..., :1]) if mask is None else tf.cast(mask, tf.float32)
    size = tf.shape(logits)[1:3]
    same_size = ab.shape[1:3].is_fully_defined() and ab.shape[1:3] == logits.shape[1:3]
    if not same_size:
        ab = tf.image.resize(ab, size, method="area")
        mask = tf.image.resize(mask, size, method="area")
    target, nearest = soft_encoding(ab, centres, sigma, neighbours)
    cross_entropy = -tf.reduce_sum(target * tf.nn.log_softmax(logits, -1), -1)
    weight = tf.gather(tf.cast(class_weights, tf.float32), nearest)
    valid = tf.cast(mask[..., 0] > 0.5, tf.float32)
    return _masked_mean(weight * cross_entropy, valid)


def make_labels(logits, label, rng=None):
    """Target labels shaped like `logits`: a constant or uniform noise.

    Args:
        logits: Discriminator logits, (batch, ...).
        label: A float (1.0; 0.9 for one-sided smoothing) or a `(low, high)` pair for
            noisy labels drawn uniformly per logit, e.g. (0.9, 1.0) for real and
            (0.0, 0.1) for fake.
        rng: Optional `tf.random.Generator` for reproducible noise; without it the
            global TensorFlow seed is used.

    Returns:
        float32 labels with the shape of `logits`.
    """
    shape = tf.shape(logits)
    if isinstance(label, (tuple, list)):
        if len(label) != 2 or not label[0] <= label[1]:
            raise ValueError(f"A noisy label is a (low, high) pair; got {label!r}.")
        low, high = float(label[0]), float(label[1])
        if rng is None:
            return tf.random.uniform(shape, low, high, dtype=tf.float32)
        return rng.uniform(shape, low, high, dtype=tf.float32)
    return tf.fill(shape, tf.constant(float(label), tf.float32))


def adversarial_loss(logits, labels, kind="bce"):
    """Per-example GAN loss of logits against labels, averaged over a patch map.

    Args:
        logits: Discriminator logits, (batch, ...).
        labels: Targets with the shape of `logits`.
        kind: "bce" (sigmoid cross-entropy on logits) or "lsgan" (squared error of
            the raw outputs).

    Returns:
        (batch,) float32.
    """
    _check_choice("kind", kind, GAN_KINDS)
    logits = tf.cast(logits, tf.float32)
    labels = tf.cast(labels, tf.float32)
    if kind == "bce":
        loss = tf.nn.sigmoid_cross_entropy_with_logits(labels=labels, logits=logits)
    else:
        loss = tf.square(logits - labels)
    return _per_example_mean(loss)


def discriminator_loss(
    real_logits, fake_logits, kind="bce", real_label=1.0, fake_label=0.0, rng=None
):
    """The discriminator loss 0.5 * (loss(real, real_label) + loss(fake, fake_label)).

    Args:
        real_logits: Logits on concat(L, ab_true), (batch, ...).
        fake_logits: Logits on concat(L, ab_pred), (batch, ...).
        kind: "bce" or "lsgan".
        real_label: 1.0, 0.9 (one-sided smoothing) or a (low, high) noise range.
        fake_label: 0.0 or a (low, high) noise range such as (0.0, 0.1).
        rng: Optional `tf.random.Generator` for the label noise.

    Returns:
        `(total, real, fake)`, each (batch,) float32.
    """
    _check_choice("kind", kind, GAN_KINDS)
    real = adversarial_loss(
        real_logits, make_labels(real_logits, real_label, rng), kind
    )
    fake = adversarial_loss(
        fake_logits, make_labels(fake_logits, fake_label, rng), kind
    )
    return 0.5 * (real + fake), real, fake


def generator_loss(
    fake_logits,
    ab_pred,
    ab_true,
    mask=None,
    kind="bce",
    recon="l1",
    lam=100.0,
    weighting="lambda",
):
    """The generator loss: fool the discriminator and stay close to the target.

    Args:
        fake_logits: Discriminator logits on concat(L, ab_pred), (batch, ...).
        ab_pred: Predicted ab, (batch, H, W, 2).
        ab_true: Target ab, (batch, H, W, 2).
        mask: See `masked_l1`.
        kind: "bce" or "lsgan"; the adversarial target is always 1.
        recon: Reconstruction loss, "l1", "l2" or "huber".
        lam: With "lambda" weighting the factor of the reconstruction loss (100 in
            pix2pix and Zhu, 1000 for Group 4's MSE); with "ehrenberg" the weight w
            in [0, 1] (0.99 or 0.985).
        weighting: "lambda": total = adv + lam * recon; "ehrenberg":
            total = (1 - lam) * adv + lam * recon.

    Returns:
        `(total, adv, recon)`, each (batch,) float32; `recon` is unweighted.
    """
    _check_choice("kind", kind, GAN_KINDS)
    _check_choice("recon", recon, RECON_KINDS)
    _check_choice("weighting", weighting, WEIGHTINGS)
    if weighting == "ehrenberg" and not 0.0 <= lam <= 1.0:
        raise ValueError(
            f"With ehrenberg weighting lam is a weight in [0, 1]; got {lam}."
        )
    adv = adversarial_loss(fake_logits, make_labels(fake_logits, 1.0), kind)
    rec = RECON_LOSSES[recon](ab_true, ab_pred, mask)
    if weighting == "lambda":
        total = adv + lam * rec
    else:
        total = (1.0 - lam) * adv + lam * rec
    return total, adv, rec


def d_accuracy(logits, is_real, kind="bce"):
    """Per-example fraction of (patch) decisions the discriminator gets right.

    Args:
        logits: Discriminator logits, (batch, ...).
        is_real: Whether the inputs were real (True) or generated (False).
        kind: "bce" decides at logit 0 (probability 0.5), "lsgan" at output 0.5.

    Returns:
        (batch,) float32 in [0, 1].
    """
    _check_choice("kind", kind, GAN_KINDS)
    threshold = 0.0 if kind == "bce" else 0.5
    logits = tf.cast(logits, tf.float32)
    correct = logits > threshold if is_real else logits < threshold
    return _per_example_mean(tf.cast(correct, tf.float32))
