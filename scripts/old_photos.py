"""Make the old-photo gallery: real historical black-and-white photos, colorized.

    python scripts/old_photos.py ../shared/datasets/old-photos --before old.keras
    python scripts/old_photos.py ../shared/datasets/old-photos --output docs/old_photos.jpg

One row per photo: the scan | the `--before` model (if given) | the shipped (or
`--model`) model. These photos have no colour truth (DDColor's test images, Apache-2.0,
and Bringing-Old-Photos-Back-to-Life's, MIT): the gallery is for looking, not scoring.
"""

import argparse
import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from gallery import stack_rows  # noqa: E402  (scripts/ is not a package)

# Eight of the 25: people first (what users bring most), a street, a landscape, and
# scans with grain and scratches.
PICKS = (
    "ddcolor_Audrey Hepburn.jpg",
    "ddcolor_Helen Keller meeting Charlie Chaplin in 1919.jpg",
    "ddcolor_Louis Armstrong practicing in his dressing room, ca 1946.jpg",
    "ddcolor_Abandoned Boy Holding a Stuffed Toy Animal. London 1945.jpg",
    "ddcolor_Detroit circa 1915.jpg",
    "ddcolor_Ansel Adams _ Moore Photography.jpg",
    "bopbtl_old_a.jpg",
    "bopbtl_old_w_scratch_b.jpg",
)


def gallery(paths, colorizers, height=220):
    """Rows of scan | colorizer outputs, each panel `height` pixels high."""
    import numpy as np
    from PIL import Image

    from colorization.inference import image_io

    rows = []
    for path in paths:
        scan = image_io.read_image(path).rgb
        panels = [scan] + [c.colorize_array(scan) for c in colorizers]
        width = round(scan.shape[1] * height / scan.shape[0])
        gap = np.full((height, 8, 3), 255, np.uint8)
        row = []
        for panel in panels:
            row += [
                np.asarray(
                    Image.fromarray(panel).resize((width, height), Image.LANCZOS)
                ),
                gap,
            ]
        rows.append(np.concatenate(row[:-1], axis=1))
    return stack_rows(rows)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("folder", help="the old-photos folder")
    parser.add_argument("--model", help="a .keras model (default: the shipped model)")
    parser.add_argument("--before", help="a second .keras model, shown before it")
    parser.add_argument(
        "--output", default=os.path.join(ROOT, "docs", "old_photos.jpg")
    )
    args = parser.parse_args(argv)
    from colorization.inference import image_io
    from colorization.inference.colorizer import Colorizer

    paths = [os.path.join(args.folder, name) for name in PICKS]
    missing = [path for path in paths if not os.path.isfile(path)]
    if missing:
        print(f"error: {missing[0]} does not exist", file=sys.stderr)
        return 2
    colorizers = [Colorizer.load(args.before)] if args.before else []
    colorizers.append(Colorizer.load(args.model))
    image_io.write_image(args.output, gallery(paths, colorizers))
    print(f"wrote {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
