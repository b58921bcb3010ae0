"""File-to-file colorization time with a warm model, for four photo sizes, and peak RSS.

    python benchmarks/inference.py                       # the shipped default model
    python benchmarks/inference.py --model runs/unet/model.keras --precision bf16

Each size is a JPEG made from scikit-image's astronaut photo; the time of one file
covers reading, colorizing at full resolution and writing the result (the median of
--repeats runs after a warm-up). The last line is one JSON object with every figure.
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


def main(argv=None):
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
    args = parser.parse_args(argv)

    import numpy as np
    from PIL import Image
    from skimage import data

    from colorization import batch_inference
    from colorization.inference import Colorizer

    if args.precision == "bf16":
        import keras

        keras.mixed_precision.set_global_policy("mixed_bfloat16")
    colorizer = Colorizer.load(args.model, size=args.size)
    figures = {
        "model": args.model or "default",
        "size": colorizer.size,
        "precision": args.precision,
        "cpu_count": os.cpu_count(),
        "rss_after_load_mb": round(_peak_rss_mb(), 1),
    }
    with tempfile.TemporaryDirectory() as tmp:
        for width, height in SIZES:
            source = os.path.join(tmp, f"in_{width}x{height}.jpg")
            Image.fromarray(data.astronaut()).resize(
                (width, height), Image.BICUBIC
            ).save(source, quality=92)
            jobs, _ = batch_inference.plan_jobs([source], os.path.join(tmp, "out"))
            batch_inference.colorize_files(colorizer, jobs, progress=False)  # warm-up
            times = []
            for _ in range(args.repeats):
                start = time.perf_counter()
                report = batch_inference.colorize_files(colorizer, jobs, progress=False)
                times.append(time.perf_counter() - start)
                assert report.done and not report.failed
            key = f"{width}x{height}"
            figures[f"{key}_ms"] = round(1000 * float(np.median(times)), 1)
            print(f"{key:>10}: {figures[f'{key}_ms']:8.1f} ms per file", flush=True)
    figures["peak_rss_mb"] = round(_peak_rss_mb(), 1)
    print(f"peak RSS: {figures['peak_rss_mb']:.0f} MB")
    print(json.dumps(figures))
    return 0


if __name__ == "__main__":
    sys.exit(main())
