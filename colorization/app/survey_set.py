"""Build a survey folder from colour photos: `real/` and one folder per colorizer.

    colorization-survey-set photos/ survey_set/ --count 60 --model pale=default,blend=0.3

(the command is `colorization.cli.survey_set`; this module is the library it calls.)

Each colour photo (black-and-white ones are skipped) is scaled so its longer side is
at most --max-side and written to `real/NAME.jpg`; each model colorizes that same copy
(its colour discarded) into `MODEL/NAME.jpg`, so every source has the same scenes,
sizes and JPEG quality. Then serve it: `colorization-app --survey-images survey_set/`.
"""

import os
import random
import sys

import numpy as np

from data_pipeline import files


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
