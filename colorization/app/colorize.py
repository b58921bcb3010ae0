"""Colorizing uploads for the web app: one shared model, a bounded queue, no event loop
work.

    service = ColorizeService(ModelRunner(Colorizer.load()), Limits())
    service.admit()                      # QueueFull when `queue_size` are in
    result = await service.run(upload_file, Options())
    again = await service.run(service.uploads.get(result.image_id), Options(hints=h))
    spots = await service.run(upload_file, Options(count=5), task="suggest")

Every admitted job holds one of `queue_size` places until it ends, so a burst of
uploads is answered 503 instead of being decoded into memory all at once. Jobs run on
two threads: one can decode or encode while the other has the model, and the model
itself is used by one job at a time (it runs on every core already). A job first
reserves the memory it will take (`memory.job_bytes`, from the photo's header) in the
budget the running jobs share, waiting until it fits; a photo that could never fit
is refused (`TooLarge`). The full-resolution work is done in row tiles (`fullres`).
With a hinted model or one with a bins head, decoded uploads are kept
(`uploads.Uploads`) so that new colour hints, or a question about the same photo, are
sent without it. A reference photo or a palette (`Options`) guides the colours of a
model with a bins head (`colorization.inference.guidance`), and the jobs other than
"colorize" (`TASKS`: the uncertainty map, suggested hints, variants) are answered by
`colorization.app.analysis`.
"""

import asyncio
import concurrent.futures
import dataclasses
import io
import math
import threading
import time

import numpy as np

from colorization.app import memory
from colorization.app.uploads import Upload, Uploads
from colorization.hints import user_hints
from colorization.inference import batch_inference, guidance, image_io

OUTPUTS = ("colorized", "compare", "grey")
TASKS = ("colorize", "uncertainty", "suggest", "variants")  # `run`
QUALITIES = ("fast", "best")  # `graph.QUALITIES`, without importing TensorFlow
SIZE_RANGE = (16, 1024)
TEMPERATURE_RANGE = (0.01, 10.0)
_JOB_THREADS = 2
_WIDE_MODES = ("I", "F")  # Pillow modes (and "I;16..."): decoded to float32


@dataclasses.dataclass(frozen=True)
class Limits:
    """What one upload and the queue may hold.

    Args:
        max_bytes: Largest upload, in bytes.
        max_pixels: Largest image, in pixels (checked from the header).
        queue_size: Jobs admitted at once (running or waiting); more get a 503.
        kept_photos: Decoded uploads kept for new hints (a hinted model only).
        kept_bytes: The most their pixels may take.
        memory_budget: Bytes the running jobs may take together (default: a quarter
            of the machine's memory); a photo whose job alone would take more is
            refused.
        uploads_in_flight: Bytes of request bodies being received or waiting in
            spooled files at once; more are answered 503 (at least one largest
            upload always fits).
    """

    max_bytes: int = 50 * 1024 * 1024
    max_pixels: int = image_io.DEFAULT_MAX_PIXELS
    queue_size: int = 16
    kept_photos: int = 16
    kept_bytes: int = 512 * 1024 * 1024
    memory_budget: int = dataclasses.field(default_factory=memory.default_memory_budget)
    uploads_in_flight: int = 256 * 1024 * 1024


@dataclasses.dataclass(frozen=True)
class Options:
    """Per-request choices; None is the model's own value."""

    size: int | None = None
    temperature: float | None = None
    blend: float | None = None
    quality: str | None = None  # "fast" or "best" (`Colorizer.colorize_array`)
    output: str = "colorized"
    hints: object = dataclasses.field(default=None, compare=False)  # user_hints.Hints
    palette: tuple | None = None  # (r, g, b) colours (`guidance.parse_palette`)
    guide_strength: float | None = None  # None: `guidance.DEFAULT_STRENGTHS`
    reference: object = dataclasses.field(default=None, compare=False)  # a binary file
    count: int | None = None  # spots to suggest, or variants to make
    seed: int = 0  # of the variants


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
    headers: dict = dataclasses.field(default_factory=dict)  # more for the answer


class QueueFull(RuntimeError):
    """Every place of the queue is taken; `retry_after` is a guess in seconds."""

    def __init__(self, retry_after):
        super().__init__("the server is busy: too many photos in the queue")
        self.retry_after = retry_after


class ModelError(RuntimeError):
    """The network failed on an image (for example out of memory)."""


class TooLarge(ValueError):
    """A photo whose job needs more memory than the server's whole budget; the message
    says how much and how to make it fit."""


class ModelRunner:
    """The one model of the app, with per-request input size, temperature, blend and
    quality.

    The options are inputs of the model's one traced graph per quality
    (`Colorizer.predict_ab`; the best quality's is traced on its first use), so a new
    value is neither a new trace nor more memory. The network runs for one job at a
    time (under a lock); the full-resolution join is done after it, in row tiles
    (`fullres.join`), while the next job may use the network.

    Args:
        colorizer: A loaded `Colorizer`.
    """

    def __init__(self, colorizer):
        self.colorizer = colorizer
        self.size = colorizer.size
        self.temperature = colorizer.temperature
        self.blend = colorizer.blend
        self.hinted = colorizer.hinted
        self.guided = self.temperature is not None  # a bins head: a distribution
        self._lock = threading.Lock()

    def describe(self):
        """The model's own option values (None: the option does not apply)."""
        return {"size": self.size, "temperature": self.temperature, "blend": self.blend}

    def check(self, options):
        """Raises ValueError for an option this model does not have."""
        if options.temperature is not None and self.temperature is None:
            raise ValueError(
                "this model has no bins head: a temperature does not apply to it"
            )
        if options.blend is not None and self.blend is None:
            raise ValueError("this model has one head: a blend does not apply to it")
        if options.hints and not self.hinted:
            raise ValueError(user_hints.NOT_HINTED)
        if (options.palette or options.reference is not None) and not self.guided:
            raise ValueError(guidance.NO_BINS)

    def check_task(self, task):
        """Raises ValueError for a job (`TASKS`) this model cannot do."""
        if task != "colorize" and not self.guided:
            raise ValueError(guidance.NO_DISTRIBUTION)
        if task == "variants" and not self.hinted:
            raise ValueError(f"{user_hints.NOT_HINTED}: variants are made with hints")

    def record(self, options, guide=None):
        """The record of how a result's colour was made (`record.make_record`),
        with this request's options."""
        from colorization.inference import record

        given = {"size": options.size, "temperature": options.temperature}
        given["blend"] = options.blend
        extra = {key: value for key, value in given.items() if value is not None}
        return record.make_record(
            self.colorizer,
            hints=options.hints,
            guide=guide,
            quality=options.quality,
            extra=extra,
        )

    def make_guide(self, reference, options):
        """The `guidance.Guide` of a reference (RGB) or the options' palette, or
        None. Raises `guidance.GuideError`."""
        return self.colorizer.make_guide(
            reference, options.palette, options.guide_strength
        )

    def call(self, method, *args, **kwargs):
        """`Colorizer.<method>(*args, **kwargs)` while no other job has the model."""
        with self._lock:
            return getattr(self.colorizer, method)(*args, **kwargs)

    def colorize(self, rgb, options, out=None, guide=None):
        """Colorizes one RGB image (H, W, 3) with the options (and a
        `guidance.Guide`) into uint8 `out` (H, W, 3; a new array if None), which it
        returns.

        Raises:
            user_hints.HintError: a hint point outside the image.
        """
        from colorization.app import fullres

        with self._lock:
            ab_norm = self.colorizer.predict_ab(
                rgb[None],
                options.hints,
                size=options.size,
                temperature=options.temperature,
                blend=options.blend,
                quality=options.quality,
                guide=guide,
            )  # (1, h, w, 2)
        if out is None:
            out = np.empty(rgb.shape[:2] + (3,), np.uint8)
        fullres.join(rgb, ab_norm, out)
        return out


class ColorizeService:
    """The bounded queue in front of a `ModelRunner`.

    Args:
        runner: The `ModelRunner` (or any object with `colorize(rgb, options, out)`,
            `describe()` and `check(options)`).
        limits: The `Limits`.
    """

    def __init__(self, runner, limits):
        self.runner = runner
        self.limits = limits
        keep = getattr(runner, "hinted", False) or getattr(runner, "guided", False)
        self.uploads = Uploads(limits.kept_photos, limits.kept_bytes) if keep else None
        self.memory = memory.MemoryBudget(limits.memory_budget)
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

    async def run(self, source, options, filename="photo", task="colorize"):
        """Runs an admitted job on a worker thread; its place is released when the job
        ends (not when the request does: a client that leaves does not free it early).

        Args:
            source: The upload, a binary file object (read on the worker thread, so
                waiting uploads stay in their spooled files rather than in memory),
                or an `Upload` kept in `uploads`.
            options: The `Options`.
            filename: The upload's file name (kept with it).
            task: One of `TASKS`: "colorize" (the image of `options.output`), or
                an answer of `analysis` ("uncertainty", "suggest", "variants").

        Returns:
            a `Result`; its `image_id` says where the decoded upload is kept (a
            hinted model, or one with a bins head, only).

        Raises:
            image_io.ImageError: the bytes are not a usable image.
            user_hints.HintError: a hint point outside the image.
            guidance.GuideError: an unreadable reference photo.
            ModelError: the network failed on it.
        """
        try:
            future = self._executor.submit(self._job, source, options, filename, task)
        except BaseException:
            self.release()
            raise
        future.add_done_callback(lambda _: self.release())
        return await asyncio.wrap_future(future)

    def _read(self, data, filename):
        """The decoded upload, kept in `uploads` (if any): (Upload, its id or None)."""
        image = image_io.read_image_bytes(data, self.limits.max_pixels)
        upload = Upload(image, data[:3] == b"\xff\xd8\xff", filename)
        kept = self.uploads.add(upload) if self.uploads is not None else None
        return upload, kept

    def _estimate(self, source, data, options, reference=None):
        """The job's memory estimate as a function of the photo's pixels, and the
        photo's (width, height); None for a file whose header cannot be read (it is
        refused when decoded). A reference photo (its bytes) adds its decoding."""
        result = 2 if options.output == "compare" else 1
        extra = 0
        if reference is not None:
            header = _header(reference)
            pixels = header[0] * header[1] if header else 0
            if pixels <= self.limits.max_pixels:
                wide = bool(header and header[2].startswith(_WIDE_MODES))
                extra = memory.job_bytes(pixels, 0, wide, len(reference))
        if isinstance(source, Upload):
            rgb = source.image.rgb
            wide, upload, decoded = bool(rgb.dtype != np.uint8), 0, True
            height, width = rgb.shape[:2]
        else:
            header = _header(data)
            upload, decoded = len(data), False
            if header is None or header[0] * header[1] > self.limits.max_pixels:
                return (
                    lambda _: extra + memory.job_bytes(0, 0, upload_bytes=upload)
                ), None
            width, height, mode = header
            wide = mode.startswith(_WIDE_MODES)

        def estimate(pixels):
            photo = memory.job_bytes(pixels, pixels * result, wide, upload, decoded)
            return extra + photo

        return estimate, (width, height)

    def _too_large(self, estimate, size, options):
        """`TooLarge` for a photo of `size` whose job would not fit the budget."""
        width, height = size
        budget = self.memory.total
        low, high = 0, width * height  # the most pixels that fit
        while low < high:
            middle = (low + high + 1) // 2
            low, high = (
                (middle, high) if estimate(middle) <= budget else (low, middle - 1)
            )
        advice = f"send it at most {low / 1e6:.1f} megapixels"
        if options.output == "compare":
            advice += ", or ask for the colorized photo rather than 'compare'"
        return TooLarge(
            f"{width} x {height} pixels is too large for this server's memory limit "
            f"(about {math.ceil(estimate(width * height) / 2**20)} MB needed, "
            f"{budget // 2**20} MB for the photos it colorizes at once): {advice}, "
            "or start the server with a larger --max-memory-mb"
        )

    def _job(self, source, options, filename, task="colorize"):
        start = time.perf_counter()
        data = reference = None
        if not isinstance(source, Upload):
            source.seek(0)
            data = source.read()
        if options.reference is not None:
            options.reference.seek(0)
            reference = options.reference.read()
        estimate, size = self._estimate(source, data, options, reference)
        need = estimate(size[0] * size[1] if size else 0)
        if size is not None and need > self.memory.total:
            raise self._too_large(estimate, size, options)
        need = min(need, self.memory.total)  # an unreadable file: refused when decoded
        try:
            with self.memory.reserve(need):
                guide = self._guide(reference, options)
                reference = None
                result = self._work(source, data, options, filename, task, guide)
        finally:
            data = source = reference = None
            memory.give_back_memory()
        result.seconds = time.perf_counter() - start
        with self._lock:
            self._seconds = 0.8 * self._seconds + 0.2 * result.seconds
        return result

    def _guide(self, reference, options):
        """The job's `guidance.Guide` (None without a reference or palette); a
        reference that is not a usable image is a `guidance.GuideError`."""
        if reference is not None:
            try:
                image = image_io.read_image_bytes(reference, self.limits.max_pixels)
            except image_io.ImageError as problem:
                raise guidance.GuideError(f"reference photo: {problem}") from None
            reference = image.rgb
        if reference is None and not options.palette:
            return None
        return self.runner.make_guide(reference, options)

    def _work(self, source, data, options, filename, task="colorize", guide=None):
        """Decodes, colorizes and encodes (or answers `task`): a `Result`."""
        from colorization.app import fullres

        if isinstance(source, Upload):
            upload, image_id = source, None
        else:
            upload, image_id = self._read(data, filename)
        image, jpeg = upload.image, upload.jpeg
        rgb = image.rgb
        if task != "colorize":
            from colorization.app import analysis

            del upload, image
            try:
                result = analysis.answer(task, self.runner, rgb, options, guide)
            except batch_inference.model_errors() as error:
                raise ModelError(batch_inference.short_error(error)) from error
            result.image_id = image_id
            return result
        height, width = rgb.shape[:2]
        wide = 2 if options.output == "compare" else 1
        out = np.empty((height, width * wide, 3), np.uint8)
        colour = out[:, -width:]
        if options.output != "colorized":
            fullres.grey(rgb, out[:, :width])
        if options.output != "grey":
            try:
                if guide is None:  # the runner's own signature (stand-ins too)
                    self.runner.colorize(rgb, options, colour)
                else:
                    self.runner.colorize(rgb, options, colour, guide)
            except batch_inference.model_errors() as error:
                raise ModelError(batch_inference.short_error(error)) from error
        alpha = image.alpha if options.output == "colorized" else None
        del upload, image, rgb, colour  # a kept upload stays in `uploads`
        picture = _picture(out)
        del out  # Pillow has its copy
        result = _save(picture, alpha, jpeg, self._metadata(data, options, guide))
        result.image_id = image_id
        return result

    def _metadata(self, data, options, guide):
        """What the result file carries (`record.Metadata`): the upload's metadata
        that still holds (when its file is at hand, not for a kept upload) and the
        record of how its colour was made; None for a grey result or a stand-in
        runner without records."""
        from colorization.inference import record

        if options.output == "grey" or not hasattr(self.runner, "record"):
            return None
        kept = record.Kept()
        if data is not None:
            from PIL import Image

            try:
                with Image.open(io.BytesIO(data)) as image:
                    kept = record.kept_metadata(image)
            except Exception:  # noqa: BLE001 (decoded already: keep nothing)
                kept = record.Kept()
        return record.Metadata(kept, self.runner.record(options, guide))

    def close(self):
        self._executor.shutdown(wait=False, cancel_futures=True)


def _header(data):
    """(width, height, Pillow mode) from the file's header, or None if Pillow cannot
    open it (decoding it says why)."""
    from PIL import Image

    try:
        with Image.open(io.BytesIO(data)) as image:
            return image.size[0], image.size[1], image.mode
    except Exception:  # any unreadable file: `image_io` gives the one-line error
        return None


def encode(rgb, alpha=None, jpeg=False):
    """uint8 RGB (and alpha) -> a JPEG (quality 95, as infer.py writes) or PNG
    `Result`; alpha is kept in PNG only."""
    return _save(_picture(rgb), alpha, jpeg)


def _picture(rgb):
    from PIL import Image

    return Image.fromarray(np.asarray(rgb, np.uint8), "RGB")


def _save(image, alpha, jpeg, metadata=None):
    """A Pillow RGB image (and alpha) -> the `Result` of `encode`, with `metadata`
    (a `record.Metadata`) embedded."""
    from PIL import Image

    buffer = io.BytesIO()
    embed = {} if metadata is None else metadata.save_options("JPEG" if jpeg else "PNG")
    if jpeg:
        image.save(buffer, "JPEG", quality=95, **embed)
    else:
        if alpha is not None:
            image.putalpha(Image.fromarray(np.asarray(alpha, np.uint8), "L"))
        # Level 1: a third larger than the default level 6 and several times faster
        # on 12 MP photos, whose encoding would otherwise outlast the colorization.
        image.save(buffer, "PNG", compress_level=1, **embed)
    width, height = image.size
    del image
    return Result(
        buffer.getvalue(),
        "image/jpeg" if jpeg else "image/png",
        ".jpg" if jpeg else ".png",
        width,
        height,
        0.0,
    )
