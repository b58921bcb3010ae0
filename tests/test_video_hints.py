"""Colour hints through a video shot (issue 23, part 4): reading a hint's "frame", the
optical-flow tracker on synthetic frames (a textured square moving right, then a cut),
the same cuts as the smoother, and infer.py film.avi --hints end to end with a hint
'oracle' model (its output is the hint ab it is given: where a hint lands is visible),
with every bad input."""

import json
import os

import numpy as np
import pytest
from skimage import color

import infer
from colorization.hints import user_hints
from colorization.inference import video, video_hints, video_io
from colorization.inference.colorizer import Colorizer
from colorization.inference.temporal import Smoothing, TemporalSmoother
from colorization.models.model_file import ModelFacts, save_model
from tests.conftest import encode
from tests.inference_helpers import constant_ab_model, hint_oracle_model
from tests.test_video import read_clip, write_clip

SHOT, STEP, START = 12, 3, (20, 32)  # frames of the first shot, px a frame, hint
COLOUR = "#d04020"


def square_clip(shot=SHOT, step=STEP, after=4, size=(96, 64)):
    """Grey uint8 RGB frames: a textured square moving right by `step` px a frame on a
    quiet background for `shot` frames, then a cut to a brighter noisy scene for
    `after` frames. The square's centre starts at `START`."""
    width, height = size
    rng = np.random.default_rng(0)
    background = rng.integers(90, 110, (height, width), np.uint8)
    square = rng.integers(110, 170, (20, 20), np.uint8)  # L where the hue fits sRGB
    frames = []
    for i in range(shot):
        frame = background.copy()
        left = START[0] - 10 + step * i
        frame[22:42, max(left, 0) : left + 20] = square[:, : max(0, width - left)]
        frames.append(frame)
    other = rng.integers(150, 255, (height, width), np.uint8)
    frames += [np.roll(other, 2 * i, 1) for i in range(after)]
    return np.stack([np.stack([f] * 3, -1) for f in frames])


def _track(frames, hints, **kwargs):
    tracker = video_hints.HintTracker(user_hints.parse_hints(hints), **kwargs)
    return [tracker.step(frame) for frame in frames], tracker


# -- reading a hint's frame --------------------------------------------------------------


def test_frames_are_read_and_written_and_a_photos_hints_are_unchanged():
    photo = user_hints.parse_hints([{"x": 1, "y": 2, "color": COLOUR}])
    assert photo.frames is None and "frame" not in photo.to_json()[0]
    hints = user_hints.parse_hints_json(
        json.dumps(
            [
                {"x": 1, "y": 2, "color": COLOUR, "frame": 7},
                {"x": 3, "y": 4, "color": COLOUR},  # frame 0
            ]
        )
    )
    assert hints.frames.tolist() == [7, 0]
    assert hints.to_json()[0] == {"x": 1, "y": 2, "color": COLOUR, "frame": 7}
    assert user_hints.parse_hints([(3, 4, COLOUR, 2)]).frames.tolist() == [2]
    assert hints.on_frame(7).points.tolist() == [[1, 2]]


@pytest.mark.parametrize("frame", [-1, 1.5, "3", True, None, 2**31])
def test_a_bad_frame_is_a_one_line_error(frame):
    with pytest.raises(user_hints.HintError) as error:
        user_hints.parse_hints_json(
            json.dumps([{"x": 1, "y": 2, "color": COLOUR, "frame": frame}])
        )
    assert "hint 1: frame must be a whole number" in str(error.value)
    assert "\n" not in str(error.value)


# -- the tracker -------------------------------------------------------------------------


def test_a_hint_follows_the_moving_square_and_ends_at_the_cut():
    frames = square_clip()
    tracked, tracker = _track(frames, [{"x": START[0], "y": START[1], "color": COLOUR}])
    for i, hints in enumerate(tracked[:SHOT]):
        (x, y), truth = hints.points[0], (START[0] + STEP * i, START[1])
        assert np.hypot(x - truth[0], y - truth[1]) <= 2, (i, x, y)
        assert hints.colours.tolist() == [[0xD0, 0x40, 0x20]]
    assert tracked[SHOT:] == [None] * (len(frames) - SHOT)
    assert tracker.cuts == [SHOT]


def test_a_hint_starts_on_its_frame_and_is_dropped_when_it_leaves():
    frames = square_clip(step=8)  # the square leaves on the right
    hint = {"x": START[0] + 8 * 3, "y": START[1], "color": COLOUR, "frame": 3}
    tracked, _ = _track(frames, [hint])
    assert tracked[:3] == [None] * 3
    for i in range(3, 8):  # well inside the frame
        assert abs(tracked[i].points[0, 0] - (START[0] + 8 * i)) <= 2
    assert all(hints is None for hints in tracked[10:])  # the centre is past x = 95


@pytest.mark.parametrize("quality", ["fast", "best"])
def test_the_tracker_finds_the_cuts_the_smoother_finds(quality):
    frames = square_clip()
    oracle = Colorizer([hint_oracle_model()], size=64, quality=quality)
    lightness_of = video.network_lightness(oracle)
    lightness, _ = oracle.predict_small(frames)
    hinted, _ = oracle.predict_small(frames[:1], hints=[(*START, COLOUR)])
    np.testing.assert_array_equal(lightness_of(frames[0]), lightness[0, ..., 0])
    np.testing.assert_array_equal(lightness_of(frames[0]), hinted[0, ..., 0])
    smoother, cuts = TemporalSmoother(Smoothing()), []
    for i, lum in enumerate(lightness):
        before = smoother.cuts
        smoother.update(lum[..., 0], np.zeros(lum.shape[:2] + (2,)))
        cuts += [i] if smoother.cuts > before else []
    _, tracker = _track(frames, [(*START, COLOUR)], lightness=lightness_of)
    assert tracker.cuts == cuts == [SHOT]


# -- infer.py film.avi --hints -----------------------------------------------------------


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    folder = tmp_path_factory.mktemp("models")
    paths = {"oracle": str(folder / "oracle.keras"), "plain": str(folder / "p.keras")}
    hint_oracle_model().save(paths["oracle"])
    save_model(constant_ab_model(0.1, 0.2, stride=4), paths["plain"], ModelFacts(64))
    return paths


def _infer(tmp_path, hints, model, frames=None, more=()):
    clip = write_clip(
        tmp_path / "clip.avi", square_clip() if frames is None else frames
    )
    path = tmp_path / "hints.json"
    path.write_text(json.dumps(hints))
    args = [clip, "--hints", str(path), "--model", model, "--quiet", "--size", "64"]
    return infer.main(args + list(more)), str(path)


def _ab(rgb, x, y):
    return color.rgb2lab(rgb[y - 1 : y + 2, x - 1 : x + 2]).mean((0, 1))[1:]


def _hue(ab):
    return np.degrees(np.arctan2(ab[1], ab[0]))


@pytest.mark.parametrize("smoothing", ["0", "0.9"])
def test_infer_carries_a_hint_through_the_shot_and_drops_it_at_the_cut(
    tmp_path, models, smoothing
):
    hint = {"x": START[0], "y": START[1], "color": COLOUR, "frame": 0}
    more = ["--smoothing", smoothing]
    assert _infer(tmp_path, [hint], models["oracle"], more=more)[0] == 0
    result, _ = read_clip(tmp_path / "clip_colorized.mp4")
    assert len(result) == SHOT + 4
    wanted = color.rgb2lab(np.array([[[0xD0, 0x40, 0x20]]], np.uint8))[0, 0, 1:]
    last = SHOT - 1
    x = START[0] + STEP * last
    got = _ab(result[last], x, START[1])
    if smoothing == "0":
        assert np.hypot(*(got - wanted)) <= 10, got
    else:  # the oracle paints a 5-pixel patch: the past of a pixel had no hint
        assert np.hypot(*got) > 15 and abs(_hue(got) - _hue(wanted)) < 10, got
    assert np.hypot(*_ab(result[0], 80, 55)) < 3  # grey away from the hint
    for frame in result[SHOT:]:
        assert np.hypot(*_ab(frame, x, START[1])) < 3  # gone after the cut


def _one_error_and_nothing_written(tmp_path, capsys, words):
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and all(w in err[0] for w in words), err
    assert sorted(os.listdir(tmp_path)) == ["clip.avi", "hints.json"]


def test_a_hint_past_the_end_is_a_usage_error(tmp_path, models, capsys):
    hint = {"x": 5, "y": 5, "color": COLOUR, "frame": SHOT + 4}
    status, path = _infer(tmp_path, [hint], models["oracle"])
    assert status == 2
    words = [path, "hint 1 is on frame 16, past the end", "(16 frames, 0 to 15)"]
    _one_error_and_nothing_written(tmp_path, capsys, words)


def test_a_frame_past_the_end_found_only_at_the_end_is_a_usage_error(
    tmp_path, models, capsys, monkeypatch
):
    opened = video_io.VideoReader.__init__

    def no_frame_count(self, path):
        opened(self, path)
        self.info.frame_count = 0  # as some containers say

    monkeypatch.setattr(video_io.VideoReader, "__init__", no_frame_count)
    hint = {"x": 5, "y": 5, "color": COLOUR, "frame": SHOT + 4}
    status, path = _infer(tmp_path, [hint], models["oracle"], square_clip(after=0))
    assert status == 2
    _one_error_and_nothing_written(tmp_path, capsys, [path, "(12 frames, 0 to 11)"])


def test_a_photo_refuses_a_hint_on_another_frame(tmp_path, models, capsys):
    source = tmp_path / "photo.png"
    source.write_bytes(encode(square_clip()[0]))
    path = tmp_path / "hints.json"
    path.write_text(json.dumps([{"x": 5, "y": 5, "color": COLOUR, "frame": 2}]))
    args = [str(source), "--hints", str(path), "--model", models["oracle"], "--quiet"]
    assert infer.main(args + ["--size", "64"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "hint 1 is on frame 2; a photo has only frame 0" in err[0]
    assert sorted(os.listdir(tmp_path)) == ["hints.json", "photo.png"]


@pytest.mark.parametrize(
    "hint, model, words",
    [
        ({"frame": -1}, "oracle", ["hint 1: frame must be a whole number"]),
        ({"x": 96}, "oracle", ["hint 1 at (x=96, y=32) is outside the 96 x 64"]),
        ({}, "plain", ["this model takes no hints"]),
    ],
)
def test_bad_video_hints_exit_2_and_leave_nothing(
    tmp_path, models, capsys, hint, model, words
):
    hint = {"x": START[0], "y": START[1], "color": COLOUR, **hint}
    status, _ = _infer(tmp_path, [hint], models[model])
    assert status == 2
    _one_error_and_nothing_written(tmp_path, capsys, words)
