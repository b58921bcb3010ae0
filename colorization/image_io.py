"""Reading and writing photo files for inference (Pillow), safely.

Reading applies the EXIF orientation, keeps 16-bit grey precision and the alpha channel,
handles palette and CMYK files, and refuses decompression bombs before decoding.
Writing goes to a temporary name in the target folder and is renamed when complete, so
an interrupted run never leaves a half-written file under the real name.
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
assert set(_FORMATS) == set(files.IMAGE_EXTENSIONS)  # every image we read, we can write


class ImageError(ValueError):
    """A file that cannot be used as an image; the message says why."""


@dataclasses.dataclass
class ImageData:
    """A decoded photo: RGB (H, W, 3), uint8 for 8-bit files and float32 in [0, 1] for
    16-bit and float ones (their precision is kept), and its alpha, if any."""

    rgb: np.ndarray
    alpha: np.ndarray | None = None


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


def to_uint8(rgb):
    """RGB as uint8: float in [0, 1] is rounded and clipped (never wraps)."""
    rgb = np.asarray(rgb)
    if rgb.dtype == np.uint8:
        return rgb
    return np.clip(np.round(rgb * 255.0), 0, 255).astype(np.uint8)


def read_image(path, max_pixels=DEFAULT_MAX_PIXELS):
    """Reads a photo file into an `ImageData`.

    Raises:
        ImageError: the file is empty, not an image, truncated or corrupt, or larger
            than `max_pixels` (checked from the header, before decoding).
    """
    if os.path.getsize(path) == 0:
        raise ImageError("empty file")
    return _read(path, max_pixels)


def read_image_bytes(data, max_pixels=DEFAULT_MAX_PIXELS):
    """Reads a photo from the bytes of its file (an upload) into an `ImageData`.

    Raises:
        ImageError: as `read_image`.
    """
    if not data:
        raise ImageError("empty file")
    return _read(io.BytesIO(data), max_pixels)


def _read(source, max_pixels):
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
            image = ImageOps.exif_transpose(image)
            image.load()
            return _to_image_data(image)
    except ImageError:
        raise
    except Image.UnidentifiedImageError:
        raise ImageError("not an image file (unknown format)") from None
    except (OSError, SyntaxError, ValueError) as error:
        raise ImageError(f"truncated or corrupt image: {error}") from None


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


def write_image(path, rgb, alpha=None):
    """Writes uint8 RGB (and alpha, where the format keeps it) atomically."""
    from PIL import Image

    fmt = output_format(path)
    image = Image.fromarray(np.asarray(rgb, np.uint8), "RGB")
    if alpha is not None and fmt in _ALPHA_FORMATS:
        image.putalpha(Image.fromarray(np.asarray(alpha, np.uint8), "L"))
    options = {"quality": 95} if fmt in ("JPEG", "WEBP") else {}
    with files.atomic_path(path) as temporary:
        image.save(temporary, format=fmt, **options)
