"""Temporally stable colour for videos: smooth the predicted ab over time.

Colorizing frame by frame flickers: a wall whose pixels barely change gets a slightly
different colour in every frame. `TemporalSmoother` keeps an exponential moving average
of ab at the network's resolution, per pixel:

    weight = strength * exp(-|L_t - L_t-1| / lightness_scale)
    ab_t'  = weight * ab_t-1' + (1 - weight) * ab_t

so the past counts where the frame's L did not change (a still wall) and fades where it
did (a moving edge, new content), and it is forgotten entirely at a scene cut, found
when the mean |L_t - L_t-1| of the whole frame exceeds `cut_threshold`. The L of the
output is never touched: the smoothed ab is joined with each frame's own full-resolution
L afterwards (`colorization.inference.video`).
"""

import dataclasses

import numpy as np


@dataclasses.dataclass(frozen=True)
class Smoothing:
    """How much ab is smoothed over time.

    Attributes:
        strength: weight of the past where L did not change, in [0, 1); 0 is
            frame-by-frame colour.
        lightness_scale: the change of L (Lab units, at network resolution) over which
            the past's weight falls by a factor e.
        cut_threshold: mean |L_t - L_t-1| (Lab units) over the frame above which the
            frame starts a new scene and the past is dropped.
        blur: sigma in pixels of the Gaussian blur of L before it is compared, so film
            grain does not read as change (0: none).
    """

    # Chosen with scripts/video_flicker.py (README, "Videos"): flicker 0.38x that of
    # frame-by-frame colour at no cost in PSNR; scale 8 halves it further but keeps
    # more of the past on moving things.
    strength: float = 0.9
    lightness_scale: float = 4.0
    cut_threshold: float = 12.0
    blur: float = 1.0

    def __post_init__(self):
        if not 0.0 <= self.strength < 1.0:
            raise ValueError(
                f"smoothing strength must be in [0, 1), got {self.strength}"
            )
        for name in ("lightness_scale", "cut_threshold"):
            if not getattr(self, name) > 0:
                raise ValueError(f"smoothing {name} must be > 0")
        if not self.blur >= 0:
            raise ValueError("smoothing blur must be >= 0")


def blurred_lightness(lightness, blur):
    """L (h, w) as the smoother and the cut test compare it: float32, with a Gaussian
    blur of sigma `blur` pixels (0: none) so that film grain does not read as change
    (`colorization.inference.video_hints` finds the same cuts with it)."""
    import cv2

    lightness = np.asarray(lightness, np.float32)
    if blur > 0:
        lightness = cv2.GaussianBlur(lightness, (0, 0), blur)
    return lightness


def resolve(smooth):
    """`Smoothing` for True, None for False/None/strength 0, a `Smoothing` as it is."""
    if smooth is True:
        return Smoothing()
    if smooth is False or smooth is None:
        return None
    if isinstance(smooth, Smoothing):
        return smooth if smooth.strength > 0 else None
    raise TypeError(f"smooth must be True, False or a Smoothing, got {smooth!r}")


class TemporalSmoother:
    """Smooths a stream of ab predictions, one frame at a time (see the module doc).

    Args:
        smoothing: a `Smoothing`.
    """

    def __init__(self, smoothing):
        self.smoothing = smoothing
        self.cuts = 0  # scene cuts found so far
        self.change = 0.0  # the last frame's mean |L_t - L_t-1|, the cut score
        self.reset()

    def reset(self):
        """Forgets the past (the next frame's ab is passed through)."""
        self._lightness = None
        self._ab = None

    def _blurred(self, lightness):
        return blurred_lightness(lightness, self.smoothing.blur)

    def update(self, lightness, ab):
        """Smooths one frame.

        Args:
            lightness: the frame's L (h, w) at network resolution, Lab units.
            ab: its predicted ab (h, w, 2), in any scale (ab_norm in this package).

        Returns:
            the smoothed ab (h, w, 2), float32.
        """
        lightness = self._blurred(lightness)
        ab = np.asarray(ab, np.float32)
        if self._ab is not None and self._ab.shape != ab.shape:
            self.reset()  # a new frame size: nothing to carry over
        self.change = 0.0
        if self._ab is None:
            smoothed = ab
        else:
            change = np.abs(lightness - self._lightness)  # (h, w)
            self.change = float(change.mean())
            if self.change > self.smoothing.cut_threshold:
                self.cuts += 1
                smoothed = ab
            else:
                weight = (
                    self.smoothing.strength
                    * np.exp(-change / self.smoothing.lightness_scale)[..., None]
                )  # (h, w, 1)
                smoothed = weight * self._ab + (1.0 - weight) * ab
        self._lightness, self._ab = lightness, smoothed
        return smoothed
