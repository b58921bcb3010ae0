"""Evaluate a colorizer on real colour photos, beside the colourless (ab = 0) baseline.

Each photo's grey input is its own Lab L, so a perfect colorizer could give the photo
back exactly; the baseline is that L with no colour. Every metric is reported per image
and for the set, for the model and for the baseline.
"""

import numpy as np

from colorization import image_io, metrics
from data_pipeline import lab

PER_IMAGE = ("psnr", "ssim", "colourfulness", "ab_auc", "hist_a", "hist_b")


def colourless(rgb):
    """The ab = 0 baseline: the photo's L with no colour, uint8 RGB."""
    lightness = lab.rgb_to_lab(rgb).numpy()[..., :1]
    grey = np.concatenate(
        [lightness, np.zeros_like(lightness), np.zeros_like(lightness)], -1
    )
    return image_io.to_uint8(lab.lab_to_rgb(grey).numpy())


def _scores(truth, result, truth_ab):
    ab = metrics.ab_channels(result)
    hist = metrics.ab_histograms(ab)
    truth_hist = metrics.ab_histograms(truth_ab)
    return {
        "psnr": metrics.psnr(truth, result),
        "ssim": metrics.ssim(truth, result),
        "colourfulness": metrics.colourfulness(result),
        "ab_auc": metrics.ab_error_auc(truth_ab, ab),
        "hist_a": metrics.histogram_intersection(hist[0], truth_hist[0]),
        "hist_b": metrics.histogram_intersection(hist[1], truth_hist[1]),
    }, hist


def evaluate_paths(colorizer, paths, progress=True):
    """Scores `colorizer` on colour photos.

    Returns:
        {"model": set metrics, "baseline": set metrics, "truth": {"colourfulness"},
         "images": [per-image dicts], "failed": [(path, reason)]}. Set metrics are
        means over images, except hist_a/hist_b, which compare the a and b
        distributions of all pixels of the set (as the Studienarbeit measured them),
        and colourfulness_ratio = mean colourfulness / the truth's.
    """
    from tqdm import tqdm

    images, failed = [], []
    totals = {
        "model": [np.zeros(256), np.zeros(256)],
        "baseline": [np.zeros(256), np.zeros(256)],
        "truth": [np.zeros(256), np.zeros(256)],
    }
    for path in tqdm(paths, unit="image", disable=not progress):
        try:
            data = image_io.read_image(path)
        except (image_io.ImageError, OSError) as error:
            failed.append((path, str(error)))
            continue
        truth = image_io.to_uint8(data.rgb)
        truth_ab = metrics.ab_channels(truth)
        row = {"path": path, "truth_colourfulness": metrics.colourfulness(truth)}
        for name, result in (
            ("model", colorizer.colorize_array(data.rgb)),
            ("baseline", colourless(truth)),
        ):
            scores, hist = _scores(truth, result, truth_ab)
            row[name] = scores
            totals[name][0] += hist[0]
            totals[name][1] += hist[1]
        truth_hist = metrics.ab_histograms(truth_ab)
        totals["truth"][0] += truth_hist[0]
        totals["truth"][1] += truth_hist[1]
        images.append(row)
    if not images:
        raise ValueError("no photo could be evaluated")
    truth_colour = float(np.mean([row["truth_colourfulness"] for row in images]))
    summary = {
        "images": images,
        "failed": failed,
        "count": len(images),
        "truth": {"colourfulness": truth_colour},
    }
    for name in ("model", "baseline"):
        means = {
            key: float(np.nanmean([row[name][key] for row in images]))
            for key in PER_IMAGE
        }
        means["hist_a"] = metrics.histogram_intersection(
            totals[name][0], totals["truth"][0]
        )
        means["hist_b"] = metrics.histogram_intersection(
            totals[name][1], totals["truth"][1]
        )
        means["colourfulness_ratio"] = (
            means["colourfulness"] / truth_colour if truth_colour else float("nan")
        )
        summary[name] = means
    return summary


def format_table(summary):
    """The set metrics of model and baseline as a Markdown table."""
    keys = (
        "psnr",
        "ssim",
        "ab_auc",
        "hist_a",
        "hist_b",
        "colourfulness",
        "colourfulness_ratio",
    )
    lines = ["| | " + " | ".join(keys) + " |", "|---" * (len(keys) + 1) + "|"]
    for name in ("model", "baseline"):
        lines.append(
            f"| {name} | " + " | ".join(f"{summary[name][k]:.3f}" for k in keys) + " |"
        )
    lines.append(
        f"| truth | | | | | | {summary['truth']['colourfulness']:.3f} | 1.000 |"
    )
    return "\n".join(lines)
