"""Colorize photos of any size at full resolution: the `Colorizer` API.

    from colorization import Colorizer
    colorizer = Colorizer.load()                 # the model shipped in the package
    rgb = colorizer.colorize("grandma.jpg")      # uint8 RGB, same size as the input
    rgb = colorizer.colorize("grandma.jpg", hints=[(120, 80, "#d04020")])  # hinted model
    rgb = colorizer.colorize("grandma.jpg", quality="best")  # four passes averaged
    colorizer.colorize_video("film.mp4")         # -> film_colorized.mp4 (colorization.inference.video)

The network sees a copy whose longer side is `size` (the model's training size), padded
to a multiple of its stride; only the predicted ab is brought back to the original size
and joined with the original, full-resolution L, so no detail of the photo is lost.
Colours outside the sRGB gamut lose chroma at constant L, so the L of the result is the L
of the input. The same graph (`colorize_batch`) serves this API, infer.py and the
SavedModel of export.py. `quality="best"` averages the colour of the photo and its
mirror image at two sizes (`graph.predict_best`), for about three times the time.
"""

import importlib.resources
import os

import numpy as np
import tensorflow as tf

from colorization.hints import user_hints
from colorization.inference import graph, guidance, options
from colorization.models.model_file import (  # noqa: F401 (part of this API)
    ModelNotFoundError,
    NoSizeError,
    load_model,
    model_size,
)
from colorization.models.registry import is_hinted


def default_model_path():
    """Where the package's shipped default model lives (it may not be installed)."""
    return str(importlib.resources.files("colorization") / "assets" / "default.keras")


class Colorizer:
    """One model, or several whose ab predictions are averaged.

    Args:
        models: Keras models mapping L_norm to ab_norm, or hinted models (L_norm
            and the hint channels; `colorize(..., hints=...)`).
        size: longer side of the copy the network sees (default: the input size the
            first model records, `colorization.models.model_file.model_facts`).
        stride: input sides are padded to a multiple of it (default: found from the model).
        quality: "fast" (one network pass) or "best" (`graph.predict_best`): the
            quality of calls that do not choose one.

    Raises:
        NoSizeError: no `size`, and the first model records none.
        ValueError: an unknown `quality`.
    """

    def __init__(self, models, size=None, stride=None, quality="fast"):
        self.models = list(models)
        if not self.models:
            raise ValueError("a Colorizer needs at least one model")
        self.model_paths = []  # the files `load` read (for `record.make_record`)
        _check_quality(quality)
        self.quality = quality
        first = self.models[0]
        self.size = size or model_size(first, repr(getattr(first, "name", first)))
        self.stride = stride or max(graph.infer_stride(m) for m in self.models)
        run = options.locked(
            lambda rgb: graph.colorize_batch(self.models, rgb, self.size, self.stride)
        )
        self._run = {
            dtype: tf.function(
                run, input_signature=[tf.TensorSpec([None, None, None, 3], dtype)]
            )
            for dtype in (tf.uint8, tf.float32)
        }
        self._run_hinted = {
            dtype: tf.function(
                options.locked(
                    lambda rgb, points, colours: graph.colorize_batch(
                        self.models, rgb, self.size, self.stride, (points, colours)
                    )
                ),
                input_signature=[
                    tf.TensorSpec([None, None, None, 3], dtype),
                    tf.TensorSpec([None, 2], tf.float32),
                    tf.TensorSpec([None, 3], tf.uint8),
                ],
            )
            for dtype in (tf.uint8, tf.float32)
        }
        self._predict_small = tf.function(
            options.locked(
                lambda rgb: graph.predict_small(
                    self.models, rgb, self.size, self.stride
                )
            ),
            input_signature=[tf.TensorSpec([None, None, None, 3], tf.uint8)],
        )
        self._join_ab = tf.function(
            graph.join_ab,
            input_signature=[
                tf.TensorSpec([None, None, None, 3], tf.uint8),
                tf.TensorSpec([None, None, None, 2], tf.float32),
            ],
        )
        self._bins, self._blends = options.option_layers(self.models)
        self._with_options = {}  # (what, dtype, hinted, quality) -> tf.function

    @classmethod
    def load(cls, path=None, size=None, temperature=None, blend=None, quality="fast"):
        """Loads a `.keras` model, a list of them (an ensemble), or the shipped default.

        Args:
            path: A `.keras` file, a list of them, or None for the shipped model.
            size: Longer side the network sees (default: the input size the first
                model file records; a file without facts reads it, deprecated, from its
                .json sidecar).
            temperature: For models with a bins head (`--loss bins`), the annealed-mean
                temperature (default: the saved one); lower is more saturated.
            blend: For two-head models (the shipped one), the weight of the bins head
                in [0, 1] (default: the saved one); higher is more colourful, lower
                closer to the L1 head's safe, paler colours.
            quality: "fast" or "best", the default of every call (see `Colorizer`).

        Raises:
            ModelNotFoundError: the file does not exist, or no default is installed.
            NoSizeError: no `size`, and the first file records none (a ValueError).
            ValueError: the file is not a model, a temperature for a model without
                a bins head, a blend for a model without two heads, or an unknown
                quality.
        """
        _check_quality(quality)
        paths = [path] if isinstance(path, (str, os.PathLike)) else list(path or [])
        if not paths:
            default = default_model_path()
            if not os.path.isfile(default):
                raise ModelNotFoundError(
                    "no default model is installed in this package yet; pass a trained "
                    "model with --model PATH (train one with train.py)"
                )
            paths = [default]
        paths = [os.fspath(p) for p in paths]
        models = [load_model(p) for p in paths]
        from colorization.models import set_blend, set_temperature

        for model in models:
            if temperature is not None:
                set_temperature(model, temperature)
            if blend is not None:
                set_blend(model, blend)
        size = size or model_size(models[0], repr(paths[0]))
        colorizer = cls(models, size=size, quality=quality)
        colorizer.model_paths = paths
        return colorizer

    @property
    def temperature(self):
        """The annealed-mean temperature of the (first) bins head; None without one."""
        return self._bins[0].temperature if self._bins else None

    @property
    def blend(self):
        """The bins-head weight of the (first) two-head output; None without one."""
        return self._blends[0].weight if self._blends else None

    @property
    def hinted(self):
        """Whether the models take colour hints (`colorization.hints.user_hints`)."""
        return all(is_hinted(model) for model in self.models)

    def check_hints(self, hints, height, width):
        """Checked `user_hints.Hints` for an H x W photo, or None for no hint.

        Raises:
            user_hints.HintError: a bad hint, a point outside the photo, or hints for
                a model that takes none.
        """
        if hints is None:
            return None
        hints = user_hints.parse_hints(hints)
        if len(hints) and not self.hinted:
            raise user_hints.HintError(user_hints.NOT_HINTED)
        user_hints.check_inside(hints, height, width)
        return hints if len(hints) else None

    def colorize_array(
        self,
        rgb,
        hints=None,
        *,
        size=None,
        temperature=None,
        blend=None,
        quality=None,
        guide=None,
    ):
        """RGB (N, H, W, 3) or (H, W, 3), uint8 or float32 in [0, 1] -> uint8 RGB.

        Args:
            rgb: the images.
            hints: colour hints (see `colorize`), the same for every image.
            size: longer side the network sees, for this call (default: `self.size`).
            temperature: annealed-mean temperature for this call (a bins head).
            blend: bins-head weight for this call (a two-head model).
            quality: "fast" or "best" for this call (default: `self.quality`).
            guide: a `guidance.Guide` (`make_guide`: a reference photo or a
                palette), or None.

        The options are inputs of one traced graph per quality: a new value is not
        a new trace, and the pixels are those of a model loaded with that value.
        """
        batch, single = _batch(rgb)
        hints = self.check_hints(hints, *batch.shape[1:3])
        quality = quality or self.quality
        guide = self._check_guide(guide)
        options_given = (size, temperature, blend) != (None, None, None)
        if options_given or quality != "fast" or guide is not None:
            result = self._options_call(
                "rgb", batch, hints, size, temperature, blend, quality, guide
            )
        elif hints is None:
            result = self._run[tf.as_dtype(batch.dtype)](batch)
        else:
            run = self._run_hinted[tf.as_dtype(batch.dtype)]
            result = run(batch, hints.points, hints.colours)
        result = result.numpy()
        return result[0] if single else result

    def predict_ab(
        self,
        rgb,
        hints=None,
        *,
        size=None,
        temperature=None,
        blend=None,
        quality=None,
        guide=None,
    ):
        """The networks' ab_norm (N, h, w, 2) at the size they see (`predict_small`;
        for the best quality, the grid of its larger copy, `predict_best`), for RGB
        (N, H, W, 3) uint8 or float32 in [0, 1]; `join_ab` brings it to full size.
        The arguments are `colorize_array`'s."""
        batch, _ = _batch(rgb)
        hints = self.check_hints(hints, *batch.shape[1:3])
        quality = quality or self.quality
        return self._options_call(
            "ab", batch, hints, size, temperature, blend, quality, guide
        ).numpy()

    def make_guide(self, reference=None, palette=None, strength=None):
        """A `guidance.Guide` for this model from a reference photo (a path or an
        RGB array) or a palette ("#rrggbb,..." or a list of colours), or None for
        neither.

        Raises:
            guidance.GuideError: both given, an unreadable reference, a palette
                entry that is not a colour, a strength outside [0, 1], or a model
                without a bins head (one line each).
        """
        guide = guidance.make_guide(reference, palette, strength)
        if guide is not None and not self._bins:
            raise guidance.GuideError(guidance.NO_BINS)
        return guide

    def uncertainty(self, image, hints=None, *, guide=None, size=None):
        """How unsure the model is of each pixel's colour: the entropy of its
        colour distribution over log Q, float32 (H, W) in [0, 1] at the photo's
        size (0: one colour is certain; 1: every colour as likely).

        Args:
            image: a path or an array, as `colorize` takes.
            hints, guide, size: as `colorize_array` takes them.

        Raises:
            guidance.GuideError: the model has no bins head.
        """
        return self.colorize_with_uncertainty(image, hints, guide=guide, size=size)[1]

    def colorize_with_uncertainty(self, image, hints=None, *, guide=None, size=None):
        """The colorized photo (fast quality) and its `uncertainty` map from one
        network pass: (uint8 RGB (H, W, 3), float32 (H, W))."""
        rgb = _read(image)
        if not self._bins:
            raise guidance.GuideError(guidance.NO_DISTRIBUTION)
        hints = self.check_hints(hints, *rgb.shape[:2])
        batch, _ = _batch(rgb)
        colour, uncertainty = self._options_call(
            "uncertainty", batch, hints, size, None, None, "fast", guide
        )
        return colour.numpy()[0], uncertainty.numpy()[0]

    def predict_distribution(self, rgb, hints=None, *, guide=None, size=None):
        """`graph.predict_distribution` of one photo (H, W, 3): (lightness (h, w),
        ab_norm (h, w, 2), distribution (hc, wc, Q), factor) as NumPy."""
        rgb = _read(rgb)
        if not self._bins:
            raise guidance.GuideError(guidance.NO_DISTRIBUTION)
        hints = self.check_hints(hints, *rgb.shape[:2])
        lightness, ab_norm, cells, factor = self._options_call(
            "distribution", rgb[None], hints, size, None, None, "fast", guide
        )
        return (
            lightness.numpy()[0, ..., 0],
            ab_norm.numpy()[0],
            cells.numpy()[0],
            int(factor),
        )

    def suggest_hints(self, image, k=5, hints=None, *, guide=None):
        """The `k` spots where a colour hint would help most, best first: where the
        model is unsure of large regions, not next to a hint given already, each
        with the three most likely colours there (`suggestions.suggest`).

        Returns:
            a list of `suggestions.Suggestion` (x, y in the photo's pixels,
            `colours` "#rrggbb" with their `probabilities`, `uncertainty`).
        """
        from colorization.inference import suggestions

        rgb = _read(image)
        given = None
        if hints is not None:  # an automatic model is only kept away from them
            given = user_hints.parse_hints(hints)
            user_hints.check_inside(given, *rgb.shape[:2])
        network_hints = given if self.hinted else None
        predicted = self.predict_distribution(rgb, network_hints, guide=guide)
        return suggestions.suggest(predicted, rgb.shape[:2], k, given)

    def variants(self, image, n=4, hints=None, *, guide=None, seed=0, quality=None):
        """`n` different plausible colourings of a photo: colours drawn from the
        model's distribution at its most uncertain spots, given as hints and spread
        by the hint propagation (coherent regions, never per-pixel noise).

        Returns:
            a list of `n` uint8 RGB (H, W, 3), and the hints each was made with.

        Raises:
            ValueError: n < 1, or a model that takes no hints.
        """
        from colorization.inference import suggestions

        if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
            raise ValueError(f"the number of variants must be at least 1, got {n!r}")
        if not self.hinted:
            raise user_hints.HintError(
                f"{user_hints.NOT_HINTED}: variants are made with hints"
            )
        rgb = _read(image)
        given = self.check_hints(hints, *rgb.shape[:2])
        predicted = self.predict_distribution(rgb, given, guide=guide)
        results = []
        for hint_set in suggestions.variant_hints(
            predicted, rgb.shape[:2], n, given, seed
        ):
            results.append(
                (
                    self.colorize_array(rgb, hint_set, guide=guide, quality=quality),
                    hint_set,
                )
            )
        return results

    def check_options(self, size=None, temperature=None, blend=None, quality=None):
        """Raises ValueError for an option value the models cannot take."""
        if quality is not None:
            _check_quality(quality)
        if size is not None and not (isinstance(size, (int, np.integer)) and size >= 1):
            raise ValueError(f"size must be a positive integer, got {size!r}")
        if temperature is not None:
            if not self._bins:
                raise ValueError("the model has no bins head: no temperature applies")
            if not temperature > 0:
                raise ValueError(f"the temperature must be > 0, got {temperature!r}")
        if blend is not None:
            if not self._blends:
                raise ValueError("the model has one head: no blend applies")
            if not 0.0 <= blend <= 1.0:
                raise ValueError(f"the blend must be in [0, 1], got {blend!r}")

    def _options_call(
        self, what, batch, hints, size, temperature, blend, quality, guide=None
    ):
        """`colorize_batch` ("rgb"), the ab_norm of `predict_small` or
        `predict_best` ("ab"), their (lightness, ab_norm) ("small"),
        `predict_distribution` ("distribution") or `colorize_with_uncertainty` ("uncertainty"),
        with the options (and a `guidance.Guide`'s prior and strength) as graph
        inputs."""
        self.check_options(size, temperature, blend, quality)
        guide = self._check_guide(guide)
        temperatures = [
            layer.temperature if temperature is None else temperature
            for layer in self._bins
        ]
        weights = [layer.weight if blend is None else blend for layer in self._blends]
        args = [
            batch,
            np.int32(self.size if size is None else size),
            np.asarray(temperatures, np.float64),
            np.asarray(weights, np.float64),
        ]
        if guide is not None:
            args += [guide.prior, np.float32(guide.strength)]
        if hints is not None:
            args += [hints.points, hints.colours]
        return self._options_function(
            what,
            tf.as_dtype(batch.dtype),
            hints is not None,
            quality,
            guide is not None,
        )(*args)

    def _check_guide(self, guide):
        """The guide to trace with: None for none or a strength of 0 (exactly the
        automatic graph); `guidance.GuideError` for a model without a bins head."""
        if guide is None or guide.strength == 0:
            return None
        if not self._bins:
            raise guidance.GuideError(guidance.NO_BINS)
        return guide

    def _options_function(self, what, dtype, hinted, quality, guided=False):
        key = (what, dtype, hinted, quality, guided)
        if key not in self._with_options:
            signature = [
                tf.TensorSpec([None, None, None, 3], dtype),
                tf.TensorSpec([], tf.int32),
                tf.TensorSpec([len(self._bins)], tf.float64),
                tf.TensorSpec([len(self._blends)], tf.float64),
            ]
            if guided:
                signature += [
                    tf.TensorSpec(guidance.PRIOR_SHAPE, tf.float32),
                    tf.TensorSpec([], tf.float32),
                ]
            if hinted:
                signature += [
                    tf.TensorSpec([None, 2], tf.float32),
                    tf.TensorSpec([None, 3], tf.uint8),
                ]

            def run(rgb, size, temperatures, weights, *more):
                guide = tuple(more[:2]) if guided else None
                hints = tuple(more[2:] if guided else more) or None
                with options.traced_options(
                    self._bins, self._blends, temperatures, weights
                ):
                    common = (self.models, rgb, size, self.stride, hints)
                    if what == "rgb":
                        return graph.colorize_batch(*common, quality, guide)
                    if what == "distribution":
                        return graph.predict_distribution(*common, guide)
                    if what == "uncertainty":
                        return graph.colorize_with_uncertainty(*common, guide)
                    predict = (
                        graph.predict_best if quality == "best" else graph.predict_small
                    )
                    lightness, ab_norm = predict(*common, guide)
                    return ab_norm if what == "ab" else (lightness, ab_norm)

            self._with_options[key] = tf.function(
                options.locked(run), input_signature=signature
            )
        return self._with_options[key]

    def colorize(
        self,
        image,
        hints=None,
        *,
        quality=None,
        reference=None,
        palette=None,
        guide_strength=None,
    ):
        """Colorizes a photo and returns uint8 RGB of the same height and width.

        Args:
            image: a path, or a NumPy array: (H, W) grey, (H, W, 1), (H, W, 3) RGB or
                (H, W, 4) RGBA, uint8, uint16 or float in [0, 1]. Colour in the input
                is discarded (only its L is used), so colour photos are re-colorized.
            hints: for a hinted model, colour hints: a list of (x, y, colour), x the
                column and y the row of a pixel of the photo as it is seen (after
                its EXIF orientation), the colour (r, g, b) in 0-255 or "#rrggbb"
                (only its chroma is used; the photo keeps its L), or the
                {"x", "y", "color"} dicts of a hints file. None or [] colorizes
                automatically.
            quality: "fast" (one network pass) or "best" (the photo and its mirror
                image at two sizes, their colour averaged; about three times the
                time); default: `self.quality`.
            reference: a colour photo (a path or an RGB array) whose colours guide
                the result (`colorization.inference.guidance`).
            palette: colours that guide the result instead: "#rrggbb,#rrggbb" or a
                list of "#rrggbb" or (r, g, b).
            guide_strength: how strongly the reference or palette counts, in
                [0, 1] (default `guidance.DEFAULT_STRENGTHS`: 0.3 for a reference,
                0.8 for a palette; 0 is automatic).

        Raises:
            colorization.hints.user_hints.HintError: a bad hint, a point outside the photo,
                or hints for a model that takes none (one line).
            colorization.inference.guidance.GuideError: a bad reference, palette or
                strength, or a model without a bins head (one line).
        """
        guide = self.make_guide(reference, palette, guide_strength)
        return self.colorize_array(_read(image), hints, quality=quality, guide=guide)

    def predict_small(self, rgb, quality=None, hints=None, guide=None):
        """uint8 RGB (N, H, W, 3) -> (L (N, h, w, 1), ab_norm (N, h, w, 2)) float32 at
        the size the network sees (`predict_small`; `predict_best`'s grid for the
        best `quality`, default `self.quality`); videos smooth ab there. `hints`
        (see `colorize`) are the same for every image of the call; `guide` as
        `colorize_array` takes it.

        Raises:
            user_hints.HintError: as `check_hints`.
        """
        rgb = np.asarray(rgb, np.uint8)
        quality = quality or self.quality
        checked = self.check_hints(hints, *rgb.shape[1:3])
        guide = self._check_guide(guide)
        if quality == "fast" and checked is None and guide is None:
            lightness, ab_norm = self._predict_small(rgb)
        else:
            lightness, ab_norm = self._options_call(
                "small", rgb, checked, None, None, None, quality, guide
            )
        return lightness.numpy(), ab_norm.numpy()

    def join_ab(self, rgb, ab_norm):
        """Joins small ab_norm (N, h, w, 2) with the full-resolution L of uint8 RGB
        (N, H, W, 3) -> uint8 RGB (N, H, W, 3) (`join_ab`)."""
        return self._join_ab(
            np.asarray(rgb, np.uint8), np.asarray(ab_norm, np.float32)
        ).numpy()

    def colorize_video(
        self,
        src,
        dst=None,
        smooth=True,
        batch_size=8,
        progress=True,
        max_pixels=None,
        hints=None,
        *,
        reference=None,
        palette=None,
        guide_strength=None,
    ):
        """Colorizes a video file into an MP4 with the same frames, rate and audio.

        Args:
            src: a video OpenCV's FFmpeg reads (mp4, avi, mov, mkv, webm, mpeg, ...).
            dst: the .mp4 to write (default: `NAME_colorized.mp4` beside `src`).
            smooth: True for the default temporal smoothing, False for frame-by-frame
                colour, or a `colorization.inference.temporal.Smoothing`.
            batch_size: frames per network call.
            progress: show a progress bar in frames.
            max_pixels: refuse videos with larger frames (default: no limit).
            hints: for a hinted model, colour hints as `colorize` takes them, each
                also naming the 0-based frame it was placed on ((x, y, colour,
                frame) or a "frame" key; frame 0 without): each follows the content
                through its shot (`colorization.inference.video_hints`).
            reference, palette, guide_strength: colours that guide every frame,
                as `colorize` takes them.

        Returns:
            a `colorization.inference.video.VideoReport` (frames, fps, size, audio, output).

        Raises:
            colorization.inference.video_io.VideoError: the video cannot be read or written (one
                line saying why); nothing is left at `dst`.
            colorization.hints.user_hints.HintError: a bad hint, a point outside the
                frame, a frame past the end, or a model that takes no hints (one
                line); nothing is left at `dst`.
        """
        from colorization.inference import video

        return video.colorize_video(
            self,
            src,
            dst,
            smooth=smooth,
            batch_size=batch_size,
            progress=progress,
            max_pixels=max_pixels,
            hints=hints,
            guide=self.make_guide(reference, palette, guide_strength),
        )


def _read(image):
    """A photo (a path, or an array `image_io.to_rgb` takes) -> RGB (H, W, 3)."""
    from colorization.inference import image_io

    if isinstance(image, (str, os.PathLike)):
        return image_io.read_image(os.fspath(image)).rgb
    return image_io.to_rgb(np.asarray(image))


def _batch(rgb):
    """(batch (N, H, W, 3) uint8 or float32, whether `rgb` was one image)."""
    rgb = np.asarray(rgb)
    if rgb.dtype != np.uint8:
        rgb = rgb.astype(np.float32)
    return (rgb[None], True) if rgb.ndim == 3 else (rgb, False)


def _check_quality(quality):
    if quality not in graph.QUALITIES:
        raise ValueError(
            f"quality must be one of {', '.join(graph.QUALITIES)}, got {quality!r}"
        )
