"""What `--quality best` costs and what it buys, against the default `--quality fast`.

    python benchmarks/quality_mode.py                  # shipped model, 100 val photos
    python benchmarks/quality_mode.py --count 404 --val ../shared/datasets/photos/val
    python benchmarks/quality_mode.py --scale 1.5      # another second input size

Time: file-to-file colorization of one 640 x 480 JPEG (scikit-image's astronaut photo;
read, colorize at full resolution, write JPEG) with the warm model, the median of
--repeats runs after a warm-up, fast and best taking turns. Quality: on --count photos
of --val (spread over its sorted paths, so every source is sampled), each photo's L
colorized and compared with its true colours: PSNR (capped at 60 dB as evaluate.py
does), colourfulness (Hasler and Suesstrunk; the truth's beside it) and global cast
(the distance, in Lab ab units, between the mean ab of result and truth), each a mean
over photos. The row "best, plain mean" averages the same four predictions with a
plain mean instead of the chroma-preserving one, to show what that choice buys.
The last line is one JSON object with every figure.
"""

import argparse
import json
import os
import sys
import tempfile
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

ROWS = ("fast", "best", "best_plain_mean")
PSNR_CAP = 60.0  # as `colorization.evaluation.scoring`


def _parser():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", help="a .keras model (default: the shipped model)")
    parser.add_argument(
        "--val", default="../shared/datasets/photos/val", help="validation photos"
    )
    parser.add_argument("--count", type=int, default=100, help="photos to score")
    parser.add_argument("--repeats", type=int, default=7, help="timed runs of each")
    parser.add_argument(
        "--scale",
        type=float,
        help="the best quality's second input size relative to the model's (default: "
        "graph.BEST_SCALE)",
    )
    return parser


def _interleaved_ms(runs, repeats):
    """The median ms of each of `runs`, taking turns after a warm-up of each."""
    import numpy as np

    times = [[] for _ in runs]
    for run in runs:
        run()
    for _ in range(repeats):
        for run, spent in zip(runs, times):
            start = time.perf_counter()
            run()
            spent.append(time.perf_counter() - start)
    return [round(1000 * float(np.median(spent)), 1) for spent in times]


def _file_times(colorizers, repeats):
    """640 x 480 file-to-file ms of each colorizer."""
    from PIL import Image
    from skimage import data

    from colorization.inference import batch_inference, planning

    photo = Image.fromarray(data.astronaut()).resize((640, 480), Image.BICUBIC)
    with tempfile.TemporaryDirectory() as tmp:
        source = os.path.join(tmp, "in_640x480.jpg")
        photo.save(source, quality=92)
        jobs, _ = planning.plan_jobs([source], os.path.join(tmp, "out"))

        def timed(colorizer):
            def run():
                report = batch_inference.colorize_files(colorizer, jobs, progress=False)
                assert report.done and not report.failed

            return run

        return _interleaved_ms([timed(c) for c in colorizers], repeats)


def _plain_mean(colorizer, rgb):
    """The best quality's four predictions averaged with a plain mean, joined."""
    import numpy as np
    import tensorflow as tf

    from colorization.inference import graph

    small, large = (int(s) for s in graph.best_sizes(colorizer.size, colorizer.stride))
    batch = rgb[None]
    grid = colorizer.predict_ab(batch, size=large).shape[1:3]
    predictions = []
    for side in (large, small):
        for mirror in (False, True):
            ab = colorizer.predict_ab(batch[:, :, ::-1] if mirror else batch, size=side)
            ab = ab[:, :, ::-1] if mirror else ab
            predictions.append(tf.image.resize(ab, grid, method="bilinear").numpy())
    return colorizer.join_ab(batch, np.mean(predictions, 0))[0]


def _scores(fast, best, paths):
    """Mean PSNR, colourfulness and global cast of each row, and the truth's
    colourfulness, over the photos."""
    import numpy as np

    from colorization.evaluation import metrics
    from colorization.inference import image_io

    rows = {name: {"psnr": [], "colourfulness": [], "cast": []} for name in ROWS}
    truth_colour = []
    for path in paths:
        data = image_io.read_image(path)
        truth = image_io.to_uint8(data.rgb)
        truth_ab = metrics.ab_channels(truth).reshape(-1, 2).mean(0)
        truth_colour.append(metrics.colourfulness(truth))
        results = {
            "fast": fast.colorize_array(data.rgb),
            "best": best.colorize_array(data.rgb),
            "best_plain_mean": _plain_mean(fast, truth),
        }
        for name, result in results.items():
            ab = metrics.ab_channels(result).reshape(-1, 2).mean(0)
            rows[name]["psnr"].append(min(metrics.psnr(truth, result), PSNR_CAP))
            rows[name]["colourfulness"].append(metrics.colourfulness(result))
            rows[name]["cast"].append(float(np.hypot(*(ab - truth_ab))))
    means = {
        name: {key: float(np.mean(values)) for key, values in row.items()}
        for name, row in rows.items()
    }
    return means, float(np.mean(truth_colour))


def main(argv=None):
    args = _parser().parse_args(argv)

    from colorization.inference import graph
    from colorization.inference.colorizer import Colorizer
    from data_pipeline import files

    if args.scale is not None:
        graph.BEST_SCALE = args.scale  # read when the best graph is traced
    fast = Colorizer.load(args.model)
    best = Colorizer(fast.models, size=fast.size, stride=fast.stride, quality="best")
    small, large = (int(s) for s in graph.best_sizes(fast.size, fast.stride))
    figures = {
        "model": args.model or "default",
        "sizes": [small, large],
        "cpu_count": os.cpu_count(),
        "load_average": round(os.getloadavg()[0], 2),
    }
    print(f"network input sizes: fast {small}, best {small} and {large} (x2 mirrored)")
    fast_ms, best_ms = _file_times([fast, best], args.repeats)
    figures.update(fast_640x480_ms=fast_ms, best_640x480_ms=best_ms)
    ratio = best_ms / fast_ms
    print(
        f"640x480 file to file: fast {fast_ms:.1f} ms, best {best_ms:.1f} ms "
        f"(x{ratio:.2f})",
        flush=True,
    )

    paths = list(files.walk_images(args.val))
    paths = paths[:: max(1, len(paths) // args.count)][: args.count]
    means, truth_colour = _scores(fast, best, paths)
    figures.update(photos=len(paths), truth_colourfulness=round(truth_colour, 2))
    print(f"{len(paths)} photos of {args.val} (truth colourfulness {truth_colour:.1f})")
    print(f"{'':>16} {'PSNR dB':>8} {'colourful.':>10} {'cast ab':>8}")
    for name in ROWS:
        row = means[name]
        scores = f"{row['psnr']:8.2f} {row['colourfulness']:10.2f} {row['cast']:8.2f}"
        print(f"{name:>16} {scores}")
        for key, value in row.items():
            figures[f"{name}_{key}"] = round(value, 3)
    figures["load_average_end"] = round(os.getloadavg()[0], 2)
    print(json.dumps(figures))
    return 0


if __name__ == "__main__":
    sys.exit(main())
