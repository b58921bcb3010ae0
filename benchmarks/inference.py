"""File-to-file colorization time with a warm model, for four photo sizes, peak RSS, and
the time to colorize a photo again with colour hints.

    python benchmarks/inference.py                       # the shipped default model
    python benchmarks/inference.py --model runs/unet/model.keras --precision bf16
    python benchmarks/inference.py --model runs/hints/model.keras   # a hinted model

Each size is a JPEG made from scikit-image's astronaut photo; the time of one file
covers reading, colorizing at full resolution and writing the result (the median of
--repeats runs after a warm-up). The hinted row is what the web app does when a user
places a hint: the decoded --hint-size photo colorized again with --hints hints spread
over it (in memory, no file). It runs the --model, or the shipped model, if it is
hinted; for an automatic shipped model, the hinted model `train.py --init-from` makes
from it (hint weights at zero: the same network, so the same cost as a trained one);
none for another automatic --model.
The last line is one JSON object with every figure.
"""

import argparse
import json
import os
import resource
import sys
import tempfile
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

SIZES = ((320, 240), (640, 480), (1920, 1080), (4000, 3000))


def _peak_rss_mb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def _size(text):
    """'640x480' -> (640, 480)."""
    try:
        width, height = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected WIDTHxHEIGHT, not {text!r}"
        ) from None
    return width, height


def _parser():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", help="a .keras model (default: the shipped model)")
    parser.add_argument("--size", type=int, help="longer side the network sees")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument(
        "--precision",
        choices=("fp32", "bf16"),
        default="fp32",
        help="compute dtype of the network",
    )
    parser.add_argument(
        "--sizes", type=_size, nargs="+", default=SIZES, help="photo sizes, WxH"
    )
    parser.add_argument(
        "--hint-size", type=_size, default=(640, 480), help="the hinted row's photo"
    )
    parser.add_argument("--hints", type=int, default=10, help="hints of the hinted row")
    return parser


def _photo(width, height):
    import numpy as np
    from PIL import Image
    from skimage import data

    image = Image.fromarray(data.astronaut()).resize((width, height), Image.BICUBIC)
    return np.asarray(image)


def _median_ms(run, repeats):
    return _interleaved_ms([run], repeats)[0]


def _interleaved_ms(runs, repeats):
    """The median ms of each of `runs`, taking turns (a busy machine slows them alike),
    after a warm-up (and tracing) of each."""
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


def _file_rows(colorizer, sizes, repeats, figures):
    from PIL import Image

    from colorization.inference import batch_inference, planning

    with tempfile.TemporaryDirectory() as tmp:
        for width, height in sizes:
            source = os.path.join(tmp, f"in_{width}x{height}.jpg")
            Image.fromarray(_photo(width, height)).save(source, quality=92)
            jobs, _ = planning.plan_jobs([source], os.path.join(tmp, "out"))

            def run(jobs=jobs):
                report = batch_inference.colorize_files(colorizer, jobs, progress=False)
                assert report.done and not report.failed

            key = f"{width}x{height}"
            figures[f"{key}_ms"] = _median_ms(run, repeats)
            print(f"{key:>10}: {figures[f'{key}_ms']:8.1f} ms per file", flush=True)


def hinted_colorizer(colorizer, model_path):
    """The Colorizer of the hinted row (see the module's docstring), or None."""
    if colorizer.hinted:
        return colorizer
    if model_path is not None:
        return None
    from colorization.config.presets import resolve_config
    from colorization.inference.colorizer import Colorizer
    from colorization.models import build_generator, set_blend
    from colorization.models.layers import HeadBlend, nested_layers
    from colorization.training.warm_start import copy_weights

    shipped = colorizer.models[0]
    generator = build_generator(resolve_config("default-hints").generator)
    copy_weights(generator, shipped)
    blends = [layer for layer in nested_layers(shipped) if isinstance(layer, HeadBlend)]
    if blends:
        set_blend(generator, blends[0].weight)
    return Colorizer([generator], size=colorizer.size, stride=colorizer.stride)


def _hinted_row(colorizer, size, count, repeats, figures):
    import numpy as np

    width, height = size
    rgb = _photo(width, height)
    rng = np.random.default_rng(14)
    hints = [
        (int(rng.integers(width)), int(rng.integers(height)), tuple(rng.integers(256, size=3)))
        for _ in range(count)
    ]  # fmt: skip
    key = f"{width}x{height}"
    with_hints, without = _interleaved_ms(
        [
            lambda: colorizer.colorize_array(rgb, hints),
            lambda: colorizer.colorize_array(rgb),
        ],
        repeats,
    )
    figures[f"hinted_{key}_ms"] = with_hints
    figures[f"hinted_{key}_no_hints_ms"] = without
    print(
        f"{key:>10}: {figures[f'hinted_{key}_ms']:8.1f} ms again with {count} hints "
        f"(in memory; {figures[f'hinted_{key}_no_hints_ms']:.1f} ms without)",
        flush=True,
    )


def main(argv=None):
    args = _parser().parse_args(argv)

    from colorization.inference.colorizer import Colorizer

    if args.precision == "bf16":
        import keras

        keras.mixed_precision.set_global_policy("mixed_bfloat16")
    colorizer = Colorizer.load(args.model, size=args.size)
    figures = {
        "model": args.model or "default",
        "size": colorizer.size,
        "precision": args.precision,
        "cpu_count": os.cpu_count(),
        "load_average": round(os.getloadavg()[0], 2),
        "rss_after_load_mb": round(_peak_rss_mb(), 1),
    }
    _file_rows(colorizer, args.sizes, args.repeats, figures)
    hinted = hinted_colorizer(colorizer, args.model)
    if hinted is not None:
        _hinted_row(hinted, args.hint_size, args.hints, args.repeats, figures)
    figures["peak_rss_mb"] = round(_peak_rss_mb(), 1)
    print(f"peak RSS: {figures['peak_rss_mb']:.0f} MB")
    print(json.dumps(figures))
    return 0


if __name__ == "__main__":
    sys.exit(main())
