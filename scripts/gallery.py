"""Make the README gallery: black-and-white input | colorized | original, per sample.

    python scripts/gallery.py                          # the shipped default model
    python scripts/gallery.py --model runs/x/model.keras --output docs/gallery.jpg

The inputs are the files in samples/; the colour originals come from scikit-image and
matplotlib (the same public-domain and CC0 photos), so the grid can be regenerated
after every new model.
"""

import argparse
import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ORIGINALS = ("astronaut", "chelsea", "coffee", "rocket", "grace_hopper")


def original(name):
    """The colour original of a sample, uint8 RGB."""
    import numpy as np
    from PIL import Image

    if name == "grace_hopper":
        import matplotlib.cbook

        path = matplotlib.cbook.get_sample_data("grace_hopper.jpg", asfileobj=False)
        return np.asarray(Image.open(path).convert("RGB"))
    from skimage import data

    return getattr(data, name)()[..., :3]


def gallery(colorizer, height=240):
    """One row per sample, each panel scaled to `height` pixels."""
    import numpy as np
    from PIL import Image

    from colorization.inference import image_io

    rows = []
    for name in ORIGINALS:
        gray = image_io.read_image(os.path.join(ROOT, "samples", f"{name}.jpg")).rgb
        panels = [gray, colorizer.colorize_array(gray), original(name)]
        width = round(gray.shape[1] * height / gray.shape[0])
        resized = [
            np.asarray(Image.fromarray(p).resize((width, height), Image.LANCZOS))
            for p in panels
        ]
        gap = np.full((height, 8, 3), 255, np.uint8)
        rows.append(
            np.concatenate([resized[0], gap, resized[1], gap, resized[2]], axis=1)
        )
    return stack_rows(rows)


def stack_rows(rows):
    """Stacks image rows of different widths, left-aligned on white, 8 px apart."""
    import numpy as np

    width = max(row.shape[1] for row in rows)
    rows = [
        np.pad(row, ((0, 8), (0, width - row.shape[1]), (0, 0)), constant_values=255)
        for row in rows
    ]
    return np.concatenate(rows, axis=0)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", help="a .keras model (default: the shipped model)")
    parser.add_argument("--output", default=os.path.join(ROOT, "docs", "gallery.jpg"))
    args = parser.parse_args(argv)
    from colorization.inference import image_io
    from colorization.inference.colorizer import Colorizer

    image_io.write_image(args.output, gallery(Colorizer.load(args.model)))
    print(f"wrote {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
