"""Colorizer's graph in ops every converter and runtime handles well, for ONNX and TFLite.

`portable_colorize` computes what `colorization.inference.graph.colorize_batch` computes
(the tests hold the two within one level on real photos), written for export:
- Both resizes of the photo are two matrix products with TensorFlow's exact area and
  bicubic weights: tf2onnx turns `ResizeArea` into a nearest-neighbour `Resize`, and
  TFLite has no area or bicubic resize.
- Padding uses a positive ceiling division: tf2onnx converts integer floor division of
  negative numbers as truncation (`-(-h // s) * s` came out `s` rows short).
- The full-resolution steps work on planes (N, C, H, W) and are not split into chunks
  (Colorizer's chunks are an XLA function, which tf2onnx cannot convert). On channels
  last, onnxruntime broadcasts a (..., 1) tensor against (..., 3) or a scalar about
  fifty times slower than on planes (9 ms instead of 0.2 ms at 640 x 480).
The colour maths is data_pipeline.lab's, on planes: sRGB (D65) to CIE L, and Lab back
to sRGB with out-of-gamut colours moved towards the grey of the same luminance.
"""

import numpy as np
import tensorflow as tf

from colorization.hints import hint_graph
from colorization.models.hint_propagation import without_hint_propagation
from data_pipeline import constants as C
from data_pipeline import image_ops, lab

_BICUBIC_A = -0.5  # Keys' kernel, as TensorFlow's half-pixel bicubic resize uses it
_BICUBIC_TABLE = 1024.0  # TensorFlow samples the kernel at this many offsets
_XYZ_FROM_RGB = np.array(C.XYZ_FROM_RGB) / np.array(C.D65_WHITE)[:, None]  # per white
_RGB_FROM_XYZ = np.linalg.inv(_XYZ_FROM_RGB)


def area_weights(in_size, out_size):
    """(out_size, in_size) matrix of `tf.image.resize(method="area")` along one axis:
    each output averages the input cells its box covers, in proportion."""
    scale = tf.cast(in_size, tf.float32) / tf.cast(out_size, tf.float32)
    start = tf.range(out_size, dtype=tf.float32)[:, None] * scale
    cell = tf.range(in_size, dtype=tf.float32)[None, :]
    overlap = tf.minimum(cell + 1.0, start + scale) - tf.maximum(cell, start)
    return tf.maximum(overlap, 0.0) / scale


def bicubic_weights(in_size, out_size):
    """(out_size, in_size) matrix of `tf.image.resize(method="bicubic")` along one
    axis: Keys' cubic (a = -0.5) at half-pixel centres, taps outside the image dropped
    and the rest renormalized, as TensorFlow does."""
    scale = tf.cast(in_size, tf.float32) / tf.cast(out_size, tf.float32)
    centre = (tf.range(out_size, dtype=tf.float32)[:, None] + 0.5) * scale - 0.5
    base = tf.floor(centre)
    offset = tf.round((centre - base) * _BICUBIC_TABLE) / _BICUBIC_TABLE
    x = tf.abs(tf.range(in_size, dtype=tf.float32)[None, :] - base - offset)
    a = _BICUBIC_A
    near = ((a + 2.0) * x - (a + 3.0)) * x * x + 1.0
    far = ((a * x - 5.0 * a) * x + 8.0 * a) * x - 4.0 * a
    weights = tf.where(x <= 1.0, near, tf.where(x < 2.0, far, 0.0))
    return weights / tf.maximum(tf.reduce_sum(weights, 1, keepdims=True), 1e-12)


def _mix(matrix, planes):
    """`matrix` (K, C) applied to the channels of planes (N, C, H, W) -> (N, K, H, W)."""
    shape = tf.shape(planes)
    flat = tf.reshape(planes, [shape[0], len(matrix[0]), -1])  # (N, C, H * W)
    mixed = tf.matmul(tf.constant(matrix, tf.float32), flat)
    return tf.reshape(mixed, [shape[0], len(matrix), shape[2], shape[3]])


def lightness(planes):
    """sRGB planes (N, 3, H, W) in [0, 1] -> CIE L (N, 1, H, W) in [0, 100]."""
    y = _mix(_XYZ_FROM_RGB[1:2], lab.srgb_to_linear(planes))  # luminance Y
    cube_root = tf.exp((1.0 / 3.0) * tf.math.log(tf.maximum(y, 1e-12)))
    f = tf.where(y > C.LAB_EPSILON, cube_root, C.LAB_KAPPA_SLOPE * y + C.LAB_OFFSET)
    return 116.0 * f - 16.0


def lab_to_srgb(lightness_, ab):
    """L (N, 1, H, W) and ab (N, 2, H, W) -> sRGB planes (N, 3, H, W) in [0, 1], as
    `lab.lab_to_rgb(..., keep_lightness=True)`: out-of-gamut colours lose chroma at
    constant luminance, so at constant L."""
    fy = (tf.clip_by_value(lightness_, 0.0, C.L_MAX) + 16.0) / 116.0
    f = tf.concat([fy + ab[:, :1] / 500.0, fy, fy - ab[:, 1:] / 200.0], 1)
    f = tf.maximum(f, 0.0)
    xyz = tf.where(
        f > C.LAB_EPSILON ** (1.0 / 3.0),
        f * f * f,
        (f - C.LAB_OFFSET) / C.LAB_KAPPA_SLOPE,
    )
    linear = _mix(_RGB_FROM_XYZ, xyz)
    y = tf.clip_by_value(xyz[:, 1:2], 0.0, 1.0)
    above = tf.where(linear > 1.0, (1.0 - y) / tf.maximum(linear - y, 1e-12), 1.0)
    below = tf.where(linear < 0.0, y / tf.maximum(y - linear, 1e-12), 1.0)
    mix = tf.reduce_min(tf.minimum(above, below), axis=1, keepdims=True)
    return lab.linear_to_srgb(y + tf.clip_by_value(mix, 0.0, 1.0) * (linear - y))


def _network_input(planes, size, stride):
    """Planes (N, 3, H, W) in [0, 255] -> (L_norm (N, h', w', 1) of the copy the
    network sees, its unpadded h and w).

    The copy's longer side is `size`: area when shrinking, bicubic otherwise, padded
    at the bottom and right to a multiple of `stride` with black, as in training.
    """
    shape = tf.shape(planes)
    height, width = shape[2], shape[3]
    small_h, small_w = image_ops.fit_size(height, width, size)
    shrink = tf.maximum(height, width) > size
    rows = tf.where(
        shrink, area_weights(height, small_h), bicubic_weights(height, small_h)
    )
    cols = tf.where(
        shrink, area_weights(width, small_w), bicubic_weights(width, small_w)
    )
    small = tf.matmul(tf.matmul(rows, planes), cols, transpose_b=True)  # (N, 3, h, w)
    small = tf.clip_by_value(small / 255.0, 0.0, 1.0)
    padded_h = (small_h + stride - 1) // stride * stride
    padded_w = (small_w + stride - 1) // stride * stride
    l_norm = tf.pad(
        C.normalize_l(lightness(small)),
        [[0, 0], [0, 0], [0, padded_h - small_h], [0, padded_w - small_w]],
        constant_values=C.PAD_L_NORM,
    )
    # One channel: channels last is a reshape. A static channel count, too: the
    # TFLite converter cannot lower convolutions without one.
    return tf.reshape(l_norm, [-1, padded_h, padded_w, 1]), small_h, small_w


def portable_colorize(models, rgb, size, stride):
    """`colorization.inference.graph.colorize_batch` for uint8 input, for export.

    Args:
        models: callables mapping L_norm (N, h, w, 1) to ab_norm (N, h, w, 2); their
            predictions are averaged. A hinted model gets L_norm and zero hint
            channels: it colorizes automatically (so its hint propagation, which
            would change nothing, is left out).
        rgb: uint8 (N, H, W, 3).
        size: longer side of the copy the networks see.
        stride: the networks' stride.

    Returns:
        uint8 (N, H, W, 3) sRGB with the L of the input.
    """
    planes = tf.transpose(tf.cast(rgb, tf.float32), [0, 3, 1, 2])  # (N, 3, H, W)
    l_norm, small_h, small_w = _network_input(planes, size, stride)
    networks = [without_hint_propagation(model) for model in models]
    predictions = [
        tf.cast(
            model(hint_graph.network_input(model, l_norm), training=False), tf.float32
        )
        for model in networks
    ]  # a hinted model gets no hint: automatic colorization
    ab_norm = tf.add_n(predictions)[:, :small_h, :small_w] / len(predictions)
    ab = tf.image.resize(ab_norm, tf.shape(rgb)[1:3], method="bilinear")
    ab = C.denormalize_ab(tf.transpose(ab, [0, 3, 1, 2]))  # (N, 2, H, W)
    srgb = lab_to_srgb(lightness(planes / 255.0), ab)  # (N, 3, H, W)
    return tf.transpose(lab.to_uint8(srgb), [0, 2, 3, 1])
