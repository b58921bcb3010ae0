"""Flicker of frame-by-frame and smoothed video colour, and what smoothing costs, on
clips made from real colour photos.

    python scripts/video_flicker.py --val ../shared/datasets/photos/val
    python scripts/video_flicker.py --val ../shared/datasets/photos/val \
        --strengths 0.6,0.8,0.9 --scales 1,2,4      # a sweep of the smoothing

Three kinds of clip, `--clips` of each, `--frames` frames of 320 x 240, cut out of the
landscape photos of --val (sorted, spread over the set): a slow pan across a photo, a
slow zoom into one, and a pan across one photo that cuts to a pan across another half
way. The network runs once per frame; its ab is then joined with each frame's L as it is
(per frame) and after `TemporalSmoother` (smoothed). For each:

    flicker         mean |ab change| (Lab units) between consecutive frames over the
                    pixels whose L changed by less than 1 (`metrics.flicker`), the pair
                    across the cut left out
    psnr            mean over frames, against the clip's true colours
    colourfulness   mean over frames (the truth's is printed beside it)

The clips are measured as arrays, before any video encoding. The last line is one JSON
object with every figure of the first smoothing setting.
"""

import argparse
import dataclasses
import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

KINDS = ("pan", "zoom", "cut")
WIDTH, HEIGHT = 320, 240


def _numbers(text, kind):
    try:
        return [kind(value) for value in text.split(",")]
    except ValueError:
        raise SystemExit(f"error: {text!r} is not a comma-separated list") from None


def landscape_photos(folder, count):
    """`count` photos of at least 400 x 290, landscape, spread over the sorted folder."""
    from PIL import Image

    from data_pipeline import files

    paths = []
    for path in files.walk_images(folder):
        with Image.open(path) as image:
            width, height = image.size
        if width >= 400 and height >= 290 and width > height:
            paths.append(path)
    if len(paths) < count:
        raise SystemExit(
            f"error: {folder} has {len(paths)} landscape photos, need {count}"
        )
    step = len(paths) / count
    return [paths[int(i * step)] for i in range(count)]


def _view(photo, scale, x, y):
    """The WIDTH x HEIGHT view of `photo` whose top-left is (x, y), `scale` photo pixels
    per view pixel (sub-pixel positions are interpolated, as a camera would see)."""
    import cv2
    import numpy as np

    matrix = np.float32([[1 / scale, 0, -x / scale], [0, 1 / scale, -y / scale]])
    return cv2.warpAffine(photo, matrix, (WIDTH, HEIGHT), flags=cv2.INTER_LINEAR)


def pan(photo, frames):
    """A slow left-to-right pan (and a little down) over 80% of the photo's width."""
    height, width = photo.shape[:2]
    scale = 0.8 * min(width / WIDTH, height / HEIGHT)
    room_x, room_y = width - scale * WIDTH, height - scale * HEIGHT
    return [
        _view(photo, scale, room_x * t / (frames - 1), room_y * 0.5 * t / (frames - 1))
        for t in range(frames)
    ]


def zoom(photo, frames):
    """A slow zoom from 95% to 65% of the photo, towards a point off its centre."""
    height, width = photo.shape[:2]
    fit = min(width / WIDTH, height / HEIGHT)
    views = []
    for t in range(frames):
        scale = fit * (0.95 - 0.30 * t / (frames - 1))
        x = (width - scale * WIDTH) * 0.4
        y = (height - scale * HEIGHT) * 0.6
        views.append(_view(photo, scale, x, y))
    return views


def make_clips(paths, clips, frames):
    """[(name, kind, frames, cut index or None)] from the photos at `paths`."""
    import numpy as np

    from colorization.inference import image_io

    photos = [image_io.to_uint8(image_io.read_image(p).rgb) for p in paths]
    made = []
    for i in range(clips):
        a, b, c, d = photos[4 * i : 4 * i + 4]
        name = os.path.basename(paths[4 * i])
        made.append((name, "pan", np.stack(pan(a, frames)), None))
        made.append((name, "zoom", np.stack(zoom(b, frames)), None))
        half = frames // 2
        both = pan(c, frames)[:half] + pan(d, frames)[half:]
        made.append((name, "cut", np.stack(both), half))
    return made


def predict(colorizer, frames, batch_size=8):
    """The network's small L and ab_norm for every frame."""
    import numpy as np

    parts = [
        colorizer.predict_small(frames[i : i + batch_size])
        for i in range(0, len(frames), batch_size)
    ]
    return np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts])


def score(colorizer, frames, ab_norm, cut, batch_size=8):
    """flicker, mean PSNR and mean colourfulness of the frames coloured with ab_norm."""
    import numpy as np

    from colorization.evaluation import metrics
    from data_pipeline import lab

    outputs = np.concatenate(
        [
            colorizer.join_ab(frames[i : i + batch_size], ab_norm[i : i + batch_size])
            for i in range(0, len(frames), batch_size)
        ]
    )
    lab_frames = [lab.rgb_to_lab(frame).numpy() for frame in outputs]
    flicker, _ = metrics.flicker(lab_frames, skip=() if cut is None else (cut,))
    return {
        "flicker": flicker,
        "psnr": float(np.mean([metrics.psnr(t, o) for t, o in zip(frames, outputs)])),
        "colourfulness": float(np.mean([metrics.colourfulness(o) for o in outputs])),
    }


def smooth(small_l, ab_norm, smoothing):
    """ab_norm after a fresh `TemporalSmoother`, the cuts it found and its cut score
    (mean |L change|) at each frame."""
    import numpy as np

    from colorization.inference.temporal import TemporalSmoother

    smoother, smoothed, changes = TemporalSmoother(smoothing), [], []
    for lum, ab in zip(small_l, ab_norm):
        smoothed.append(smoother.update(lum[..., 0], ab))
        changes.append(smoother.change)
    return np.stack(smoothed), smoother.cuts, changes


def run_setting(colorizer, clips, predictions, base, setting):
    """Per-clip results with `setting`, the cuts found in each clip, and the largest
    cut score within shots and the smallest at the true cuts."""
    results, cuts_found, within, at_cuts = [], {}, [0.0], [float("inf")]
    for (name, kind, frames, cut), (small_l, ab), row in zip(clips, predictions, base):
        smoothed, cuts, changes = smooth(small_l, ab, setting)
        cuts_found[f"{kind}:{name}"] = cuts
        within += [c for t, c in enumerate(changes) if t != cut]
        at_cuts += [changes[cut]] if cut is not None else []
        results.append(dict(row, smoothed=score(colorizer, frames, smoothed, cut)))
    return results, cuts_found, (max(within), min(at_cuts))


def score_per_frame(colorizer, clips, predictions):
    """Each clip's name, kind, true colourfulness and frame-by-frame figures."""
    from colorization.evaluation import metrics

    rows = []
    for (name, kind, frames, cut), (_, ab) in zip(clips, predictions):
        truth = float(sum(metrics.colourfulness(f) for f in frames) / len(frames))
        rows.append(
            {
                "name": name,
                "kind": kind,
                "truth_colourfulness": truth,
                "per_frame": score(colorizer, frames, ab, cut),
            }
        )
    return rows


def _mean(rows, key):
    return float(sum(r[key] for r in rows) / len(rows))


def summarise(results):
    """Means by kind and overall of each clip's per-frame and smoothed figures."""
    summary = {}
    for kind in KINDS + ("all",):
        rows = [r for r in results if kind in ("all", r["kind"])]
        entry = {
            f"{mode}_{key}": _mean([r[mode] for r in rows], key)
            for mode in ("per_frame", "smoothed")
            for key in ("flicker", "psnr", "colourfulness")
        }
        entry["truth_colourfulness"] = _mean(rows, "truth_colourfulness")
        entry["flicker_ratio"] = entry["smoothed_flicker"] / entry["per_frame_flicker"]
        entry["psnr_change_db"] = entry["smoothed_psnr"] - entry["per_frame_psnr"]
        summary[kind] = entry
    return summary


def print_table(summary, setting):
    print(f"\nsmoothing {setting}")
    print(
        "| clips | flicker per frame | flicker smoothed | ratio | PSNR per frame | "
        "PSNR smoothed | colourfulness per frame / smoothed / truth |"
    )
    print("|---|---|---|---|---|---|---|")
    for kind, s in summary.items():
        print(
            f"| {kind} | {s['per_frame_flicker']:.2f} | {s['smoothed_flicker']:.2f} | "
            f"{s['flicker_ratio']:.2f} | {s['per_frame_psnr']:.2f} | "
            f"{s['smoothed_psnr']:.2f} | {s['per_frame_colourfulness']:.1f} / "
            f"{s['smoothed_colourfulness']:.1f} / {s['truth_colourfulness']:.1f} |",
            flush=True,
        )


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--val", required=True, help="folder of colour photos")
    parser.add_argument("--model", help="a .keras model (default: the shipped model)")
    parser.add_argument("--clips", type=int, default=3, help="clips of each kind")
    parser.add_argument("--frames", type=int, default=48, help="frames per clip")
    parser.add_argument("--strengths", help="smoothing strengths to try, a,b,...")
    parser.add_argument("--scales", help="lightness scales to try, a,b,...")
    args = parser.parse_args(argv)
    if args.clips < 1 or args.frames < 4:
        raise SystemExit("error: need --clips >= 1 and --frames >= 4")

    from colorization.inference.colorizer import Colorizer
    from colorization.inference.temporal import Smoothing

    default = Smoothing()
    settings = [
        Smoothing(strength=s, lightness_scale=k)
        for s in (
            _numbers(args.strengths, float) if args.strengths else [default.strength]
        )
        for k in (
            _numbers(args.scales, float) if args.scales else [default.lightness_scale]
        )
    ]
    start = time.perf_counter()
    colorizer = Colorizer.load(args.model)
    clips = make_clips(
        landscape_photos(args.val, 4 * args.clips), args.clips, args.frames
    )
    predictions = [predict(colorizer, frames) for _, _, frames, _ in clips]
    base = score_per_frame(colorizer, clips, predictions)
    figures = None
    for setting in settings:
        results, cuts_found, (within, at_cuts) = run_setting(
            colorizer, clips, predictions, base, setting
        )
        summary = summarise(results)
        print_table(summary, setting)
        print(f"cuts found (1 expected in each cut clip, 0 elsewhere): {cuts_found}")
        print(
            f"cut score: at most {within:.1f} within shots, at least {at_cuts:.1f} at "
            f"cuts (threshold {setting.cut_threshold})"
        )
        if figures is None:
            figures = {
                "model": args.model or "default",
                "clips_per_kind": args.clips,
                "frames": args.frames,
                "size": f"{WIDTH}x{HEIGHT}",
                "smoothing": dataclasses.asdict(setting),
                "cuts_found": cuts_found,
                "cut_score_within_shots_max": round(within, 2),
                "cut_score_at_cuts_min": round(at_cuts, 2),
                **{
                    k: {m: round(v, 3) for m, v in s.items()}
                    for k, s in summary.items()
                },
            }
    figures["seconds"] = round(time.perf_counter() - start, 1)
    print(json.dumps(figures))
    return 0


if __name__ == "__main__":
    sys.exit(main())
