"""Batch inference: colorize files, folders and globs, as `infer.py` does.

    jobs, output = plan_jobs(["old_photos/"])           # -> old_photos_colorized/
    report = colorize_files(Colorizer.load(), jobs)

Output files keep the relative paths and names of the inputs under one output folder.
A file that cannot be read, colorized or written is reported and skipped, never
half-written, and the run goes on; inputs are never overwritten.
"""

import dataclasses
import glob
import os
import sys

import numpy as np

from colorization import image_io
from data_pipeline import files


class UsageError(ValueError):
    """A command line that cannot be carried out (the message says what to change)."""


@dataclasses.dataclass
class Job:
    source: str
    target: str


@dataclasses.dataclass
class Report:
    done: list = dataclasses.field(default_factory=list)
    failed: list = dataclasses.field(default_factory=list)  # (path, reason)


def default_output(first_input):
    """`folder_colorized` beside the first input folder (or the first file's folder)."""
    folder = (
        first_input
        if os.path.isdir(first_input)
        else os.path.dirname(first_input) or "."
    )
    folder = os.path.abspath(folder).rstrip(os.sep)
    return folder + "_colorized"


def find_images(inputs, exclude=None):
    """(path, path relative to its input) for every image in files, folders and globs.

    Raises:
        UsageError: an input matches nothing.
    """
    sources = []
    for item in inputs:
        if os.path.isdir(item):
            sources.extend(
                (path, os.path.relpath(path, item))
                for path in files.walk_images(item, exclude)
            )
        elif os.path.isfile(item):
            sources.append((item, os.path.basename(item)))
        else:
            matches = sorted(
                p for p in glob.glob(item, recursive=True) if os.path.isfile(p)
            )
            if not matches:
                raise UsageError(f"no such file or folder: {item!r}")
            sources.extend((p, os.path.basename(p)) for p in matches)
    return sources


def plan_jobs(inputs, output=None):
    """Expands folders (recursively), files and globs into (source, target) jobs.

    Raises:
        UsageError: an input matches nothing, the output folder is an input folder,
            or two inputs would write the same output file.
    """
    if not inputs:
        raise UsageError("give at least one input file, folder or glob")
    output = os.path.abspath(output or default_output(inputs[0]))
    real_output = os.path.realpath(output)
    for item in inputs:
        if os.path.isdir(item) and os.path.realpath(item) == real_output:
            raise UsageError(
                f"the output folder {output!r} is the input folder; choose another --output"
            )
    sources = find_images(inputs, exclude=real_output)
    jobs, targets = [], {}
    for source, relative in sources:
        target = os.path.join(output, relative)
        if os.path.realpath(target) == os.path.realpath(source):
            raise UsageError(
                f"{source!r} would be overwritten; choose another --output"
            )
        if target in targets:
            raise UsageError(
                f"{targets[target]!r} and {source!r} would both be written to {target!r}"
            )
        targets[target] = source
        jobs.append(Job(source, target))
    return jobs, output


def _compare_path(target):
    stem, ext = os.path.splitext(target)
    return f"{stem}_compare{ext}"


def _write(job, rgb, alpha, gray, compare):
    image_io.write_image(job.target, rgb, alpha)
    if compare:
        image_io.write_image(
            _compare_path(job.target), np.concatenate([gray, rgb], axis=1)
        )


def colorize_files(
    colorizer,
    jobs,
    batch_size=4,
    compare=False,
    max_pixels=image_io.DEFAULT_MAX_PIXELS,
    progress=True,
):
    """Colorizes every job's file; same-size images go through the network together.

    A file that cannot be read, colorized (for example out of memory on a huge image)
    or written is reported as that file's error and the others go on.

    Returns:
        a Report of the files written and the files that failed, with reasons (each
        failure is also printed to stderr as one line).
    """
    from tqdm import tqdm

    report = Report()
    model_errors = _model_errors()
    pending = {}  # (H, W) -> [(job, ImageData)]
    bar = tqdm(total=len(jobs), unit="image", disable=not progress)

    def fail(job, reason):
        report.failed.append((job.source, reason))
        tqdm.write(f"error: {job.source}: {reason}", file=sys.stderr)
        bar.update()

    def write(job, data, result):
        gray = grey_preview(data.rgb) if compare else None
        try:
            _write(job, result, data.alpha, gray, compare)
        except OSError as error:
            fail(job, f"cannot write {job.target}: {error.strerror or error}")
            return
        report.done.append(job.target)
        bar.update()

    def run(group):
        try:
            colored = colorizer.colorize_array(
                np.stack([data.rgb for _, data in group])
            )
        except model_errors as error:
            if len(group) == 1:
                fail(group[0][0], f"cannot colorize: {short_error(error)}")
            else:  # one at a time: only the file that fails is lost
                for item in group:
                    run([item])
            return
        for (job, data), result in zip(group, colored):
            write(job, data, result)

    for job in jobs:
        try:
            data = image_io.read_image(job.source, max_pixels)
        except image_io.ImageError as error:
            fail(job, str(error))
            continue
        except OSError as error:
            fail(job, f"cannot read: {error.strerror or error}")
            continue
        shape = data.rgb.shape[:2]
        pending.setdefault(shape, []).append((job, data))
        if len(pending[shape]) >= batch_size:
            run(pending.pop(shape))
        elif sum(len(group) for group in pending.values()) >= 2 * batch_size:
            for key in list(pending):
                run(pending.pop(key))
    for key in list(pending):
        run(pending.pop(key))
    bar.close()
    return report


def _model_errors():
    """What running the network on one batch can raise that concerns its files."""
    import tensorflow as tf

    return (tf.errors.OpError, MemoryError, ValueError)


def short_error(error):
    """An error message on one line, at most 300 characters (TensorFlow's run long)."""
    text = " ".join(str(error).split())
    return text if len(text) <= 300 else text[:297] + "..."


def grey_preview(rgb):
    """What the network saw: the input's L with no colour, uint8 RGB."""
    from data_pipeline import lab

    return image_io.to_uint8(lab.drop_colour(rgb).numpy())
