"""Batch inference: colorize files, folders and globs, as `infer.py` does.

    jobs, output = plan_jobs(["old_photos/"])           # -> old_photos_colorized/
    report = colorize_files(Colorizer.load(), jobs)

Output files keep the relative paths and names of the inputs under one output folder;
with `videos=True` folders and globs yield videos too, written as `NAME.mp4` there, and
a single video given alone is written beside it as `NAME_colorized.mp4` (or to an
--output ending in .mp4). A file that cannot be read, colorized or written is reported
and skipped, never half-written, and the run goes on; inputs are never overwritten.
"""

import dataclasses
import glob
import os
import sys

import numpy as np

from colorization import image_io, user_hints, video, video_io
from data_pipeline import files


class UsageError(ValueError):
    """A command line that cannot be carried out (the message says what to change)."""


@dataclasses.dataclass
class Job:
    source: str
    target: str
    video: bool = False
    hints: object = None  # colour hints for this photo (`user_hints.Hints`)
    hints_file: str = "hints"  # where they came from, for error messages


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


def find_images(inputs, exclude=None, videos=False):
    """(path, path relative to its input) for every image in files, folders and globs,
    and every video too with `videos=True` (files given by name are always listed).

    Raises:
        UsageError: an input matches nothing.
    """
    extensions = files.IMAGE_EXTENSIONS + (files.VIDEO_EXTENSIONS if videos else ())
    sources = []
    for item in inputs:
        if os.path.isdir(item):
            sources.extend(
                (path, os.path.relpath(path, item))
                for path in files.walk_images(item, exclude, extensions)
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


def _is_video(path):
    return path.lower().endswith(files.VIDEO_EXTENSIONS)


def _single_video_target(inputs, output):
    """The output file when the only input is one video file, else None: `--output`
    if it names an .mp4, NAME_colorized.mp4 beside the video if there is none."""
    if len(inputs) != 1 or not os.path.isfile(inputs[0]) or not _is_video(inputs[0]):
        return None
    if output is None:
        return os.path.abspath(video.default_output(inputs[0]))
    if not _is_video(output):
        return None  # an output folder
    if not output.lower().endswith(video_io.OUTPUT_EXTENSION):
        raise UsageError(f"a colorized video is written as .mp4, not {output!r}")
    return os.path.abspath(output)


def plan_jobs(inputs, output=None, videos=False):
    """Expands folders (recursively), files and globs into (source, target) jobs.

    Args:
        inputs: files, folders and globs.
        output: the output folder (default: FIRST_INPUT_colorized beside the first
            input), or, when the only input is one video, the .mp4 to write (default:
            NAME_colorized.mp4 beside it).
        videos: list videos in folders and globs too (their targets end in .mp4).

    Returns:
        (jobs, the output folder, or the output file of a single video).

    Raises:
        UsageError: an input matches nothing, the output folder is an input folder,
            or two inputs would write the same output file.
    """
    if not inputs:
        raise UsageError("give at least one input file, folder or glob")
    single = _single_video_target(inputs, output) if videos else None
    if single is not None:
        if os.path.realpath(single) == os.path.realpath(inputs[0]):
            raise UsageError(
                f"{inputs[0]!r} would be overwritten; choose another --output"
            )
        return [Job(inputs[0], single, video=True)], single
    output = os.path.abspath(output or default_output(inputs[0]))
    real_output = os.path.realpath(output)
    for item in inputs:
        if os.path.isdir(item) and os.path.realpath(item) == real_output:
            raise UsageError(
                f"the output folder {output!r} is the input folder; choose another --output"
            )
    sources = find_images(inputs, exclude=real_output, videos=videos)
    jobs, targets = [], {}
    for source, relative in sources:
        is_video = videos and _is_video(source)
        if is_video:
            relative = os.path.splitext(relative)[0] + video_io.OUTPUT_EXTENSION
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
        jobs.append(Job(source, target, is_video))
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
    smooth=True,
):
    """Colorizes every job's file: photos first (same-size photos go through the
    network together), then videos, one at a time.

    A file that cannot be read, colorized (for example out of memory on a huge image)
    or written is reported as that file's error and the others go on.

    Args:
        colorizer: a `Colorizer`.
        jobs: from `plan_jobs`.
        batch_size: photos of one size, or video frames, per network call.
        compare: also write `NAME_compare` photos, grey beside colorized (photos only).
        max_pixels: refuse larger photos and video frames.
        progress: show progress bars: one in photos, one in frames for each video.
        smooth: temporal smoothing of videos (see `video.colorize_video`).

    Returns:
        a Report of the files written and the files that failed, with reasons (each
        failure is also printed to stderr as one line).
    """
    report = Report()
    images = [job for job in jobs if not job.video]
    if images:
        _colorize_images(
            colorizer, images, batch_size, compare, max_pixels, progress, report
        )
    for job in jobs:
        if job.video:
            _colorize_video(
                colorizer, job, batch_size, max_pixels, progress, smooth, report
            )
    return report


def _fail(report, job, reason):
    from tqdm import tqdm

    report.failed.append((job.source, reason))
    tqdm.write(f"error: {job.source}: {reason}", file=sys.stderr)


def _colorize_video(colorizer, job, batch_size, max_pixels, progress, smooth, report):
    """Colorizes one video job, adding it to `report`'s written or failed files."""
    try:
        video.colorize_video(
            colorizer,
            job.source,
            job.target,
            smooth=smooth,
            batch_size=batch_size,
            progress=progress,
            max_pixels=max_pixels,
        )
    except video_io.VideoError as error:
        _fail(report, job, str(error))
    except OSError as error:
        _fail(report, job, f"cannot write {job.target}: {error.strerror or error}")
    except _model_errors() as error:
        _fail(report, job, f"cannot colorize: {short_error(error)}")
    else:
        report.done.append(job.target)


def _colorize_images(
    colorizer, jobs, batch_size, compare, max_pixels, progress, report
):
    """Colorizes the photo jobs, adding what was written and what failed to `report`."""
    from tqdm import tqdm

    model_errors = _model_errors()
    pending = {}  # (H, W) -> [(job, ImageData)]
    bar = tqdm(total=len(jobs), unit="image", disable=not progress)

    def fail(job, reason):
        _fail(report, job, reason)
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
        job = group[0][0]
        rgb = np.stack([data.rgb for _, data in group])
        try:
            if job.hints is None:
                colored = colorizer.colorize_array(rgb)
            else:  # a photo with its own hints, alone
                colored = colorizer.colorize_array(rgb, job.hints)
        except user_hints.HintError as error:
            fail(job, f"{job.hints_file}: {error}")
            return
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
        if job.hints is not None:  # a photo with its own hints goes alone
            run([(job, data)])
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
