"""Reading and writing video files for inference, one frame at a time.

Frames are decoded by OpenCV's bundled FFmpeg (`VideoReader`) and encoded as H.264 by
the FFmpeg binary of the `imageio-ffmpeg` package (`VideoWriter`, through a pipe);
`finish` copies the input's audio into the result. No system FFmpeg is needed and no
more than one frame is held here at a time.

Why not `cv2.VideoWriter`: its MP4 encoder (mp4v) silently drops the last row and column
of odd sizes (65 x 49 comes out 64 x 48), refuses 1 x 1, and its files do not play in
web browsers. H.264 needs even sides for the usual 4:2:0 colour; odd sizes are written
in 4:4:4 (full-resolution colour), which fewer players support.
"""

import dataclasses
import fractions
import os
import re
import subprocess
import tempfile

import numpy as np

OUTPUT_EXTENSION = ".mp4"
_CRF = 18  # x264's constant quality: visually lossless for most footage
_PRESET = "fast"
_MIN_COVERAGE = 0.9  # of the stated duration; below it the file is truncated
_COLOUR_TAGS = (
    "setparams=color_primaries=bt709:color_trc=iec61966-2-1:colorspace=smpte170m"
)


class VideoError(ValueError):
    """A video that cannot be read or written; the message (one line) says why."""


def ffmpeg_exe():
    """The path of imageio-ffmpeg's FFmpeg binary."""
    try:
        import imageio_ffmpeg
    except ImportError as error:
        raise VideoError(
            "videos need the imageio-ffmpeg package: pip install imageio-ffmpeg"
        ) from error
    return imageio_ffmpeg.get_ffmpeg_exe()


def _last_line(text):
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return lines[-1] if lines else "no message"


@dataclasses.dataclass
class VideoInfo:
    """What the container says: size, frame rate and frame count (0 if unknown)."""

    width: int
    height: int
    fps: float
    frame_count: int


class VideoReader:
    """Decodes a video into uint8 RGB frames with OpenCV, one at a time.

        with VideoReader("film.mp4") as reader:
            for rgb in reader.frames():
                ...
            reader.check_complete()

    Raises:
        VideoError: the file is missing, empty or not a video OpenCV can decode.
    """

    def __init__(self, path):
        import cv2

        if not os.path.isfile(path):
            raise VideoError("no such file")
        if os.path.getsize(path) == 0:
            raise VideoError("empty file")
        self.path = path
        self._capture = cv2.VideoCapture(path, cv2.CAP_FFMPEG)
        if not self._capture.isOpened():
            raise VideoError("not a video OpenCV can decode, or damaged or truncated")
        get = self._capture.get
        self.info = VideoInfo(
            width=int(get(cv2.CAP_PROP_FRAME_WIDTH)),
            height=int(get(cv2.CAP_PROP_FRAME_HEIGHT)),
            fps=float(get(cv2.CAP_PROP_FPS)),
            frame_count=max(0, int(get(cv2.CAP_PROP_FRAME_COUNT))),
        )
        if not 0 < self.info.fps < 10_000:  # also NaN
            self.close()
            raise VideoError("the video states no frame rate")
        self.frames_read = 0
        self._first_ms = None  # the first frame's timestamp
        self._last_ms = None  # the latest timestamp seen after it
        self._frames_to_last = 0  # frames from the first to that one

    def frames(self):
        """Yields the frames as uint8 RGB (H, W, 3)."""
        import cv2

        while True:
            ok, bgr = self._capture.read()
            if not ok:
                return
            self.frames_read += 1
            milliseconds = self._capture.get(cv2.CAP_PROP_POS_MSEC)
            if self._first_ms is None:
                self._first_ms = self._last_ms = milliseconds
            elif milliseconds > self._last_ms:  # some demuxers say 0 for the last
                self._last_ms, self._frames_to_last = milliseconds, self.frames_read - 1
            yield cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)

    def average_fps(self):
        """Frames per second measured from the frame timestamps read so far (the stated
        rate if they say nothing); for variable frame rate videos this is the
        average, which the stated rate may not be."""
        if self._frames_to_last < 1:
            return self.info.fps
        return self._frames_to_last / self._span()

    def _span(self):
        """Seconds from the first frame to the latest timestamped one."""
        return (self._last_ms - self._first_ms) / 1000.0

    def check_complete(self):
        """Raises VideoError when no frame was decoded, or the decoded frames cover
        less than 90% of the duration the container states (a truncated file)."""
        if self.frames_read == 0:
            raise VideoError("no frames could be decoded (empty or truncated video)")
        if self.info.frame_count == 0:
            return  # no stated duration to compare with
        stated = self.info.frame_count / self.info.fps
        covered = self._span() + 1.0 / self.average_fps()
        if covered < _MIN_COVERAGE * stated:
            raise VideoError(
                f"truncated: frames stop at {covered:.2f} s of {stated:.2f} s "
                f"({self.frames_read} frames decoded)"
            )

    def close(self):
        self._capture.release()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def has_audio(path):
    """True when FFmpeg finds an audio stream in the file."""
    result = subprocess.run(
        [ffmpeg_exe(), "-hide_banner", "-nostdin", "-i", path],
        capture_output=True,
        text=True,
        errors="replace",
    )  # exits 1 ("no output file"), having printed the streams
    return re.search(r"^\s*Stream #\S+.*: Audio:", result.stderr, re.M) is not None


def frame_rate(fps):
    """A frame rate as FFmpeg's exact fraction: 29.97002997 -> '30000/1001'."""
    rate = fractions.Fraction(fps).limit_denominator(1001)
    return f"{rate.numerator}/{rate.denominator}"


class VideoWriter:
    """Encodes uint8 RGB frames into an H.264 MP4 without audio, through FFmpeg.

    Used as a context manager: a clean exit waits for FFmpeg to finish the file; an
    error (or Ctrl-C) stops FFmpeg first, so the caller can delete what it wrote.

    Args:
        path: the .mp4 to write.
        width, height: the frame size.
        fps: frames per second (written as a constant rate).
    """

    def __init__(self, path, width, height, fps):
        self.path, self.width, self.height = path, width, height
        even = width % 2 == 0 and height % 2 == 0
        command = [ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-y"]
        command += ["-f", "rawvideo", "-pix_fmt", "rgb24", "-s", f"{width}x{height}"]
        command += ["-r", frame_rate(fps), "-i", "-", "-an", "-c:v", "libx264"]
        command += ["-preset", _PRESET, "-crf", str(_CRF)]
        command += ["-pix_fmt", "yuv420p" if even else "yuv444p"]
        # sRGB frames, converted to YUV with the BT.601 matrix (OpenCV reads them back
        # with it): say so, or players guess the matrix from the size.
        command += ["-vf", _COLOUR_TAGS, "-movflags", "+faststart", path]
        self._log = tempfile.TemporaryFile()
        self._process = subprocess.Popen(
            command,
            stdin=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            stderr=self._log,
            start_new_session=True,  # Ctrl-C reaches Python, which stops FFmpeg
        )

    def _error(self):
        self._log.seek(0)
        return _last_line(self._log.read().decode("utf-8", "replace"))

    def write(self, rgb):
        """Appends one frame (H, W, 3) or several (N, H, W, 3), uint8 RGB."""
        rgb = np.ascontiguousarray(rgb, np.uint8)
        if rgb.shape[-3:] != (self.height, self.width, 3):
            raise VideoError(
                f"frame of shape {rgb.shape[-3:]} in a {self.width} x {self.height} video"
            )
        try:
            self._process.stdin.write(rgb.data)
        except (BrokenPipeError, OSError) as error:
            self._process.wait()
            raise VideoError(f"the encoder stopped: {self._error()}") from error

    def close(self):
        """Waits for FFmpeg to finish the file."""
        try:
            self._process.stdin.close()
        except BrokenPipeError:
            pass
        if self._process.wait() != 0:
            raise VideoError(f"the encoder failed: {self._error()}")
        self._log.close()

    def abort(self):
        """Stops FFmpeg at once (the file it wrote is left for the caller to delete)."""
        self._process.kill()
        self._process.wait()
        self._log.close()

    def __enter__(self):
        return self

    def __exit__(self, exc_type, *exc):
        if exc_type is None:
            self.close()
        else:
            self.abort()


def _run_ffmpeg(arguments):
    result = subprocess.run(
        [ffmpeg_exe(), "-hide_banner", "-nostdin", "-loglevel", "error", "-y"]
        + arguments,
        capture_output=True,
        text=True,
        errors="replace",
    )
    return result.returncode, _last_line(result.stderr)


def finish(video, source, path, audio, time_scale=1.0, metadata=None):
    """Writes `path`: the encoded `video` with the audio of `source` copied unchanged
    (re-encoded to AAC only if MP4 cannot hold its codec), and timestamps scaled by
    `time_scale` (to give a variable frame rate video its average rate). With
    `metadata` (a dict of MP4 tags, e.g. `record.video_tags`), the tags of `source`
    (creation time, title, ...) are copied too and `metadata` is added. No audio, no
    scaling and no metadata: `video` is simply renamed.

    Raises:
        VideoError: FFmpeg could not do it.
    """
    if not audio and abs(time_scale - 1.0) < 1e-6 and not metadata:
        os.replace(video, path)
        return
    inputs = ["-itsscale", repr(time_scale), "-i", video]
    maps = ["-map", "0:v:0"]
    if audio or metadata:
        inputs += ["-i", source]
    if audio:
        maps += ["-map", "1:a"]
    if metadata:
        maps += ["-map_metadata", "1"]
        for key, value in metadata.items():
            maps += ["-metadata", f"{key}={value}"]
    common = inputs + maps + ["-c:v", "copy", "-movflags", "+faststart"]
    code, message = _run_ffmpeg(common + ["-c:a", "copy", path])
    if code != 0 and audio:
        code, message = _run_ffmpeg(common + ["-c:a", "aac", "-b:a", "192k", path])
    if code != 0:
        scaled = abs(time_scale - 1.0) >= 1e-6
        what = (
            "copy the audio"
            if audio
            else ("set the frame rate" if scaled else "write the metadata")
        )
        raise VideoError(f"cannot {what}: {message}")
