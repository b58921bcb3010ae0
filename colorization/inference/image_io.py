"""Reading and writing photo files for inference (Pillow), safely.

Reading applies the EXIF orientation, keeps 16-bit grey precision and the alpha channel,
handles palette and CMYK files, and refuses decompression bombs before decoding. An
animated GIF, PNG or WebP is read as every frame, with its frame durations and loop,
when asked (`animation=True`), and written back animated (`write_animation`).
Writing goes to a temporary name in the target folder and is renamed when complete, so
an interrupted run never leaves a half-written file under the real name. A written
file can carry the input's metadata and a record of how its colour was made
(`colorization.inference.record`).
"""

import dataclasses
import io
import os

import numpy as np

from data_pipeline import files

DEFAULT_MAX_PIXELS = 120_000_000
_FORMATS = {
    ".jpg": "JPEG",
    ".jpeg": "JPEG",
    ".jpe": "JPEG",
    ".png": "PNG",
    ".webp": "WEBP",
    ".bmp": "BMP",
    ".tif": "TIFF",
    ".tiff": "TIFF",
    ".gif": "GIF",
}
_ALPHA_FORMATS = ("PNG", "WEBP", "TIFF")
ANIMATED_FORMATS = ("GIF", "PNG", "WEBP")  # read and written with every frame
assert set(_FORMATS) == set(files.IMAGE_EXTENSIONS)  # every image we read, we can write


class ImageError(ValueError):
    """A file that cannot be used as an image; the message says why."""


@dataclasses.dataclass
class Animation:
    """The frames of an animated file: each an `ImageData` of the full canvas (frames
    that update part of it are composed), the milliseconds each is shown, and how
    often the file loops (0: forever; None: no loop setting, it plays once)."""

    frames: list
    durations: list
    loop: int | None = None


@dataclasses.dataclass
class ImageData:
    """A decoded photo: RGB (H, W, 3), uint8 for 8-bit files and float32 in [0, 1] for
    16-bit and float ones (their precision is kept; `stack_rgb` puts photos of both
    kinds on one scale), and its alpha, if any.

    `frame_count` is how many frames (or pages) the file holds; `rgb` is the first.
    `animation` holds them all when they were asked for and the file is animated.
    """

    rgb: np.ndarray
    alpha: np.ndarray | None = None
    frame_count: int = 1
    animation: Animation | None = None


def to_rgb(array):
    """A NumPy image of any common layout -> RGB (H, W, 3): uint8 stays uint8, any other
    dtype becomes float32 in [0, 1]."""
    array = np.asarray(array)
    if array.ndim == 3 and array.shape[2] in (2, 4):
        array = array[..., :-1]  # drop alpha
    if array.ndim == 3 and array.shape[2] == 1:
        array = array[..., 0]
    if array.ndim == 2:
        array = np.stack([array] * 3, axis=-1)
    if array.ndim != 3 or array.shape[2] != 3:
        raise ImageError(
            f"expected a (H, W), (H, W, 1), (H, W, 3) or (H, W, 4) image, got shape {array.shape}"
        )
    if array.dtype == np.uint8:
        return array
    if array.dtype == np.uint16:
        return array.astype(np.float32) / 65535.0
    if array.dtype == bool:
        return array.astype(np.float32)
    if np.issubdtype(array.dtype, np.floating):
        return np.clip(array, 0.0, 1.0).astype(np.float32)
    raise ImageError(f"unsupported image dtype {array.dtype}")


def stack_rgb(images):
    """Images of one size -> one batch (N, H, W, 3) on one scale: uint8 if every image
    is uint8, else float32 in [0, 1] (each image's own scale, from its dtype, is
    undone first). The network reads a batch's scale from its dtype, so a uint8 image
    stacked as float 0-255 beside a 16-bit one in [0, 1] would come out white.
    """
    images = [np.asarray(image) for image in images]
    if all(image.dtype == np.uint8 for image in images):
        return np.stack(images)
    return np.stack([to_float(image) for image in images])


def to_float(rgb):
    """An RGB from `to_rgb` (uint8, or float in [0, 1]) as float32 in [0, 1]."""
    rgb = np.asarray(rgb)
    if rgb.dtype == np.uint8:
        return rgb.astype(np.float32) / np.float32(255.0)
    return rgb.astype(np.float32, copy=False)


def to_uint8(rgb):
    """RGB as uint8: float in [0, 1] is rounded and clipped (never wraps)."""
    rgb = np.asarray(rgb)
    if rgb.dtype == np.uint8:
        return rgb
    return np.clip(np.round(rgb * 255.0), 0, 255).astype(np.uint8)


def colourless(rgb):
    """The photo's Lab lightness with no colour (a = b = 0), uint8 RGB: what a colorizer
    sees of it, and the baseline evaluation scores models against."""
    from data_pipeline import lab

    return to_uint8(lab.drop_colour(rgb).numpy())


def read_image(path, max_pixels=DEFAULT_MAX_PIXELS, animation=False):
    """Reads a photo file into an `ImageData`.

    Args:
        path: the file.
        max_pixels: refuse larger photos (all frames together, for an animation).
        animation: read every frame of an animated GIF, PNG or WebP into
            `ImageData.animation` (else only the first frame is decoded).

    Raises:
        ImageError: the file is empty, not an image, truncated or corrupt, or larger
            than `max_pixels` (checked from the header, before decoding).
    """
    if os.path.getsize(path) == 0:
        raise ImageError("empty file")
    return _read(path, max_pixels, animation)


def read_image_bytes(data, max_pixels=DEFAULT_MAX_PIXELS, animation=False):
    """Reads a photo from the bytes of its file (an upload) into an `ImageData`.

    Raises:
        ImageError: as `read_image`.
    """
    if not data:
        raise ImageError("empty file")
    return _read(io.BytesIO(data), max_pixels, animation)


def _read(source, max_pixels, animation=False):
    """`read_image` of a path or a binary file object."""
    from PIL import Image, ImageOps

    Image.MAX_IMAGE_PIXELS = None  # the limit below replaces Pillow's warning
    try:
        with Image.open(source) as image:
            width, height = image.size
            if width * height > max_pixels:
                raise ImageError(
                    f"{width} x {height} pixels is over the limit of {max_pixels} "
                    "(a decompression bomb?); raise --max-pixels if you trust the file"
                )
            count = _frame_count(image)
            if animation and count > 1 and image.format in ANIMATED_FORMATS:
                return _read_animation(image, count, max_pixels)
            data = _to_image_data(ImageOps.exif_transpose(image))
            data.frame_count = count
            return data
    except ImageError:
        raise
    except Image.UnidentifiedImageError:
        raise ImageError("not an image file (unknown format)") from None
    except (OSError, SyntaxError, ValueError, EOFError) as error:
        raise ImageError(f"truncated or corrupt image: {error}") from None


def _frame_count(image):
    """How many frames (or pages) an open image has; 1 if later ones are damaged
    (the first frame is still read, as before frames were counted)."""
    try:
        return max(1, int(getattr(image, "n_frames", 1)))
    except (OSError, SyntaxError, ValueError, EOFError):
        image.seek(0)  # counting stopped on a later frame
        return 1


def _read_animation(image, count, max_pixels):
    """Every frame of an open animated image, refused before decoding if all of them
    together are over `max_pixels`."""
    from PIL import ImageOps

    width, height = image.size
    if width * height * count > max_pixels:
        raise ImageError(
            f"{count} frames of {width} x {height} pixels are over the limit of "
            f"{max_pixels} (a decompression bomb?); raise --max-pixels if you trust "
            "the file"
        )
    loop = image.info.get("loop")
    frames, durations = [], []
    for index in range(count):
        image.seek(index)
        frames.append(_to_image_data(ImageOps.exif_transpose(image)))
        durations.append(int(round(image.info.get("duration") or 0)))
    first = frames[0]
    return ImageData(first.rgb, first.alpha, count, Animation(frames, durations, loop))


def _to_image_data(image):
    mode = image.mode
    alpha = None
    if mode == "P":
        image = image.convert("RGBA" if "transparency" in image.info else "RGB")
        mode = image.mode
    if mode in ("RGBA", "LA", "PA", "RGBa", "La"):
        alpha = np.asarray(image.getchannel("A"))
        image = image.convert("RGB" if mode != "LA" else "L")
        mode = image.mode
    if mode.startswith("I;16") or mode == "I":
        values = np.asarray(image).astype(np.float32)
        return ImageData(to_rgb(np.clip(values / 65535.0, 0.0, 1.0)), alpha)
    if mode == "F":
        values = np.asarray(image, np.float32)
        scale = 255.0 if values.max(initial=0.0) > 1.0 else 1.0
        return ImageData(to_rgb(values / scale), alpha)
    if mode in ("1", "L"):
        return ImageData(to_rgb(np.asarray(image.convert("L"))), alpha)
    return ImageData(to_rgb(np.asarray(image.convert("RGB"))), alpha)


def output_format(path):
    """The Pillow format for a file name, from its extension (PNG if unknown)."""
    return _FORMATS.get(os.path.splitext(path)[1].lower(), "PNG")


def _pil_image(rgb, alpha, fmt):
    from PIL import Image

    image = Image.fromarray(np.asarray(rgb, np.uint8), "RGB")
    if alpha is not None and fmt in _ALPHA_FORMATS:
        image.putalpha(Image.fromarray(np.asarray(alpha, np.uint8), "L"))
    return image


def _options(fmt):
    return {"quality": 95} if fmt in ("JPEG", "WEBP") else {}


def write_image(path, rgb, alpha=None, metadata=None):
    """Writes uint8 RGB (and alpha, where the format keeps it) atomically, with the
    `metadata` (a `record.Metadata`: the input's kept metadata and the record) that
    the format can hold; None writes none."""
    fmt = output_format(path)
    image = _pil_image(rgb, alpha, fmt)
    options = dict(_options(fmt), **_metadata_options(metadata, fmt))
    with files.atomic_path(path) as temporary:
        image.save(temporary, format=fmt, **options)


def _metadata_options(metadata, fmt):
    """The Pillow save options embedding `metadata` (none for None)."""
    return {} if metadata is None else metadata.save_options(fmt)


def write_animation(path, frames, durations, loop=None, alphas=None, metadata=None):
    """Writes uint8 RGB frames as one animated GIF, PNG or WebP, atomically.

    Args:
        path: the file; its extension names one of `ANIMATED_FORMATS`.
        frames: uint8 RGB (H, W, 3) frames.
        durations: milliseconds each frame is shown.
        loop: 0 to loop forever, N times, or None for no loop setting.
        alphas: each frame's alpha or None (kept where the format keeps it).
        metadata: a `record.Metadata` to embed (a GIF holds only the record, as a
            comment), or None.

    Raises:
        ValueError: a format that holds no animation.
    """
    fmt = output_format(path)
    if fmt not in ANIMATED_FORMATS:
        raise ValueError(f"{fmt} files hold no animation; write {path!r} as .gif")
    alphas = alphas or [None] * len(frames)
    images = [_pil_image(rgb, alpha, fmt) for rgb, alpha in zip(frames, alphas)]
    options = dict(_options(fmt), save_all=True, append_images=images[1:])
    options.update(_metadata_options(metadata, fmt))
    options["duration"] = list(durations)
    if loop is not None:
        options["loop"] = loop
    with files.atomic_path(path) as temporary:
        images[0].save(temporary, format=fmt, **options)
