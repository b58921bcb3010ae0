"""User colour hints in the graph: the hint channels a hinted network sees for points of
the photo and their colours (`colorization.hints.user_hints` reads and checks them).

Each point is mapped to the copy the network sees as the photo is resized, pixel
centres kept (x' = (x + 0.5) * w / W - 0.5, rounded to the nearest pixel), and paints
a `data_pipeline.hints.POINT_PATCH`-pixel square of that copy, cut at the image's edge
and never on the padding; overlapping squares average their colours. The colour's ab
(its Lab chroma, in the model's scale) fills the square; its L is not used.
"""

import tensorflow as tf

from colorization.models.registry import is_hinted
from data_pipeline import constants as C
from data_pipeline import hints as hint_maps
from data_pipeline import lab


def colours_to_ab_norm(colours):
    """uint8 sRGB (K, 3) -> the colours' ab in the model's scale (K, 2); L dropped."""
    return C.normalize_ab(lab.rgb_to_lab(tf.cast(colours, tf.uint8))[..., 1:])


def network_hints(points, colours, height, width, small_h, small_w, padded_h, padded_w):
    """The hint channels (hint ab, mask) [padded_h, padded_w, 3] of the copy the network
    sees, for points (K, 2) (x, y) of the H x W photo and uint8 colours (K, 3).

    The photo was resized to small_h x small_w (half-pixel centres) and padded at the
    bottom and right to padded_h x padded_w: the points follow, and stay off the
    padding.
    """
    points = tf.reshape(tf.cast(points, tf.float32), [-1, 2])
    small = tf.cast(tf.stack([small_w, small_h]), tf.float32)
    scale = small / tf.cast(tf.stack([width, height]), tf.float32)
    mapped = tf.clip_by_value((points + 0.5) * scale - 0.5, 0.0, small - 1.0)
    mask = tf.pad(
        tf.ones(tf.stack([small_h, small_w, 1])),
        [[0, padded_h - small_h], [0, padded_w - small_w], [0, 0]],
    )
    hint_ab, hint_mask = hint_maps.points_to_hints(
        mapped, colours_to_ab_norm(colours), padded_h, padded_w, mask=mask
    )
    return tf.concat([hint_ab, hint_mask], -1)  # (h', w', 3)


def network_input(model, l_norm, hints=None):
    """What `model` takes for L_norm (N, h, w, 1): L_norm itself for an automatic
    model; for a hinted one, L_norm and the hint channels `hints` (N, h, w, 3), or no
    hint (zeros) when `hints` is None."""
    if not is_hinted(model):
        return l_norm
    if hints is None:
        return hint_maps.no_hints(l_norm)
    return tf.concat([l_norm, tf.cast(hints, l_norm.dtype)], -1)
