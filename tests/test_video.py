"""Videos: tiny clips made in each test, colorized through the Python API and infer.py;
the temporal smoother on arrays; every bad input."""

import os
import signal
import subprocess
import sys
import time

import cv2
import keras
import numpy as np
import pytest
from skimage import color

import infer
from colorization.evaluation import metrics
from colorization.inference import video, video_io
from colorization.inference.colorizer import Colorizer
from colorization.inference.temporal import Smoothing, TemporalSmoother, resolve
from colorization.models.model_file import ModelFacts, save_model
from data_pipeline import lab
from tests.conftest import encode, photo
from tests.inference_helpers import constant_ab_model
from tests.train_data import REPO

FFMPEG = video_io.ffmpeg_exe()


def pan_frames(count=12, size=(64, 48), name="astronaut"):
    """A slow pan across a real photo: uint8 RGB frames (count, H, W, 3)."""
    width, height = size
    image = photo(name, (2 * width, 2 * height))
    return np.stack(
        [image[i : i + height, 2 * i : 2 * i + width] for i in range(count)]
    )


def write_clip(path, frames, fps=24.0, fourcc="MJPG"):
    """Writes RGB frames with OpenCV (MJPG .avi: any even size, lightly compressed)."""
    height, width = frames.shape[1:3]
    writer = cv2.VideoWriter(
        str(path), cv2.VideoWriter_fourcc(*fourcc), fps, (width, height)
    )
    assert writer.isOpened()
    for frame in frames:
        writer.write(cv2.cvtColor(frame, cv2.COLOR_RGB2BGR))
    writer.release()
    return str(path)


def ffmpeg(*arguments):
    subprocess.run(
        [FFMPEG, "-hide_banner", "-loglevel", "error", "-y", *map(str, arguments)],
        check=True,
    )


def read_clip(path):
    """(frames RGB (N, H, W, 3), fps) as OpenCV decodes them."""
    capture = cv2.VideoCapture(str(path), cv2.CAP_FFMPEG)
    fps, frames = capture.get(cv2.CAP_PROP_FPS), []
    while True:
        ok, bgr = capture.read()
        if not ok:
            break
        frames.append(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB))
    capture.release()
    return np.stack(frames) if frames else np.zeros((0, 0, 0, 3), np.uint8), fps


def timestamps(path):
    """Each frame's time in seconds, as OpenCV reads it."""
    capture, times = cv2.VideoCapture(str(path), cv2.CAP_FFMPEG), []
    while capture.grab():
        times.append(capture.get(cv2.CAP_PROP_POS_MSEC) / 1000)
    capture.release()
    return times


def truncate(path):
    """Cuts a file to half its length, as an interrupted copy does."""
    with open(path, "rb+") as f:
        f.truncate(os.path.getsize(path) // 2)


def lightness(frames):
    return color.rgb2lab(frames)[..., 0]


def l_dependent_model():
    """ab_norm = tanh of a linear function of L_norm at each pixel: noise in L makes
    the colour flicker, as a real network's does."""
    inputs = keras.Input((None, None, 1))
    outputs = keras.layers.Conv2D(
        2,
        1,
        kernel_initializer=keras.initializers.Constant([[[[3.0, -2.0]]]]),
        bias_initializer="zeros",
        activation="tanh",
    )(inputs)
    return keras.Model(inputs, outputs)


@pytest.fixture(scope="module")
def warm():
    """A Colorizer with a constant, clearly warm colour (a tiny model)."""
    return Colorizer([constant_ab_model(0.15, 0.25, stride=4)], size=64)


def _listing(folder):
    return sorted(os.listdir(folder))


# The smoother, on arrays.


def test_smoothing_settings_are_checked():
    assert resolve(True) == Smoothing() and resolve(False) is None
    assert resolve(Smoothing(strength=0.0)) is None
    for bad in (dict(strength=1.0), dict(strength=-0.1), dict(lightness_scale=0)):
        with pytest.raises(ValueError):
            Smoothing(**bad)
    with pytest.raises(TypeError):
        resolve("yes")


def test_smoother_steadies_noisy_colour_on_a_still_picture():
    rng = np.random.default_rng(0)
    still = np.full((20, 30), 50.0, np.float32)
    smoother = TemporalSmoother(Smoothing(strength=0.8))
    raw = [0.3 + 0.05 * rng.standard_normal((20, 30, 2)) for _ in range(40)]
    smoothed = [smoother.update(still, ab) for ab in raw]
    assert np.array_equal(smoothed[0], raw[0].astype(np.float32))  # nothing to blend
    raw_change = np.mean([np.abs(b - a).mean() for a, b in zip(raw, raw[1:])])
    new_change = np.mean([np.abs(b - a).mean() for a, b in zip(smoothed, smoothed[1:])])
    assert new_change < 0.4 * raw_change
    assert abs(np.mean(smoothed[10:]) - 0.3) < 0.01  # no bias


def test_colour_does_not_leak_across_a_cut():
    smoother = TemporalSmoother(Smoothing(strength=0.9))
    before, after = np.full((16, 16), 30.0), np.full((16, 16), 70.0)
    for _ in range(10):
        smoother.update(before, np.full((16, 16, 2), 0.5))
    first = smoother.update(after, np.full((16, 16, 2), -0.5))
    assert smoother.cuts == 1
    np.testing.assert_array_equal(first, np.full((16, 16, 2), -0.5))


def test_colour_follows_where_the_picture_changed():
    smoother = TemporalSmoother(Smoothing(strength=0.9, blur=0))
    frame = np.full((16, 32), 40.0)
    smoother.update(frame, np.zeros((16, 32, 2)))
    moved = frame.copy()
    moved[:, :4] = 80.0  # a small object enters: no cut, but its pixels are new
    smoothed = smoother.update(moved, np.ones((16, 32, 2)))
    assert smoother.cuts == 0
    assert smoothed[:, :4].min() > 0.99  # the new content's own colour
    assert smoothed[:, 8:].max() < 0.15  # the still part keeps its past


def test_per_frame_video_colour_is_the_photo_colour(warm):
    frames = pan_frames(6)
    result = np.stack(list(video.colorize_frames(warm, frames, batch_size=4)))
    np.testing.assert_array_equal(result, warm.colorize_array(frames))


def test_smoothing_halves_flicker_and_keeps_every_frames_lightness():
    rng = np.random.default_rng(1)
    still = photo("coffee", (96, 64))
    noisy = np.stack(
        [
            np.clip(still + rng.normal(0, 4.0, still.shape), 0, 255).astype(np.uint8)
            for _ in range(16)
        ]
    )  # a still shot with film grain
    colorizer = Colorizer([l_dependent_model()], size=64)
    per_frame = np.stack(list(video.colorize_frames(colorizer, noisy)))
    smoother = TemporalSmoother(Smoothing())
    smoothed = np.stack(list(video.colorize_frames(colorizer, noisy, smoother)))
    flicker = [
        metrics.flicker([lab.rgb_to_lab(f).numpy() for f in frames])[0]
        for frames in (per_frame, smoothed)
    ]
    assert flicker[1] < 0.5 * flicker[0], flicker
    assert np.abs(lightness(smoothed) - lightness(noisy)).max() < 0.5


# Files through the Python API.


def test_video_keeps_size_frames_rate_and_lightness(tmp_path, warm):
    frames = pan_frames(12)
    source = write_clip(tmp_path / "clip.avi", frames, fps=24.0)
    report = warm.colorize_video(source, progress=False)
    assert report.output == str(tmp_path / "clip_colorized.mp4")
    assert (report.frames, report.fps, report.width, report.height) == (12, 24, 64, 48)
    assert not report.audio
    assert _listing(tmp_path) == ["clip.avi", "clip_colorized.mp4"]
    decoded_in, _ = read_clip(source)
    decoded_out, fps = read_clip(report.output)
    assert decoded_out.shape == decoded_in.shape and fps == 24.0
    # The L is the input's up to H.264's own loss: that of the input frames encoded
    # the same way (about 1.4 L on average for this tiny, detailed pan).
    with video_io.VideoWriter(str(tmp_path / "ref.mp4"), 64, 48, 24.0) as writer:
        writer.write(decoded_in)
    codec_error = np.abs(
        lightness(read_clip(tmp_path / "ref.mp4")[0]) - lightness(decoded_in)
    )
    l_error = np.abs(lightness(decoded_out) - lightness(decoded_in))
    assert l_error.mean() < codec_error.mean() + 0.2 < 2.0
    chroma = np.hypot(*color.rgb2lab(decoded_out)[..., 1:].transpose(3, 0, 1, 2))
    assert chroma.mean() > 10  # clearly coloured
    assert not video_io.has_audio(report.output)


def test_ntsc_rate_and_odd_sizes_are_kept(tmp_path, warm):
    for width, height in ((1, 1), (65, 49), (4000, 20)):
        source = tmp_path / f"odd_{width}x{height}.mkv"
        ffmpeg(
            "-f", "lavfi", "-i", f"testsrc=size={width}x{height}:rate=30000/1001",
            "-frames:v", 5, "-c:v", "ffv1", source,
        )  # fmt: skip
        report = warm.colorize_video(source, tmp_path / "out.mp4", progress=False)
        decoded, fps = read_clip(report.output)
        assert decoded.shape == (5, height, width, 3)
        assert abs(fps - 30000 / 1001) < 1e-3


def test_audio_is_copied_unchanged(tmp_path, warm):
    source = tmp_path / "talk.mp4"
    ffmpeg(
        "-f", "lavfi", "-i", "testsrc=size=64x48:rate=25",
        "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=22050",
        "-frames:v", 10, "-t", 0.4, "-c:v", "libx264", "-pix_fmt", "yuv420p",
        "-c:a", "aac", "-b:a", "64k", source,
    )  # fmt: skip
    report = warm.colorize_video(source, progress=False)
    assert report.audio and video_io.has_audio(report.output)
    probe = subprocess.run(
        [FFMPEG, "-hide_banner", "-i", report.output], capture_output=True, text=True
    ).stderr
    assert "Audio: aac" in probe and "22050 Hz" in probe
    assert read_clip(report.output)[0].shape[0] == 10


def test_variable_frame_rate_keeps_every_frame_and_the_duration(tmp_path, warm):
    source = tmp_path / "vfr.mkv"
    ffmpeg(
        "-f",
        "lavfi",
        "-i",
        "testsrc=size=64x48:rate=30",
        "-frames:v",
        45,
        "-vf",
        "setpts='if(lt(N,15),N*3,45+(N-15))/30/TB'",
        "-fps_mode",
        "vfr",
        "-c:v",
        "ffv1",
        source,
    )  # fmt: skip: 15 frames at 10 fps, then 30 at 30 fps
    report = warm.colorize_video(source, progress=False)
    assert report.frames == 45 and abs(report.fps - 44 / (74 / 30)) < 0.01  # average
    times = timestamps(report.output)
    assert len(times) == 45 and abs(times[-1] - 74 / 30) < 0.01  # ends as the input


@pytest.mark.parametrize(
    "make,reason",
    [
        (lambda p: p.write_bytes(b""), "empty file"),
        (lambda p: p.write_text("not a video\n" * 50), "not a video"),
        (
            lambda p: write_clip(p, np.zeros((0, 48, 64, 3), np.uint8)),
            "no frames",
        ),
        (lambda p: truncate(write_clip(p, pan_frames(24))), "truncated"),
    ],
    ids=["empty", "garbage", "zero-frames", "truncated"],
)
def test_bad_videos_fail_with_one_line_and_leave_nothing(tmp_path, warm, make, reason):
    source = tmp_path / "bad.avi"
    make(source)
    with pytest.raises(video_io.VideoError, match=reason) as error:
        warm.colorize_video(source, progress=False)
    assert "\n" not in str(error.value)
    assert _listing(tmp_path) == ["bad.avi"]


def test_ctrl_c_leaves_no_output_and_no_temporary_file(tmp_path, monkeypatch):
    source = write_clip(tmp_path / "clip.avi", pan_frames(12))
    colorizer = Colorizer([constant_ab_model(0.1, 0.1)], size=32)
    calls = []

    def interrupted(rgb, ab_norm):
        calls.append(len(rgb))
        if len(calls) == 2:
            raise KeyboardInterrupt
        return Colorizer.join_ab(colorizer, rgb, ab_norm)

    monkeypatch.setattr(colorizer, "join_ab", interrupted)
    with pytest.raises(KeyboardInterrupt):
        colorizer.colorize_video(source, batch_size=4, progress=False)
    assert calls == [4, 4]
    assert _listing(tmp_path) == ["clip.avi"]


def test_output_must_be_mp4_and_not_the_input(tmp_path, warm):
    source = write_clip(tmp_path / "clip.avi", pan_frames(4))
    with pytest.raises(video_io.VideoError, match="must be an .mp4"):
        warm.colorize_video(source, tmp_path / "x.avi", progress=False)
    ffmpeg("-i", source, "-c:v", "libx264", tmp_path / "c.mp4")
    with pytest.raises(video_io.VideoError, match="is the input"):
        warm.colorize_video(tmp_path / "c.mp4", tmp_path / "c.mp4", progress=False)
    with pytest.raises(video_io.VideoError, match="over the limit"):
        warm.colorize_video(source, progress=False, max_pixels=1000)
    assert _listing(tmp_path) == ["c.mp4", "clip.avi"]


def test_default_model_colours_a_clip(tmp_path):
    source = write_clip(tmp_path / "pan.avi", pan_frames(10, (96, 64)))
    report = Colorizer.load().colorize_video(source, progress=False)
    decoded, _ = read_clip(report.output)
    assert decoded.shape == (10, 64, 96, 3)
    assert np.hypot(*color.rgb2lab(decoded)[..., 1:].transpose(3, 0, 1, 2)).mean() > 3


# infer.py


@pytest.fixture(scope="module")
def model_path(tmp_path_factory):
    path = tmp_path_factory.mktemp("model") / "warm.keras"
    save_model(constant_ab_model(0.15, 0.25, stride=4), path, ModelFacts(64))
    return str(path)


def run(args, model_path):
    return infer.main(args + ["--model", model_path, "--quiet", "--size", "64"])


def test_cli_folder_of_photos_and_videos(tmp_path, model_path, capsys):
    src = tmp_path / "reels"
    (src / "sub").mkdir(parents=True)
    (src / "a.jpg").write_bytes(encode(photo("astronaut", (64, 48)), "JPEG"))
    write_clip(src / "sub" / "b.avi", pan_frames(6))
    (src / "broken.mp4").write_text("not a video")
    assert run([str(src)], model_path) == 1
    out = tmp_path / "reels_colorized"
    assert sorted(
        p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file()
    ) == ["a.jpg", "sub/b.mp4"]
    assert read_clip(out / "sub" / "b.mp4")[0].shape == (6, 48, 64, 3)
    err = capsys.readouterr().err.strip().splitlines()
    assert [line for line in err if "broken.mp4" in line] == [
        f"error: {src / 'broken.mp4'}: not a video OpenCV can decode, or damaged or "
        "truncated"
    ]
    assert err[-1] == f"colorized 2 of 3 files into {out}"


def test_cli_single_video_goes_beside_it_or_to_output(tmp_path, model_path, capsys):
    source = write_clip(tmp_path / "film.avi", pan_frames(4))
    assert run([source, "--smoothing", "0"], model_path) == 0
    assert (tmp_path / "film_colorized.mp4").is_file()
    assert run([source, "--output", str(tmp_path / "mine.mp4")], model_path) == 0
    assert run([source, "--output", str(tmp_path / "folder")], model_path) == 0
    assert _listing(tmp_path) == [
        "film.avi",
        "film_colorized.mp4",
        "folder",
        "mine.mp4",
    ]
    assert os.listdir(tmp_path / "folder") == ["film.mp4"]
    capsys.readouterr()
    assert run([source, "--output", str(tmp_path / "x.mkv")], model_path) == 2
    assert run([source, "--smoothing", "1"], model_path) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [
        f"infer.py: error: a colorized video is written as .mp4, not "
        f"{str(tmp_path / 'x.mkv')!r}",
        "infer.py: error: --smoothing must be in [0, 1)",
    ]


def test_cli_damaged_video_is_one_line_on_the_terminal(tmp_path, model_path):
    good = tmp_path / "good.mp4"
    ffmpeg("-f", "lavfi", "-i", "testsrc=size=64x48:rate=24", "-frames:v", 24, good)
    data = good.read_bytes()
    (tmp_path / "cut.mp4").write_bytes(data[: len(data) // 2])  # no index: FFmpeg logs
    result = subprocess.run(
        [sys.executable, "infer.py", str(tmp_path / "cut.mp4"), "--model", model_path],
        cwd=REPO,
        capture_output=True,
        text=True,
        env={
            k: v
            for k, v in os.environ.items()
            if not k.startswith(("TF_CPP", "OPENCV"))
        },
    )
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        f"error: {tmp_path / 'cut.mp4'}: not a video OpenCV can decode, or damaged or "
        "truncated",
        f"colorized 0 of 1 videos into {tmp_path / 'cut_colorized.mp4'}",
    ]
    assert _listing(tmp_path) == ["cut.mp4", "good.mp4"]


# infer.py, run so that it stops mid-video after its first frame is written to the
# encoder: it touches `marker`, then waits there for the test's signal. The signal
# thus always comes mid-video, however fast the machine colorizes the clip.
_MID_VIDEO = """
import pathlib, signal, sys, time
# Ctrl-C as a terminal delivers it, whatever the test process left to its children:
# a child inherits an ignored or blocked SIGINT, and the full test run once left one.
signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})
signal.signal(signal.SIGINT, signal.default_int_handler)
from colorization.inference import video_io
from colorization.cli import infer

marker = pathlib.Path(sys.argv.pop(1))
write = video_io.VideoWriter.write

def write_then_wait(self, rgb):
    write(self, rgb)
    if not marker.exists():
        marker.touch()
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            time.sleep(0.05)

video_io.VideoWriter.write = write_then_wait
sys.exit(infer.main())
"""


@pytest.mark.parametrize(
    "sent,status,word",
    [(signal.SIGINT, 130, "interrupted"), (signal.SIGTERM, 143, "terminated")],
    ids=["ctrl-c", "sigterm"],
)
def test_cli_ctrl_c_or_sigterm_leaves_nothing_behind(
    tmp_path, model_path, sent, status, word
):
    clips = tmp_path / "clips"
    clips.mkdir()
    source = write_clip(clips / "long.avi", np.repeat(pan_frames(10), 3, axis=0))
    marker = tmp_path / "mid-video"
    process = subprocess.Popen(
        [sys.executable, "-c", _MID_VIDEO, str(marker), source]
        + ["--model", model_path, "--quiet"],
        cwd=REPO,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 120
    while not marker.exists():
        assert process.poll() is None, process.communicate()[1]
        assert time.monotonic() < deadline, "the first frame never reached the encoder"
        time.sleep(0.05)
    partial = clips / ".long_colorized.video.partial.mp4"
    assert partial.exists()  # the encoder is writing
    process.send_signal(sent)  # as Ctrl-C (or `kill`, a scheduler) does, mid-video
    _, err = process.communicate(timeout=60)
    assert process.returncode == status, err
    assert err.strip().splitlines()[-1] == (
        f"infer.py: {word}; no half-written file is left"
    )
    assert _listing(clips) == ["long.avi"]
    assert not _processes_writing(partial)  # FFmpeg was stopped, not left running


def _processes_writing(path):
    """Process ids whose command line names `path` (Linux /proc)."""
    found = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                if str(path).encode() in f.read():
                    found.append(pid)
        except OSError:
            pass  # ended meanwhile
    return found
