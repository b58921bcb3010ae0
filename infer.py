"""Colorize black-and-white photos: files, folders (recursively) or globs.

    python infer.py samples/                         # -> samples_colorized/
    python infer.py old_photos/ --output colorized/ --compare
    python infer.py scan.tif "albums/**/*.jpg" --model runs/unet/model.keras
    python infer.py photos/ --models blue.keras green.keras yellow.keras  # ensemble

Without --model it uses the model shipped in the package. Every output keeps the full
resolution of its input; inputs are never overwritten, unreadable files are reported
on stderr and skipped, and the exit status is 1 if any file failed (2 for usage errors).
"""

import argparse
import sys

from colorization import image_io


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("inputs", nargs="+", help="image files, folders or globs")
    parser.add_argument(
        "--output", help="output folder (default: FIRST_INPUT_colorized beside it)"
    )
    models = parser.add_mutually_exclusive_group()
    models.add_argument("--model", help="a .keras model (default: the shipped model)")
    models.add_argument(
        "--models", nargs="+", help="several .keras models whose ab are averaged"
    )
    parser.add_argument(
        "--size", type=int, help="longer side the network sees (default: training size)"
    )
    parser.add_argument(
        "--temperature",
        type=float,
        help="annealed-mean temperature of a bins model: lower is more colourful "
        "(default: the model's)",
    )
    parser.add_argument(
        "--blend",
        type=float,
        help="weight of the colourful bins head of a two-head model, 0..1: higher is "
        "more colourful (default: the model's)",
    )
    parser.add_argument(
        "--batch-size",
        type=int,
        default=4,
        help="same-size images per batch (default 4)",
    )
    parser.add_argument(
        "--compare", action="store_true", help="also write gray | colorized images"
    )
    parser.add_argument(
        "--max-pixels",
        type=int,
        default=image_io.DEFAULT_MAX_PIXELS,
        help="refuse larger images",
    )
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    args = parser.parse_args(argv)
    if args.size is not None and args.size < 8:
        parser.error("--size must be at least 8")
    if args.batch_size < 1:
        parser.error("--batch-size must be at least 1")
    if args.temperature is not None and not args.temperature > 0:
        parser.error("--temperature must be > 0")
    if args.blend is not None and not 0.0 <= args.blend <= 1.0:
        parser.error("--blend must be in [0, 1]")
    return args


def main(argv=None):
    args = parse_args(argv)
    from colorization import folders
    from colorization.inference import Colorizer

    try:
        jobs, output = folders.plan_jobs(args.inputs, args.output)
        colorizer = Colorizer.load(
            args.models or args.model,
            size=args.size,
            temperature=args.temperature,
            blend=args.blend,
        )
    except (folders.UsageError, FileNotFoundError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    report = folders.colorize_files(
        colorizer,
        jobs,
        args.batch_size,
        args.compare,
        args.max_pixels,
        progress=not args.quiet,
    )
    print(
        f"colorized {len(report.done)} of {len(jobs)} images into {output}",
        file=sys.stderr,
    )
    return 1 if report.failed else 0


if __name__ == "__main__":
    sys.exit(main())
