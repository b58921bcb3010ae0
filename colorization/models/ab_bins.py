"""Zhang et al.'s quantized ab space: the in-gamut bins, their empirical prior and the
class-rebalancing weights ("Colorful Image Colorization", ECCV 2016, section 2.1-2.3).

Regression to ab with L1 or L2 predicts the mean (or median) of the plausible colours,
which for a sky-or-grass-or-car pixel is grey: the washed-out look of every regression
colorizer. Classifying each pixel over ab bins and rebalancing the classes by their
rarity keeps the saturated colours; the annealed mean of the predicted distribution
(`models.layers.AnnealedMean`) turns it back into one ab.

Units: bin centres and ab here are model units (ab / 128), so a 10-unit grid is
10 / 128.
"""

import numpy as np

from colorization.models.ab_gamut import GRID, TEMPERATURE, gamut_centres  # noqa: F401
from data_pipeline import constants

SIGMA = 5.0  # Gaussian of the soft encoding and of the prior smoothing, Lab units
MIX = 0.5  # lambda: weight of the uniform distribution in the rebalancing


def measure_gamut(grid=GRID, levels=128):
    """The centres of the ab bins that some sRGB colour falls in, measured.

    Every RGB colour of a `levels`^3 lattice is converted to Lab (by the package's Lab
    module) and its ab rounded to the `grid`; the occupied bins are the gamut. With
    the 10-unit grid that gives Q = 262 bins (Zhang et al. keep 313, a looser gamut
    from the convex hull of ImageNet's ab values); `gamut_centres()` is this table,
    stored (`models.ab_gamut`).

    Returns:
        (Q, 2) float32 NumPy array of bin centres in model units (ab / 128), sorted.
    """
    import tensorflow as tf

    from data_pipeline import lab

    axis = np.linspace(0.0, 1.0, levels, dtype=np.float32)
    rgb = np.stack(np.meshgrid(axis, axis, axis, indexing="ij"), -1).reshape(-1, 3)
    ab = lab.rgb_to_lab(tf.constant(rgb)).numpy()[:, 1:]
    occupied = np.unique(np.round(ab / grid).astype(np.int64), axis=0)
    return (occupied * grid / constants.AB_SCALE).astype(np.float32)


def nearest_bins(ab, centres):
    """Index of the nearest bin centre of each ab vector (NumPy or TF, (..., 2))."""
    import tensorflow as tf

    ab = tf.cast(ab, tf.float32)
    distance = tf.reduce_sum(tf.square(ab[..., tf.newaxis, :] - centres), -1)
    return tf.argmin(distance, axis=-1, output_type=tf.int32)


def histogram(dataset, centres, batches):
    """Counts of the nearest bin over the real (unpadded) pixels of `batches` batches
    of (L, ab, mask), in float64, shape (Q,)."""
    import tensorflow as tf

    q = len(centres)
    centres = tf.constant(centres)

    @tf.function
    def count(ab, mask):
        # Every 2nd pixel in each direction: colour is smooth and this is 4x cheaper.
        ab, mask = ab[:, ::2, ::2], mask[:, ::2, ::2, 0] > 0.5
        index = tf.boolean_mask(nearest_bins(ab, centres), mask)
        return tf.math.bincount(index, minlength=q, maxlength=q, dtype=tf.float64)

    counts = np.zeros(q, np.float64)
    for _, ab, mask in dataset.take(batches):
        counts += count(ab, mask).numpy()
    return counts


def rebalancing_weights(counts, centres, mix=MIX, sigma=SIGMA):
    """Zhang et al.'s class weights w ∝ ((1 - mix) * p~ + mix / Q)^-1, normalised so
    that their expectation under the smoothed prior p~ is 1.

    Args:
        counts: (Q,) pixel counts per bin (from `histogram`).
        centres: (Q, 2) bin centres, model units.
        mix: The weight of the uniform distribution (0.5 in the paper).
        sigma: Gaussian smoothing of the prior in Lab units (5 in the paper).

    Returns:
        (Q,) float32 weights.
    """
    counts = np.asarray(counts, np.float64)
    if counts.sum() <= 0:
        raise ValueError("the ab histogram is empty: no coloured pixel was read")
    prior = counts / counts.sum()
    sigma = sigma / constants.AB_SCALE
    distance = np.sum((centres[:, None, :] - centres[None, :, :]) ** 2, -1)
    kernel = np.exp(-distance / (2 * sigma**2))
    kernel /= kernel.sum(axis=0, keepdims=True)  # each bin's mass is spread, kept
    smoothed = kernel @ prior
    weights = 1.0 / ((1 - mix) * smoothed + mix / len(centres))
    weights /= np.sum(smoothed * weights)
    return weights.astype(np.float32)
