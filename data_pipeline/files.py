"""Files on disk, one way: which names are images (or videos), walking folders, writing
atomically.

Training sources (`data_pipeline.sources`), batch inference and every writer of the
package share these, so a folder means the same images everywhere and an interrupted
write never leaves a half-written file under the real name.
"""

import contextlib
import json
import os
import shutil
import sys

TIFF_EXTENSIONS = (".tif", ".tiff")
IMAGE_EXTENSIONS = (
    ".jpg", ".jpeg", ".jpe", ".png", ".bmp", ".gif", ".webp"
) + TIFF_EXTENSIONS  # fmt: skip


# Read by OpenCV's bundled FFmpeg; inference colorizes them, training never lists them.
VIDEO_EXTENSIONS = (".mp4", ".m4v", ".avi", ".mov", ".mkv", ".webm", ".mpeg", ".mpg")


def has_extension(name, extensions):
    """True for a visible file name ending in one of `extensions` (any case)."""
    name = os.path.basename(name)
    return name.lower().endswith(extensions) and not name.startswith(".")


def is_image_name(name):
    """True for a visible file name with an image extension (any case)."""
    return has_extension(name, IMAGE_EXTENSIONS)


def is_video_name(name):
    """True for a visible file name with a video extension (any case)."""
    return has_extension(name, VIDEO_EXTENSIONS)


def walk_images(folder, exclude=None, extensions=IMAGE_EXTENSIONS):
    """Paths of the images under `folder`, recursively, in sorted order.

    Symbolic links to files and folders are followed (a linked folder seen twice, as in
    a link cycle, is walked once); hidden files are skipped.

    Args:
        folder: the folder to walk.
        exclude: a folder (any spelling) whose contents are left out, for example the
            output folder of a run that writes inside its input.
        extensions: the file names listed (inference passes IMAGE_EXTENSIONS +
            VIDEO_EXTENSIONS to list videos too).
    """
    excluded = os.path.realpath(exclude) if exclude else None
    seen = set()
    for root, dirs, names in os.walk(folder, followlinks=True):
        real = os.path.realpath(root)
        if real in seen or real == excluded:
            dirs[:] = []
            continue
        seen.add(real)
        dirs.sort()
        for name in sorted(names):
            if has_extension(name, extensions):
                yield os.path.join(root, name)


def partial_path(path):
    """The temporary name `path` is written under: hidden, same folder, same extension
    (savers that pick the format from the extension still work)."""
    folder, name = os.path.split(os.path.abspath(path))
    stem, extension = os.path.splitext(name)
    return os.path.join(folder, f".{stem}.partial{extension}")


def _remove(path):
    if os.path.isdir(path) and not os.path.islink(path):
        shutil.rmtree(path, ignore_errors=True)
    elif os.path.lexists(path):
        os.remove(path)


@contextlib.contextmanager
def atomic_path(path):
    """Yields a temporary path to write a file (or a folder) to; when the block ends
    without an error it is renamed to `path` (replacing an existing file), otherwise it
    is deleted and `path` is left as it was.

        with atomic_path("model.keras") as temporary:
            model.save(temporary)
    """
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    temporary = partial_path(path)
    _remove(temporary)  # left over by a killed run
    try:
        yield temporary
        os.replace(temporary, path)
    finally:
        _remove(temporary)


def save_figure(figure, path, dpi=110):
    """Saves a matplotlib `figure` to `path` (format from its extension), atomically,
    and closes it if pyplot manages it; returns `path`."""
    with atomic_path(path) as temporary:
        figure.savefig(temporary, dpi=dpi)
    pyplot = sys.modules.get("matplotlib.pyplot")  # never imported just to close
    if pyplot is not None:
        pyplot.close(figure)
    return path


def write_json(path, value):
    """Writes `value` as indented JSON to `path`, atomically."""
    with atomic_path(path) as temporary:
        with open(temporary, "w", encoding="utf-8") as f:
            json.dump(value, f, indent=1)
            f.write("\n")
