"""Colorization metrics on uint8 RGB images (NumPy in, Python floats out).

psnr, ssim                   RGB fidelity to the true colour photo
colourfulness                Hasler and Suesstrunk (2003), of one image
ab_histograms / histogram_intersection
                             overlap of the a and b distributions (the
                             Studienarbeit's metric: sum of min of two histograms)
ab_error_auc                 Zhang et al. (2016): area under the curve of the share
                             of pixels whose ab error is within t, t = 0..150
global_cast                  distance between the mean ab of a result and the truth's
hue_error                    mean hue angle difference where both are coloured
flicker                      of a video: mean |ab change| between consecutive frames
                             over the pixels whose L barely changed
"""

import numpy as np
import tensorflow as tf

from data_pipeline import lab

AB_BINS = np.arange(-128, 129, 1.0)  # 256 bins of one Lab unit
AUC_THRESHOLDS = np.arange(0, 151, 1.0)
# Lab units: a pixel has a hue for `hue_error` where its chroma sqrt(a^2 + b^2) is
# above this: well above the chroma 8-bit rounding leaves on grey (under 1 for the
# colourless baseline), and the hue of weaker colour is hardly seen (a just noticeable
# difference in Lab is about 2.3 units).
HUE_MIN_CHROMA = 5.0


def psnr(truth, prediction):
    """Peak signal-to-noise ratio of uint8 RGB images, in dB (inf if identical)."""
    error = np.mean((truth.astype(np.float64) - prediction.astype(np.float64)) ** 2)
    return float("inf") if error == 0 else float(10 * np.log10(255.0**2 / error))


def ssim(truth, prediction):
    """Structural similarity of uint8 RGB images (TensorFlow's, 11x11 Gaussian window)."""
    if min(truth.shape[:2]) < 11:
        return float("nan")
    return float(
        tf.image.ssim(tf.constant(truth), tf.constant(prediction), max_val=255)
    )


def colourfulness(rgb):
    """Hasler and Suesstrunk's colourfulness M of a uint8 RGB image."""
    r, g, b = (rgb[..., i].astype(np.float64) for i in range(3))
    rg = r - g
    yb = 0.5 * (r + g) - b
    sigma = np.sqrt(rg.std() ** 2 + yb.std() ** 2)
    mu = np.sqrt(rg.mean() ** 2 + yb.mean() ** 2)
    return float(sigma + 0.3 * mu)


def ab_channels(rgb):
    """The a and b channels of a uint8 RGB image, float32 (H, W, 2)."""
    return lab.rgb_to_lab(rgb).numpy()[..., 1:]


def ab_histograms(ab):
    """Counts of a and of b in one-unit bins over [-128, 128): two arrays of 256."""
    return (
        np.histogram(ab[..., 0], AB_BINS)[0].astype(np.float64),
        np.histogram(ab[..., 1], AB_BINS)[0].astype(np.float64),
    )


def histogram_intersection(counts, reference_counts):
    """Sum of the minimum of two normalised histograms: 1 for equal distributions."""
    p = counts / max(counts.sum(), 1.0)
    q = reference_counts / max(reference_counts.sum(), 1.0)
    return float(np.minimum(p, q).sum())


def ab_error_auc(ab_truth, ab_prediction):
    """Area under the curve of the share of pixels with ab error <= t, t in 0..150.

    Normalised to [0, 1]: 1 means every pixel's ab is exact.
    """
    error = np.sqrt(((ab_truth - ab_prediction) ** 2).sum(-1)).ravel()
    error.sort()
    within = np.searchsorted(error, AUC_THRESHOLDS, side="right") / error.size
    return float(np.mean((within[1:] + within[:-1]) / 2))  # trapezoids on a unit grid


def _pixels(ab):
    return np.asarray(ab, np.float64).reshape(-1, 2)


def global_cast(ab_truth, ab_result):
    """The colour cast of a result over the whole image: the Euclidean distance, in
    Lab units, between its mean ab and the truth's (0 if the means agree)."""
    shift = _pixels(ab_result).mean(0) - _pixels(ab_truth).mean(0)
    return float(np.hypot(*shift))


def hue_error(ab_truth, ab_result, min_chroma=HUE_MIN_CHROMA):
    """The mean absolute difference of hue angle, in degrees within [0, 180], between
    result and truth over the pixels whose chroma is above `min_chroma` in both.

    Returns:
        that mean, or NaN if no pixel is coloured in both (a grey result or truth).
    """
    truth, result = _pixels(ab_truth), _pixels(ab_result)
    both = (np.hypot(*truth.T) > min_chroma) & (np.hypot(*result.T) > min_chroma)
    if not both.any():
        return float("nan")
    turn = np.arctan2(result[both, 1], result[both, 0]) - np.arctan2(
        truth[both, 1], truth[both, 0]
    )
    turn = np.abs((turn + np.pi) % (2 * np.pi) - np.pi)  # the shorter way round
    return float(np.degrees(turn).mean())


def flicker(lab_frames, skip=(), max_lightness_change=1.0):
    """How much colour changes where the picture does not, in a sequence of frames.

    Args:
        lab_frames: Lab frames (H, W, 3) in order (for example `lab.rgb_to_lab` of the
            uint8 RGB frames).
        skip: indices t whose pair (t - 1, t) is left out, such as scene cuts.
        max_lightness_change: a pixel counts where its L changed by less than this.

    Returns:
        the mean over those pixels and pairs of the Euclidean ab change (Lab units),
        and the number of pixels it is the mean of (0 and NaN if none).
    """
    total, count, previous = 0.0, 0, None
    for t, frame in enumerate(lab_frames):
        frame = np.asarray(frame, np.float64)
        if previous is not None and t not in skip:
            still = np.abs(frame[..., 0] - previous[..., 0]) < max_lightness_change
            change = np.hypot(*(frame[..., 1:] - previous[..., 1:]).transpose(2, 0, 1))
            total += float(change[still].sum())
            count += int(still.sum())
        previous = frame
    return (total / count if count else float("nan")), count
