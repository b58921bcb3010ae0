"""Choose a model's network input size (and two-head blend, bins temperature) on
validation photos.

    python scripts/sweep_inference.py runs/default/last.keras \
        --val ../shared/datasets/photos/val --sizes 192,224,256,320 --blends 0.5 --every 4

Scores the model with evaluate.py's metrics at every (size, blend, temperature) on every
`--every`-th photo of --val (sorted paths, so each source of the set is in the sample)
and prints one Markdown row each beside the colourless baseline. The shipped
model's sidecar records the size chosen this way (README: "The shipped default model").
"""

import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

COLUMNS = (
    "psnr",
    "ssim",
    "ab_auc",
    "hist_a",
    "hist_b",
    "colourfulness_ratio",
    "cast",
    "hue_error",
)


def _cell(value):
    """A figure to 3 decimals; '-' for one that is undefined (the baseline's hue)."""
    return "-" if value is None or value != value else f"{value:.3f}"  # None, NaN


def _numbers(text, kind):
    try:
        return [kind(value) for value in text.split(",")]
    except ValueError:
        raise SystemExit(f"error: {text!r} is not a comma-separated list") from None


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("model", help="a .keras model")
    parser.add_argument("--val", required=True, help="folder of validation photos")
    parser.add_argument("--sizes", default="224", help="network input sizes, a,b,...")
    parser.add_argument(
        "--blends", help="bins-head weights of a two-head model, a,b,..."
    )
    parser.add_argument(
        "--temperatures", help="annealed-mean temperatures of a bins head, a,b,..."
    )
    parser.add_argument("--every", type=int, default=1, help="score every N-th photo")
    args = parser.parse_args(argv)

    from colorization.evaluation.scoring import evaluate_paths
    from colorization.inference.colorizer import Colorizer
    from data_pipeline import files

    paths = list(files.walk_images(args.val))[:: args.every]
    blends = _numbers(args.blends, float) if args.blends else [None]
    temperatures = _numbers(args.temperatures, float) if args.temperatures else [None]
    print(f"{len(paths)} photos of {args.val}")
    print("| size | blend | temperature | " + " | ".join(COLUMNS) + " |")
    print("|---" * (len(COLUMNS) + 3) + "|")
    baseline = None
    for temperature in temperatures:
        for blend in blends:
            for size in _numbers(args.sizes, int):
                colorizer = Colorizer.load(
                    args.model, size=size, blend=blend, temperature=temperature
                )
                summary = evaluate_paths(colorizer, paths, progress=False)
                baseline = summary["baseline"]
                cells = " | ".join(_cell(summary["model"].get(k)) for k in COLUMNS)
                shown = ["" if v is None else v for v in (blend, temperature)]
                print(f"| {size} | {shown[0]} | {shown[1]} | {cells} |", flush=True)
    cells = " | ".join(_cell(baseline.get(k)) for k in COLUMNS)
    print(f"| ab = 0 | | | {cells} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
