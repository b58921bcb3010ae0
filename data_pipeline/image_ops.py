"""Geometry ops on uint8/float images [H, W, C]: resize keeping aspect, pad, crop, flip.

One job per function, all graph ops; random ops are stateless and take an explicit
seed of shape [2], so a pipeline is deterministic under its seed however many threads
run it.
"""

import tensorflow as tf

from data_pipeline.config import RESIZE_METHODS


def _check_method(method):
    if method not in RESIZE_METHODS:
        raise ValueError(f"resize method {method!r} is not one of {RESIZE_METHODS}")


def resize_to(image, height, width, method="bicubic"):
    """Resizes to (height, width) and returns uint8 (rounded, clipped, never wrapped).

    Rounding to 8 bits after the resize is what an 8-bit image of the new size holds;
    it is also what OpenCV's uint8 resize in the generator does, so both paths agree.
    """
    _check_method(method)
    resized = tf.image.resize(
        tf.cast(image, tf.float32), tf.stack([height, width]), method=method
    )
    return tf.cast(tf.round(tf.clip_by_value(resized, 0.0, 255.0)), tf.uint8)


def fit_size(height, width, size):
    """(h, w) with the longer side equal to `size`, aspect kept, each side at least 1."""
    scale = tf.cast(size, tf.float32) / tf.cast(tf.maximum(height, width), tf.float32)
    new_h = tf.maximum(
        1, tf.cast(tf.round(tf.cast(height, tf.float32) * scale), tf.int32)
    )
    new_w = tf.maximum(
        1, tf.cast(tf.round(tf.cast(width, tf.float32) * scale), tf.int32)
    )
    return new_h, new_w


def resize_keep_aspect(image, size, method="bicubic"):
    """Resizes so the longer side is `size` (up or down), keeping the aspect ratio."""
    shape = tf.shape(image)
    new_h, new_w = fit_size(shape[0], shape[1], size)
    return resize_to(image, new_h, new_w, method)


def resize_shorter_side(image, size, method="bicubic"):
    """Resizes so the shorter side is `size`, keeping the aspect ratio (Zhu's loader)."""
    shape = tf.shape(image)
    h = tf.cast(shape[0], tf.float32)
    w = tf.cast(shape[1], tf.float32)
    scale = tf.cast(size, tf.float32) / tf.minimum(h, w)
    new_h = tf.maximum(size, tf.cast(tf.round(h * scale), tf.int32))
    new_w = tf.maximum(size, tf.cast(tf.round(w * scale), tf.int32))
    return resize_to(image, new_h, new_w, method)


def pad_to_size(image, size):
    """Centres an image no larger than size x size on a black square.

    Returns:
        (padded [size, size, C] of the image's dtype, mask [size, size, 1] float32 with
        1 on the image and 0 on the padding, box (top, left, height, width) int32).
    """
    shape = tf.shape(image)
    height, width = shape[0], shape[1]
    top = (size - height) // 2
    left = (size - width) // 2
    padded = tf.image.pad_to_bounding_box(image, top, left, size, size)
    mask = tf.image.pad_to_bounding_box(
        tf.ones([height, width, 1]), top, left, size, size
    )
    return padded, mask, tf.stack([top, left, height, width])


def random_flip(image, seed):
    """Mirrors left-right with probability 1/2."""
    return tf.image.stateless_random_flip_left_right(image, seed)


def random_crop_fraction(image, min_fraction, seed):
    """Crops a random window whose sides are a uniform fraction in [min_fraction, 1]
    of the image's sides (same fraction for both, so the aspect ratio is kept)."""
    shape = tf.shape(image)
    seeds = tf.random.experimental.stateless_split(seed, 3)
    fraction = tf.random.stateless_uniform([], seeds[0], min_fraction, 1.0)
    crop_h = tf.maximum(1, tf.cast(tf.cast(shape[0], tf.float32) * fraction, tf.int32))
    crop_w = tf.maximum(1, tf.cast(tf.cast(shape[1], tf.float32) * fraction, tf.int32))
    top = tf.random.stateless_uniform([], seeds[1], 0, shape[0] - crop_h + 1, tf.int32)
    left = tf.random.stateless_uniform([], seeds[2], 0, shape[1] - crop_w + 1, tf.int32)
    return image[top : top + crop_h, left : left + crop_w]


def random_square_crop(image, size, seed):
    """A random size x size window of an image at least that large on both sides."""
    return tf.image.stateless_random_crop(image, [size, size, tf.shape(image)[2]], seed)
