"""Evaluate a colorization model on real colour photos, beside the colourless baseline.

    colorization-evaluate ../shared/datasets/photos/val
    colorization-evaluate ../shared/datasets/photos/val --model runs/unet/model.keras --json val.json

(`python evaluate.py ...` is the same command.) The grey input of each photo is its own
L, so a perfect model would recover it. Prints PSNR, SSIM, ab-error AuC, a/b histogram
intersection, colourfulness, global cast (Lab units) and hue error (degrees) for the
model and for ab = 0; --json writes the set and per-image figures as strict JSON: PSNR
is capped at 60 dB (an identical image, such as the baseline of a grey photo, scores
60), and an undefined figure (SSIM of a photo under 11 pixels a side, the hue error of
a photo with no pixel coloured in both result and truth, always the baseline's) is
null ("-" in the table) and left out of the set's mean.
"""

import os
import sys

from colorization import cli

PROG = "evaluate.py"  # the name of `main(argv)` called from Python


def parser(prog=PROG):
    """The command-line parser."""
    p = cli.ArgumentParser(prog=prog, description=__doc__.split("\n\n")[0])
    p.add_argument("folder", help="folder of colour photos (searched recursively)")
    p.add_argument("--model", help="a .keras model (default: the shipped model)")
    p.add_argument(
        "--size", type=int, help="longer side the network sees (default: the model's)"
    )
    p.add_argument(
        "--temperature",
        type=float,
        help="annealed-mean temperature of a bins model (default: the model's)",
    )
    p.add_argument(
        "--blend",
        type=float,
        help="bins-head weight of a two-head model, 0..1 (default: the model's)",
    )
    p.add_argument("--limit", type=int, help="evaluate only the first N photos")
    p.add_argument("--json", help="write every figure to this JSON file")
    cli.add_verbose_flag(p)
    return p


def main(argv=None):
    """Evaluates and prints the table; returns the exit status (2: usage, 1: a photo
    could not be read)."""
    prog = cli.program(PROG, argv)
    try:
        args = parser(prog).parse_args(argv)
    except cli.FlagError as error:
        return cli.fail(prog, error)
    from data_pipeline import files

    paths = list(files.walk_images(args.folder))[: args.limit]
    if not os.path.isdir(args.folder) or not paths:
        return cli.fail(prog, f"no photos found in {args.folder!r}")
    cli.quiet_tensorflow(args.verbose)
    from colorization.evaluation.scoring import (
        evaluate_paths,
        format_table,
        write_summary,
    )
    from colorization.inference.colorizer import Colorizer

    try:
        colorizer = Colorizer.load(
            args.model, size=args.size, temperature=args.temperature, blend=args.blend
        )
        summary = evaluate_paths(colorizer, paths)
    except (FileNotFoundError, ValueError) as error:
        return cli.fail(prog, error)
    for path, reason in summary["failed"]:
        print(f"error: {path}: {reason}", file=sys.stderr)
    print(f"{summary['count']} photos")
    print(format_table(summary))
    if args.json:
        try:
            write_summary(args.json, summary)
        except OSError as error:
            return cli.fail(prog, f"cannot write {args.json}: {error}", 1)
    return 1 if summary["failed"] else 0


if __name__ == "__main__":
    sys.exit(main())
