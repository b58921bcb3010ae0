"""Evaluate a colorization model on real colour photos, beside the colourless baseline.

    python evaluate.py ../shared/datasets/photos/val
    python evaluate.py ../shared/datasets/photos/val --model runs/unet/model.keras --json val.json

The grey input of each photo is its own L, so a perfect model would recover it. Prints
PSNR, SSIM, ab-error AuC, a/b histogram intersection and colourfulness for the model
and for ab = 0; --json writes the set and per-image figures.
"""

import argparse
import json
import sys


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("folder", help="folder of colour photos (searched recursively)")
    parser.add_argument("--model", help="a .keras model (default: the shipped model)")
    parser.add_argument(
        "--size", type=int, help="longer side the network sees (default: training size)"
    )
    parser.add_argument(
        "--temperature",
        type=float,
        help="annealed-mean temperature of a bins model (default: the model's)",
    )
    parser.add_argument(
        "--blend",
        type=float,
        help="bins-head weight of a two-head model, 0..1 (default: the model's)",
    )
    parser.add_argument("--limit", type=int, help="evaluate only the first N photos")
    parser.add_argument("--json", help="write every figure to this JSON file")
    args = parser.parse_args(argv)

    from colorization import folders
    from colorization.evaluation import evaluate_paths, format_table
    from colorization.inference import Colorizer

    try:
        paths = [path for path, _ in folders.find_images([args.folder])][: args.limit]
        colorizer = Colorizer.load(
            args.model, size=args.size, temperature=args.temperature, blend=args.blend
        )
        summary = evaluate_paths(colorizer, paths)
    except (folders.UsageError, FileNotFoundError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    for path, reason in summary["failed"]:
        print(f"error: {path}: {reason}", file=sys.stderr)
    print(f"{summary['count']} photos")
    print(format_table(summary))
    if args.json:
        with open(args.json, "w", encoding="utf-8") as f:
            json.dump(summary, f, indent=1)
    return 1 if summary["failed"] else 0


if __name__ == "__main__":
    sys.exit(main())
