"""Colorize black-and-white photos and videos: files, folders (recursively) or globs.

    colorize samples/                                # -> samples_colorized/
    colorize old_photos/ --output colorized/ --compare
    colorize scan.tif "albums/**/*.jpg" --model runs/unet/model.keras
    colorize photos/ --models blue.keras green.keras yellow.keras  # ensemble
    colorize photos/ --quality best                  # 4 passes averaged, ~3x the time
    colorize film.mp4                                # -> film_colorized.mp4 beside it
    colorize film.avi --output film_colour.mp4 --smoothing 0   # frame by frame
    colorize reels/                                  # -> reels_colorized/NAME.mp4, ...
    colorize photo.jpg --hints hints.json --model runs/hints/model.keras  # colour hints
    colorize film.mp4 --hints film.json              # hints through each shot
    colorize photo.jpg --reference colour.jpg        # its colours guide the result
    colorize photos/ --palette "#7a2f1c,#2f4f7a" --guide-strength 0.5
    colorize photo.jpg --uncertainty --suggest 5 --variants 4  # where unsure, what to click

(`python infer.py ...` is the same command.) Without --model it uses the model shipped
in the package. --reference, --palette, --uncertainty, --suggest and --variants read
the model's colour distribution (a bins head, as the shipped model has; --variants a
hinted model too): docs/guidance.md. A bad palette entry, a strength outside [0, 1],
an unreadable reference or --variants 0 is a usage error (exit status 2), before
anything is written. Every output keeps the full resolution of its input. Every output path
is planned before anything is written: a run that would write over one of its inputs,
or two results to one path, is refused (exit status 2). A glob (quote it) may use **
for subfolders; its results keep their paths below the folder before the first
wildcard, and go by default to that folder's _colorized sibling. A file that cannot be
read, colorized or written is reported on stderr and skipped, and the exit status is 1
if any file failed (2 for usage errors, 130 for Ctrl-C and 143 for SIGTERM, which
leave no half-written file). Every frame of an animated GIF, PNG or WebP is colorized,
keeping its frame durations and loop. Every output keeps its input's metadata that
still holds (date, camera, captions, DPI) and records that its colour is machine-made
(`colorization.inference.record`); --no-record leaves both out.

Videos (mp4, m4v, avi, mov, mkv, webm, mpeg, mpg) are written as H.264 MP4 with the
same size, frame count and frame rate, and the input's audio copied. A video given
alone goes to NAME_colorized.mp4 beside it, or to --output if that ends in .mp4; in
folders, globs and lists of several inputs each video goes to OUTPUT/NAME.mp4.

--hints takes a JSON list of colour hints for one photo, [{"x": 120, "y": 80,
"color": "#d04020"}, ...] (x the column, y the row of a pixel of the photo as it is
shown, after its EXIF orientation; only the colour's chroma is used), for a hinted
model (`colorization.hints.user_hints`). A bad hints file, or hints for a model that takes
none, is a usage error; a point outside the photo fails the photo. Nothing is written.
For one video, each hint also names the 0-based frame it was placed on ("frame": 0
without it) and follows the content through its shot, up to the next scene cut
(`colorization.inference.video_hints`); a hint on a frame past the end of the video,
or a point outside its frames, is a usage error and nothing is written.
"""

import contextlib
import os
import signal
import sys
import threading

from colorization import cli
from colorization.inference import guidance, image_io
from colorization.inference.temporal import Smoothing


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised where the program is, so that it stops as Ctrl-C does: every
    half-written file is removed on the way out."""


PROG = "infer.py"  # the name of `main(argv)` called from Python
QUALITIES = ("fast", "best")  # `graph.QUALITIES`, known before TensorFlow is imported


def parser(prog=PROG):
    """The command-line parser."""
    p = cli.ArgumentParser(prog=prog, description=__doc__.split("\n\n")[0])
    p.add_argument("inputs", nargs="+", help="image or video files, folders or globs")
    p.add_argument(
        "--output",
        help="output folder (default: FIRST_INPUT_colorized beside it); for one video "
        "alone, an .mp4 file (default: NAME_colorized.mp4 beside it)",
    )
    models = p.add_mutually_exclusive_group()
    models.add_argument("--model", help="a .keras model (default: the shipped model)")
    models.add_argument(
        "--models", nargs="+", help="several .keras models whose ab are averaged"
    )
    p.add_argument(
        "--size", type=int, help="longer side the network sees (default: the model's)"
    )
    p.add_argument(
        "--temperature",
        type=float,
        help="annealed-mean temperature of a bins model: lower is more colourful "
        "(default: the model's)",
    )
    p.add_argument(
        "--blend",
        type=float,
        help="weight of the colourful bins head of a two-head model, 0..1: higher is "
        "more colourful (default: the model's)",
    )
    p.add_argument(
        "--quality",
        choices=QUALITIES,
        default="fast",
        help="fast: one network pass (default); best: the photo and its mirror image "
        "at two sizes, their colour averaged keeping its chroma (about 3x the time)",
    )
    p.add_argument(
        "--batch-size",
        type=int,
        default=4,
        help="same-size images, or video frames, per batch (default 4)",
    )
    p.add_argument(
        "--smoothing",
        type=float,
        default=Smoothing.strength,
        help="temporal smoothing of video colour, 0..0.99: the weight of the past "
        f"where the picture did not change; 0 is frame by frame (default "
        f"{Smoothing.strength})",
    )
    p.add_argument(
        "--hints",
        help='colour hints for one photo or video: a JSON list of {"x", "y", "color": '
        '"#rrggbb"}, for a video with "frame" (a hinted model only)',
    )
    guide = p.add_mutually_exclusive_group()
    guide.add_argument(
        "--reference",
        metavar="PHOTO",
        help="a colour photo whose colours guide the result (a model with a bins "
        "head, as the shipped one)",
    )
    guide.add_argument(
        "--palette",
        metavar="COLOURS",
        help='colours that guide the result, e.g. "#7a2f1c,#2f4f7a,#d8c8a0"',
    )
    p.add_argument(
        "--guide-strength",
        type=float,
        default=None,
        help="how strongly --reference or --palette counts, 0..1; 0 is automatic "
        f"(default {guidance.DEFAULT_STRENGTHS['reference']} for a reference, "
        f"{guidance.DEFAULT_STRENGTHS['palette']} for a palette)",
    )
    p.add_argument(
        "--uncertainty",
        action="store_true",
        help="also write NAME_uncertainty.png: where the model is unsure of the "
        "colour (bright) (photos only)",
    )
    p.add_argument(
        "--variants",
        type=int,
        metavar="N",
        help="also write N different plausible colourings, NAME_variant1..N "
        "(a hinted model; photos only)",
    )
    p.add_argument(
        "--suggest",
        type=int,
        metavar="K",
        help="also write NAME_suggestions.json: the K spots where a colour hint "
        "would help most, with the likeliest colours there (photos only)",
    )
    p.add_argument(
        "--compare",
        action="store_true",
        help="also write gray | colorized images (photos only)",
    )
    p.add_argument(
        "--no-record",
        action="store_true",
        help="do not copy the input's metadata or add the note that the colour is "
        "machine-made",
    )
    p.add_argument(
        "--max-pixels",
        type=int,
        default=image_io.DEFAULT_MAX_PIXELS,
        help="refuse larger images and video frames",
    )
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    cli.add_verbose_flag(p)
    return p


def parse_args(argv, prog=PROG):
    """The parsed flags; `cli.FlagError` for a bad one."""
    args = parser(prog).parse_args(argv)
    if args.size is not None and args.size < 8:
        raise cli.FlagError("--size must be at least 8")
    if args.batch_size < 1:
        raise cli.FlagError("--batch-size must be at least 1")
    if args.temperature is not None and not args.temperature > 0:
        raise cli.FlagError("--temperature must be > 0")
    if args.blend is not None and not 0.0 <= args.blend <= 1.0:
        raise cli.FlagError("--blend must be in [0, 1]")
    if not 0.0 <= args.smoothing < 1.0:
        raise cli.FlagError("--smoothing must be in [0, 1)")
    if args.guide_strength is not None and not 0.0 <= args.guide_strength <= 1.0:
        raise cli.FlagError("--guide-strength must be in [0, 1]")
    for name in ("variants", "suggest"):
        if getattr(args, name) is not None and getattr(args, name) < 1:
            raise cli.FlagError(f"--{name} must be at least 1")
    if args.palette is not None:
        try:
            guidance.parse_palette(args.palette)
        except guidance.GuideError as error:
            raise cli.FlagError(f"--palette: {error}") from None
    if args.reference is not None and not os.path.isfile(args.reference):
        raise cli.FlagError(f"--reference: no such file {args.reference!r}")
    if args.hints is not None:
        _check_hinted_input(args.inputs)
    return args


def _check_hinted_input(inputs):
    """`cli.FlagError` unless `inputs` is one photo or video file (--hints are for
    one)."""
    if len(inputs) != 1:
        raise cli.FlagError(
            "--hints are for one photo or video: give exactly one image or video "
            f"file, not {len(inputs)} inputs"
        )
    if not os.path.isfile(inputs[0]):
        raise cli.FlagError(
            f"--hints are for one photo or video: {inputs[0]!r} is not an image or "
            "video file"
        )


def _with_hints(jobs, hints, hints_file, colorizer):
    """The one job with its hints; `user_hints.HintError` if the model takes none,
    or a photo's hint names a frame other than 0."""
    import dataclasses

    from colorization.hints import user_hints

    if not colorizer.hinted:
        raise user_hints.HintError(f"{user_hints.NOT_HINTED}; run without --hints")
    frames = hints.frame_of_each()
    if not jobs[0].video and frames.any():
        number = int(frames.nonzero()[0][0]) + 1
        raise user_hints.HintError(
            f"{hints_file}: hint {number} is on frame {frames[number - 1]}; a photo "
            "has only frame 0"
        )
    return [
        dataclasses.replace(job, hints=hints, hints_file=hints_file) for job in jobs
    ]


def _check_extras(colorizer, extras):
    """ValueError (one line) for side outputs the model cannot make."""
    from colorization.hints import user_hints

    if (
        extras.uncertainty or extras.variants or extras.suggest
    ) and colorizer.temperature is None:
        raise guidance.GuideError(guidance.NO_DISTRIBUTION)
    if extras.variants and not colorizer.hinted:
        raise user_hints.HintError(
            f"{user_hints.NOT_HINTED}: --variants are made with hints"
        )


def _summary(report, jobs, output):
    """The last line: how many files were colorized, and where."""
    videos = sum(job.video for job in jobs)
    noun = "images" if not videos else "videos" if videos == len(jobs) else "files"
    return f"colorized {len(report.done)} of {len(jobs)} {noun} into {output}"


@contextlib.contextmanager
def _sigterm_as_interrupt():
    """While inside, the first SIGTERM raises `Terminated` (later ones are ignored, so
    they cannot cut the clean-up short)."""
    if threading.current_thread() is not threading.main_thread():
        yield  # signal handlers belong to the main thread
        return
    received = []

    def handler(signum, frame):
        if not received:
            received.append(signum)
            raise Terminated()

    previous = signal.signal(signal.SIGTERM, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def main(argv=None):
    """Colorizes the inputs; returns the exit status (2: usage, 1: a file failed,
    130: Ctrl-C, 143: SIGTERM)."""
    from colorization.hints import user_hints

    prog = cli.program(PROG, argv)
    try:
        args = parse_args(argv, prog)
        hints = user_hints.read_hints_file(args.hints) if args.hints else None
    except (cli.FlagError, user_hints.HintError) as error:
        return cli.fail(prog, error)
    with _sigterm_as_interrupt():
        try:
            return _run(args, hints, prog)
        except user_hints.HintError as error:  # a video's hints: nothing was written
            return cli.fail(prog, error)
        except KeyboardInterrupt as stop:
            word = "terminated" if isinstance(stop, Terminated) else "interrupted"
            print(f"\n{prog}: {word}; no half-written file is left", file=sys.stderr)
            return 128 + (signal.SIGTERM if word == "terminated" else signal.SIGINT)


def _run(args, hints, prog):
    """`main` after the flags and hints are read."""
    cli.quiet_opencv(args.verbose)
    cli.quiet_tensorflow(args.verbose)
    from colorization.inference import batch_inference, planning
    from colorization.inference.colorizer import Colorizer

    extras = planning.Extras(
        args.compare, args.uncertainty, args.variants or 0, args.suggest or 0
    )
    try:
        jobs, output = planning.plan_jobs(
            args.inputs, args.output, videos=True, extras=extras
        )
        colorizer = Colorizer.load(
            args.models or args.model,
            size=args.size,
            temperature=args.temperature,
            blend=args.blend,
            quality=args.quality,
        )
        if hints is not None:
            jobs = _with_hints(jobs, hints, args.hints, colorizer)
        guide = colorizer.make_guide(args.reference, args.palette, args.guide_strength)
        _check_extras(colorizer, extras)
    except (planning.UsageError, FileNotFoundError, ValueError) as error:
        return cli.fail(prog, error)
    report = batch_inference.colorize_files(
        colorizer,
        jobs,
        args.batch_size,
        args.compare,
        args.max_pixels,
        progress=not args.quiet,
        smooth=Smoothing(strength=args.smoothing),
        guide=guide,
        extras=extras,
        record=not args.no_record,
    )
    print(_summary(report, jobs, output), file=sys.stderr)
    return 1 if report.failed else 0


if __name__ == "__main__":
    sys.exit(main())
