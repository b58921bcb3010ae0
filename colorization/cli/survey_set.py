"""Build a survey folder from colour photos: `real/` and one folder per colorizer.

    colorization-survey-set ../shared/datasets/photos/val survey_set/
    colorization-survey-set photos/ survey_set/ --count 60 \\
        --model default=default --model pale=default,blend=0.3 \\
        --model l1=runs/effnet-l1/model.keras

(`python -m colorization.cli.survey_set ...` is the same command.) Each colour photo
(black-and-white ones are skipped) is scaled so its longer side is at most --max-side
and written to `real/NAME.jpg`; each model colorizes that same copy (its colour
discarded) into `MODEL/NAME.jpg`, so every source has the same scenes, sizes and JPEG
quality (`colorization.app.survey_set.build`). Then serve it:
`colorization-app --survey-images survey_set/`.
"""

import os
import sys

from colorization import cli

PROG = "colorization-survey-set"  # the name of `main(argv)` called from Python


def parse_model(text):
    """'NAME=PATH[,blend=X][,temperature=T][,size=N]' -> (name, path or None, options);
    PATH 'default' is the shipped model."""
    name, _, rest = text.partition("=")
    if not name or not rest or name == "real" or "/" in name or name.startswith("."):
        raise cli.FlagError(
            f"--model {text!r}: give NAME=PATH (NAME not 'real'), for example "
            "default=default or l1=runs/l1/model.keras"
        )
    path, *settings = rest.split(",")
    options = {}
    for setting in settings:
        key, _, value = setting.partition("=")
        if key not in ("blend", "temperature", "size"):
            raise cli.FlagError(f"--model {text!r}: unknown setting {key!r}")
        try:
            options[key] = int(value) if key == "size" else float(value)
        except ValueError:
            raise cli.FlagError(f"--model {text!r}: bad {key} {value!r}") from None
    return name, None if path == "default" else path, options


def parser(prog=PROG):
    """The command-line parser."""
    p = cli.ArgumentParser(prog=prog, description=__doc__.split("\n\n")[0])
    p.add_argument("photos", help="folder of colour photos (searched recursively)")
    p.add_argument("output", help="the survey folder to write")
    p.add_argument(
        "--model",
        action="append",
        type=parse_model,
        help="NAME=PATH[,blend=X][,temperature=T][,size=N], repeatable "
        "(default: default=default, the shipped model)",
    )
    p.add_argument("--count", type=int, default=40, help="photos (default 40)")
    p.add_argument("--max-side", type=int, default=640, help="default 640 px")
    p.add_argument("--seed", type=int, default=0, help="which photos (default 0)")
    cli.add_verbose_flag(p)
    return p


def main(argv=None):
    """Writes the survey folder; returns the exit status (2: bad flags or models, 1:
    no colour photo)."""
    prog = cli.program(PROG, argv)
    try:
        args = parser(prog).parse_args(argv)
        if args.count < 1 or args.max_side < 16:
            raise cli.FlagError("--count must be at least 1 and --max-side 16")
    except cli.FlagError as error:
        return cli.fail(prog, error)
    if not os.path.isdir(args.photos):
        return cli.fail(prog, f"no such folder: {args.photos!r}")
    cli.quiet_tensorflow(args.verbose)
    from colorization.app import survey_set
    from colorization.inference.colorizer import Colorizer

    models = {}
    try:
        for name, path, options in args.model or [("default", None, {})]:
            models[name] = Colorizer.load(path, **options)
    except (FileNotFoundError, ValueError) as error:
        return cli.fail(prog, error)
    written = survey_set.build(
        args.photos, args.output, models, args.count, args.max_side, args.seed
    )
    if not written:
        return cli.fail(prog, f"no colour photos in {args.photos!r}", 1)
    sources = ", ".join(["real", *models])
    print(f"{len(written)} photos x ({sources}) in {args.output}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
