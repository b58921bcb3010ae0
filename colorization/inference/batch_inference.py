"""Batch inference: colorize files, folders and globs, as `infer.py` does.

    jobs, output = planning.plan_jobs(["old_photos/"])  # -> old_photos_colorized/
    report = colorize_files(Colorizer.load(), jobs)

Which files are read and where each result goes is planned first, before anything is
written (`colorization.inference.planning`). A file that cannot be read,
colorized or written is reported and skipped, never half-written, and the run goes on.
Photos of one size go through the network together, on one scale whatever their bit
depth (`image_io.stack_rgb`); an animated GIF, PNG or WebP has every frame colorized.
"""

import dataclasses
import sys

import numpy as np

from colorization.hints import user_hints
from colorization.inference import image_io, planning, record, video, video_io
from colorization.inference.planning import UsageError, compare_path, plan_jobs  # noqa: F401 (callers')
from data_pipeline import files


@dataclasses.dataclass
class Report:
    done: list = dataclasses.field(default_factory=list)
    failed: list = dataclasses.field(default_factory=list)  # (path, reason)


def _write(job, rgb, alpha, gray, compare, metadata=None):
    image_io.write_image(job.target, rgb, alpha, metadata)
    if compare:
        image_io.write_image(
            compare_path(job.target),
            np.concatenate([gray, rgb], axis=1),
            metadata=metadata,
        )


def _recorder(colorizer, enabled, guide):
    """job -> the record of how its colour was made (`record.make_record`), or None
    when records are off."""
    if not enabled:
        return None
    return lambda job: record.make_record(colorizer, hints=job.hints, guide=guide)


def _metadata(job, note):
    """What a photo job's outputs carry: its input's kept metadata and its record
    (`note(job)`), or None when `note` is None (records off: nothing is added)."""
    if note is None:
        return None
    return record.Metadata(record.kept_metadata(job.source), note(job))


def _write_extras(colorizer, job, data, extras, guide):
    """The uncertainty map, variants and suggested spots of one photo
    (`planning.Extras`), each written whole or not at all."""
    from colorization.inference import suggestions

    if extras.uncertainty:
        uncertainty = colorizer.uncertainty(data.rgb, job.hints, guide=guide)
        image_io.write_image(
            planning.uncertainty_path(job.target), suggestions.heat_map(uncertainty)
        )
    if extras.variants:
        variants = colorizer.variants(data.rgb, extras.variants, job.hints, guide=guide)
        for number, (rgb, _) in enumerate(variants, 1):
            image_io.write_image(
                planning.variant_path(job.target, number), rgb, data.alpha
            )
    if extras.suggest:
        spots = colorizer.suggest_hints(
            data.rgb, extras.suggest, job.hints, guide=guide
        )
        files.write_json(
            planning.suggestions_path(job.target), [s.to_json() for s in spots]
        )


def _write_animation(job, animation, colored, compare, metadata=None):
    """Writes the colorized frames of `animation` (and gray | colorized frames)."""
    timing = (animation.durations, animation.loop)
    alphas = [frame.alpha for frame in animation.frames]
    image_io.write_animation(job.target, colored, *timing, alphas, metadata)
    if compare:
        pairs = [
            np.concatenate([image_io.colourless(frame.rgb), rgb], axis=1)
            for frame, rgb in zip(animation.frames, colored)
        ]
        image_io.write_animation(
            compare_path(job.target), pairs, *timing, metadata=metadata
        )


def colorize_files(
    colorizer,
    jobs,
    batch_size=4,
    compare=False,
    max_pixels=image_io.DEFAULT_MAX_PIXELS,
    progress=True,
    smooth=True,
    guide=None,
    extras=None,
    record=True,
):
    """Colorizes every job's file: photos first (same-size photos go through the
    network together), then videos, one at a time.

    A file that cannot be read, colorized (for example out of memory on a huge image)
    or written is reported as that file's error and the others go on.

    Args:
        colorizer: a `Colorizer`.
        jobs: from `planning.plan_jobs`.
        batch_size: photos of one size, or video frames, per network call.
        compare: also write `NAME_compare` photos, grey beside colorized (photos only).
        max_pixels: refuse larger photos and video frames.
        progress: show progress bars: one in photos, one in frames for each video.
        smooth: temporal smoothing of videos (see `video.colorize_video`).
        guide: a `guidance.Guide` (a reference photo or a palette) for every file.
        extras: `planning.Extras` to write beside each still photo's result (its
            `compare` is `compare`'s); animations and videos get none.
        record: keep each input's metadata that still holds in its outputs and add
            the record of how the colour was made (`colorization.inference.record`:
            the models' SHA-256, the options, the hints and the guide).

    Returns:
        a Report of the files written and the files that failed, with reasons (each
        failure is also printed to stderr as one line).

    Raises:
        user_hints.HintError: a video job's hints cannot be used (a frame past its
            end, a point outside its frames; the message starts with its hints
            file): nothing is written for it, and the run stops.
    """
    report = Report()
    note = _recorder(colorizer, record, guide)
    images = [job for job in jobs if not job.video]
    extras = dataclasses.replace(extras or planning.Extras(), compare=compare)
    if images:
        _colorize_images(
            colorizer,
            images,
            batch_size,
            extras,
            max_pixels,
            progress,
            report,
            guide,
            note,
        )
    for job in jobs:
        if job.video:
            _colorize_video(
                colorizer,
                job,
                batch_size,
                max_pixels,
                progress,
                smooth,
                report,
                note,
                guide,
            )
    return report


def _fail(report, job, reason):
    from tqdm import tqdm

    report.failed.append((job.source, reason))
    tqdm.write(f"error: {job.source}: {reason}", file=sys.stderr)


def _colorize_video(
    colorizer,
    job,
    batch_size,
    max_pixels,
    progress,
    smooth,
    report,
    note=None,
    guide=None,
):
    """Colorizes one video job, adding it to `report`'s written or failed files;
    `note(job)` is the record for its tags (None: no tags)."""
    try:
        video.colorize_video(
            colorizer,
            job.source,
            job.target,
            smooth=smooth,
            batch_size=batch_size,
            progress=progress,
            max_pixels=max_pixels,
            record=None if note is None else note(job),
            hints=job.hints,
            guide=guide,
        )
    except user_hints.HintError as error:  # a usage error: the video is not written
        raise type(error)(f"{job.hints_file}: {error}") from None
    except video_io.VideoError as error:
        _fail(report, job, str(error))
    except OSError as error:
        _fail(report, job, f"cannot write {job.target}: {error.strerror or error}")
    except model_errors() + (ValueError,) as error:  # and a frame it cannot take
        _fail(report, job, f"cannot colorize: {short_error(error)}")
    else:
        report.done.append(job.target)


def _colorize_images(
    colorizer,
    jobs,
    batch_size,
    extras,
    max_pixels,
    progress,
    report,
    guide=None,
    note=None,
):
    """Colorizes the photo jobs, adding what was written and what failed to `report`.

    Every frame of an animated GIF, PNG or WebP is colorized, in batches of
    `batch_size`, and written back animated with its frame durations and loop.
    """
    from tqdm import tqdm

    errors = model_errors() + (ValueError,)  # and a photo it cannot take
    compare = extras.compare
    pending = {}  # (H, W) -> [(job, ImageData)]
    bar = tqdm(total=len(jobs), unit="image", disable=not progress)

    def fail(job, reason):
        _fail(report, job, reason)
        bar.update()

    def done(job):
        report.done.append(job.target)
        bar.update()

    def colorize(job, rgb):
        return colorizer.colorize_array(rgb, job.hints, guide=guide)

    def write(job, data, result):
        gray = image_io.colourless(data.rgb) if compare else None
        try:
            _write(job, result, data.alpha, gray, compare, _metadata(job, note))
            _write_extras(colorizer, job, data, extras, guide)
        except OSError as error:
            fail(job, f"cannot write {job.target}: {error.strerror or error}")
            return
        except user_hints.HintError as error:
            fail(job, f"{job.hints_file}: {error}")
            return
        except errors as error:
            fail(job, f"cannot colorize: {short_error(error)}")
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
        except errors as error:
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
        except errors as error:
            return fail(job, f"cannot colorize: {short_error(error)}")
        try:
            _write_animation(job, animation, colored, compare, _metadata(job, note))
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


def model_errors():
    """What running the networks can raise that is not a bug: a failed op (out of
    memory on a large photo, say) or memory running out."""
    import tensorflow as tf

    return (tf.errors.OpError, MemoryError)


def short_error(error):
    """An error message on one line, at most 300 characters (TensorFlow's run long)."""
    text = " ".join(str(error).split())
    return text if len(text) <= 300 else text[:297] + "..."
