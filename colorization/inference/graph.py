"""The colorizer's graph: the network at its size, the result at full resolution.

`predict_small` runs the networks on a copy of the photo whose longer side is `size`
(padded to a multiple of the stride) and averages their ab; `join_ab` brings that ab
to the photo's own size and joins it with the photo's full-resolution L, in fixed-size
chunks of one fused kernel. `colorize_batch` is both: the graph the `Colorizer`, infer.py
and the SavedModel share. The "best" quality (`predict_best`) averages four
predictions (the photo and its mirror image, at two sizes) with
`chroma_preserving_mean` instead of one.
"""

import contextlib

import tensorflow as tf

from colorization.hints import hint_graph
from colorization.inference import guidance, options
from colorization.models.hint_propagation import without_hint_propagation
from data_pipeline import constants as C
from data_pipeline import image_ops, lab

_CHUNK = 1 << 18  # pixels per fused full-resolution kernel call
_STRIDE_CANDIDATES = (1, 2, 4, 8, 16, 32, 64, 128, 256, 512)
QUALITIES = ("fast", "best")  # one network pass; test-time averaging of four
BEST_SCALE = 1.3  # the best quality's second input size, relative to `size`


def infer_stride(model):
    """The smallest power of two the model's input sides must be a multiple of.

    Found from symbolic shapes (no computation): an input of sides 3s x 5s and 7s x 3s
    (with the model's channels: L, or L and the hint channels) must give an output of
    the same size.
    """
    import keras

    channels = model.inputs[0].shape[-1] if getattr(model, "inputs", None) else 1
    for stride in _STRIDE_CANDIDATES:
        try:
            ok = all(
                tuple(
                    model.compute_output_spec(
                        keras.KerasTensor((1, h, w, channels))
                    ).shape
                )
                == (1, h, w, 2)
                for h, w in ((3 * stride, 5 * stride), (7 * stride, 3 * stride))
            )
        except Exception:  # shape mismatches inside the model: stride too small
            ok = False
        if ok:
            return stride
    raise ValueError(
        f"model {model.name!r} does not map L (1, H, W, {channels}) to ab (1, H, W, 2)"
    )


@tf.function(jit_compile=True)
def _recombine_chunk(rgb, ab):
    """Full-resolution L of `rgb` [C, 3] joined with `ab` [C, 2] -> uint8 RGB [C, 3].

    One fused XLA kernel of a fixed shape, so it compiles once for every image size.
    """
    lightness = lab.rgb_to_lab(rgb)[..., :1]
    return lab.to_uint8(
        lab.lab_to_rgb(tf.concat([lightness, ab], -1), keep_lightness=True)
    )


def _recombine(rgb, ab):
    """`_recombine_chunk` over every pixel of rgb [N, H, W, 3] and ab [N, H, W, 2]."""
    shape = tf.shape(rgb)
    count = shape[0] * shape[1] * shape[2]
    chunks = (count + _CHUNK - 1) // _CHUNK
    padding = [[0, chunks * _CHUNK - count], [0, 0]]
    rgb = tf.reshape(tf.pad(tf.reshape(rgb, [-1, 3]), padding), [chunks, _CHUNK, 3])
    ab = tf.reshape(tf.pad(tf.reshape(ab, [-1, 2]), padding), [chunks, _CHUNK, 2])
    result = tf.map_fn(
        lambda pair: _recombine_chunk(pair[0], pair[1]),
        (rgb, ab),
        fn_output_signature=tf.uint8,
        parallel_iterations=2,
    )
    return tf.reshape(
        tf.reshape(result, [-1, 3])[:count], tf.concat([shape[:3], [3]], 0)
    )


def predict_small(models, rgb, size, stride, hints=None, guide=None):
    """The networks' averaged ab at the size they see, before any upsampling.

    Args:
        models: callables mapping L_norm (N, h, w, 1) to ab_norm (N, h, w, 2), or
            hinted models (L_norm and hint channels, `colorization.hints.hint_graph`); their
            predictions are averaged (the Klefbom-Mjoberg ensemble).
        rgb: (N, H, W, 3) uint8, or float32 in [0, 1]; grey images have three equal
            channels.
        size: longer side of the copy the network sees.
        stride: the networks' stride (the copy is padded to a multiple of it).
        hints: None (automatic), or (points float32 (K, 2), colours uint8 (K, 3)):
            user hints at (x, y) pixels of the H x W images, the same for each image;
            hinted models see them, automatic ones do not.
        guide: None, or (prior float32 (BANDS, Q), strength float32 scalar): a
            reference's or palette's prior over the bins heads' colours
            (`colorization.inference.guidance`).

    Returns:
        (lightness, ab_norm): the L (N, h, w, 1) of the copy the network saw, in Lab
        units, and its ab_norm (N, h, w, 2), both without the padding.
    """
    lightness, ab_norm, _ = _predict(models, rgb, size, stride, hints, guide)
    return lightness, ab_norm


def predict_distribution(models, rgb, size, stride, hints=None, guide=None):
    """`predict_small`, and the bins heads' colour distribution (annealing
    temperature 1, guided if `guide`), averaged over the models.

    Returns:
        (lightness, ab_norm, distribution, factor): `predict_small`'s two, the
        distribution (N, hc, wc, Q) on the bins heads' grid of cells of `factor` x
        `factor` pixels of the copy the network saw, without the cells of padding
        only (hc = ceil(h / factor)).
    """
    return _predict(models, rgb, size, stride, hints, guide, distribution=True)


def _predict(models, rgb, size, stride, hints, guide, distribution=False):
    shape = tf.shape(rgb)
    height, width = shape[1], shape[2]
    scale = 255.0 if rgb.dtype == tf.uint8 else 1.0
    small_h, small_w = image_ops.fit_size(height, width, size)
    small = tf.cond(
        tf.maximum(height, width) > size,
        lambda: tf.image.resize(rgb, [small_h, small_w], method="area"),
        lambda: tf.image.resize(rgb, [small_h, small_w], method="bicubic"),
    )
    small = tf.clip_by_value(small / scale, 0.0, 1.0)
    padded_h = -(-small_h // stride) * stride
    padded_w = -(-small_w // stride) * stride
    lightness = lab.rgb_to_lab(small)[..., :1]  # (N, h, w, 1)
    l_norm = tf.pad(
        C.normalize_l(lightness),
        [[0, 0], [0, padded_h - small_h], [0, padded_w - small_w], [0, 0]],
        constant_values=C.PAD_L_NORM,
    )  # (N, h', w', 1), black padding as in training
    hint_channels = None
    if hints is not None:
        hint_channels = hint_graph.network_hints(
            *hints, height, width, small_h, small_w, padded_h, padded_w
        )  # (h', w', 3)
        hint_channels = tf.broadcast_to(
            hint_channels, tf.concat([tf.shape(l_norm)[:3], [3]], 0)
        )  # (N, h', w', 3)
    if hints is None:  # the same output without the hint propagation's ~9 ms
        models = [without_hint_propagation(model) for model in models]
    traced = None
    context = contextlib.nullcontext()
    if guide is not None or distribution:
        traced = guidance.TracedGuide(l_norm, *(guide or (None, None)))
        context = guidance.traced_guide(*options.option_layers(models), traced)
    with context:
        predictions = [
            tf.cast(
                model(
                    hint_graph.network_input(model, l_norm, hint_channels),
                    training=False,
                ),
                tf.float32,
            )
            for model in models
        ]
    ab_norm = tf.add_n(predictions)[:, :small_h, :small_w] / len(predictions)
    if not distribution:
        return lightness, ab_norm, None  # (N, h, w, 1), (N, h, w, 2)
    if not traced.distributions:
        raise ValueError("the model has no bins head: it predicts no distribution")
    cells = tf.add_n(traced.distributions) / len(traced.distributions)
    factor = padded_h // tf.shape(cells)[1]
    cells = cells[:, : -(-small_h // factor), : -(-small_w // factor)]
    return lightness, ab_norm, cells, factor


def entropy_map(distribution):
    """The entropy of each cell's distribution (N, h, w, Q) over log Q: 0 where the
    model is sure of one bin, 1 where every bin is as likely."""
    q = tf.cast(tf.shape(distribution)[-1], tf.float32)
    terms = distribution * tf.math.log(tf.maximum(distribution, 1e-12))
    return -tf.reduce_sum(terms, -1) / tf.math.log(q)


def colorize_with_uncertainty(models, rgb, size, stride, hints=None, guide=None):
    """`colorize_batch` (fast quality) and how unsure the models are of each
    pixel's colour, from one network pass: the `entropy_map` of their distribution
    brought to the photo's own size (bilinear) -> (uint8 (N, H, W, 3), float32
    (N, H, W) in [0, 1]); the other arguments are `predict_small`'s."""
    lightness, ab_norm, cells, factor = predict_distribution(
        models, rgb, size, stride, hints, guide
    )
    entropy = entropy_map(cells)[..., tf.newaxis]  # (N, hc, wc, 1)
    grid = tf.shape(entropy)[1:3] * factor
    small = tf.image.resize(entropy, grid, method="bilinear")
    small = small[:, : tf.shape(lightness)[1], : tf.shape(lightness)[2]]
    full = tf.image.resize(small, tf.shape(rgb)[1:3], method="bilinear")
    return join_ab(rgb, ab_norm), tf.clip_by_value(full[..., 0], 0.0, 1.0)


def join_ab(rgb, ab_norm):
    """Upsamples ab_norm (N, h, w, 2) to the size of `rgb` (N, H, W, 3) and joins it
    with the full-resolution L of `rgb` -> uint8 (N, H, W, 3) sRGB (graph-safe)."""
    shape = tf.shape(rgb)
    ab = C.denormalize_ab(
        tf.image.resize(ab_norm, [shape[1], shape[2]], method="bilinear")
    )  # (N, H, W, 2)
    return _recombine(rgb, ab)


def chroma_preserving_mean(ab_stack):
    """The mean of K ab predictions that keeps their colourfulness.

    The plain mean of vectors of different hues is shorter than they are (two
    opposite hues average to grey), so averaging desaturates. This mean keeps the
    plain mean's direction (its hue) and gives it the mean of the predictions'
    chromas (lengths) as its length. Where the plain mean is exactly zero (the
    predictions cancel: no hue to keep) the result is zero.

    Args:
        ab_stack: (K, ..., 2) ab vectors, in any one linear scale (ab or ab_norm).

    Returns:
        float32 (..., 2): `mean_k(ab_k) / |mean_k(ab_k)| * mean_k(|ab_k|)`.
    """
    ab_stack = tf.convert_to_tensor(ab_stack, tf.float32)
    mean = tf.reduce_mean(ab_stack, 0)  # (..., 2)
    chroma = tf.reduce_mean(tf.norm(ab_stack, axis=-1, keepdims=True), 0)  # (..., 1)
    length = tf.norm(mean, axis=-1, keepdims=True)  # (..., 1)
    return mean * tf.math.divide_no_nan(chroma, length)


def best_sizes(size, stride):
    """The two network input sizes of the best quality: `size`, and `size *
    BEST_SCALE` rounded to a multiple of `stride` (at least `size + 1`), as int32
    tensors (graph-safe; `size` may be a tensor)."""
    size = tf.cast(size, tf.int32)
    scaled = tf.cast(size, tf.float64) * BEST_SCALE / stride
    larger = tf.cast(tf.floor(scaled + 0.5), tf.int32) * stride
    return size, tf.maximum(larger, size + 1)


def predict_best(models, rgb, size, stride, hints=None, guide=None):
    """Test-time averaging: `predict_small` on the photo and on its mirror image, at
    the two `best_sizes`; each ab has the mirroring undone and is resized (bilinear)
    to the grid of the larger copy, and the four are averaged with
    `chroma_preserving_mean`. The arguments are `predict_small`'s (hint points are
    mirrored with the photo).

    Returns:
        (lightness, ab_norm): the L (N, h, w, 1) of the larger copy the network saw
        and the averaged ab_norm (N, h, w, 2) on its grid.
    """
    mirrored = tf.reverse(rgb, [2])
    mirrored_hints = None
    if hints is not None:
        points = tf.reshape(tf.cast(hints[0], tf.float32), [-1, 2])
        last = tf.cast(tf.shape(rgb)[2], tf.float32) - 1.0  # pixel centres mirrored
        mirrored_hints = (tf.stack([last - points[:, 0], points[:, 1]], -1), hints[1])
    small, large = best_sizes(size, stride)
    lightness, ab_norm = predict_small(models, rgb, large, stride, hints, guide)
    grid = tf.shape(ab_norm)[1:3]
    predictions = [ab_norm]  # (N, h, w, 2) each
    for image, image_hints, side in (
        (mirrored, mirrored_hints, large),
        (rgb, hints, small),
        (mirrored, mirrored_hints, small),
    ):
        ab = predict_small(models, image, side, stride, image_hints, guide)[1]
        if image is mirrored:
            ab = tf.reverse(ab, [2])
        predictions.append(tf.image.resize(ab, grid, method="bilinear"))
    return lightness, chroma_preserving_mean(tf.stack(predictions))


def colorize_batch(models, rgb, size, stride, hints=None, quality="fast", guide=None):
    """Colorizes a batch of same-size images in TensorFlow ops (graph-safe):
    `predict_small` ("fast" `quality`) or `predict_best` ("best"), then `join_ab`;
    the other arguments are `predict_small`'s.

    Returns:
        uint8 (N, H, W, 3) sRGB with the L of the input.
    """
    predict = predict_best if quality == "best" else predict_small
    _, ab_norm = predict(models, rgb, size, stride, hints, guide)
    return join_ab(rgb, ab_norm)
