"""Hints through a video shot (issue 23's video goal): a hint placed on the first frame
of a pan must keep its colour on the hinted object in the shot's last frame (within 10
ab units at the tracked point) and be gone after the cut.

    python benchmarks/video_hints.py                  # the shipped default model
    python benchmarks/video_hints.py --colour "#2040c0" --point 185 100

The clip: a --width x --height window sliding --step pixels a frame to the right across
scikit-image's astronaut photo in grey (rows from --top; --frames frames, so the
content moves left by --step a frame), then a cut to a slow pan across the coffee
photo (--after frames), written as MJPG with OpenCV. One hint of --colour at --point
(x, y of the first frame; by default on the astronaut's orange suit) is placed on frame
0 only, and the clip is colorized with `Colorizer.colorize_video(..., hints=...)`,
temporal smoothing on, and once more without hints for comparison (both after a
warm-up that traces their graphs). Figures: where the
tracker puts the point (run again on the decoded frames exactly as `colorize_video`
runs it) against the known pan; the ab (Lab, 5 x 5 pixels around the tracked point)
of the result in the shot's last frame against the hint's ab; the same point's ab in
the frames after the cut. The last line is one JSON object with every figure.
"""

import argparse
import json
import os
import sys
import tempfile
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("OPENCV_FFMPEG_LOGLEVEL", "-8")

GOAL = 10.0  # ab units at the tracked point in the shot's last frame


def _parser():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", help="a .keras model (default: the shipped model)")
    parser.add_argument("--size", type=int, help="longer side the network sees")
    parser.add_argument("--width", type=int, default=320)
    parser.add_argument("--height", type=int, default=240)
    parser.add_argument("--top", type=int, default=200, help="first row of the window")
    parser.add_argument("--frames", type=int, default=40, help="of the pan (the shot)")
    parser.add_argument("--after", type=int, default=10, help="frames after the cut")
    parser.add_argument("--step", type=int, default=4, help="pixels a frame")
    parser.add_argument("--point", type=float, nargs=2, default=(215, 160))
    parser.add_argument("--colour", default="#20a040")
    return parser


def make_clip(path, args):
    """Writes the pan and the cut (grey, MJPG); returns the frame count."""
    import cv2
    import numpy as np
    from skimage import data

    astronaut = cv2.cvtColor(data.astronaut(), cv2.COLOR_RGB2GRAY)
    coffee = cv2.cvtColor(data.coffee(), cv2.COLOR_RGB2GRAY)
    width, height, top = args.width, args.height, args.top
    if args.step * (args.frames - 1) + width > astronaut.shape[1]:
        raise SystemExit(
            "the pan runs off the photo: fewer --frames or a smaller --step"
        )
    frames = [
        astronaut[top : top + height, args.step * t : args.step * t + width]
        for t in range(args.frames)
    ]
    frames += [
        coffee[100 : 100 + height, 2 * t : 2 * t + width] for t in range(args.after)
    ]
    writer = cv2.VideoWriter(path, cv2.VideoWriter_fourcc(*"MJPG"), 24, (width, height))
    for grey in frames:
        writer.write(np.ascontiguousarray(np.stack([grey] * 3, -1)))
    writer.release()
    return len(frames)


def read_frames(path):
    """Every frame of a video as uint8 RGB, as OpenCV decodes it."""
    import cv2

    capture, frames = cv2.VideoCapture(path, cv2.CAP_FFMPEG), []
    while True:
        ok, bgr = capture.read()
        if not ok:
            break
        frames.append(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB))
    capture.release()
    return frames


def ab_at(rgb, point):
    """The mean Lab ab of the 5 x 5 pixels around (x, y)."""
    from skimage import color

    x, y = (int(round(v)) for v in point)
    patch = rgb[max(y - 2, 0) : y + 3, max(x - 2, 0) : x + 3]
    return color.rgb2lab(patch).mean((0, 1))[1:]


def tracked_points(colorizer, frames, hints):
    """The hint's point in each frame (None once dropped), tracked as `colorize_video`
    tracks it; and the frames the tracker found cuts at."""
    from colorization.inference import video, video_hints

    tracker = video_hints.HintTracker(
        hints, lightness=video.network_lightness(colorizer)
    )
    points = []
    for rgb in frames:
        found = tracker.step(rgb)
        points.append(None if found is None else found.points[0].tolist())
    return points, tracker.cuts


def warm_up(colorizer, source, hints):
    """Traces the graphs both runs use (hinted and automatic frames) on a few frames."""
    from colorization.inference import temporal, video

    frames = read_frames(source)
    few = frames[:2] + frames[-1:]  # two hinted frames, then a cut: one without hints
    smoother = temporal.TemporalSmoother(temporal.Smoothing())
    list(video.colorize_frames(colorizer, few, smoother, hints=hints))
    list(video.colorize_frames(colorizer, few, smoother))


def main(argv=None):
    args = _parser().parse_args(argv)
    import numpy as np
    from skimage import color

    from colorization.hints import user_hints
    from colorization.inference.colorizer import Colorizer

    colorizer = Colorizer.load(args.model, size=args.size)
    x0, y0 = args.point
    hints = user_hints.parse_hints(
        [{"x": x0, "y": y0, "color": args.colour, "frame": 0}]
    )
    wanted = color.rgb2lab(hints.colours[None].astype(np.uint8))[0, 0, 1:]
    last = args.frames - 1
    with tempfile.TemporaryDirectory() as tmp:
        source = os.path.join(tmp, "pan.avi")
        count = make_clip(source, args)
        warm_up(colorizer, source, hints)
        results = {}
        for name, given in (("hinted", hints), ("automatic", None)):
            start = time.perf_counter()
            report = colorizer.colorize_video(
                source, os.path.join(tmp, f"{name}.mp4"), hints=given, progress=False
            )
            results[name] = (read_frames(report.output), time.perf_counter() - start)
        frames = read_frames(source)
    points, cuts = tracked_points(colorizer, frames, hints)
    truth = [(x0 - args.step * t, y0) for t in range(args.frames)]
    errors = [
        float(np.hypot(p[0] - q[0], p[1] - q[1]))
        for p, q in zip(points, truth)
        if p is not None
    ]
    end = points[last]
    hinted, automatic = results["hinted"][0], results["automatic"][0]
    figures = {
        "model": args.model or "default",
        "network_size": colorizer.size,
        "video_size": f"{args.width}x{args.height}",
        "shot_frames": args.frames,
        "frames_after_cut": args.after,
        "frames_written": len(hinted),
        "cuts_found_by_tracker": cuts,
        "hint": hints.to_json()[0],
        "hint_ab": [round(float(v), 2) for v in wanted],
        "point_kept_to_last_frame": end is not None,
        "tracker_error_px_last": round(errors[-1], 3) if end is not None else None,
        "tracker_error_px_max": round(max(errors), 3),
        "hinted_ms_per_frame": round(1000 * results["hinted"][1] / count, 1),
        "automatic_ms_per_frame": round(1000 * results["automatic"][1] / count, 1),
    }
    lines = [f"clip: {count} frames, cut at frame {args.frames}; tracker cuts {cuts}"]
    if end is not None:
        got, auto = ab_at(hinted[last], end), ab_at(automatic[last], end)
        after = [ab_at(frame, end) for frame in hinted[args.frames :]]
        after_auto = [ab_at(frame, end) for frame in automatic[args.frames :]]
        distance = float(np.hypot(*(got - wanted)))
        far = [float(np.hypot(*(ab - wanted))) for ab in after]
        same = [float(np.hypot(*(a - b))) for a, b in zip(after, after_auto)]
        figures.update(
            last_frame_ab=[round(float(v), 2) for v in got],
            last_frame_ab_distance=round(distance, 2),
            goal_met=distance <= GOAL,
            automatic_last_frame_ab_distance=round(
                float(np.hypot(*(auto - wanted))), 2
            ),
            after_cut_ab_distance_min=round(min(far), 2) if far else None,
            after_cut_ab_distance_mean=round(float(np.mean(far)), 2) if far else None,
            after_cut_hinted_vs_automatic_max=round(max(same), 2) if same else None,
        )
        lines += [
            f"tracker: point at ({end[0]:.1f}, {end[1]:.1f}) in frame {last}, "
            f"{errors[-1]:.2f} px from the pan (max {max(errors):.2f} px over the shot)",
            f"last frame of the shot: ab {got.round(1).tolist()} vs the hint's "
            f"{wanted.round(1).tolist()}: {distance:.1f} ab units (goal <= {GOAL:g}); "
            f"without hints {figures['automatic_last_frame_ab_distance']:.1f}",
        ]
        if far:
            lines.append(
                f"after the cut, the same point: {min(far):.1f} to {max(far):.1f} ab "
                f"units from the hint (mean {np.mean(far):.1f}); within "
                f"{max(same):.1f} of the automatic result"
            )
    else:
        lines.append("tracker: the point was dropped before the shot's last frame")
    lines.append(
        f"time (warm, whole colorize_video call): "
        f"{figures['hinted_ms_per_frame']:.0f} ms a frame hinted, "
        f"{figures['automatic_ms_per_frame']:.0f} ms automatic"
    )
    print("\n".join(lines))
    print(json.dumps(figures))
    return 0


if __name__ == "__main__":
    sys.exit(main())
