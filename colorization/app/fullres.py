"""The app's full-resolution work in row tiles.

    out = np.empty((height, width, 3), np.uint8)
    fullres.grey(rgb, out)                       # the photo's L, without colour
    fullres.join(rgb, colorizer.predict_ab(rgb[None]), out)   # the colorized photo

Only one tile of rows (about `TILE_PIXELS`) is ever in float32 at full resolution, so
a photo costs its own pixels and its result (`memory.job_bytes`); the ab the network
predicted is first upsampled along the rows (its own few rows, full width), then each
tile takes its rows from that, with the weights `tf.image.resize` gives them: the
pixels are those of joining the whole photo at once (`graph.join_ab`), bit for
bit.
"""

import numpy as np
import tensorflow as tf

from colorization.app.memory import TILE_PIXELS
from colorization.inference import graph
from data_pipeline import lab

_CHUNK = 1 << 18  # pixels per call of the per-pixel grey function (a fixed shape)


def tile_rows(height, width, tile_pixels=None):
    """(first, end) row ranges of tiles of about `tile_pixels` (at least one row)."""
    step = max(1, (tile_pixels or TILE_PIXELS) // max(1, width))
    return [(top, min(top + step, height)) for top in range(0, height, step)]


def _per_pixel(fn, rgb):
    """`fn` (pixels (C, 3) -> uint8 (C, 3)) over every pixel of rgb (H, W, 3), in
    chunks of a fixed shape (one kernel for every photo size)."""
    shape = tf.shape(rgb)
    count = shape[0] * shape[1]
    chunks = (count + _CHUNK - 1) // _CHUNK
    flat = tf.pad(tf.reshape(rgb, [-1, 3]), [[0, chunks * _CHUNK - count], [0, 0]])
    result = tf.map_fn(
        fn,
        tf.reshape(flat, [chunks, _CHUNK, 3]),
        fn_output_signature=tf.uint8,
        parallel_iterations=2,
    )
    return tf.reshape(tf.reshape(result, [-1, 3])[:count], [shape[0], shape[1], 3])


def _grey_pixels(rgb):
    return lab.to_uint8(lab.drop_colour(rgb))


@tf.function(
    input_signature=[tf.TensorSpec([None, None, 3], tf.uint8)], reduce_retracing=True
)
def _grey_tile_uint8(rgb):
    return _per_pixel(_grey_pixels, rgb)


@tf.function(
    input_signature=[tf.TensorSpec([None, None, 3], tf.float32)], reduce_retracing=True
)
def _grey_tile_float(rgb):
    return _per_pixel(_grey_pixels, rgb)


def grey(rgb, out, tile_pixels=None):
    """The grey of the photo's L (what the network sees), written to uint8 `out`
    (H, W, 3) tile by tile; rgb (H, W, 3) is uint8 or float32 in [0, 1]."""
    run = _grey_tile_uint8 if rgb.dtype == np.uint8 else _grey_tile_float
    for top, end in tile_rows(*rgb.shape[:2], tile_pixels):
        out[top:end] = run(rgb[top:end]).numpy()


def _join_tile(rgb, rows, lower, upper, weight):
    """One tile: its ab rows interpolated from `rows` (the ab upsampled along x), then
    `graph.join_ab` (whose resize is now the identity) -> uint8 (1, R, W, 3)."""
    top = tf.gather(rows, lower, axis=1)
    bottom = tf.gather(rows, upper, axis=1)
    ab_norm = top + (bottom - top) * weight[None, :, None, None]  # (1, R, W, 2)
    return graph.join_ab(rgb, ab_norm)


def _join_signature(dtype):
    return [
        tf.TensorSpec([1, None, None, 3], dtype),  # the tile of the photo
        tf.TensorSpec([1, None, None, 2], tf.float32),  # ab_norm along x: (1, h, W, 2)
        tf.TensorSpec([None], tf.int32),  # each row's lower source row
        tf.TensorSpec([None], tf.int32),  # and upper one
        tf.TensorSpec([None], tf.float32),  # and the upper one's weight
    ]


_join_tile_uint8 = tf.function(_join_tile, input_signature=_join_signature(tf.uint8))
_join_tile_float = tf.function(_join_tile, input_signature=_join_signature(tf.float32))


def _row_weights(small, full, top, end):
    """`tf.image.resize`'s bilinear rows and weights (half-pixel centres, float32)
    for rows top..end of `full` rows made from `small`."""
    scale = np.float32(small) / np.float32(full)
    where = (np.arange(top, end, dtype=np.float32) + np.float32(0.5)) * scale
    where = where - np.float32(0.5)
    floor = np.floor(where)
    lower = np.maximum(floor, 0).astype(np.int32)
    upper = np.minimum(np.ceil(where), small - 1).astype(np.int32)
    return lower, upper, (where - floor).astype(np.float32)


def join(rgb, ab_norm, out, tile_pixels=None):
    """The colorized photo written to uint8 `out` (H, W, 3), tile by tile: ab_norm
    (1, h, w, 2) upsampled to H x W and joined with the L of rgb (H, W, 3, uint8 or
    float32 in [0, 1]), as `graph.join_ab` does at once."""
    height, width = rgb.shape[:2]
    small_h = ab_norm.shape[1]
    rows = tf.image.resize(ab_norm, [small_h, width], method="bilinear")  # (1, h, W, 2)
    run = _join_tile_uint8 if rgb.dtype == np.uint8 else _join_tile_float
    for top, end in tile_rows(height, width, tile_pixels):
        lower, upper, weight = _row_weights(small_h, height, top, end)
        out[top:end] = run(rgb[None, top:end], rows, lower, upper, weight)[0].numpy()
