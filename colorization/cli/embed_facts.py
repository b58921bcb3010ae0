"""Re-save a `.keras` model with its facts (input size, training config) inside.

    colorization-embed-facts old.keras              # the facts of its .json sidecar
    colorization-embed-facts bare.keras --size 256  # a model saved without any

(`python -m colorization.cli.embed_facts ...` is the same command.) The file is
rewritten in place, whole or not at all; afterwards it needs no sidecar
(`colorization.models.model_file.embed_facts`).
"""

import sys

from colorization import cli

PROG = "colorization-embed-facts"  # the name of `main(argv)` called from Python


def parser(prog=PROG):
    """The command-line parser."""
    p = cli.ArgumentParser(prog=prog, description=__doc__.split("\n\n")[0])
    p.add_argument("model", help="the .keras file, rewritten in place")
    p.add_argument(
        "--size", type=int, help="the network input size (wins over a sidecar)"
    )
    cli.add_verbose_flag(p)
    return p


def main(argv=None):
    """Rewrites the model; returns the exit status (2: bad flags or model)."""
    prog = cli.program(PROG, argv)
    return cli.run_tool(prog, lambda: _parse(prog, argv), _embed)


def _parse(prog, argv):
    args = parser(prog).parse_args(argv)
    if args.size is not None and args.size < 8:
        raise cli.FlagError("--size must be at least 8")
    return args


def _embed(args):
    from colorization.models.model_file import embed_facts

    facts = embed_facts(args.model, args.size)
    print(f"wrote {args.model} (input size {facts.image_size}, facts inside)")


if __name__ == "__main__":
    sys.exit(main())
