"""Build a survey folder from colour photos: `real/` and one folder per colorizer.

    python -m colorization.app.survey_set ../shared/datasets/photos/val survey_set/
    python -m colorization.app.survey_set photos/ survey_set/ --count 60 \\
        --model default=default --model pale=default,blend=0.3 \\
        --model l1=runs/effnet-l1/model.keras

Each colour photo (black-and-white ones are skipped) is scaled so its longer side is
at most --max-side and written to `real/NAME.jpg`; each model colorizes that same copy
(its colour discarded) into `MODEL/NAME.jpg`, so every source has the same scenes,
sizes and JPEG quality. Then serve it: `colorization-app --survey-images survey_set/`.
"""

import os
import random
import sys

import numpy as np

from colorization import cli
from data_pipeline import files

PROG = "python -m colorization.app.survey_set"


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


def parser():
    p = cli.ArgumentParser(prog=PROG, description=__doc__.split("\n\n")[0])
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


def is_colour(rgb):
    """More than 2 % of the pixels with a channel difference above 12 levels (the
    pipeline's test of black-and-white photos, without Lab)."""
    rgb = rgb.astype(np.int16)
    spread = rgb.max(axis=-1) - rgb.min(axis=-1)
    return float(np.mean(spread > 12)) > 0.02


def build(photos, output, models, count=40, max_side=640, seed=0):
    """Writes the survey folder; returns the names written.

    Args:
        photos: A folder of colour photos.
        output: The survey folder (`real/` and one folder per model).
        models: {name: Colorizer}.
        count: How many photos at most (picked at random under `seed`).
        max_side: Longer side of every written photo.
    """
    from PIL import Image

    from colorization.inference import image_io

    paths = list(files.walk_images(photos))
    random.Random(seed).shuffle(paths)
    written = []
    for path in paths:
        if len(written) >= count:
            break
        try:
            rgb = image_io.to_uint8(image_io.read_image(path).rgb)
        except (image_io.ImageError, OSError) as error:
            print(f"skipped {path}: {error}", file=sys.stderr)
            continue
        if not is_colour(rgb):
            continue
        image = Image.fromarray(rgb)
        image.thumbnail((max_side, max_side), Image.LANCZOS)
        rgb = np.asarray(image)
        stem = os.path.splitext(os.path.relpath(path, photos))[0].replace(os.sep, "_")
        name = f"{stem}.jpg"
        image_io.write_image(os.path.join(output, "real", name), rgb)
        for model_name, colorizer in models.items():
            image_io.write_image(
                os.path.join(output, model_name, name), colorizer.colorize(rgb)
            )
        written.append(name)
    return written


def main(argv=None):
    try:
        args = parser().parse_args(argv)
        if args.count < 1 or args.max_side < 16:
            raise cli.FlagError("--count must be at least 1 and --max-side 16")
    except cli.FlagError as error:
        return cli.fail(PROG, error)
    if not os.path.isdir(args.photos):
        return cli.fail(PROG, f"no such folder: {args.photos!r}")
    cli.quiet_tensorflow(args.verbose)
    from colorization.inference.colorizer import Colorizer

    models = {}
    try:
        for name, path, options in args.model or [("default", None, {})]:
            models[name] = Colorizer.load(path, **options)
    except (FileNotFoundError, ValueError) as error:
        return cli.fail(PROG, error)
    written = build(
        args.photos, args.output, models, args.count, args.max_side, args.seed
    )
    if not written:
        return cli.fail(PROG, f"no colour photos in {args.photos!r}", 1)
    sources = ", ".join(["real", *models])
    print(f"{len(written)} photos x ({sources}) in {args.output}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
