"""Colorize videos: frames stream through the network in batches, ab is smoothed over
time, and the result keeps the input's size, frame count, frame rate and audio.

    from colorization import Colorizer
    Colorizer.load().colorize_video("film.mp4")      # -> film_colorized.mp4 beside it
    Colorizer.load().colorize_video("film.mp4", hints=[(120, 80, "#d04020", 0)])

For each batch of frames the network predicts ab at its own size (`predict_small`); the
`TemporalSmoother` steadies that ab over time (see `colorization.inference.temporal`), and only
then is it upsampled and joined with each frame's own full-resolution L, as for photos.
Frames are read, colorized and written a batch at a time, so memory does not grow with
the length of the video. The result is written under a hidden temporary name beside
the target and renamed when complete: an error or Ctrl-C leaves nothing behind.

With colour hints (a hinted model), each hint starts on the frame it names and follows
the content through its shot (`colorization.inference.video_hints`, which ends it at
the smoother's next cut); a frame with hints goes through the hinted graph alone, the
frames without any in batches.
"""

import dataclasses
import os

import numpy as np

from colorization.inference import temporal, video_hints, video_io
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


def network_calls(items, size):
    """Lists of consecutive (frame, hints) items that share one network call: up to
    `size` frames without hints, or one frame with its own hints."""
    batch = []
    for item in items:
        if item[1] is not None:
            if batch:
                yield batch
                batch = []
            yield [item]
            continue
        batch.append(item)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


def _no_colour(l_norm, training=False):
    """A stand-in network: zero ab_norm (N, h, w, 2) for L_norm (N, h, w, 1)."""
    import tensorflow as tf

    return tf.zeros_like(tf.concat([l_norm, l_norm], -1))


def network_lightness(colorizer):
    """A function of a uint8 RGB frame (H, W, 3) -> the L (h, w) that the colorizer's
    `predict_small` gives for it (the grid of its `quality`), without the network:
    the L the smoother compares, so that hints end at the smoother's cuts."""
    import tensorflow as tf

    from colorization.inference import graph

    side = colorizer.size
    if colorizer.quality == "best":
        side = int(graph.best_sizes(colorizer.size, colorizer.stride)[1])
    run = tf.function(
        lambda rgb: graph.predict_small([_no_colour], rgb, side, 1)[0],
        input_signature=[tf.TensorSpec([None, None, None, 3], tf.uint8)],
    )
    return lambda rgb: run(np.asarray(rgb, np.uint8)[None]).numpy()[0, ..., 0]


def colorize_frames(
    colorizer,
    frames,
    smoother=None,
    batch_size=DEFAULT_BATCH_SIZE,
    hints=None,
    guide=None,
):
    """Colorizes a stream of frames, yielding each as soon as its batch is done.

    Args:
        colorizer: a `Colorizer`.
        frames: an iterable of uint8 RGB frames (H, W, 3) of one size.
        smoother: a `TemporalSmoother`, or None for frame-by-frame colour (then each
            frame is exactly what `Colorizer.colorize_array` gives).
        batch_size: frames per network call.
        hints: colour hints (`user_hints.parse_hints`; each names its frame), carried
            through their shots by `video_hints.track_hints`, or None.
        guide: a `guidance.Guide` (a reference photo or a palette) for every frame.

    Yields:
        uint8 RGB (H, W, 3) frames with the L of the input frames.
    """
    items = ((rgb, None) for rgb in frames)
    if hints is not None:
        smoothing = smoother.smoothing if smoother is not None else None
        lightness_of = network_lightness(colorizer)
        items = video_hints.track_hints(frames, hints, smoothing, lightness_of)
    for batch in network_calls(items, batch_size):
        rgb = np.stack([frame for frame, _ in batch])  # (N, H, W, 3)
        lightness, ab_norm = colorizer.predict_small(
            rgb, hints=batch[0][1], guide=guide
        )  # (N, h, w, 1), (N, h, w, 2)
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


def _check_hints(colorizer, hints, info):
    """Checked hints for the video of `info` (None for none), before anything is
    written: `user_hints.HintError` as `Colorizer.check_hints` for the frame size, and
    `video_hints.FramePastEnd` past the frame count the container states."""
    hints = colorizer.check_hints(hints, info.height, info.width)
    video_hints.check_frames(hints, info.frame_count)
    return hints


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
    hints=None,
    guide=None,
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
        hints: colour hints, each naming its frame (see `colorize_frames`), or None.
        guide: a `guidance.Guide` for every frame, or None.

    Returns:
        a `VideoReport`.

    Raises:
        video_io.VideoError: one line saying why; nothing is left at `target`.
        user_hints.HintError: a bad hint, a point outside the frame, hints for a
            model that takes none, or `video_hints.FramePastEnd`: a hint on a frame
            the video does not have (known from the container before anything is
            written, or else at the end); nothing is left at `target`.
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
        hints = _check_hints(colorizer, hints, info)
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
                        colorizer, reader.frames(), smoother, batch_size, hints, guide
                    ):
                        writer.write(rgb)
                        bar.update()
                reader.check_complete()
                video_hints.check_frames(hints, reader.frames_read)
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
