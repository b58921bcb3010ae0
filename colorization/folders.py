"""Colorize files and folders: what infer.py does, as a library function.

Output files keep the relative paths and names of the inputs under one output folder.
Bad inputs are reported and skipped, never half-written; inputs are never overwritten.
"""

import dataclasses
import glob
import os
import sys

import numpy as np

from colorization import image_io


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


def _is_image(name):
    return name.lower().endswith(image_io.IMAGE_EXTENSIONS) and not name.startswith(".")


def _folder_files(folder, exclude):
    for root, dirs, files in os.walk(folder):
        dirs[:] = sorted(
            d for d in dirs if os.path.realpath(os.path.join(root, d)) != exclude
        )
        for name in sorted(files):
            if _is_image(name):
                path = os.path.join(root, name)
                yield path, os.path.relpath(path, folder)


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
            sources.extend(_folder_files(item, exclude))
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

    Returns:
        a Report of the files written and the files that failed, with reasons (each
        failure is also printed to stderr as one line).
    """
    from tqdm import tqdm

    report = Report()
    pending = {}  # (H, W) -> [(job, ImageData)]

    def run(shape):
        group = pending.pop(shape)
        rgb = np.stack([data.rgb for _, data in group])
        colored = colorizer.colorize_array(rgb)
        for (job, data), result in zip(group, colored):
            gray = _grey(data.rgb) if compare else None
            try:
                _write(job, result, data.alpha, gray, compare)
                report.done.append(job.target)
            except OSError as error:
                fail(job, f"cannot write {job.target}: {error.strerror or error}")

    def fail(job, reason):
        report.failed.append((job.source, reason))
        tqdm.write(f"error: {job.source}: {reason}", file=sys.stderr)

    for job in tqdm(jobs, unit="image", disable=not progress):
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
            run(shape)
        elif sum(len(group) for group in pending.values()) >= 2 * batch_size:
            for key in list(pending):
                run(key)
    for key in list(pending):
        run(key)
    return report


def _grey(rgb):
    """What the network saw: the input's L with no colour, uint8 RGB."""
    from colorization.evaluation import colourless

    return colourless(rgb)
