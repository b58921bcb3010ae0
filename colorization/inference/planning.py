"""Which files a run of `colorize` (`infer.py`) reads and writes, planned before
anything is written.

    jobs, output = plan_jobs(["old_photos/", "albums/**/*.jpg"])

Output files keep the relative paths and names of the inputs under one output folder
(a glob's matches: below the folder before its first wildcard); with `videos=True`
folders and globs yield videos too, written as `NAME.mp4` there, and a single video
given alone is written beside it as `NAME_colorized.mp4` (or to an --output ending in
.mp4). A run that would write over one of its inputs, or two results to one path, is
refused whole (`UsageError`). `batch_inference.colorize_files` carries the jobs out.
"""

import dataclasses
import glob
import os
import re

from colorization.inference import video, video_io
from data_pipeline import files


class UsageError(ValueError):
    """A command line that cannot be carried out (the message says what to change)."""


@dataclasses.dataclass(frozen=True)
class Extras:
    """What a photo's result may have beside it: its gray | colorized photo
    (`compare`), its uncertainty map, `variants` variants, and the `suggest` spots
    where a hint would help most (a JSON file)."""

    compare: bool = False
    uncertainty: bool = False
    variants: int = 0
    suggest: int = 0

    def paths(self, target):
        """The files written beside the result `target`."""
        paths = [compare_path(target)] if self.compare else []
        if self.uncertainty:
            paths.append(uncertainty_path(target))
        paths += [variant_path(target, i) for i in range(1, self.variants + 1)]
        return paths + ([suggestions_path(target)] if self.suggest else [])


@dataclasses.dataclass
class Job:
    source: str
    target: str
    video: bool = False
    hints: object = None  # colour hints for this photo (`user_hints.Hints`)
    hints_file: str = "hints"  # where they came from, for error messages


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


def plan_jobs(inputs, output=None, videos=False, compare=False, extras=None):
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
        extras: the `Extras` written beside the photos' results (default: the
            compare photos if `compare`).

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
    check_writes(jobs, extras or Extras(compare=compare))
    return jobs, output


def _file_id(path):
    """(device, inode) of an existing file, None if there is none: the same file under
    any name (a hard link, a case-insensitive spelling)."""
    try:
        stat = os.stat(path)
    except OSError:
        return None
    return stat.st_dev, stat.st_ino


def check_writes(jobs, extras=None):
    """Refuses jobs that would write over one of their inputs, or write two results
    to one path (counting the photos' `side_paths`).

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
        if not job.video:
            targets += (extras or Extras()).paths(job.target)
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


def uncertainty_path(target):
    """Where the uncertainty map of `target` goes (`--uncertainty`): always a PNG."""
    return f"{os.path.splitext(target)[0]}_uncertainty.png"


def variant_path(target, number):
    """Where variant `number` (from 1) of `target` goes (`--variants`)."""
    stem, ext = os.path.splitext(target)
    return f"{stem}_variant{number}{ext}"


def suggestions_path(target):
    """Where the suggested hints of `target` go (`--suggest`): a hints-file-like JSON."""
    return f"{os.path.splitext(target)[0]}_suggestions.json"


def compare_path(target):
    """Where the gray | colorized photo of `target` goes (`--compare`)."""
    stem, ext = os.path.splitext(target)
    return f"{stem}_compare{ext}"
