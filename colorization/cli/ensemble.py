"""Pack several colorizers into one `.keras` model that averages their ab.

    colorization-ensemble out.keras runs/effnet-l1/last.keras runs/default/last.keras
    colorization-ensemble out.keras a.keras b.keras --mean chroma

(`python -m colorization.cli.ensemble ...` is the same command.) `--mean chroma` keeps
the members' mean hue with their mean chroma instead of the plain mean, which
desaturates where members disagree. The members must have been trained at the same
image size (`colorization.export.ensemble.write_ensemble`).
"""

import sys

from colorization import cli
from colorization.export.ensemble import MEANS  # (imports no TensorFlow)

PROG = "colorization-ensemble"  # the name of `main(argv)` called from Python


def parser(prog=PROG):
    """The command-line parser."""
    p = cli.ArgumentParser(prog=prog, description=__doc__.split("\n\n")[0])
    p.add_argument("output", help="the .keras file to write")
    p.add_argument("members", nargs="+", help="the .keras models to average")
    p.add_argument(
        "--mean",
        choices=MEANS,
        default="ab",
        help="ab: plain mean of the members' ab (default); chroma: their mean hue "
        "with their mean chroma, which does not desaturate where they disagree",
    )
    cli.add_verbose_flag(p)
    return p


def main(argv=None):
    """Writes the ensemble; returns the exit status (2: bad flags or members)."""
    prog = cli.program(PROG, argv)
    return cli.run_tool(
        prog, lambda: cli.keras_output(parser(prog).parse_args(argv)), _write
    )


def _write(args):
    from colorization.export.ensemble import write_ensemble

    write_ensemble(args.output, args.members, args.mean)
    print(f"wrote {args.output} ({len(args.members)} members, {args.mean} mean)")


if __name__ == "__main__":
    sys.exit(main())
