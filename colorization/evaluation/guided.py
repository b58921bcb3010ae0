"""How much guidance helps: references, palettes, suggested hints and variants, scored
on colour photos whose truth is known (`scripts/guidance_table.py`).

For every photo (its grey L is the input, as in `scoring`):
- automatic: no guidance;
- own reference: the photo's own colour original as the reference (the upper bound
  of what a reference can do);
- other reference: the next photo of the same folder (sorted by name, cyclic), a
  photo "of the same kind";
- alike reference: the photo of the same folder whose automatic colours are most
  alike (the Hellinger distance of the model's colour distributions averaged over
  each grey photo, `alike_in_folder`): the reference a user would pick, chosen
  without the truth of the photo colorized;
- palette: the 3 colours of a k-means (Lab, `kmeans_palette`) of the photo's truth;
- hints at suggested spots against hints at random spots (1, 2 and 5; uniform over the
  photo under a seed per photo): a simulated user who gives the true colour there
  (the mean of a small patch of the truth, `HINT_PATCH`);
- variants: best-of-N PSNR and the mean distance of the variants' ab, pair by pair.

Scores are `metrics.psnr` of the RGB result and `metrics.hue_error` (degrees, pixels
coloured in both); set figures are means over photos (the hue error over the photos
where it is defined).
"""

import os
import zlib

import numpy as np

from colorization.evaluation import metrics
from colorization.hints import user_hints
from colorization.inference import image_io

HINT_COUNTS = (1, 2, 5)
HINT_PATCH = 0.01  # half side of the truth patch a simulated hint takes, share of side
SEED = 23
GUIDES = ("automatic", "own reference", "other reference", "alike reference", "palette")


def kmeans_palette(rgb, k=3, iterations=20, seed=0, sample=20000):
    """The `k` colours of a k-means of the photo's pixels in Lab (k-means++ start,
    `sample` pixels), as "#rrggbb", most frequent first."""
    import tensorflow as tf

    from data_pipeline import lab

    pixels = image_io.to_uint8(rgb).reshape(-1, 3)
    rng = np.random.default_rng(seed)
    if len(pixels) > sample:
        pixels = pixels[rng.choice(len(pixels), sample, replace=False)]
    points = lab.rgb_to_lab(tf.constant(pixels / 255.0, tf.float32)).numpy()
    centres = [points[rng.integers(len(points))]]
    for _ in range(1, k):
        distance = np.min([((points - c) ** 2).sum(1) for c in centres], 0)
        total = distance.sum()
        pick = rng.choice(len(points), p=distance / total) if total > 0 else 0
        centres.append(points[pick])
    centres = np.array(centres)
    for _ in range(iterations):
        label = np.argmin(((points[:, None] - centres[None]) ** 2).sum(-1), 1)
        centres = np.array(
            [
                points[label == j].mean(0) if (label == j).any() else centres[j]
                for j in range(k)
            ]
        )
    counts = np.bincount(label, minlength=k)
    order = np.argsort(-counts)
    rgb_centres = lab.to_uint8(lab.lab_to_rgb(tf.constant(centres[order], tf.float32)))
    return [user_hints.hex_colour(c) for c in rgb_centres.numpy()]


def _scores(truth, result):
    truth_ab = metrics.ab_channels(truth)
    return {
        "psnr": metrics.psnr(truth, result),
        "hue_error": metrics.hue_error(truth_ab, metrics.ab_channels(result)),
    }


def _true_hint(truth, x, y):
    """(x, y, colour): the mean truth of a small patch around (x, y)."""
    height, width = truth.shape[:2]
    half = max(1, int(round(HINT_PATCH * max(height, width))))
    patch = truth[
        max(0, y - half) : y + half + 1, max(0, x - half) : x + half + 1
    ].reshape(-1, 3)
    return (x, y, tuple(int(v) for v in np.round(patch.mean(0))))


def _random_spots(shape, count, seed):
    rng = np.random.default_rng(seed)
    height, width = shape
    return [(int(rng.integers(width)), int(rng.integers(height))) for _ in range(count)]


def other_in_folder(paths):
    """For each path, the next path of the same folder (sorted, cyclic); a photo
    alone in its folder gets None."""
    folders = {}
    for path in sorted(paths):
        folders.setdefault(os.path.dirname(path), []).append(path)
    other = {}
    for members in folders.values():
        for index, path in enumerate(members):
            following = members[(index + 1) % len(members)]
            other[path] = following if following != path else None
    return other


def painted_colours(colorizer, path):
    """The model's colour distribution averaged over a photo's grey copy (Q,)."""
    truth = image_io.to_uint8(image_io.read_image(path).rgb)
    cells = colorizer.predict_distribution(image_io.colourless(truth))[2]
    return cells.reshape(-1, cells.shape[-1]).mean(0)


def alike_in_folder(colorizer, paths, progress=True):
    """For each path, the other photo of its folder whose `painted_colours` are
    nearest (Hellinger distance); None for a photo alone in its folder."""
    from tqdm import tqdm

    roots = {
        path: np.sqrt(painted_colours(colorizer, path))
        for path in tqdm(paths, unit="photo", desc="alike", disable=not progress)
    }
    alike = {}
    for path in paths:
        folder = os.path.dirname(path)
        others = [p for p in paths if p != path and os.path.dirname(p) == folder]
        distance = [np.linalg.norm(roots[path] - roots[p]) for p in others]
        alike[path] = others[int(np.argmin(distance))] if others else None
    return alike


def measure_photo(
    colorizer, path, other, strength, variants=4, seed=SEED, alike=None, hints=True
):
    """The scores of one photo (see the module docstring); `hints` False leaves out
    the simulated hints and the variants."""
    truth = image_io.to_uint8(image_io.read_image(path).rgb)
    grey = image_io.colourless(truth)
    row = {"path": path}
    guides = {
        "automatic": None,
        "own reference": colorizer.make_guide(reference=truth, strength=strength),
        "palette": colorizer.make_guide(
            palette=kmeans_palette(truth), strength=strength
        ),
    }
    for name, reference in (("other reference", other), ("alike reference", alike)):
        if reference is not None:
            guides[name] = colorizer.make_guide(reference=reference, strength=strength)
    for name, guide in guides.items():
        row[name] = _scores(truth, colorizer.colorize_array(grey, guide=guide))
    if colorizer.hinted and hints:
        suggested = colorizer.suggest_hints(grey, max(HINT_COUNTS))
        randoms = _random_spots(
            truth.shape[:2], max(HINT_COUNTS), zlib.crc32(f"{seed} {path}".encode())
        )
        for count in HINT_COUNTS:
            for name, spots in (
                ("suggested", [(s.x, s.y) for s in suggested[:count]]),
                ("random", randoms[:count]),
            ):
                hints = [_true_hint(truth, x, y) for x, y in spots]
                result = colorizer.colorize_array(grey, hints)
                row[f"{name} {count}"] = _scores(truth, result)
        if variants:
            made = colorizer.variants(grey, variants, seed=seed)
            scores = [metrics.psnr(truth, rgb) for rgb, _ in made]
            abs_ = [metrics.ab_channels(rgb).astype(np.float64) for rgb, _ in made]
            distances = [
                float(np.linalg.norm(abs_[i] - abs_[j], axis=-1).mean())
                for i in range(len(abs_))
                for j in range(i + 1, len(abs_))
            ]
            row["variants"] = {
                "best_psnr": max(scores),
                "mean_psnr": float(np.mean(scores)),
                "pairwise_ab": float(np.mean(distances)) if distances else 0.0,
            }
    return row


def summarize(rows):
    """Means over photos of every figure of `measure_photo`'s rows."""
    summary = {"count": len(rows)}
    keys = [key for key in rows[0] if key != "path"]
    for key in keys:
        figures = {}
        for figure in rows[0][key]:
            values = [row[key][figure] for row in rows if key in row]
            values = [v for v in values if v == v]  # NaN: undefined for the photo
            figures[figure] = float(np.mean(values)) if values else float("nan")
        summary[key] = figures
    return summary


def format_table(summary):
    """The summary as Markdown tables."""
    auto = summary["automatic"]
    lines = [
        f"{summary['count']} photos",
        "",
        "| guide | PSNR (dB) | gain | hue error (deg) | change |",
        "|---|---|---|---|---|",
    ]
    for name in GUIDES:
        if name in summary:
            s = summary[name]
            lines.append(
                f"| {name} | {s['psnr']:.2f} | {s['psnr'] - auto['psnr']:+.2f} | "
                f"{s['hue_error']:.1f} | "
                f"{100 * (s['hue_error'] / auto['hue_error'] - 1):+.0f} % |"
            )
    if "suggested 1" in summary:
        lines += [
            "",
            "| hints | suggested spots: dB/hint | random spots: dB/hint | ratio |",
            "|---|---|---|---|",
        ]
        for count in HINT_COUNTS:
            gain = {
                name: (summary[f"{name} {count}"]["psnr"] - auto["psnr"]) / count
                for name in ("suggested", "random")
            }
            ratio = (
                gain["suggested"] / gain["random"] if gain["random"] else float("nan")
            )
            lines.append(
                f"| {count} | {gain['suggested']:+.3f} | {gain['random']:+.3f} | "
                f"{ratio:.2f}x |"
            )
    if "variants" in summary:
        v = summary["variants"]
        lines += [
            "",
            f"variants: best-of-N PSNR {v['best_psnr']:.2f} dB "
            f"({v['best_psnr'] - auto['psnr']:+.2f} over automatic), mean "
            f"{v['mean_psnr']:.2f} dB, mean pairwise ab distance "
            f"{v['pairwise_ab']:.2f} Lab units",
        ]
    return "\n".join(lines)
