"""Colour hints: simulated from the truth for training, or given by a user (Zhang et
al. 2017, "Real-Time User-Guided Image Colorization with Learned Deep Priors").

A hinted generator sees three more channels beside L, at its input resolution:

    channel 0      L_norm
    channels 1, 2  hint ab in the model's scale (ab / 128), 0 where there is no hint
    channel 3      hint mask: 1 where a hint is given, else 0

A hint is a square patch filled with one colour: in training, the mean true ab of that
patch (the paper's recipe; patch sides 1 to 9 pixels); at inference, the colour a user
picked. Where patches overlap their colours are averaged. Hints stay inside the image
(the padding mask). With no hint the three channels are zero, so a hinted model whose
hint weights are zero is exactly the automatic model it was made from. Hints only
enter the input: the model predicts ab, and the output's L is always the input's.

    hint_ab, hint_mask = sample_hints(ab_norm, mask, seed, HintConfig())
    inputs = hint_input(l_norm, hint_ab, hint_mask)  # (..., H, W, 4)
    hint_ab, hint_mask = points_to_hints([[x, y]], [[a, b]], height, width)

Every op is a graph op, takes a batch [B, H, W, C] or one image [H, W, C] of any H
and W, and draws its random numbers statelessly under an explicit int seed of shape
[2] (as `data_pipeline.degrade` does), so the hints are a function of the seed.
"""

import tensorflow as tf

from data_pipeline.config import HINT_CHANNELS, HintConfig

INPUT_CHANNELS = 1 + HINT_CHANNELS  # of a hinted generator: L, hint a, hint b, mask
POINT_PATCH = 5  # side of the patch a user's point fills, pixels at network size
_OFF_IMAGE = -1e9  # location logit of padding pixels: never drawn


def hint_input(l_norm, hint_ab, hint_mask):
    """The input of a hinted generator: L_norm [..., 1], hint ab [..., 2] and hint
    mask [..., 1] -> [..., 4], in this order."""
    return tf.concat(
        [
            tf.cast(l_norm, tf.float32),
            tf.cast(hint_ab, tf.float32),
            tf.cast(hint_mask, tf.float32),
        ],
        -1,
    )


def no_hints(l_norm):
    """The input of a hinted generator given no hint: L_norm [..., 1] -> [..., 4]."""
    l_norm = tf.cast(l_norm, tf.float32)
    zeros = tf.zeros_like(l_norm)
    return tf.concat([l_norm] + [zeros] * HINT_CHANNELS, -1)


def _patch_boxes(rows, cols, sizes, height, width):
    """Which rows [B, K, H] and columns [B, K, W] each square patch covers (float
    0/1): side `sizes`, centred on (rows, cols) (one pixel up and left of the centre
    for even sides), cut at the border."""
    top = rows - (sizes - 1) // 2
    left = cols - (sizes - 1) // 2
    r = tf.range(height)[tf.newaxis, tf.newaxis]
    c = tf.range(width)[tf.newaxis, tf.newaxis]
    in_rows = (r >= top[..., tf.newaxis]) & (r < (top + sizes)[..., tf.newaxis])
    in_cols = (c >= left[..., tf.newaxis]) & (c < (left + sizes)[..., tf.newaxis])
    return tf.cast(in_rows, tf.float32), tf.cast(in_cols, tf.float32)


def _patch_means(ab_norm, valid, in_rows, in_cols):
    """The mean ab [B, K, 2] over the valid pixels of each patch (separable sums:
    rows first, then columns)."""
    weighted = tf.concat([ab_norm * valid[..., tf.newaxis], valid[..., tf.newaxis]], -1)
    sums = tf.einsum("bkh,bhwc->bkwc", in_rows, weighted)  # (B, K, W, 3)
    sums = tf.einsum("bkwc,bkw->bkc", sums, in_cols)  # (B, K, 3)
    return sums[..., :2] / tf.maximum(sums[..., 2:], 1.0)


def _paint(values, active, in_rows, in_cols, valid):
    """Fills each active patch with its ab `values` [B, K, 2] (overlaps averaged) on
    the valid pixels; returns (hint_ab [B, H, W, 2], hint_mask [B, H, W, 1])."""
    weighted = tf.concat([values, tf.ones_like(values[..., :1])], -1)
    weighted *= active[..., tf.newaxis]  # (B, K, 3): ab and a count of 1
    rows = in_rows[..., tf.newaxis] * weighted[:, :, tf.newaxis, :]  # (B, K, H, 3)
    painted = tf.einsum("bkhc,bkw->bhwc", rows, in_cols)  # (B, H, W, 3)
    cover = painted[..., 2:]
    hint_mask = tf.cast(cover > 0.5, tf.float32) * valid[..., tf.newaxis]
    hint_ab = painted[..., :2] / tf.maximum(cover, 1.0) * hint_mask
    return hint_ab, hint_mask


def _centre_bias(valid):
    """The log-density [B, H, W] of the paper's location prior: a Gaussian centred on
    the image part of each example, sigma a quarter of its height and width (from
    the variance of the pixel coordinates: side = sqrt(12 var))."""
    shape = tf.shape(valid)
    area = tf.maximum(tf.reduce_sum(valid, [1, 2]), 1.0)[:, tf.newaxis, tf.newaxis]
    y = tf.cast(tf.range(shape[1]), tf.float32)[tf.newaxis, :, tf.newaxis]
    x = tf.cast(tf.range(shape[2]), tf.float32)[tf.newaxis, tf.newaxis, :]
    terms = []
    for coord in (y, x):
        mean = tf.reduce_sum(valid * coord, [1, 2], keepdims=True) / area
        var = tf.reduce_sum(valid * tf.square(coord - mean), [1, 2], keepdims=True)
        sigma = tf.maximum(tf.sqrt(12.0 * var / area) / 4.0, 0.5)
        terms.append(tf.square((coord - mean) / sigma))
    return -0.5 * (terms[0] + terms[1])


def _locations(valid, points, seed, location):
    """Rows and columns [B, points] drawn among the valid pixels of each example."""
    shape = tf.shape(valid)
    logits = tf.where(valid > 0, 0.0, _OFF_IMAGE)
    if location == "gaussian":
        logits += _centre_bias(valid)
    flat = tf.reshape(logits, [shape[0], shape[1] * shape[2]])
    index = tf.random.stateless_categorical(flat, points, seed, dtype=tf.int32)
    return index // shape[2], index % shape[2]


def _counts(batch, seed, config):
    """The number of hints [B] of each example: none with probability `p_none`, else
    1 + a geometric draw, at most `max_points`."""
    draws = tf.random.stateless_uniform([batch, 2], seed, minval=1e-7, maxval=1.0)
    failures = tf.floor(tf.math.log(draws[:, 1]) / tf.math.log1p(-config.p_geometric))
    counts = tf.minimum(1.0 + failures, float(config.max_points))
    return tf.where(draws[:, 0] < config.p_none, 0, tf.cast(counts, tf.int32))


def _as_batch(tensor, channels):
    """(tensor [B, H, W, channels], whether it was one image [H, W, channels])."""
    tensor = tf.convert_to_tensor(tensor, tf.float32)
    if tensor.shape.rank not in (3, 4):
        raise ValueError(f"expected [H, W, {channels}] or [B, H, W, {channels}]")
    single = tensor.shape.rank == 3
    return (tensor[tf.newaxis] if single else tensor), single


# The hint ops have no Python control flow on tensors: traced without AutoGraph's
# conversion, a tf.data map of them builds about twice as fast.
@tf.autograph.experimental.do_not_convert
def sample_hints(ab_norm, mask, seed, config=None, count=None):
    """Simulated user hints, each the mean true ab of a random patch (Zhang et al.).

    Args:
        ab_norm: the true ab, [B, H, W, 2] or [H, W, 2], model scale.
        mask: the padding mask of the same shape with one channel (1 on the image),
            or None (all image).
        seed: int [2] seed of the stateless random ops.
        config: a HintConfig (default: the paper's recipe, half the images unhinted).
        count: hints per example (an int, or int [B]) instead of the random number;
            the locations and patches are the first `count` of the `max_points`
            drawn under `seed`, so a larger count adds hints to a smaller one's.

    Returns:
        (hint_ab [..., H, W, 2], hint_mask [..., H, W, 1] in {0, 1}), float32, of the
        shape of the input (batched or not).
    """
    config = config or HintConfig()
    ab_norm, single = _as_batch(ab_norm, 2)
    shape = tf.shape(ab_norm)
    if mask is None:
        valid = tf.ones(shape[:3])
    else:
        mask, _ = _as_batch(mask, 1)
        valid = tf.cast(mask[..., 0] > 0.5, tf.float32)
    count_seed, place_seed, size_seed = tf.unstack(
        tf.random.experimental.stateless_split(seed, 3)
    )
    if count is None:
        counts = _counts(shape[0], count_seed, config)
    else:
        counts = tf.broadcast_to(tf.cast(count, tf.int32), shape[:1])
    has_image = tf.reduce_sum(valid, [1, 2]) > 0
    counts = tf.where(has_image, tf.minimum(counts, config.max_points), 0)
    points = config.max_points
    active = tf.cast(tf.range(points)[tf.newaxis] < counts[:, tf.newaxis], tf.float32)
    rows, cols = _locations(valid, points, place_seed, config.location)
    sizes = tf.random.stateless_uniform(
        [shape[0], points],
        size_seed,
        config.min_patch,
        config.max_patch + 1,
        dtype=tf.int32,
    )
    in_rows, in_cols = _patch_boxes(rows, cols, sizes, shape[1], shape[2])
    means = _patch_means(ab_norm, valid, in_rows, in_cols)
    hint_ab, hint_mask = _paint(means, active, in_rows, in_cols, valid)
    if single:
        return hint_ab[0], hint_mask[0]
    return hint_ab, hint_mask


@tf.autograph.experimental.do_not_convert
def points_to_hints(points, ab_norm, height, width, patch_size=POINT_PATCH, mask=None):
    """User hints -> hint maps at network resolution.

    Args:
        points: [K, 2] (x, y) pixel coordinates at network resolution (x the column,
            y the row; rounded to the nearest pixel). Callers check that they lie in
            the image: a patch is cut at the border.
        ab_norm: [K, 2] the colour of each point, model scale (ab / 128).
        height: height of the network input.
        width: its width.
        patch_size: side of the square each point fills.
        mask: optional [height, width, 1] padding mask; hints stay on the image.

    Returns:
        (hint_ab [height, width, 2], hint_mask [height, width, 1]), float32.
    """
    points = tf.reshape(tf.convert_to_tensor(points, tf.float32), [-1, 2])
    ab_norm = tf.reshape(tf.convert_to_tensor(ab_norm, tf.float32), [-1, 2])
    cols = tf.cast(tf.round(points[:, 0]), tf.int32)[tf.newaxis]
    rows = tf.cast(tf.round(points[:, 1]), tf.int32)[tf.newaxis]
    sizes = tf.fill(tf.shape(rows), tf.cast(patch_size, tf.int32))
    in_rows, in_cols = _patch_boxes(rows, cols, sizes, height, width)
    if mask is None:
        valid = tf.ones(tf.stack([1, height, width]))
    else:
        valid = tf.cast(
            tf.convert_to_tensor(mask)[tf.newaxis, ..., 0] > 0.5, tf.float32
        )
    active = tf.ones(tf.shape(rows), tf.float32)
    hint_ab, hint_mask = _paint(ab_norm[tf.newaxis], active, in_rows, in_cols, valid)
    return hint_ab[0], hint_mask[0]
