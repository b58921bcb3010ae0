"""Turn a training checkpoint into a `.keras` model, e.g. the best one of a run.

    colorization-checkpoints runs/default best.keras            # best val L1
    colorization-checkpoints runs/default last.keras --which last
    colorization-checkpoints runs/default t.keras --which last --temperature 0.5
    colorization-checkpoints runs/default d.keras --which last --size 256 --blend 0.6
    colorization-checkpoints runs/hints h.keras --which last --propagate-hints

(`python -m colorization.cli.checkpoints ...` is the same command.) train.py saves the
last epoch's generator as WORKDIR/model.keras; the checkpoint with the lowest
validation L1 (the one Zhu picks) is only a checkpoint until this writes it. The model
is rebuilt from WORKDIR/config.json in float32, so it runs on any CPU
(`colorization.training.checkpoints.write_model`).
"""

import sys

from colorization import cli

PROG = "colorization-checkpoints"  # the name of `main(argv)` called from Python


def parser(prog=PROG):
    """The command-line parser."""
    p = cli.ArgumentParser(prog=prog, description=__doc__.split("\n\n")[0])
    p.add_argument("workdir", help="a train.py workdir")
    p.add_argument("output", help="the .keras file to write")
    p.add_argument("--which", choices=("best", "last"), default="best")
    p.add_argument(
        "--temperature", type=float, help="annealed-mean temperature of a bins head"
    )
    p.add_argument(
        "--blend", type=float, help="bins-head weight of a two-head model, 0..1"
    )
    p.add_argument(
        "--size", type=int, help="network input size to record (default: training's)"
    )
    p.add_argument(
        "--propagate-hints",
        action="store_true",
        help="spread each hint over its region (HintPropagation); hinted runs only",
    )
    cli.add_verbose_flag(p)
    return p


def main(argv=None):
    """Writes the model; returns the exit status (2: bad flags or run, nothing written)."""
    prog = cli.program(PROG, argv)
    return cli.run_tool(
        prog, lambda: cli.keras_output(parser(prog).parse_args(argv)), _write
    )


def _write(args):
    from colorization.training.checkpoints import write_model

    write_model(
        args.workdir,
        args.output,
        args.which,
        args.temperature,
        args.blend,
        args.size,
        args.propagate_hints,
    )
    print(f"wrote {args.output} (the {args.which} checkpoint of {args.workdir})")


if __name__ == "__main__":
    sys.exit(main())
