"""Degradations of the grey input that real scans of old photos have.

Old black-and-white photos are not the clean L of a colour photo: film grain, a soft
lens or a blurred scan, JPEG blocks, faded contrast and uneven exposure. Training on
such inputs (the targets stay the clean ab) keeps a colorizer from reading grain as
texture or a faded sky as fog. Bringing-Old-Photos-Back-to-Life degrades its training
photos the same way.

Every op takes and returns a grey image `grey` of shape [H, W, 1], float32 in [0, 1]
(CIE L / 100), is a graph op, and, when random, is stateless under an explicit seed of
shape [2], so a pipeline stays deterministic under its seed.

    degraded = random_degrade(grey, seed, probability=0.5)
"""

import tensorflow as tf

# Parameter ranges of `random_degrade`, drawn uniformly per image.
GRAIN_SIGMA = (0.01, 0.05)  # std of the film grain, in units of L / 100
BLUR_SIGMA = (0.4, 1.5)  # Gaussian blur, pixels
JPEG_QUALITY = (15, 60)
FADE_BLACK = (0.0, 0.25)  # the black point rises ...
FADE_WHITE = (0.75, 1.0)  # ... and the white point falls
EXPOSURE_STRENGTH = (0.1, 0.4)  # relative brightness change across the image
OP_PROBABILITY = 0.5  # of each op, once an image is chosen for degradation


def _uniform(seed, bounds):
    low, high = bounds
    return tf.random.stateless_uniform([], seed, float(low), float(high))


def add_grain(grey, sigma, seed):
    """Adds film grain: Gaussian noise of standard deviation `sigma`, partly clumped
    (half of its variance at half resolution, as silver grains clump)."""
    shape = tf.shape(grey)
    fine_seed, coarse_seed = tf.unstack(tf.random.experimental.stateless_split(seed, 2))
    fine = tf.random.stateless_normal(shape, fine_seed)
    half = tf.maximum(shape[:2] // 2, 1)
    coarse = tf.random.stateless_normal(tf.concat([half, [1]], 0), coarse_seed)
    coarse = tf.image.resize(coarse, shape[:2], method="bilinear")
    noise = (fine + coarse) * (sigma / tf.sqrt(2.0))
    return tf.clip_by_value(grey + noise, 0.0, 1.0)


def gaussian_blur(grey, sigma):
    """Blurs with a Gaussian of `sigma` pixels (kernel radius 3 sigma, at most 7)."""
    radius = 7
    x = tf.range(-radius, radius + 1, dtype=tf.float32)
    kernel = tf.exp(-0.5 * tf.square(x / tf.maximum(sigma, 1e-3)))
    kernel /= tf.reduce_sum(kernel)
    padded = tf.pad(
        grey[tf.newaxis],
        [[0, 0], [radius, radius], [radius, radius], [0, 0]],
        mode="SYMMETRIC",
    )
    rows = tf.nn.conv2d(padded, tf.reshape(kernel, [-1, 1, 1, 1]), 1, "VALID")
    both = tf.nn.conv2d(rows, tf.reshape(kernel, [1, -1, 1, 1]), 1, "VALID")
    return both[0]


def jpeg_blocks(grey, quality):
    """Encodes as a grey JPEG of `quality` (an int tensor in 0..100) and decodes it."""
    grey = tf.image.convert_image_dtype(grey, tf.uint8, saturate=True)
    decoded = tf.image.adjust_jpeg_quality(grey, quality)
    return tf.reshape(tf.image.convert_image_dtype(decoded, tf.float32), tf.shape(grey))


def fade(grey, black, white):
    """Lowers the contrast of a faded print: maps [0, 1] to [black, white]."""
    return black + (white - black) * grey


def uneven_exposure(grey, strength, seed):
    """Multiplies by a smooth exposure field: a linear ramp in a random direction
    (one side up to `strength` brighter than the other) and a vignette."""
    shape = tf.shape(grey)
    height, width = tf.cast(shape[0], tf.float32), tf.cast(shape[1], tf.float32)
    angle_seed, vignette_seed = tf.unstack(
        tf.random.experimental.stateless_split(seed, 2)
    )
    angle = tf.random.stateless_uniform([], angle_seed, 0.0, 6.2831855)
    y = tf.linspace(-1.0, 1.0, shape[0])[:, tf.newaxis]
    x = tf.linspace(-1.0, 1.0, shape[1])[tf.newaxis, :]
    ramp = (tf.cos(angle) * x + tf.sin(angle) * y) / 1.4142135  # in [-1, 1]
    vignette = tf.random.stateless_uniform([], vignette_seed, 0.0, 1.0) * strength
    radius2 = (tf.square(x) * width + tf.square(y) * height) / (width + height)
    field = (1.0 + 0.5 * strength * ramp) * (1.0 - 0.5 * vignette * radius2)
    return tf.clip_by_value(grey * field[..., tf.newaxis], 0.0, 1.0)


def random_degrade(grey, seed, probability=0.5):
    """With `probability`, a random chain of the degradations above, in the order a
    print meets them: fading, uneven exposure, blur, grain, JPEG; each op is applied
    with probability `OP_PROBABILITY` (at least one of them) and random strength.

    Args:
        grey: [H, W, 1] float32 in [0, 1].
        seed: int [2] seed of the stateless random ops.
        probability: Chance that the image is degraded at all.

    Returns:
        [H, W, 1] float32 in [0, 1].
    """
    seeds = tf.unstack(tf.random.experimental.stateless_split(seed, 12))
    draws = tf.random.stateless_uniform([6], seeds[0])
    ops_drawn = draws[1:] < OP_PROBABILITY
    at_least_one = tf.one_hot(tf.argmin(draws[1:]), 5, on_value=True, off_value=False)
    apply = (draws[0] < probability) & (ops_drawn | at_least_one)

    def maybe(index, op, image):
        return tf.cond(apply[index - 1], lambda: op(image), lambda: tf.identity(image))

    grey = maybe(
        1,
        lambda x: fade(
            x, _uniform(seeds[1], FADE_BLACK), _uniform(seeds[2], FADE_WHITE)
        ),
        grey,
    )
    grey = maybe(
        2,
        lambda x: uneven_exposure(x, _uniform(seeds[3], EXPOSURE_STRENGTH), seeds[4]),
        grey,
    )
    grey = maybe(3, lambda x: gaussian_blur(x, _uniform(seeds[5], BLUR_SIGMA)), grey)
    grey = maybe(
        4, lambda x: add_grain(x, _uniform(seeds[6], GRAIN_SIGMA), seeds[7]), grey
    )
    quality = tf.cast(_uniform(seeds[8], JPEG_QUALITY), tf.int32)
    return maybe(5, lambda x: jpeg_blocks(x, quality), grey)
