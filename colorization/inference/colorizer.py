"""Colorize photos of any size at full resolution: the `Colorizer` API.

    from colorization import Colorizer
    colorizer = Colorizer.load()                 # the model shipped in the package
    rgb = colorizer.colorize("grandma.jpg")      # uint8 RGB, same size as the input
    rgb = colorizer.colorize("grandma.jpg", hints=[(120, 80, "#d04020")])  # hinted model
    colorizer.colorize_video("film.mp4")         # -> film_colorized.mp4 (colorization.inference.video)

The network sees a copy whose longer side is `size` (the model's training size), padded
to a multiple of its stride; only the predicted ab is brought back to the original size
and joined with the original, full-resolution L, so no detail of the photo is lost.
Colours outside the sRGB gamut lose chroma at constant L, so the L of the result is the L
of the input. The same graph (`colorize_batch`) serves this API, infer.py and the
SavedModel of export.py.
"""

import contextlib
import importlib.resources
import os
import threading

import numpy as np
import tensorflow as tf

from colorization.hints import hint_graph, user_hints
from colorization.models.hint_propagation import without_hint_propagation
from colorization.models.model_file import (  # noqa: F401 (part of this API)
    ModelNotFoundError,
    NoSizeError,
    load_model,
    model_size,
)
from data_pipeline import constants as C
from data_pipeline import image_ops, lab

_CHUNK = 1 << 18  # pixels per fused full-resolution kernel call
_STRIDE_CANDIDATES = (1, 2, 4, 8, 16, 32, 64, 128, 256, 512)
# Held while a graph of the models is traced: option values are swapped into their
# layers for the trace (`_GraphFloat`), and no other trace may see them.
_TRACE_LOCK = threading.RLock()


def default_model_path():
    """Where the package's shipped default model lives (it may not be installed)."""
    return str(importlib.resources.files("colorization") / "assets" / "default.keras")


def infer_stride(model):
    """The smallest power of two the model's input sides must be a multiple of.

    Found from symbolic shapes (no computation): an input of sides 3s x 5s and 7s x 3s
    (with the model's channels: L, or L and the hint channels) must give an output of
    the same size.
    """
    import keras

    channels = model.inputs[0].shape[-1] if getattr(model, "inputs", None) else 1
    for stride in _STRIDE_CANDIDATES:
        try:
            ok = all(
                tuple(
                    model.compute_output_spec(
                        keras.KerasTensor((1, h, w, channels))
                    ).shape
                )
                == (1, h, w, 2)
                for h, w in ((3 * stride, 5 * stride), (7 * stride, 3 * stride))
            )
        except Exception:  # shape mismatches inside the model: stride too small
            ok = False
        if ok:
            return stride
    raise ValueError(
        f"model {model.name!r} does not map L (1, H, W, {channels}) to ab (1, H, W, 2)"
    )


@tf.function(jit_compile=True)
def _recombine_chunk(rgb, ab):
    """Full-resolution L of `rgb` [C, 3] joined with `ab` [C, 2] -> uint8 RGB [C, 3].

    One fused XLA kernel of a fixed shape, so it compiles once for every image size.
    """
    lightness = lab.rgb_to_lab(rgb)[..., :1]
    return lab.to_uint8(
        lab.lab_to_rgb(tf.concat([lightness, ab], -1), keep_lightness=True)
    )


def _recombine(rgb, ab):
    """`_recombine_chunk` over every pixel of rgb [N, H, W, 3] and ab [N, H, W, 2]."""
    shape = tf.shape(rgb)
    count = shape[0] * shape[1] * shape[2]
    chunks = (count + _CHUNK - 1) // _CHUNK
    padding = [[0, chunks * _CHUNK - count], [0, 0]]
    rgb = tf.reshape(tf.pad(tf.reshape(rgb, [-1, 3]), padding), [chunks, _CHUNK, 3])
    ab = tf.reshape(tf.pad(tf.reshape(ab, [-1, 2]), padding), [chunks, _CHUNK, 2])
    result = tf.map_fn(
        lambda pair: _recombine_chunk(pair[0], pair[1]),
        (rgb, ab),
        fn_output_signature=tf.uint8,
        parallel_iterations=2,
    )
    return tf.reshape(
        tf.reshape(result, [-1, 3])[:count], tf.concat([shape[:3], [3]], 0)
    )


def predict_small(models, rgb, size, stride, hints=None):
    """The networks' averaged ab at the size they see, before any upsampling.

    Args:
        models: callables mapping L_norm (N, h, w, 1) to ab_norm (N, h, w, 2), or
            hinted models (L_norm and hint channels, `colorization.hints.hint_graph`); their
            predictions are averaged (the Klefbom-Mjoberg ensemble).
        rgb: (N, H, W, 3) uint8, or float32 in [0, 1]; grey images have three equal
            channels.
        size: longer side of the copy the network sees.
        stride: the networks' stride (the copy is padded to a multiple of it).
        hints: None (automatic), or (points float32 (K, 2), colours uint8 (K, 3)):
            user hints at (x, y) pixels of the H x W images, the same for each image;
            hinted models see them, automatic ones do not.

    Returns:
        (lightness, ab_norm): the L (N, h, w, 1) of the copy the network saw, in Lab
        units, and its ab_norm (N, h, w, 2), both without the padding.
    """
    shape = tf.shape(rgb)
    height, width = shape[1], shape[2]
    scale = 255.0 if rgb.dtype == tf.uint8 else 1.0
    small_h, small_w = image_ops.fit_size(height, width, size)
    small = tf.cond(
        tf.maximum(height, width) > size,
        lambda: tf.image.resize(rgb, [small_h, small_w], method="area"),
        lambda: tf.image.resize(rgb, [small_h, small_w], method="bicubic"),
    )
    small = tf.clip_by_value(small / scale, 0.0, 1.0)
    padded_h = -(-small_h // stride) * stride
    padded_w = -(-small_w // stride) * stride
    lightness = lab.rgb_to_lab(small)[..., :1]  # (N, h, w, 1)
    l_norm = tf.pad(
        C.normalize_l(lightness),
        [[0, 0], [0, padded_h - small_h], [0, padded_w - small_w], [0, 0]],
        constant_values=C.PAD_L_NORM,
    )  # (N, h', w', 1), black padding as in training
    hint_channels = None
    if hints is not None:
        hint_channels = hint_graph.network_hints(
            *hints, height, width, small_h, small_w, padded_h, padded_w
        )  # (h', w', 3)
        hint_channels = tf.broadcast_to(
            hint_channels, tf.concat([tf.shape(l_norm)[:3], [3]], 0)
        )  # (N, h', w', 3)
    if hints is None:  # the same output without the hint propagation's ~9 ms
        models = [without_hint_propagation(model) for model in models]
    predictions = [
        tf.cast(
            model(
                hint_graph.network_input(model, l_norm, hint_channels), training=False
            ),
            tf.float32,
        )
        for model in models
    ]
    ab_norm = tf.add_n(predictions)[:, :small_h, :small_w] / len(predictions)
    return lightness, ab_norm  # (N, h, w, 1), (N, h, w, 2)


def join_ab(rgb, ab_norm):
    """Upsamples ab_norm (N, h, w, 2) to the size of `rgb` (N, H, W, 3) and joins it
    with the full-resolution L of `rgb` -> uint8 (N, H, W, 3) sRGB (graph-safe)."""
    shape = tf.shape(rgb)
    ab = C.denormalize_ab(
        tf.image.resize(ab_norm, [shape[1], shape[2]], method="bilinear")
    )  # (N, H, W, 2)
    return _recombine(rgb, ab)


def colorize_batch(models, rgb, size, stride, hints=None):
    """Colorizes a batch of same-size images in TensorFlow ops (graph-safe):
    `predict_small` then `join_ab`; the arguments are `predict_small`'s.

    Returns:
        uint8 (N, H, W, 3) sRGB with the L of the input.
    """
    _, ab_norm = predict_small(models, rgb, size, stride, hints)
    return join_ab(rgb, ab_norm)


class _GraphFloat:
    """A graph input standing in for a layer's Python float option while a graph is
    traced (`AnnealedMean.temperature`, `HeadBlend.weight`), so that a new value needs
    no new trace.

    Arithmetic with Python numbers is done in float64, as Python does it, and the
    result is converted to a tensor's dtype only when it meets one, as a float is:
    the graph computes what the float would have given, bit for bit (`1 - weight`
    rounded from float64, not subtracted in float32).

    Args:
        value: A float64 scalar tensor.
    """

    def __init__(self, value):
        self.value = value

    def __tf_tensor__(self, dtype=None, name=None):
        return tf.cast(self.value, dtype or tf.float32, name=name)

    def _apply(self, other, op, reflected=False):
        if isinstance(other, _GraphFloat):
            other = other.value
        elif isinstance(other, (int, float, np.number)) and not isinstance(other, bool):
            other = tf.constant(float(other), tf.float64)
        else:  # a tensor: the float meets its dtype
            other = tf.convert_to_tensor(other)
            mine = tf.cast(self.value, other.dtype)
            return op(other, mine) if reflected else op(mine, other)
        return _GraphFloat(
            op(other, self.value) if reflected else op(self.value, other)
        )

    def __add__(self, other):
        return self._apply(other, tf.add)

    def __radd__(self, other):
        return self._apply(other, tf.add, True)

    def __sub__(self, other):
        return self._apply(other, tf.subtract)

    def __rsub__(self, other):
        return self._apply(other, tf.subtract, True)

    def __mul__(self, other):
        return self._apply(other, tf.multiply)

    def __rmul__(self, other):
        return self._apply(other, tf.multiply, True)

    def __truediv__(self, other):
        return self._apply(other, tf.truediv)

    def __rtruediv__(self, other):
        return self._apply(other, tf.truediv, True)

    def __neg__(self):
        return _GraphFloat(-self.value)


def _option_layers(models):
    """The models' (AnnealedMean layers, HeadBlend layers): what a temperature and a
    blend set."""
    from colorization.models import layers

    found = {layers.AnnealedMean: [], layers.HeadBlend: []}
    for model in models:
        for layer in getattr(model, "_flatten_layers", lambda: [])():
            for cls, kept in found.items():
                if isinstance(layer, cls) and layer not in kept:
                    kept.append(layer)
    return found[layers.AnnealedMean], found[layers.HeadBlend]


@contextlib.contextmanager
def _traced_options(bins, blends, temperatures, weights):
    """While a graph is traced: the layers read their temperature and blend weight from
    the graph inputs `temperatures` and `weights` (float64, one per layer)."""
    swaps = [(layer, "temperature", temperatures[i]) for i, layer in enumerate(bins)]
    swaps += [(layer, "weight", weights[i]) for i, layer in enumerate(blends)]
    saved = [(layer, name, getattr(layer, name)) for layer, name, _ in swaps]
    try:
        for layer, name, value in swaps:
            setattr(layer, name, _GraphFloat(value))
        yield
    finally:
        for layer, name, value in saved:
            setattr(layer, name, value)


def _locked(fn):
    """`fn` holding `_TRACE_LOCK`: a graph's Python code runs only while it is traced."""

    def traced(*args):
        with _TRACE_LOCK:
            return fn(*args)

    return traced


class Colorizer:
    """One model, or several whose ab predictions are averaged.

    Args:
        models: Keras models mapping L_norm to ab_norm, or hinted models (L_norm
            and the hint channels; `colorize(..., hints=...)`).
        size: longer side of the copy the network sees (default: the input size the
            first model records, `colorization.models.model_file.model_facts`).
        stride: input sides are padded to a multiple of it (default: found from the model).

    Raises:
        NoSizeError: no `size`, and the first model records none.
    """

    def __init__(self, models, size=None, stride=None):
        self.models = list(models)
        if not self.models:
            raise ValueError("a Colorizer needs at least one model")
        first = self.models[0]
        self.size = size or model_size(first, repr(getattr(first, "name", first)))
        self.stride = stride or max(infer_stride(m) for m in self.models)
        run = _locked(
            lambda rgb: colorize_batch(self.models, rgb, self.size, self.stride)
        )
        self._run = {
            dtype: tf.function(
                run, input_signature=[tf.TensorSpec([None, None, None, 3], dtype)]
            )
            for dtype in (tf.uint8, tf.float32)
        }
        self._run_hinted = {
            dtype: tf.function(
                _locked(
                    lambda rgb, points, colours: colorize_batch(
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
            _locked(
                lambda rgb: predict_small(self.models, rgb, self.size, self.stride)
            ),
            input_signature=[tf.TensorSpec([None, None, None, 3], tf.uint8)],
        )
        self._join_ab = tf.function(
            join_ab,
            input_signature=[
                tf.TensorSpec([None, None, None, 3], tf.uint8),
                tf.TensorSpec([None, None, None, 2], tf.float32),
            ],
        )
        self._bins, self._blends = _option_layers(self.models)
        self._with_options = {}  # (what, dtype, hinted) -> tf.function

    @classmethod
    def load(cls, path=None, size=None, temperature=None, blend=None):
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

        Raises:
            ModelNotFoundError: the file does not exist, or no default is installed.
            NoSizeError: no `size`, and the first file records none (a ValueError).
            ValueError: the file is not a model, a temperature for a model without
                a bins head, or a blend for a model without two heads.
        """
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
        return cls(models, size=size or model_size(models[0], repr(paths[0])))

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
        return all(hint_graph.takes_hints(model) for model in self.models)

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
        self, rgb, hints=None, *, size=None, temperature=None, blend=None
    ):
        """RGB (N, H, W, 3) or (H, W, 3), uint8 or float32 in [0, 1] -> uint8 RGB.

        Args:
            rgb: the images.
            hints: colour hints (see `colorize`), the same for every image.
            size: longer side the network sees, for this call (default: `self.size`).
            temperature: annealed-mean temperature for this call (a bins head).
            blend: bins-head weight for this call (a two-head model).

        The options are inputs of one traced graph: a new value is not a new trace,
        and the pixels are those of a model loaded with that value.
        """
        rgb = np.asarray(rgb)
        if rgb.dtype != np.uint8:
            rgb = rgb.astype(np.float32)
        single = rgb.ndim == 3
        batch = rgb[None] if single else rgb
        hints = self.check_hints(hints, *batch.shape[1:3])
        if (size, temperature, blend) != (None, None, None):
            result = self._options_call("rgb", batch, hints, size, temperature, blend)
        elif hints is None:
            result = self._run[tf.as_dtype(rgb.dtype)](batch)
        else:
            run = self._run_hinted[tf.as_dtype(rgb.dtype)]
            result = run(batch, hints.points, hints.colours)
        result = result.numpy()
        return result[0] if single else result

    def predict_ab(self, rgb, hints=None, *, size=None, temperature=None, blend=None):
        """The networks' ab_norm (N, h, w, 2) at the size they see (`predict_small`),
        for RGB (N, H, W, 3) uint8 or float32 in [0, 1]; `join_ab` brings it to full
        size. The arguments are `colorize_array`'s."""
        rgb = np.asarray(rgb)
        if rgb.dtype != np.uint8:
            rgb = rgb.astype(np.float32)
        hints = self.check_hints(hints, *rgb.shape[1:3])
        return self._options_call("ab", rgb, hints, size, temperature, blend).numpy()

    def check_options(self, size=None, temperature=None, blend=None):
        """Raises ValueError for an option value the models cannot take."""
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

    def _options_call(self, what, batch, hints, size, temperature, blend):
        """`colorize_batch` ("rgb") or `predict_small`'s ab_norm ("ab") with the
        options as graph inputs."""
        self.check_options(size, temperature, blend)
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
            what, tf.as_dtype(batch.dtype), hints is not None
        )(*args)

    def _options_function(self, what, dtype, hinted):
        key = (what, dtype, hinted)
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
                with _traced_options(self._bins, self._blends, temperatures, weights):
                    hints = tuple(hints) or None
                    if what == "ab":
                        return predict_small(
                            self.models, rgb, size, self.stride, hints
                        )[1]
                    return colorize_batch(self.models, rgb, size, self.stride, hints)

            self._with_options[key] = tf.function(
                _locked(run), input_signature=signature
            )
        return self._with_options[key]

    def colorize(self, image, hints=None):
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

        Raises:
            colorization.hints.user_hints.HintError: a bad hint, a point outside the photo,
                or hints for a model that takes none (one line).
        """
        from colorization.inference import image_io

        if isinstance(image, (str, os.PathLike)):
            rgb = image_io.read_image(os.fspath(image)).rgb
        else:
            rgb = image_io.to_rgb(np.asarray(image))
        return self.colorize_array(rgb, hints)

    def predict_small(self, rgb):
        """uint8 RGB (N, H, W, 3) -> (L (N, h, w, 1), ab_norm (N, h, w, 2)) float32 at
        the size the network sees (`predict_small`); videos smooth ab there."""
        lightness, ab_norm = self._predict_small(np.asarray(rgb, np.uint8))
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
