"""Split a photo folder into colour groups by measured hue (Klefbom-Mjöberg's subsets).

    colorization-subsets photos/train subsets --groups red,yellow,green,blue,neutral
    colorization-subsets photos/train subsets --groups red,blue \\
        --min-chroma 8 --min-share 0.5

(`python -m colorization.cli.subsets ...` is the same command.) Writes OUT/GROUP.txt
(paths relative to SRC, sorted; the format `train.py --file-list` reads),
OUT/GROUP_hues.png (the group's hue histogram) and OUT/summary.json; how photos are
measured and assigned is told in `data_pipeline.subsets`.
"""

import os
import sys

from colorization import cli
from data_pipeline import files, subsets

PROG = "colorization-subsets"  # the name of `main(argv)` called from Python


def parser(prog=PROG):
    """The command-line parser."""
    p = cli.ArgumentParser(
        prog=prog, description=__doc__.split("\n")[0], allow_abbrev=False
    )
    p.add_argument("src", help="photo folder (searched recursively)")
    p.add_argument("out", help="output folder for the lists, plots and summary")
    p.add_argument("--groups", default=",".join(subsets.GROUPS), help="comma-separated")
    p.add_argument("--min-chroma", type=float, default=6.0,
                   help="chroma (Lab units) below which a pixel is ignored")  # fmt: skip
    p.add_argument("--min-share", type=float, default=0.5,
                   help="share of chroma weight the dominant sector needs")  # fmt: skip
    p.add_argument("--min-colour-fraction", type=float, default=0.1,
                   help="coloured pixels a photo needs to join a hue group")  # fmt: skip
    p.add_argument("--bw-fraction", type=float, default=0.02,
                   help="below this fraction of coloured pixels: skipped as B&W")  # fmt: skip
    return p


def groups_of(args):
    """The groups asked for, in order; `cli.FlagError` for a bad flag or folder."""
    groups = [g.strip() for g in args.groups.split(",") if g.strip()]
    unknown = sorted(set(groups) - set(subsets.GROUPS))
    if not groups or unknown:
        raise cli.FlagError(
            f"--groups: unknown {unknown or 'empty'}; choose from {subsets.GROUPS}"
        )
    if not os.path.isdir(args.src):
        raise cli.FlagError(f"SRC {args.src!r} is not a folder")
    if os.path.exists(args.out) and not os.path.isdir(args.out):
        raise cli.FlagError(f"OUT {args.out!r} exists and is not a folder")
    if not args.min_chroma >= 0:
        raise cli.FlagError(f"--min-chroma must be >= 0, got {args.min_chroma}")
    for flag in ("min_share", "min_colour_fraction", "bw_fraction"):
        if not 0 <= getattr(args, flag) <= 1:
            name = "--" + flag.replace("_", "-")
            raise cli.FlagError(f"{name} must be in [0, 1], got {getattr(args, flag)}")
    if next(files.walk_images(args.src, exclude=args.out), None) is None:
        raise cli.FlagError(f"no images under {args.src!r}")
    return list(dict.fromkeys(groups))


def main(argv=None):
    """Parses flags, writes the subsets, returns the exit status (2: bad input)."""
    prog = cli.program(PROG, argv)
    try:
        args = parser(prog).parse_args(argv)
        groups = groups_of(args)
    except cli.FlagError as error:
        return cli.fail(prog, error)
    summary = subsets.build_subsets(
        args.src, args.out, groups, args.min_chroma, args.min_share,
        args.min_colour_fraction, args.bw_fraction,
    )  # fmt: skip
    counts = ", ".join(f"{g}={v['count']}" for g, v in summary["groups"].items())
    print(f"{counts}; unassigned={summary['unassigned']}; skipped={summary['skipped']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
