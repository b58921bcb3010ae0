"""Split a photo folder into colour groups by measured hue (Klefbom-Mjöberg's subsets).

    colorization-subsets photos/train subsets --groups red,yellow,green,blue,neutral
    colorization-subsets photos/train subsets --groups red,blue \\
        --min-chroma 8 --min-share 0.5

(the command is `colorization.cli.subsets`; this module is the library it calls.)

Each photo is read small, converted to Lab (`data_pipeline.lab`, the package's one Lab
code path) and its chroma-weighted hue distribution measured: hue = atan2(b, a),
weight = chroma sqrt(a^2 + b^2), pixels below --min-chroma ignored. A photo goes to the
group whose hue sector (`HUE_SECTORS`) holds the largest share of its chroma weight if
that share is at least --min-share; photos with too little colour for that, or with
fewer than --min-colour-fraction coloured pixels, go to "neutral" (when asked for).
Unreadable and black-and-white files (fewer than --bw-fraction coloured pixels) are
skipped and counted. Writes OUT/GROUP.txt (paths relative to SRC, sorted; the format
`train.py --file-list` reads), OUT/GROUP_hues.png (the group's hue histogram) and
OUT/summary.json.
"""

import os

import cv2
import numpy as np

from data_pipeline import files

# Hue sectors in degrees of Lab hue atan2(b, a), as [start, end), wrapping at 360.
# Measured anchors: sRGB red 40, orange 60, yellow 102, green 136, cyan 196, blue 306,
# magenta 328. Orange and skin tones count as red; cyan as green; purple as blue.
HUE_SECTORS = {
    "red": (330.0, 70.0),
    "yellow": (70.0, 115.0),
    "green": (115.0, 200.0),
    "blue": (200.0, 330.0),
}
NEUTRAL = "neutral"
GROUPS = (*HUE_SECTORS, NEUTRAL)
LONG_SIDE = 96  # photos are measured at this longer side (area resize)
HIST_BINS = 36  # 10-degree bins


def in_sector(hue, sector):
    """Boolean mask of `hue` (degrees in [0, 360)) inside the [start, end) sector."""
    start, end = sector
    if start <= end:
        return (hue >= start) & (hue < end)
    return (hue >= start) | (hue < end)


def read_small(path, long_side=LONG_SIDE):
    """The image at `path` as RGB uint8 with its longer side at most `long_side`, or
    None if it cannot be decoded."""
    data = np.fromfile(path, np.uint8)
    image = cv2.imdecode(data, cv2.IMREAD_COLOR) if data.size else None
    if image is None:
        return None
    scale = long_side / max(image.shape[:2])
    if scale < 1:
        size = (
            max(1, round(image.shape[1] * scale)),
            max(1, round(image.shape[0] * scale)),
        )
        image = cv2.resize(image, size, interpolation=cv2.INTER_AREA)
    return cv2.cvtColor(image, cv2.COLOR_BGR2RGB)


def measure(rgb, min_chroma):
    """Hue statistics of one RGB image.

    Returns:
        dict: "colour_fraction" (pixels with chroma >= `min_chroma`), "mean_chroma"
        (over all pixels), "sum_a"/"sum_b" (chroma-weighted hue vector of the coloured
        pixels), "shares" (share of coloured chroma weight per `HUE_SECTORS` group) and
        "hist" (chroma weight per 10-degree hue bin).
    """
    from data_pipeline.lab import rgb_to_lab  # TensorFlow: only when measuring

    lab = rgb_to_lab(rgb).numpy().reshape(-1, 3)
    a, b = lab[:, 1].astype(np.float64), lab[:, 2].astype(np.float64)
    chroma = np.hypot(a, b)
    coloured = chroma >= min_chroma
    hue = np.degrees(np.arctan2(b, a)) % 360.0
    weight = np.where(coloured, chroma, 0.0)
    total = weight.sum()
    shares = {
        group: float(weight[in_sector(hue, sector)].sum() / total) if total else 0.0
        for group, sector in HUE_SECTORS.items()
    }
    hist, _ = np.histogram(hue, bins=HIST_BINS, range=(0, 360), weights=weight)
    return {
        "colour_fraction": float(coloured.mean()),
        "mean_chroma": float(chroma.mean()),
        "sum_a": float(a[coloured].sum()),
        "sum_b": float(b[coloured].sum()),
        "shares": shares,
        "hist": hist,
    }


def assign(stats, groups, min_share, min_colour_fraction):
    """The group of a measured photo among `groups`, or None (unassigned)."""
    best = max(stats["shares"], key=stats["shares"].get)
    if (
        stats["colour_fraction"] >= min_colour_fraction
        and stats["shares"][best] >= min_share
    ):
        return best if best in groups else None
    return NEUTRAL if NEUTRAL in groups else None


def build_subsets(src, out, groups, min_chroma, min_share, min_colour_fraction, bw):
    """Measures every image under `src` and writes the lists, plots and summary.

    Returns:
        The summary written to OUT/summary.json.
    """
    members = {g: [] for g in groups}
    totals = {g: {"a": 0.0, "b": 0.0, "chroma": 0.0, "hist": 0.0} for g in groups}
    skipped = {"unreadable": 0, "black_and_white": 0}
    unassigned = 0
    for path in files.walk_images(src, exclude=out):
        rgb = read_small(path)
        if rgb is None:
            skipped["unreadable"] += 1
            continue
        stats = measure(rgb, min_chroma)
        if stats["colour_fraction"] < bw:
            skipped["black_and_white"] += 1
            continue
        group = assign(stats, groups, min_share, min_colour_fraction)
        if group is None:
            unassigned += 1
            continue
        members[group].append(os.path.relpath(path, src))
        total = totals[group]
        total["a"] += stats["sum_a"]
        total["b"] += stats["sum_b"]
        total["chroma"] += stats["mean_chroma"]
        total["hist"] = total["hist"] + stats["hist"]
    summary_groups = {}
    for group in groups:
        names, total = sorted(members[group]), totals[group]
        with files.atomic_path(os.path.join(out, f"{group}.txt")) as temporary:
            with open(temporary, "w", encoding="utf-8") as f:
                f.writelines(f"{name}\n" for name in names)
        plot_hues(os.path.join(out, f"{group}_hues.png"), group, total["hist"])
        coloured = total["a"] or total["b"]
        summary_groups[group] = {
            "count": len(names),
            "mean_hue": (
                round(float(np.degrees(np.arctan2(total["b"], total["a"])) % 360), 2)
                if names and coloured
                else None
            ),
            "mean_chroma": round(total["chroma"] / len(names), 3) if names else None,
        }
    summary = {
        "source": os.path.abspath(src),
        "groups": summary_groups,
        "unassigned": unassigned,
        "skipped": skipped,
        "thresholds": {
            "min_chroma": min_chroma,
            "min_share": min_share,
            "min_colour_fraction": min_colour_fraction,
            "bw_fraction": bw,
            "hue_sectors": {g: list(HUE_SECTORS[g]) for g in groups if g != NEUTRAL},
            "long_side": LONG_SIDE,
        },
    }
    files.write_json(os.path.join(out, "summary.json"), summary)
    return summary


def plot_hues(path, group, hist):
    """Writes a bar chart of the chroma-weighted hue histogram `hist` to `path`."""
    from matplotlib.figure import Figure  # no pyplot: no global state, no display

    hist = np.broadcast_to(np.asarray(hist, np.float64), (HIST_BINS,))
    total = hist.sum()
    width = 360 / HIST_BINS
    figure = Figure(figsize=(6, 3))
    axes = figure.subplots()
    axes.bar(np.arange(HIST_BINS) * width, hist / total if total else hist, width,
             align="edge", color="gray")  # fmt: skip
    axes.set(xlim=(0, 360), xticks=range(0, 361, 45), xlabel="Lab hue (degrees)",
             ylabel="share of chroma", title=f"{group}: hue distribution")  # fmt: skip
    figure.tight_layout()
    files.save_figure(figure, path, dpi=80)
