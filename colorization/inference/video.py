"""Colorize videos: frames stream through the network in batches, ab is smoothed over
time, and the result keeps the input's size, frame count, frame rate and audio.

    from colorization import Colorizer
    Colorizer.load().colorize_video("film.mp4")      # -> film_colorized.mp4 beside it

For each batch of frames the network predicts ab at its own size (`predict_small`); the
`TemporalSmoother` steadies that ab over time (see `colorization.inference.temporal`), and only
then is it upsampled and joined with each frame's own full-resolution L, as for photos.
Frames are read, colorized and written a batch at a time, so memory does not grow with
the length of the video. The result is written under a hidden temporary name beside
the target and renamed when complete: an error or Ctrl-C leaves nothing behind.
"""

import dataclasses
import os

import numpy as np

from colorization.inference import temporal, video_io
from data_pipeline import files

DEFAULT_BATCH_SIZE = 8
_RATE_TOLERANCE = 0.02  # relative gap between stated and measured rate that is fixed


@dataclasses.dataclass
class VideoReport:
    """What `colorize_video` wrote."""

    output: str
    frames: int
    fps: float
    width: int
    height: int
    audio: bool
    cuts: int  # scene cuts the smoother found


def default_output(source):
    """`NAME_colorized.mp4` beside the source video."""
    stem = os.path.splitext(source)[0]
    return stem + "_colorized" + video_io.OUTPUT_EXTENSION


def batched(items, size):
    """Lists of up to `size` consecutive items of an iterable, without reading ahead."""
    batch = []
    for item in items:
        batch.append(item)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


def colorize_frames(colorizer, frames, smoother=None, batch_size=DEFAULT_BATCH_SIZE):
    """Colorizes a stream of frames, yielding each as soon as its batch is done.

    Args:
        colorizer: a `Colorizer`.
        frames: an iterable of uint8 RGB frames (H, W, 3) of one size.
        smoother: a `TemporalSmoother`, or None for frame-by-frame colour (then each
            frame is exactly what `Colorizer.colorize_array` gives).
        batch_size: frames per network call.

    Yields:
        uint8 RGB (H, W, 3) frames with the L of the input frames.
    """
    for batch in batched(frames, batch_size):
        rgb = np.stack(batch)  # (N, H, W, 3)
        lightness, ab_norm = colorizer.predict_small(rgb)  # (N, h, w, 1), (N, h, w, 2)
        if smoother is not None:
            ab_norm = np.stack(
                [
                    smoother.update(lum[..., 0], ab)
                    for lum, ab in zip(lightness, ab_norm)
                ]
            )
        yield from colorizer.join_ab(rgb, ab_norm)


def _check_target(source, target):
    if not target.lower().endswith(video_io.OUTPUT_EXTENSION):
        raise video_io.VideoError(f"the output {target!r} must be an .mp4 file")
    if os.path.exists(target) and os.path.samefile(source, target):
        raise video_io.VideoError("the output is the input; choose another output")


def _time_scale(reader):
    """How much to stretch timestamps written at the stated rate so that they run at
    the measured average rate (1 unless they differ by over 2%)."""
    measured = reader.average_fps()
    scale = reader.info.fps / measured
    return 1.0 if abs(scale - 1.0) <= _RATE_TOLERANCE else scale


def _tags(record):
    """The MP4 tags of a record (None for none)."""
    from colorization.inference.record import video_tags

    return None if record is None else video_tags(record)


def colorize_video(
    colorizer,
    source,
    target=None,
    smooth=True,
    batch_size=DEFAULT_BATCH_SIZE,
    progress=True,
    max_pixels=None,
    record=None,
):
    """Colorizes the video `source` into the MP4 `target` (see `Colorizer.colorize_video`).

    Args:
        colorizer: a `Colorizer`.
        source: the video to read.
        target: the .mp4 to write (default: `default_output(source)`).
        smooth: True (default smoothing), False, or a `temporal.Smoothing`.
        batch_size: frames per network call.
        progress: show a tqdm bar in frames, with frames per second.
        max_pixels: refuse frames larger than this (None: no limit).
        record: a `record.make_record` dict to write in the MP4's tags (with the
            source's own tags, `record.video_tags`), or None for neither.

    Returns:
        a `VideoReport`.

    Raises:
        video_io.VideoError: one line saying why; nothing is left at `target`.
    """
    from tqdm import tqdm

    source = os.fspath(source)
    target = os.fspath(target or default_output(source))
    _check_target(source, target)
    smoothing = temporal.resolve(smooth)
    smoother = temporal.TemporalSmoother(smoothing) if smoothing else None
    with video_io.VideoReader(source) as reader:
        info = reader.info
        if max_pixels and info.width * info.height > max_pixels:
            raise video_io.VideoError(
                f"{info.width} x {info.height} frames are over the limit of "
                f"{max_pixels} pixels"
            )
        audio = video_io.has_audio(source)
        bar = tqdm(
            total=info.frame_count or None,
            unit="frame",
            desc=os.path.basename(source),
            disable=not progress,
        )
        encoded = files.partial_path(os.path.splitext(target)[0] + ".video.mp4")
        try:
            with files.atomic_path(target) as temporary:
                with video_io.VideoWriter(
                    encoded, info.width, info.height, info.fps
                ) as writer:
                    for rgb in colorize_frames(
                        colorizer, reader.frames(), smoother, batch_size
                    ):
                        writer.write(rgb)
                        bar.update()
                reader.check_complete()
                scale = _time_scale(reader)
                video_io.finish(encoded, source, temporary, audio, scale, _tags(record))
        finally:
            bar.close()
            if os.path.lexists(encoded):
                os.remove(encoded)
    return VideoReport(
        output=target,
        frames=reader.frames_read,
        fps=info.fps / scale,
        width=info.width,
        height=info.height,
        audio=audio,
        cuts=smoother.cuts if smoother else 0,
    )
