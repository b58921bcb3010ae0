"""Colour hints through a video shot: each hint follows the content it was placed on,
frame by frame, until the shot ends.

    hints = user_hints.read_hints_file("film.json")  # {"x", "y", "color", "frame"}
    for rgb, frame_hints in track_hints(frames, hints):
        ...  # frame_hints: the `user_hints.Hints` of this frame, or None

A hint starts on the frame it names (0 when it names none). From there its point is
carried forward by pyramidal Lucas-Kanade optical flow (`cv2.calcOpticalFlowPyrLK`) on
the grey frames, checked by tracking it back: a point the tracker loses, whose way back
misses its start by more than `MAX_ROUND_TRIP` pixels, or that leaves the frame is
dropped. Every hint stops at the next scene cut, found by the temporal smoother's own
test (`colorization.inference.temporal`): the mean |L_t - L_t-1| of L blurred by
`Smoothing.blur` pixels above `Smoothing.cut_threshold`. `colorization.inference.video`
gives it the L the network sees, which is the L the smoother compares, so both find the
same cuts. Frames stream through: only the previous frame is kept.
"""

import numpy as np

from colorization.hints import user_hints
from colorization.inference import temporal

MAX_ROUND_TRIP = 1.0  # pixels between a point and where tracking it back lands
_WINDOW = (21, 21)  # Lucas-Kanade window, pixels at each pyramid level
_LEVELS = 3  # pyramid levels above the frame: motions of ~100 px a frame
_CRITERIA = (3, 30, 0.01)  # cv2.TERM_CRITERIA_COUNT | EPS, 30 steps, 0.01 px


class FramePastEnd(user_hints.HintError):
    """A hint placed on a frame the video does not have."""


def check_frames(hints, frame_count):
    """Raises `FramePastEnd` for the first hint on a frame past `frame_count` frames
    (0: unknown, nothing is checked)."""
    if not frame_count or hints is None:
        return
    for number, frame in enumerate(hints.frame_of_each().tolist(), 1):
        if frame >= frame_count:
            raise FramePastEnd(
                f"hint {number} is on frame {frame}, past the end of the video "
                f"({frame_count} frames, 0 to {frame_count - 1})"
            )


def file_lightness(rgb):
    """The L (Lab units, float32 (H, W)) of a uint8 RGB frame at its own size: the cut
    test's L when no network's L is given."""
    import cv2

    return cv2.cvtColor(rgb.astype(np.float32) / 255.0, cv2.COLOR_RGB2Lab)[..., 0]


def _grey(rgb):
    import cv2

    return cv2.cvtColor(np.ascontiguousarray(rgb, np.uint8), cv2.COLOR_RGB2GRAY)


def track_points(previous, current, points):
    """Where `points` float32 (K, 2) of the grey frame `previous` are in `current`.

    Returns:
        (moved points (K, 2), kept (K,) bool): kept is False for a point the tracker
        lost, whose round trip misses by over `MAX_ROUND_TRIP` px, or off the frame.
    """
    import cv2

    if not len(points):
        return points, np.zeros(0, bool)
    flow = dict(winSize=_WINDOW, maxLevel=_LEVELS, criteria=_CRITERIA)
    start = points.reshape(-1, 1, 2).astype(np.float32)
    moved, found, _ = cv2.calcOpticalFlowPyrLK(previous, current, start, None, **flow)
    back, found_back, _ = cv2.calcOpticalFlowPyrLK(
        current, previous, moved, None, **flow
    )
    moved, back = moved.reshape(-1, 2), back.reshape(-1, 2)
    height, width = current.shape
    kept = (
        (found.ravel() == 1)
        & (found_back.ravel() == 1)
        & (np.hypot(*(back - points).T) <= MAX_ROUND_TRIP)
        & (moved[:, 0] >= 0)
        & (moved[:, 0] <= width - 1)
        & (moved[:, 1] >= 0)
        & (moved[:, 1] <= height - 1)
    )
    return moved, kept


class HintTracker:
    """Carries hints through a stream of frames, one `step` per frame.

    Args:
        hints: `user_hints.Hints` (their `frames` say where each starts).
        smoothing: the `temporal.Smoothing` whose cut test ends a shot (default
            `temporal.Smoothing()`).
        lightness: a function of a uint8 RGB frame (H, W, 3) -> its L (h, w) in Lab
            units for the cut test (default `file_lightness`).
    """

    def __init__(self, hints, smoothing=None, lightness=None):
        hints = user_hints.parse_hints(hints)
        self.smoothing = smoothing or temporal.Smoothing()
        self._lightness_of = lightness or file_lightness
        self._starts = {
            frame: hints.on_frame(frame)
            for frame in np.unique(hints.frame_of_each()).tolist()
        }
        self._last_start = max(self._starts, default=-1)
        self.frame = -1  # the index of the last frame stepped
        self.cuts = []  # frames that start a new shot (found while hints were live)
        self._points = np.zeros((0, 2), np.float32)
        self._colours = np.zeros((0, 3), np.uint8)
        self._grey = self._cut_lightness = None

    @property
    def done(self):
        """True once no hint is live and none starts later."""
        return not len(self._points) and self.frame >= self._last_start

    def _is_cut(self, rgb):
        """The smoother's cut test between the previous frame and `rgb`."""
        lightness = temporal.blurred_lightness(
            self._lightness_of(rgb), self.smoothing.blur
        )
        previous, self._cut_lightness = self._cut_lightness, lightness
        if previous is None or previous.shape != lightness.shape:
            return False
        change = float(np.abs(lightness - previous).mean())
        return change > self.smoothing.cut_threshold

    def step(self, rgb):
        """The next frame (uint8 RGB (H, W, 3)) -> its `user_hints.Hints`, or None."""
        self.frame += 1
        live = len(self._points) > 0
        starting = self._starts.get(self.frame)
        if not live and starting is None:
            self._grey = self._cut_lightness = None
            return None
        grey = _grey(rgb)
        if self._is_cut(rgb) and live:
            self.cuts.append(self.frame)
            self._keep(np.zeros(len(self._points), bool))
        elif live:
            self._points, kept = track_points(self._grey, grey, self._points)
            self._keep(kept)
        if starting is not None:
            self._points = np.concatenate([self._points, starting.points])
            self._colours = np.concatenate([self._colours, starting.colours])
        self._grey = grey
        if not len(self._points):
            return None
        return user_hints.Hints(self._points.copy(), self._colours.copy())

    def _keep(self, kept):
        self._points, self._colours = self._points[kept], self._colours[kept]


def track_hints(frames, hints, smoothing=None, lightness=None):
    """Yields (frame, its `user_hints.Hints` or None) for each frame of `frames`, an
    iterable of uint8 RGB (H, W, 3); the arguments are `HintTracker`'s. Once every
    hint has ended, the frames pass straight through."""
    tracker = HintTracker(hints, smoothing, lightness)
    for rgb in frames:
        yield rgb, (None if tracker.done else tracker.step(rgb))
