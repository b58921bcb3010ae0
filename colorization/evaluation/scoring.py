"""Evaluate a colorizer on real colour photos, beside the colourless (ab = 0) baseline.

Each photo's grey input is its own Lab L, so a perfect colorizer could give the photo
back exactly; the baseline is that L with no colour. Every metric is reported per image
and for the set, for the model and for the baseline.

PSNR is capped at `PSNR_CAP` = 60 dB, as libvmaf caps the PSNR of 8-bit video: an
identical result (the baseline of a grey photo) scores 60, not infinity, so set means
stay finite. A figure that is undefined (SSIM of a photo under 11 pixels a side, the
hue error of a photo with no pixel coloured in both result and truth, and so always
the baseline's) is NaN here, null in JSON (`write_summary` writes strict JSON) and
"-" in the table, and set means leave it out.

The global cast (`metrics.global_cast`, Lab units) and the hue error
(`metrics.hue_error`, degrees) show what the accuracy figures hide: how far the
colour of the whole photo is off, and whether the colours a result does paint have
the right hue. The baseline's cast is the distance of the truth's mean ab from 0.
"""

import json
import math

import numpy as np
import tensorflow as tf

from colorization.evaluation import metrics
from colorization.inference import image_io
from colorization.training import losses
from data_pipeline import constants as C
from data_pipeline import files, lab

PER_IMAGE = (
    "psnr",
    "ssim",
    "colourfulness",
    "ab_auc",
    "hist_a",
    "hist_b",
    "cast",
    "hue_error",
)
PSNR_CAP = 60.0  # dB: an MSE of 0.065 of 8-bit levels, under 8-bit rounding's 1/12


def _scores(truth, result, truth_ab):
    ab = metrics.ab_channels(result)
    hist = metrics.ab_histograms(ab)
    truth_hist = metrics.ab_histograms(truth_ab)
    return {
        "psnr": min(metrics.psnr(truth, result), PSNR_CAP),
        "ssim": metrics.ssim(truth, result),
        "colourfulness": metrics.colourfulness(result),
        "ab_auc": metrics.ab_error_auc(truth_ab, ab),
        "hist_a": metrics.histogram_intersection(hist[0], truth_hist[0]),
        "hist_b": metrics.histogram_intersection(hist[1], truth_hist[1]),
        "cast": metrics.global_cast(truth_ab, ab),
        "hue_error": metrics.hue_error(truth_ab, ab),
    }, hist


def evaluate_paths(colorizer, paths, progress=True):
    """Scores `colorizer` on colour photos.

    Returns:
        {"model": set metrics, "baseline": set metrics, "truth": {"colourfulness"},
         "images": [per-image dicts], "failed": [(path, reason)]}. Set metrics are
        means over images (of the images where the figure is defined), except
        hist_a/hist_b, which compare the a and b distributions of all pixels of the
        set (as the Studienarbeit measured them), and colourfulness_ratio = mean
        colourfulness / the truth's. cast is in Lab units, hue_error in degrees.
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
            ("baseline", image_io.colourless(truth)),
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
        means = {key: _mean([row[name][key] for row in images]) for key in PER_IMAGE}
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


def _mean(values):
    """The mean of the finite values (NaN, without a warning, if there is none)."""
    finite = [value for value in values if math.isfinite(value)]
    return float(np.mean(finite)) if finite else float("nan")


def strict(value):
    """`value` with every NaN or infinite float replaced by None (JSON's null)."""
    if isinstance(value, dict):
        return {key: strict(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [strict(item) for item in value]
    if isinstance(value, (float, np.floating)):
        return float(value) if math.isfinite(value) else None
    return value


def _nan_for_null(value):
    """The figures of a summary read from JSON, null (undefined) as NaN again."""
    if isinstance(value, dict):
        return {key: _nan_for_null(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_nan_for_null(item) for item in value]
    return float("nan") if value is None else value


def write_summary(path, summary):
    """Writes a summary of `evaluate_paths` as strict JSON (no NaN or Infinity, which
    JSON does not have; undefined figures are null), atomically."""
    text = json.dumps(strict(summary), indent=1, allow_nan=False)
    with files.atomic_path(path) as temporary:
        with open(temporary, "w", encoding="utf-8") as f:
            f.write(text + "\n")


def score_model(model, folder, cache=None, again=False, limit=None):
    """`evaluate_paths` of the model file(s) `model` on every photo under `folder`,
    without the per-image rows; cached in the JSON file `cache` (reused unless
    `again`). `model` may be a list of files, averaged at run time.
    """
    import os

    from colorization.inference.colorizer import Colorizer

    if cache and os.path.isfile(cache) and not again:
        with open(cache, encoding="utf-8") as f:
            return _nan_for_null(json.load(f))
    paths = list(files.walk_images(folder))[:limit]
    summary = evaluate_paths(Colorizer.load(model), paths)
    summary.pop("images")
    if cache:
        write_summary(cache, summary)
    return summary


TABLE = (
    "psnr",
    "ssim",
    "ab_auc",
    "hist_a",
    "hist_b",
    "colourfulness",
    "colourfulness_ratio",
    "cast",
    "hue_error",
)
TWO_DECIMALS = ("cast", "hue_error")  # Lab units and degrees


def _cell(key, value):
    if not math.isfinite(value):
        return "-"
    return f"{value:.2f}" if key in TWO_DECIMALS else f"{value:.3f}"


def format_table(summary):
    """The set metrics of model and baseline as a Markdown table, with the `TABLE`
    columns; an undefined figure (the baseline's hue error) is "-"."""
    lines = ["| | " + " | ".join(TABLE) + " |", "|---" * (len(TABLE) + 1) + "|"]
    for name in ("model", "baseline"):
        cells = [_cell(k, summary[name][k]) for k in TABLE]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    truth = {"colourfulness": summary["truth"]["colourfulness"]}
    truth["colourfulness_ratio"] = 1.0
    cells = [_cell(k, truth[k]) if k in truth else "" for k in TABLE]
    lines.append("| truth | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def valid_box(valid):
    """The slices (rows, columns) of the box around the True pixels of a 2-D mask
    (the image part of a padded example), or None if there is none."""
    rows, cols = np.flatnonzero(valid.any(1)), np.flatnonzero(valid.any(0))
    if rows.size == 0:
        return None
    return np.s_[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1]


BATCH_SCORES = (
    "l1",
    "psnr",
    "ab_auc",
    "hist_a",
    "hist_b",
    "colourfulness_ratio",
    "cast",
    "hue_error",
    "baseline_cast",
)


def score_batches(predict, dataset):
    """The validation scores of training: the metrics of `evaluate_paths` on batches
    of model tensors (at the training size, not the photo's), cheap enough for every
    epoch. Truth and prediction share the input L; padding is cropped away.

    Args:
        predict: L_norm (N, S, S, 1) -> ab_norm (N, S, S, 2), float32.
        dataset: (L_norm, ab_norm, mask) batches.

    Returns:
        {name: float} for the names in `BATCH_SCORES`: the mean masked L1 of ab_norm,
        mean PSNR and ab AuC per image, hist. a / b intersections of all pixels, the
        mean colourfulness as a ratio of the truth's, the mean global cast (Lab
        units) and hue error (degrees; NaN if no image has a pixel coloured in both
        prediction and truth), and the colourless baseline's mean cast on the same
        images (the distance of the truth's mean ab from 0), for comparison.
    """
    rows, hists = [], {"model": np.zeros((2, 256)), "truth": np.zeros((2, 256))}
    for l_norm, ab, mask in dataset:
        pred = predict(l_norm)
        l1 = losses.masked_l1(ab, pred, mask).numpy()
        model_rgb = lab.to_uint8(lab.model_to_rgb(l_norm, pred))
        images = {
            "truth": lab.to_uint8(lab.model_to_rgb(l_norm, ab)).numpy(),
            "model": model_rgb.numpy(),
        }
        # The ab of the 8-bit result, as evaluate_paths measures it, for the batch.
        model_ab = lab.rgb_to_lab(tf.cast(model_rgb, tf.float32) / 255.0)[..., 1:]
        model_ab, ab_np = model_ab.numpy(), ab.numpy()
        for i, valid in enumerate(mask.numpy()[..., 0] > 0.5):
            box = valid_box(valid)
            if box is None:
                continue
            truth, result = images["truth"][i][box], images["model"][i][box]
            truth_ab = C.denormalize_ab(ab_np[i][box])
            result_ab = model_ab[i][box]
            for name, values in (("truth", truth_ab), ("model", result_ab)):
                hists[name] += metrics.ab_histograms(values)
            rows.append(
                {
                    "l1": float(l1[i]),
                    "psnr": metrics.psnr(truth, result),
                    "ab_auc": metrics.ab_error_auc(truth_ab, result_ab),
                    "colourfulness": metrics.colourfulness(result),
                    "truth_colourfulness": metrics.colourfulness(truth),
                    "cast": metrics.global_cast(truth_ab, result_ab),
                    "hue_error": metrics.hue_error(truth_ab, result_ab),
                    "baseline_cast": metrics.global_cast(truth_ab, 0 * truth_ab),
                }
            )
    if not rows:
        return {name: float("nan") for name in BATCH_SCORES}
    mean = {k: float(np.mean([row[k] for row in rows])) for k in rows[0]}
    mean["hue_error"] = _mean([row["hue_error"] for row in rows])  # of the defined
    return {
        "l1": mean["l1"],
        "psnr": mean["psnr"],
        "ab_auc": mean["ab_auc"],
        "hist_a": metrics.histogram_intersection(hists["model"][0], hists["truth"][0]),
        "hist_b": metrics.histogram_intersection(hists["model"][1], hists["truth"][1]),
        "colourfulness_ratio": mean["colourfulness"]
        / max(mean["truth_colourfulness"], 1e-9),
        "cast": mean["cast"],
        "hue_error": mean["hue_error"],
        "baseline_cast": mean["baseline_cast"],
    }
