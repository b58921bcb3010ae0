"""Batch inference: colorize files, folders and globs, as `infer.py` does.

    jobs, output = plan_jobs(["old_photos/"])           # -> old_photos_colorized/
    report = colorize_files(Colorizer.load(), jobs)

Output files keep the relative paths and names of the inputs under one output folder
(a glob's matches: below the folder before its first wildcard); with `videos=True`
folders and globs yield videos too, written as `NAME.mp4` there, and a single video
given alone is written beside it as `NAME_colorized.mp4` (or to an --output ending in
.mp4). Every path a run writes is planned first: a run that would write over one of its
inputs, or two results to one path, is refused whole. A file that cannot be read,
colorized or written is reported and skipped, never half-written, and the run goes on.
Photos of one size go through the network together, on one scale whatever their bit
depth (`image_io.stack_rgb`); an animated GIF, PNG or WebP has every frame colorized.
"""

import dataclasses
import glob
import os
import re
import sys

import numpy as np

from colorization.hints import user_hints
from colorization.inference import image_io, video, video_io
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


_GLOB_MAGIC = re.compile(r"[*?[]")


def is_glob(item):
    """True for an input that names no file or folder and has glob wildcards."""
    return not os.path.lexists(item) and _GLOB_MAGIC.search(item) is not None


def glob_root(pattern):
    """The folder of a glob pattern before its first wildcard, which its matches are
    kept relative to: "photos/**/*.jpg" -> "photos", "*.png" -> "."."""
    parts = re.split(r"[/\\]" if os.altsep else "/", pattern)
    root = []
    for part in parts[:-1]:  # the last part names files
        if _GLOB_MAGIC.search(part):
            break
        root.append(part)
    return "/".join(root) or ("/" if pattern.startswith(("/", os.sep)) else ".")


def default_output(first_input):
    """`FOLDER_colorized` beside the first input folder (or the first file's folder,
    or the folder of a glob before its first wildcard)."""
    if is_glob(first_input):
        folder = glob_root(first_input)
    elif os.path.isdir(first_input):
        folder = first_input
    else:
        folder = os.path.dirname(first_input) or "."
    folder = os.path.abspath(folder).rstrip(os.sep)
    return folder + "_colorized"


def _inside(path, real_folder):
    """True when `path` resolves to somewhere under the resolved `real_folder`."""
    if real_folder is None:
        return False
    return os.path.realpath(path).startswith(real_folder.rstrip(os.sep) + os.sep)


def find_images(inputs, exclude=None, videos=False):
    """(path, path relative to its input) for every image in files, folders and globs,
    and every video too with `videos=True` (files given by name are always listed).

    Globs may be recursive ("photos/**/*.jpg"); their matches are kept relative to
    the folder before the first wildcard ("photos"), so names in different subfolders
    do not collide. Folders and globs list image (and video) names only, and nothing
    under the folder `exclude` (the output folder).

    Raises:
        UsageError: an input matches nothing.
    """
    extensions = files.IMAGE_EXTENSIONS + (files.VIDEO_EXTENSIONS if videos else ())
    excluded = os.path.realpath(exclude) if exclude else None
    sources = []
    for item in inputs:
        if os.path.isdir(item):
            sources.extend(
                (path, os.path.relpath(path, item))
                for path in files.walk_images(item, exclude, extensions)
            )
        elif os.path.isfile(item):
            sources.append((item, os.path.basename(item)))
        elif not is_glob(item):
            raise UsageError(f"no such file or folder: {item!r}")
        else:
            root = glob_root(item)
            matches = sorted(
                path
                for path in glob.glob(item, recursive=True)
                if os.path.isfile(path)
                and files.has_extension(path, extensions)
                and not _inside(path, excluded)
            )
            if not matches:
                kind = "image or video" if videos else "image"
                raise UsageError(f"no {kind} file matches {item!r}")
            sources.extend((path, os.path.relpath(path, root)) for path in matches)
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


def plan_jobs(inputs, output=None, videos=False, compare=False):
    """Expands folders (recursively), files and globs into (source, target) jobs.

    Every path the run will write is planned here, before anything is written: a
    run that would write over any of its inputs, or write two results to one path,
    is refused as a whole.

    Args:
        inputs: files, folders and globs.
        output: the output folder (default: FIRST_INPUT_colorized beside the first
            input), or, when the only input is one video, the .mp4 to write (default:
            NAME_colorized.mp4 beside it).
        videos: list videos in folders and globs too (their targets end in .mp4).
        compare: `NAME_compare` photos will be written beside the results too.

    Returns:
        (jobs, the output folder, or the output file of a single video).

    Raises:
        UsageError: an input matches nothing, the output folder is an input folder,
            an output would overwrite an input, or two outputs share a path.
    """
    if not inputs:
        raise UsageError("give at least one input file, folder or glob")
    single = _single_video_target(inputs, output) if videos else None
    if single is not None:
        jobs = [Job(inputs[0], single, video=True)]
        check_writes(jobs)
        return jobs, single
    output = os.path.abspath(output or default_output(inputs[0]))
    real_output = os.path.realpath(output)
    for item in inputs:
        if os.path.isdir(item) and os.path.realpath(item) == real_output:
            raise UsageError(
                f"the output folder {output!r} is the input folder; choose another --output"
            )
    jobs, seen = [], set()
    for source, relative in find_images(inputs, exclude=real_output, videos=videos):
        is_video = videos and _is_video(source)
        if is_video:
            relative = os.path.splitext(relative)[0] + video_io.OUTPUT_EXTENSION
        target = os.path.join(output, relative)
        key = (os.path.realpath(source), target)
        if key not in seen:  # one file given twice (a folder and a glob in it)
            seen.add(key)
            jobs.append(Job(source, target, is_video))
    check_writes(jobs, compare)
    return jobs, output


def _file_id(path):
    """(device, inode) of an existing file, None if there is none: the same file under
    any name (a hard link, a case-insensitive spelling)."""
    try:
        stat = os.stat(path)
    except OSError:
        return None
    return stat.st_dev, stat.st_ino


def check_writes(jobs, compare=False):
    """Refuses jobs that would write over one of their inputs, or write two results
    to one path (`compare`: counting the `NAME_compare` photos).

    Raises:
        UsageError: one line naming the files and what to do.
    """
    inputs = {}
    for job in jobs:
        inputs[os.path.realpath(job.source)] = job.source
        inputs[_file_id(job.source)] = job.source
    inputs.pop(None, None)
    written = {}
    for job in jobs:
        targets = [job.target]
        if compare and not job.video:
            targets.append(_compare_path(job.target))
        for target in targets:
            real = os.path.normcase(os.path.realpath(target))
            if real in written:
                raise UsageError(
                    f"{written[real]!r} and {job.source!r} would both be written to "
                    f"{target!r}; rename one or colorize them separately"
                )
            written[real] = job.source
            overwritten = inputs.get(os.path.realpath(target)) or inputs.get(
                _file_id(target)
            )
            if overwritten is not None:
                raise UsageError(
                    f"the input {overwritten!r} would be overwritten by the result "
                    f"of {job.source!r}; choose another --output"
                )


def _compare_path(target):
    stem, ext = os.path.splitext(target)
    return f"{stem}_compare{ext}"


def _write(job, rgb, alpha, gray, compare):
    image_io.write_image(job.target, rgb, alpha)
    if compare:
        image_io.write_image(
            _compare_path(job.target), np.concatenate([gray, rgb], axis=1)
        )


def _write_animation(job, animation, colored, compare):
    """Writes the colorized frames of `animation` (and gray | colorized frames)."""
    timing = (animation.durations, animation.loop)
    alphas = [frame.alpha for frame in animation.frames]
    image_io.write_animation(job.target, colored, *timing, alphas)
    if compare:
        pairs = [
            np.concatenate([grey_preview(frame.rgb), rgb], axis=1)
            for frame, rgb in zip(animation.frames, colored)
        ]
        image_io.write_animation(_compare_path(job.target), pairs, *timing)


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
    """Colorizes the photo jobs, adding what was written and what failed to `report`.

    Every frame of an animated GIF, PNG or WebP is colorized, in batches of
    `batch_size`, and written back animated with its frame durations and loop.
    """
    from tqdm import tqdm

    model_errors = _model_errors()
    pending = {}  # (H, W) -> [(job, ImageData)]
    bar = tqdm(total=len(jobs), unit="image", disable=not progress)

    def fail(job, reason):
        _fail(report, job, reason)
        bar.update()

    def done(job):
        report.done.append(job.target)
        bar.update()

    def colorize(job, rgb):
        if job.hints is None:
            return colorizer.colorize_array(rgb)
        return colorizer.colorize_array(rgb, job.hints)  # a photo alone

    def write(job, data, result):
        gray = grey_preview(data.rgb) if compare else None
        try:
            _write(job, result, data.alpha, gray, compare)
        except OSError as error:
            fail(job, f"cannot write {job.target}: {error.strerror or error}")
            return
        done(job)

    def run(group):
        job = group[0][0]
        rgb = image_io.stack_rgb([data.rgb for _, data in group])
        try:
            colored = colorize(job, rgb)
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

    def animate(job, animation):
        frames = [frame.rgb for frame in animation.frames]
        try:
            colored = [
                rgb
                for start in range(0, len(frames), batch_size)
                for rgb in colorize(
                    job, image_io.stack_rgb(frames[start : start + batch_size])
                )
            ]
        except user_hints.HintError as error:
            return fail(job, f"{job.hints_file}: {error}")
        except model_errors as error:
            return fail(job, f"cannot colorize: {short_error(error)}")
        try:
            _write_animation(job, animation, colored, compare)
        except OSError as error:
            return fail(job, f"cannot write {job.target}: {error.strerror or error}")
        done(job)

    for job in jobs:
        try:
            data = image_io.read_image(job.source, max_pixels, animation=True)
        except image_io.ImageError as error:
            fail(job, str(error))
            continue
        except OSError as error:
            fail(job, f"cannot read: {error.strerror or error}")
            continue
        if data.animation is not None:
            animate(job, data.animation)
            continue
        if data.frame_count > 1 and not files.has_extension(job.source, _JPEG):
            tqdm.write(
                f"warning: {job.source}: only the first of its {data.frame_count} "
                "pages is colorized",
                file=sys.stderr,
            )
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


# A JPEG's further frames (MPO) are previews or the other eye of a stereo pair.
_JPEG = (".jpg", ".jpeg", ".jpe")


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
