"""What guidance costs at 640 x 480: a reference photo, a palette, the uncertainty map
and suggested hints, against the automatic colorization.

    python benchmarks/guidance.py                 # shipped model, 15 runs of each
    python benchmarks/guidance.py --model runs/r3d/model.keras --repeats 30

One 640 x 480 photo (scikit-image's astronaut, its L) in memory, the warm model: the
median ms of --repeats runs of each, the runs taking turns so that a load on the
machine slows all alike. "reference" includes making the prior from a 640 x 480
reference photo (scikit-image's coffee); "palette" from three colours. Prints the
table and the costs over automatic (the goals: <= 20 ms for a reference or palette,
<= 10 ms for the uncertainty map), then one JSON object with every figure.
"""

import argparse
import json
import os
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def _parser():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", help="a .keras model (default: the shipped model)")
    parser.add_argument("--repeats", type=int, default=15, help="timed runs of each")
    return parser


def _median_ms(runs, repeats):
    """{name: median ms} of the named callables, taking turns after a warm-up."""
    import numpy as np

    times = {name: [] for name in runs}
    for run in runs.values():
        run()
    for _ in range(repeats):
        for name, run in runs.items():
            start = time.perf_counter()
            run()
            times[name].append(time.perf_counter() - start)
    return {name: 1000 * float(np.median(spent)) for name, spent in times.items()}


def main(argv=None):
    args = _parser().parse_args(argv)
    import numpy as np
    from PIL import Image
    from skimage import data

    from colorization.inference import image_io
    from colorization.inference.colorizer import Colorizer

    colorizer = Colorizer.load(args.model)

    def photo(image):
        return np.asarray(Image.fromarray(image).resize((640, 480), Image.BICUBIC))

    grey = image_io.colourless(photo(data.astronaut()))
    reference = photo(data.coffee())
    palette = "#7a2f1c,#2f4f7a,#d8c8a0"
    runs = {
        "automatic": lambda: colorizer.colorize_array(grey),
        "reference": lambda: colorizer.colorize_array(
            grey, guide=colorizer.make_guide(reference=reference)
        ),
        "palette": lambda: colorizer.colorize_array(
            grey, guide=colorizer.make_guide(palette=palette)
        ),
        "with uncertainty map": lambda: colorizer.colorize_with_uncertainty(grey),
        "suggest 5 spots": lambda: colorizer.suggest_hints(grey, 5),
    }
    ms = _median_ms(runs, args.repeats)
    auto = ms["automatic"]
    print(f"640 x 480, median of {args.repeats} runs each (ms)")
    print("| run | ms | over automatic |")
    print("|---|---|---|")
    for name, value in ms.items():
        extra = "" if name == "automatic" else f"{value - auto:+.1f}"
        print(f"| {name} | {value:.1f} | {extra} |")
    print(
        "goals: reference or palette <= +20 ms, the uncertainty map <= +10 ms "
        "(the colorized photo and its map from one pass: Colorizer."
        "colorize_with_uncertainty)"
    )
    print(json.dumps({"ms": ms, "repeats": args.repeats}))


if __name__ == "__main__":
    main()
