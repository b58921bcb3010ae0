"""sRGB (D65) <-> CIE Lab in TensorFlow ops: graph-safe, any leading shape.

Matches `skimage.color.rgb2lab` / `lab2rgb` (same matrix and white point). The power
functions are written as ``exp(k * log(x))``: on CPU that is about three times faster
than `tf.pow`, and the Lab conversion is the costliest step of the input pipeline.
"""

import numpy as np
import tensorflow as tf

from data_pipeline import constants as C

_RGB_TO_XYZ_WHITE = (np.array(C.XYZ_FROM_RGB) / np.array(C.D65_WHITE)[:, None]).T
_XYZ_WHITE_TO_RGB = np.linalg.inv(
    np.array(C.XYZ_FROM_RGB) / np.array(C.D65_WHITE)[:, None]
).T
# [fx, fy, fz] -> [L, a, b] is linear: L = 116 fy - 16, a = 500 (fx - fy), b = 200 (fy - fz).
_F_TO_LAB = np.array([[0.0, 500.0, 0.0], [116.0, -500.0, 200.0], [0.0, 0.0, -200.0]])
_LAB_TO_F = np.linalg.inv(_F_TO_LAB)
_LAB_BIAS = np.array([-16.0, 0.0, 0.0])


def _matmul3(x, matrix):
    """x[..., 3] @ matrix[3, 3] for any leading shape."""
    return tf.tensordot(x, tf.constant(matrix, x.dtype), axes=1)


def _power(x, exponent):
    """x ** exponent for x > 0, written as exp(k log x) (faster than tf.pow on CPU)."""
    return tf.exp(exponent * tf.math.log(tf.maximum(x, 1e-12)))


def srgb_to_linear(rgb):
    """Removes the sRGB transfer curve from values in [0, 1]."""
    curve = _power((rgb + C.SRGB_OFFSET) / (1.0 + C.SRGB_OFFSET), C.SRGB_GAMMA)
    return tf.where(rgb > C.SRGB_LINEAR_THRESHOLD, curve, rgb / C.SRGB_LINEAR_SLOPE)


def linear_to_srgb(linear):
    """Applies the sRGB transfer curve; the result is clipped to [0, 1]."""
    curve = (1.0 + C.SRGB_OFFSET) * _power(linear, 1.0 / C.SRGB_GAMMA) - C.SRGB_OFFSET
    srgb = tf.where(
        linear > C.SRGB_ENCODE_THRESHOLD, curve, linear * C.SRGB_LINEAR_SLOPE
    )
    return tf.clip_by_value(srgb, 0.0, 1.0)


def rgb_to_lab(rgb):
    """Converts sRGB to CIE Lab.

    Args:
        rgb: float tensor [..., 3] in [0, 1], or a uint8 tensor (scaled by 1/255).

    Returns:
        float32 tensor [..., 3]: L in [0, 100], a and b about [-128, 127].
    """
    rgb = tf.convert_to_tensor(rgb)
    if rgb.dtype == tf.uint8:
        rgb = tf.cast(rgb, tf.float32) / 255.0
    rgb = tf.cast(rgb, tf.float32)
    xyz = _matmul3(srgb_to_linear(rgb), _RGB_TO_XYZ_WHITE)  # relative to the white
    f = tf.where(
        xyz > C.LAB_EPSILON,
        _power(xyz, 1.0 / 3.0),
        C.LAB_KAPPA_SLOPE * xyz + C.LAB_OFFSET,
    )
    return _matmul3(f, _F_TO_LAB) + tf.constant(_LAB_BIAS, tf.float32)


def _desaturate_into_gamut(linear, luminance):
    """Moves out-of-gamut linear RGB towards the grey of the same luminance Y.

    Y is linear in linear RGB and the grey (Y, Y, Y) has the same Y, so every mix of the
    two keeps Y, and so CIE L, exactly; the largest mix inside [0, 1]^3 is found in
    closed form, per pixel. Clipping each channel instead would change L.
    """
    y = tf.clip_by_value(luminance, 0.0, 1.0)
    above = tf.where(linear > 1.0, (1.0 - y) / tf.maximum(linear - y, 1e-12), 1.0)
    below = tf.where(linear < 0.0, y / tf.maximum(y - linear, 1e-12), 1.0)
    mix = tf.reduce_min(tf.minimum(above, below), axis=-1, keepdims=True)
    return y + tf.clip_by_value(mix, 0.0, 1.0) * (linear - y)


def lab_to_rgb(lab, keep_lightness=False):
    """Converts CIE Lab to sRGB in [0, 1].

    Args:
        lab: float tensor [..., 3], L in [0, 100].
        keep_lightness: bring out-of-gamut colours into the sRGB gamut by lowering
            their chroma at constant L (what colorization needs: the L of the result
            is the L of the input). If false they are clipped per channel, as
            scikit-image does.

    Returns:
        float32 tensor [..., 3] in [0, 1].
    """
    lab = tf.cast(lab, tf.float32)
    if keep_lightness:
        lab = tf.concat(
            [tf.clip_by_value(lab[..., :1], 0.0, C.L_MAX), lab[..., 1:]], -1
        )
    f = _matmul3(lab - tf.constant(_LAB_BIAS, tf.float32), _LAB_TO_F)
    f = tf.maximum(f, 0.0)  # z < 0 cannot be displayed (scikit-image clips it too)
    xyz = tf.where(
        f > C.LAB_EPSILON ** (1.0 / 3.0),
        f * f * f,
        (f - C.LAB_OFFSET) / C.LAB_KAPPA_SLOPE,
    )
    linear = _matmul3(xyz, _XYZ_WHITE_TO_RGB)
    if keep_lightness:
        linear = _desaturate_into_gamut(linear, xyz[..., 1:2])
    return linear_to_srgb(linear)


def rgb_to_model(rgb):
    """sRGB -> the model tensors (L_norm [..., 1], ab_norm [..., 2]), both in [-1, 1]."""
    lab = rgb_to_lab(rgb)
    return C.normalize_l(lab[..., :1]), C.normalize_ab(lab[..., 1:])


def model_to_rgb(l_norm, ab_norm, keep_lightness=False):
    """The model tensors (L_norm [..., 1], ab_norm [..., 2]) -> sRGB float in [0, 1]."""
    lab = tf.concat(
        [
            C.denormalize_l(tf.cast(l_norm, tf.float32)),
            C.denormalize_ab(tf.cast(ab_norm, tf.float32)),
        ],
        axis=-1,
    )
    return lab_to_rgb(lab, keep_lightness)


def drop_colour(rgb):
    """sRGB -> the grey of its Lab lightness (a = b = 0), float32 in [0, 1]: what a
    colorizer sees of a photo, and the colourless (ab = 0) baseline."""
    lightness = rgb_to_lab(rgb)[..., :1]
    zeros = tf.zeros_like(lightness)
    return lab_to_rgb(tf.concat([lightness, zeros, zeros], -1))


def to_uint8(rgb):
    """Float RGB in [0, 1] -> uint8 with rounding and clipping (never wraps)."""
    return tf.cast(tf.round(tf.clip_by_value(rgb, 0.0, 1.0) * 255.0), tf.uint8)
