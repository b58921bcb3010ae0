"""Measure what guidance does: a reference photo, a palette, suggested hints, variants.

    python scripts/guidance_table.py --val ../shared/datasets/photos/val
    python scripts/guidance_table.py --val photos/val --limit 50 --strength 0.6 \
        --model runs/r3d/model.keras --json guidance.json

Every photo of --val (recursively) is colorized from its grey L automatically, with
its own colour original as the reference, with the next photo of its folder as the
reference, with the photo of its folder whose automatic colours are most alike as the
reference, with a palette of 3 k-means colours of its truth, with 1, 2 and 5 hints of
its true colour at suggested and at random spots, and as --variants variants
(`colorization.evaluation.guided`). Prints Markdown tables of PSNR and hue error;
--json also writes every photo's figures.
"""

import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from colorization import cli  # noqa: E402


def parser():
    """The command-line parser."""
    p = cli.ArgumentParser(
        prog="guidance_table.py",
        description=__doc__.split("\n\n")[0],
        allow_abbrev=False,
    )
    p.add_argument("--val", required=True, help="folder of colour photos")
    p.add_argument("--model", help="a .keras model (default: the shipped one)")
    p.add_argument("--every", type=int, default=1, help="use every Nth photo")
    p.add_argument("--limit", type=int, help="use the first N photos (of those)")
    p.add_argument(
        "--strength",
        type=float,
        help="guide strength, 0..1 (default: guidance.DEFAULT_STRENGTHS of each kind)",
    )
    p.add_argument("--variants", type=int, default=4, help="variants per photo")
    p.add_argument(
        "--guides-only",
        action="store_true",
        help="only the references and the palette (no hints, no variants)",
    )
    p.add_argument("--json", metavar="PATH", help="also write every figure here")
    cli.add_verbose_flag(p)
    return p


def main(argv=None):
    """Measures and prints; returns the exit status (2: bad flags)."""
    args = parser().parse_args(argv)
    if args.every < 1 or (args.limit is not None and args.limit < 1):
        return cli.fail("guidance_table.py", "--every and --limit must be at least 1")
    if not os.path.isdir(args.val):
        return cli.fail("guidance_table.py", f"--val: no such folder {args.val!r}")
    cli.quiet_tensorflow(args.verbose)
    from tqdm import tqdm

    from colorization.evaluation import guided
    from colorization.inference.colorizer import Colorizer
    from data_pipeline import files

    everything = sorted(files.walk_images(args.val))
    paths = everything[:: args.every][: args.limit]
    colorizer = Colorizer.load(args.model)
    strength = args.strength  # None: the default of each kind
    # The references are any photo of the folder, also one not measured.
    other = guided.other_in_folder(everything)
    alike = guided.alike_in_folder(colorizer, everything)
    rows = [
        guided.measure_photo(
            colorizer,
            path,
            other[path],
            strength,
            args.variants,
            alike=alike[path],
            hints=not args.guides_only,
        )
        for path in tqdm(paths, unit="photo")
    ]
    summary = guided.summarize(rows)
    summary["strength"] = strength
    print(guided.format_table(summary))
    if args.json:
        with open(args.json, "w") as file:
            json.dump({"summary": summary, "photos": rows}, file, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
