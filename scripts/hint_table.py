"""Measure how much colour hints help a hinted model, beside other models.

    python scripts/hint_table.py runs/hints/model.keras colorization/assets/default.keras \
        --val ../shared/datasets/photos/val --blend 0.6 --plot docs/hints.png
    python scripts/hint_table.py runs/hints/model.keras --val photos/val --limit 50

Each model colorizes every photo of --val at the network's input size (--size, default
the first model's training size) with 0, 1, 2, 5, 10 and 20 hints taken from the
photo's true colour at seeded locations, the same for every model
(`colorization.hints.hint_eval`); a model without hint inputs gets the automatic (0 hints)
row only. Prints a Markdown table of PSNR and mean ab error, then the results as one
JSON line; --plot also draws PSNR and ab error against the number of hints.
"""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from colorization import cli  # noqa: E402


def _positive(value):
    number = int(value)
    if number < 1:
        raise ValueError(f"must be a positive integer, got {value}")
    return number


def parser():
    """The command-line parser."""
    p = cli.ArgumentParser(
        prog="hint_table.py", description=__doc__.split("\n\n")[0], allow_abbrev=False
    )
    p.add_argument("models", nargs="+", help=".keras models (hinted or not)")
    p.add_argument("--val", required=True, help="folder of validation photos")
    p.add_argument("--size", type=_positive, help="network input side")
    p.add_argument("--limit", type=_positive, help="use the first N photos")
    p.add_argument("--blend", type=float, help="bins-head weight of two-head models")
    p.add_argument("--plot", metavar="PNG", help="also draw the scores into this file")
    cli.add_verbose_flag(p)
    return p


def main(argv=None):
    """Parses flags, measures, and returns the exit status (2: bad flags, 1: failed)."""
    try:
        args = parser().parse_args(argv)
        for path in args.models:
            if not os.path.isfile(path):
                raise ValueError(f"no such model file {path!r}")
        if not os.path.isdir(args.val):
            raise ValueError(f"--val: no such folder {args.val!r}")
    except ValueError as error:
        return cli.fail("hint_table.py", error)
    cli.quiet_tensorflow(args.verbose)
    from colorization.hints.hint_eval import run

    try:
        run(args.models, args.val, args.size, args.limit, args.plot, args.blend)
    except ValueError as error:
        return cli.fail("hint_table.py", error, status=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
