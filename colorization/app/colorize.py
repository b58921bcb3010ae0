"""Colorizing uploads for the web app: one shared model, a bounded queue, no event loop
work.

    service = ColorizeService(ModelRunner(Colorizer.load()), Limits())
    service.admit()                      # QueueFull when `queue_size` are in
    result = await service.run(upload_file, Options())
    again = await service.run(service.uploads.get(result.image_id), Options(hints=h))

Every admitted job holds one of `queue_size` places until it ends, so a burst of
uploads is answered 503 instead of being decoded into memory all at once. Jobs run on
two threads: one can decode or encode while the other has the model, and the model
itself is used by one job at a time (it runs on every core already). With a hinted
model, decoded uploads are kept (`uploads.Uploads`) so that new colour hints for a
photo are sent without it.
"""

import asyncio
import collections
import concurrent.futures
import dataclasses
import io
import math
import threading
import time

import numpy as np

from colorization import batch_inference, image_io, user_hints
from colorization.app.uploads import Upload, Uploads

OUTPUTS = ("colorized", "compare", "grey")
SIZE_RANGE = (16, 1024)
TEMPERATURE_RANGE = (0.01, 10.0)
_JOB_THREADS = 2
_VARIANTS = 8  # network input size, temperature and blend combinations kept traced


@dataclasses.dataclass(frozen=True)
class Limits:
    """What one upload and the queue may hold.

    Args:
        max_bytes: Largest upload, in bytes.
        max_pixels: Largest image, in pixels (checked from the header).
        queue_size: Jobs admitted at once (running or waiting); more get a 503.
        kept_photos: Decoded uploads kept for new hints (a hinted model only).
        kept_bytes: The most their pixels may take.
    """

    max_bytes: int = 50 * 1024 * 1024
    max_pixels: int = image_io.DEFAULT_MAX_PIXELS
    queue_size: int = 16
    kept_photos: int = 16
    kept_bytes: int = 512 * 1024 * 1024


@dataclasses.dataclass(frozen=True)
class Options:
    """Per-request choices; None is the model's own value."""

    size: int | None = None
    temperature: float | None = None
    blend: float | None = None
    output: str = "colorized"
    hints: object = dataclasses.field(default=None, compare=False)  # user_hints.Hints


@dataclasses.dataclass
class Result:
    """An encoded image and what to call it."""

    data: bytes
    media_type: str
    extension: str
    width: int
    height: int
    seconds: float
    image_id: str | None = None  # where the decoded upload is kept, if it is


class QueueFull(RuntimeError):
    """Every place of the queue is taken; `retry_after` is a guess in seconds."""

    def __init__(self, retry_after):
        super().__init__("the server is busy: too many photos in the queue")
        self.retry_after = retry_after


class ModelError(RuntimeError):
    """The network failed on an image (for example out of memory)."""


def _layers(models, class_name):
    from colorization.models import layers

    cls = getattr(layers, class_name)
    return [
        layer
        for model in models
        for layer in model._flatten_layers()
        if isinstance(layer, cls)
    ]


class ModelRunner:
    """The one model of the app, with per-request input size, temperature and blend.

    Temperature and blend are Python numbers that the traced graph takes as constants,
    so each combination gets its own traced `Colorizer` over the same weights; the
    layers are set to the request's values before every call (the trace of a new
    combination reads them), under a lock.

    Args:
        colorizer: A loaded `Colorizer`.
    """

    def __init__(self, colorizer):
        self.colorizer = colorizer
        self._bins = _layers(colorizer.models, "AnnealedMean")
        self._blends = _layers(colorizer.models, "HeadBlend")
        self.size = colorizer.size
        self.temperature = self._bins[0].temperature if self._bins else None
        self.blend = self._blends[0].weight if self._blends else None
        self.hinted = colorizer.hinted
        self._variants = collections.OrderedDict()
        self._lock = threading.Lock()

    def describe(self):
        """The model's own option values (None: the option does not apply)."""
        return {"size": self.size, "temperature": self.temperature, "blend": self.blend}

    def check(self, options):
        """Raises ValueError for an option this model does not have."""
        if options.temperature is not None and not self._bins:
            raise ValueError(
                "this model has no bins head: a temperature does not apply to it"
            )
        if options.blend is not None and not self._blends:
            raise ValueError("this model has one head: a blend does not apply to it")
        if options.hints and not self.hinted:
            raise ValueError(user_hints.NOT_HINTED)

    def colorize(self, rgb, options):
        """Colorizes one RGB image (H, W, 3) with the options; uint8 RGB.

        Raises:
            user_hints.HintError: a hint point outside the image.
        """
        key = (
            options.size or self.size,
            self.temperature if options.temperature is None else options.temperature,
            self.blend if options.blend is None else options.blend,
        )
        with self._lock:
            for layer in self._bins:
                layer.temperature = key[1]
            for layer in self._blends:
                layer.weight = key[2]
            return self._variant(key).colorize_array(rgb, options.hints)

    def _variant(self, key):
        if key == (self.size, self.temperature, self.blend):
            return self.colorizer
        if key in self._variants:
            self._variants.move_to_end(key)
            return self._variants[key]
        from colorization.inference import Colorizer

        variant = Colorizer(self.colorizer.models, key[0], self.colorizer.stride)
        self._variants[key] = variant
        while len(self._variants) > _VARIANTS:
            self._variants.popitem(last=False)
        return variant


class ColorizeService:
    """The bounded queue in front of a `ModelRunner`.

    Args:
        runner: The `ModelRunner` (or any object with `colorize(rgb, options)`).
        limits: The `Limits`.
    """

    def __init__(self, runner, limits):
        self.runner = runner
        self.limits = limits
        self.uploads = (
            Uploads(limits.kept_photos, limits.kept_bytes)
            if getattr(runner, "hinted", False)
            else None
        )
        self._pending = 0
        self._lock = threading.Lock()
        self._seconds = 1.0  # running mean of a job's time, for Retry-After
        self._executor = concurrent.futures.ThreadPoolExecutor(
            _JOB_THREADS, thread_name_prefix="colorize"
        )

    @property
    def pending(self):
        """Jobs admitted and not finished."""
        return self._pending

    def retry_after(self):
        """Seconds until a place is likely free (at least 1)."""
        return max(1, math.ceil(self._seconds * self._pending / _JOB_THREADS))

    def full(self):
        return self._pending >= self.limits.queue_size

    def admit(self):
        """Takes a place in the queue, or raises `QueueFull`; release it with
        `release()` (or let `run` do it)."""
        with self._lock:
            if self._pending >= self.limits.queue_size:
                raise QueueFull(self.retry_after())
            self._pending += 1

    def release(self):
        with self._lock:
            self._pending -= 1

    async def run(self, source, options, filename="photo"):
        """Runs an admitted job on a worker thread; its place is released when the job
        ends (not when the request does: a client that leaves does not free it early).

        Args:
            source: The upload, a binary file object (read on the worker thread, so
                waiting uploads stay in their spooled files rather than in memory),
                or an `Upload` kept in `uploads`.
            options: The `Options`.
            filename: The upload's file name (kept with it).

        Returns:
            a `Result`; its `image_id` says where the decoded upload is kept (a
            hinted model only).

        Raises:
            image_io.ImageError: the bytes are not a usable image.
            user_hints.HintError: a hint point outside the image.
            ModelError: the network failed on it.
        """
        try:
            future = self._executor.submit(self._job, source, options, filename)
        except BaseException:
            self.release()
            raise
        future.add_done_callback(lambda _: self.release())
        return await asyncio.wrap_future(future)

    def _read(self, file, filename):
        """The decoded upload, kept in `uploads` (if any): (Upload, its id or None)."""
        file.seek(0)
        data = file.read()
        image = image_io.read_image_bytes(data, self.limits.max_pixels)
        upload = Upload(image, data[:3] == b"\xff\xd8\xff", filename)
        kept = self.uploads.add(upload) if self.uploads is not None else None
        return upload, kept

    def _job(self, source, options, filename):
        start = time.perf_counter()
        if isinstance(source, Upload):
            upload, image_id = source, None
        else:
            upload, image_id = self._read(source, filename)
        image, jpeg = upload.image, upload.jpeg
        grey = (
            batch_inference.grey_preview(image.rgb)
            if options.output != "colorized"
            else None
        )
        if options.output == "grey":
            rgb = grey
        else:
            try:
                rgb = self.runner.colorize(image.rgb, options)
            except _model_errors() as error:
                raise ModelError(batch_inference.short_error(error)) from error
            if options.output == "compare":
                rgb = np.concatenate([grey, rgb], axis=1)
        alpha = image.alpha if options.output == "colorized" else None
        result = encode(rgb, alpha, jpeg)
        result.seconds = time.perf_counter() - start
        result.image_id = image_id
        with self._lock:
            self._seconds = 0.8 * self._seconds + 0.2 * result.seconds
        return result

    def close(self):
        self._executor.shutdown(wait=False, cancel_futures=True)


def encode(rgb, alpha=None, jpeg=False):
    """uint8 RGB (and alpha) -> a JPEG (quality 95, as infer.py writes) or PNG
    `Result`; alpha is kept in PNG only."""
    from PIL import Image

    image = Image.fromarray(np.asarray(rgb, np.uint8), "RGB")
    buffer = io.BytesIO()
    if jpeg:
        image.save(buffer, "JPEG", quality=95)
    else:
        if alpha is not None:
            image.putalpha(Image.fromarray(np.asarray(alpha, np.uint8), "L"))
        # Level 1: a third larger than the default level 6 and several times faster
        # on 12 MP photos, whose encoding would otherwise outlast the colorization.
        image.save(buffer, "PNG", compress_level=1)
    return Result(
        buffer.getvalue(),
        "image/jpeg" if jpeg else "image/png",
        ".jpg" if jpeg else ".png",
        image.width,
        image.height,
        0.0,
    )


def _model_errors():
    import tensorflow as tf

    return (tf.errors.OpError, MemoryError)
