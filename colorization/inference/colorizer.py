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
from colorization.inference import graph, options
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
        return cls(models, size=size, quality=quality)

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
        self, rgb, hints=None, *, size=None, temperature=None, blend=None, quality=None
    ):
        """RGB (N, H, W, 3) or (H, W, 3), uint8 or float32 in [0, 1] -> uint8 RGB.

        Args:
            rgb: the images.
            hints: colour hints (see `colorize`), the same for every image.
            size: longer side the network sees, for this call (default: `self.size`).
            temperature: annealed-mean temperature for this call (a bins head).
            blend: bins-head weight for this call (a two-head model).
            quality: "fast" or "best" for this call (default: `self.quality`).

        The options are inputs of one traced graph per quality: a new value is not
        a new trace, and the pixels are those of a model loaded with that value.
        """
        rgb = np.asarray(rgb)
        if rgb.dtype != np.uint8:
            rgb = rgb.astype(np.float32)
        single = rgb.ndim == 3
        batch = rgb[None] if single else rgb
        hints = self.check_hints(hints, *batch.shape[1:3])
        quality = quality or self.quality
        if (size, temperature, blend) != (None, None, None) or quality != "fast":
            result = self._options_call(
                "rgb", batch, hints, size, temperature, blend, quality
            )
        elif hints is None:
            result = self._run[tf.as_dtype(rgb.dtype)](batch)
        else:
            run = self._run_hinted[tf.as_dtype(rgb.dtype)]
            result = run(batch, hints.points, hints.colours)
        result = result.numpy()
        return result[0] if single else result

    def predict_ab(
        self, rgb, hints=None, *, size=None, temperature=None, blend=None, quality=None
    ):
        """The networks' ab_norm (N, h, w, 2) at the size they see (`predict_small`;
        for the best quality, the grid of its larger copy, `predict_best`), for RGB
        (N, H, W, 3) uint8 or float32 in [0, 1]; `join_ab` brings it to full size.
        The arguments are `colorize_array`'s."""
        rgb = np.asarray(rgb)
        if rgb.dtype != np.uint8:
            rgb = rgb.astype(np.float32)
        hints = self.check_hints(hints, *rgb.shape[1:3])
        quality = quality or self.quality
        return self._options_call(
            "ab", rgb, hints, size, temperature, blend, quality
        ).numpy()

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

    def _options_call(self, what, batch, hints, size, temperature, blend, quality):
        """`colorize_batch` ("rgb"), the ab_norm of `predict_small` or
        `predict_best` ("ab"), or their (lightness, ab_norm) ("small"), with the
        options as graph inputs."""
        self.check_options(size, temperature, blend, quality)
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
        if hints is not None:
            args += [hints.points, hints.colours]
        return self._options_function(
            what, tf.as_dtype(batch.dtype), hints is not None, quality
        )(*args)

    def _options_function(self, what, dtype, hinted, quality):
        key = (what, dtype, hinted, quality)
        if key not in self._with_options:
            signature = [
                tf.TensorSpec([None, None, None, 3], dtype),
                tf.TensorSpec([], tf.int32),
                tf.TensorSpec([len(self._bins)], tf.float64),
                tf.TensorSpec([len(self._blends)], tf.float64),
            ]
            if hinted:
                signature += [
                    tf.TensorSpec([None, 2], tf.float32),
                    tf.TensorSpec([None, 3], tf.uint8),
                ]

            def run(rgb, size, temperatures, weights, *hints):
                with options.traced_options(
                    self._bins, self._blends, temperatures, weights
                ):
                    hints = tuple(hints) or None
                    if what == "rgb":
                        return graph.colorize_batch(
                            self.models, rgb, size, self.stride, hints, quality
                        )
                    predict = (
                        graph.predict_best if quality == "best" else graph.predict_small
                    )
                    lightness, ab_norm = predict(
                        self.models, rgb, size, self.stride, hints
                    )
                    return ab_norm if what == "ab" else (lightness, ab_norm)

            self._with_options[key] = tf.function(
                options.locked(run), input_signature=signature
            )
        return self._with_options[key]

    def colorize(self, image, hints=None, *, quality=None):
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

        Raises:
            colorization.hints.user_hints.HintError: a bad hint, a point outside the photo,
                or hints for a model that takes none (one line).
        """
        from colorization.inference import image_io

        if isinstance(image, (str, os.PathLike)):
            rgb = image_io.read_image(os.fspath(image)).rgb
        else:
            rgb = image_io.to_rgb(np.asarray(image))
        return self.colorize_array(rgb, hints, quality=quality)

    def predict_small(self, rgb, quality=None):
        """uint8 RGB (N, H, W, 3) -> (L (N, h, w, 1), ab_norm (N, h, w, 2)) float32 at
        the size the network sees (`predict_small`; `predict_best`'s grid for the
        best `quality`, default `self.quality`); videos smooth ab there."""
        rgb = np.asarray(rgb, np.uint8)
        quality = quality or self.quality
        if quality == "fast":
            lightness, ab_norm = self._predict_small(rgb)
        else:
            lightness, ab_norm = self._options_call(
                "small", rgb, None, None, None, None, quality
            )
        return lightness.numpy(), ab_norm.numpy()

    def join_ab(self, rgb, ab_norm):
        """Joins small ab_norm (N, h, w, 2) with the full-resolution L of uint8 RGB
        (N, H, W, 3) -> uint8 RGB (N, H, W, 3) (`join_ab`)."""
        return self._join_ab(
            np.asarray(rgb, np.uint8), np.asarray(ab_norm, np.float32)
        ).numpy()

    def colorize_video(
        self, src, dst=None, smooth=True, batch_size=8, progress=True, max_pixels=None
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

        Returns:
            a `colorization.inference.video.VideoReport` (frames, fps, size, audio, output).

        Raises:
            colorization.inference.video_io.VideoError: the video cannot be read or written (one
                line saying why); nothing is left at `dst`.
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
        )


def _check_quality(quality):
    if quality not in graph.QUALITIES:
        raise ValueError(
            f"quality must be one of {', '.join(graph.QUALITIES)}, got {quality!r}"
        )
